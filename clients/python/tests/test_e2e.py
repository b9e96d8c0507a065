"""End to end: 1,000 jobs through worker processes, one killed with SIGKILL halfway, one question answered.

Every job must end completed, exactly once: its history has one change to ``completed``, and no worker logged
the server's acknowledgement of a completion twice for one job.
"""

from __future__ import annotations

import collections
import os
import signal
import tempfile
from typing import Dict, List

import jobkeeper

from .support import TESTS, OutputProcess, ServerTestCase, poll, python_process, unique

SCRIPT = TESTS / "worker_process.py"
JOBS = 1000
ASKING = 500


class EndToEndTests(ServerTestCase):
    def start(self, log: str, worker_id: str, job_type: str) -> OutputProcess:
        process = python_process(SCRIPT, [self.url, job_type, "--mode", "e2e", "--concurrency", "8", "--lease-seconds",
                                          "2", "--wait-seconds", "1", "--grace", "5", "--log", log, "--worker-id", worker_id])
        self.addCleanup(process.kill)
        return process

    def read(self, log: str) -> List[List[str]]:
        with open(log, encoding="utf-8") as file:
            return [line.split() for line in file if line.strip()]

    def test_a_thousand_jobs_survive_a_killed_worker_and_complete_exactly_once(self) -> None:
        job_type = unique("e2e")
        directory = tempfile.mkdtemp(prefix="jk-e2e-")
        log = os.path.join(directory, "effects.log")
        open(log, "w").close()
        self.addCleanup(lambda: (os.path.exists(log) and os.remove(log), os.rmdir(directory)))
        batch = self.client.create_many([jobkeeper.NewJob(job_type, {"n": n, "seconds": 0.01,
                                                                     **({"ask": "Proceed?"} if n == ASKING else {})})
                                         for n in range(JOBS)])
        self.assertEqual(batch.created, JOBS)
        ids = [item.job.id for item in batch.items]  # type: ignore[union-attr]
        asking = ids[ASKING]

        first = self.start(log, "w1", job_type)
        poll(lambda: sum(1 for line in self.read(log) if line[0] == "ack" and line[2] == "completed") >= 200, 60,
             "the first worker completing 200 jobs")
        # Killed while the server shows it holding jobs (between two claims it may hold none for a moment).
        poll(lambda: self.client.list_page(type=job_type, status="running", limit=1).items
             and (first.process.send_signal(signal.SIGKILL) or True), 60, "the first worker holding a job")
        first.wait(10)
        completed_by_first = sum(1 for line in self.read(log) if line[0] == "ack" and line[2] == "completed")
        self.assertLess(completed_by_first, JOBS - 100, "the first worker was killed too late to test anything")
        held = [job.id for job in self.client.list(type=job_type, status="running")]
        self.assertTrue(held, "the killed worker held no job")

        second = self.start(log, "w2", job_type)
        prompt = poll(lambda: self.client.prompt(asking), 60, "the question of job %d" % ASKING)
        self.assertEqual(prompt.question, "Proceed?")
        self.client.answer(asking, "yes", answered_by="tester")
        poll(lambda: not self.client.list_page(type=job_type, status="queued,running,waiting", limit=1).items, 120,
             "every job finishing")
        second.process.send_signal(signal.SIGTERM)
        self.assertEqual(second.wait(30), 0, second.output)

        jobs = {job.id: job for job in self.client.list(type=job_type, page_size=1000)}
        self.assertEqual(len(jobs), JOBS)
        not_completed = {i: j.status for i, j in jobs.items() if j.status != "completed"}
        self.assertEqual(not_completed, {})
        self.assertEqual(jobs[asking].result, {"n": ASKING, "answer": "yes"})
        completed_by: Dict[str, str] = {}
        for job_id in ids:
            changes = [e for e in self.client.events(job_id) if e.type == "status_changed"]
            completions = [e for e in changes if e.data["to"] == "completed"]
            self.assertEqual(len(completions), 1, f"job {job_id}: {[e.data['to'] for e in changes]}")
            completed_by[job_id] = completions[0].actor or ""
        for job_id in held:  # what the killed worker held came back when its lease ran out, and ran again
            events = self.client.events(job_id)
            self.assertIn("lease_expired", [e.type for e in events], f"job {job_id}")

        acknowledged: Dict[str, int] = collections.Counter(line[1] for line in self.read(log)
                                                            if line[0] == "ack" and line[2] == "completed")
        self.assertEqual([job_id for job_id, count in acknowledged.items() if count > 1], [])
        self.assertLessEqual(set(acknowledged), set(ids))
        # The only completions not acknowledged in the log are the killed worker's last ones: the server made them,
        # the worker died before it logged them.
        unacknowledged = {job_id: completed_by[job_id] for job_id in ids if job_id not in acknowledged}
        self.assertEqual({actor for actor in unacknowledged.values()} - {"w1"}, set(), unacknowledged)
        starts = collections.Counter(line[1] for line in self.read(log) if line[0] == "start")
        self.assertEqual(set(starts), set(ids))
        self.assertGreaterEqual(starts[asking], 2)  # asked, then ran again with the answer
        print(f"e2e: {JOBS} jobs completed once each; the first worker acknowledged {completed_by_first} before kill -9 "
              f"and held {len(held)}, which came back after their leases expired; job {ASKING} answered 'yes'")
