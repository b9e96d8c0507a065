"""Workers as processes: SIGTERM releases unfinished jobs; SIGINT cuts a long poll at once."""

from __future__ import annotations

import signal
import time

from .support import TESTS, OutputProcess, ServerProcess, ServerTestCase, poll, python_process, unique

SCRIPT = TESTS / "worker_process.py"


class SignalTests(ServerTestCase):
    def start(self, *args: str) -> OutputProcess:
        process = python_process(SCRIPT, args)
        self.addCleanup(process.kill)
        return process

    def test_sigterm_finishes_what_it_can_in_the_grace_period_and_releases_the_rest(self) -> None:
        job_type = unique("process.term")
        worker_id = unique("py-process")
        quick = self.client.create(job_type, {"seconds": 2})
        slow = self.client.create(job_type, {"seconds": 120})
        process = self.start(self.url, job_type, "--grace", "4", "--worker-id", worker_id)
        for job in (quick, slow):
            poll(lambda: self.client.get(job.id).status == "running" and self.client.get(job.id).progress, 30,
                 f"job {job.id} running")
        process.signal(signal.SIGTERM)
        self.assertEqual(process.wait(30), 0, process.output)
        self.assertIn("SIGTERM: no more claims", process.output)
        self.assertEqual(self.client.get(quick.id).status, "completed", process.output)
        released = self.client.get(slow.id)
        self.assertEqual((released.status, released.attempt, released.lease_owner), ("queued", 1, None), process.output)
        self.assertIn(("released", worker_id), [(e.type, e.actor) for e in self.client.events(slow.id)])
        self.client.cancel(slow.id)


class LongPollTests(ServerTestCase):
    def test_sigint_while_the_claim_waits_on_the_server_ends_the_worker_and_the_claim_at_once(self) -> None:
        server = ServerProcess(env={"Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics": "Information"})
        self.addCleanup(server.stop)
        job_type = unique("process.idle")
        process = python_process(SCRIPT, [server.url, job_type, "--wait-seconds", "30"])
        self.addCleanup(process.kill)
        claims = lambda word: [l for l in list(server.lines) if word in l and "/api/v1/workers/claim" in l]  # noqa: E731
        poll(lambda: claims("Request starting"), 30, "the worker's claim reaching the server")
        started = time.monotonic()
        process.signal(signal.SIGINT)
        self.assertEqual(process.wait(10), 0, process.output)
        self.assertLess(time.monotonic() - started, 2.5, process.output)
        self.assertIn("SIGINT: no more claims", process.output)
        # The server saw the claim end long before its 30 s, and holds no claim for the gone worker.
        poll(lambda: claims("Request finished"), 10, "the server seeing the claim end")
        import jobkeeper

        with jobkeeper.Client(server.url) as client:
            job = client.create(job_type)
            self.assertEqual([item.id for item in client.claim("next", [job_type], max=5)], [job.id])
