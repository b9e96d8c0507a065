"""The example worker (examples/python-worker/worker.py, on this package) against a server of its own: what the
.NET tests PythonWorkerTests and PythonWorkerKeysTests check of it (output lines, exit codes, event actors,
progress, error details), so a change here is caught without the .NET build."""

from __future__ import annotations

import json
import signal
import time
import unittest
from typing import Any, Dict, List, Optional

import jobkeeper

from .support import REPO, OutputProcess, ServerProcess, new_key, poll, python_process, unique

SCRIPT = REPO / "examples" / "python-worker" / "worker.py"
TYPE = "demo.wordcount"
REVIEW = "demo.review"

server: Optional[ServerProcess] = None


def setUpModule() -> None:
    global server
    server = ServerProcess()


def tearDownModule() -> None:
    if server is not None:
        server.stop()


def long_job(steps: int, step_seconds: float) -> Dict[str, Any]:
    return {"text": " ".join(["w"] * steps * 2), "steps": steps, "step_seconds": step_seconds}


class ExampleWorkerTests(unittest.TestCase):
    def setUp(self) -> None:
        assert server is not None
        self.url = server.url
        self.client = jobkeeper.Client(self.url, timeout=15)
        self.addCleanup(self.client.close)
        self.addCleanup(self.cancel_open)

    def cancel_open(self) -> None:
        for job in self.client.list(type=TYPE, status="queued,running,waiting"):
            self.client.cancel(job.id)
        for job in self.client.list(type=REVIEW, status="queued,running,waiting"):
            self.client.cancel(job.id)

    def start(self, worker_id: str, *options: str, types: str = TYPE, env: Optional[Dict[str, str]] = None,
              url: Optional[str] = None) -> OutputProcess:
        process = python_process(SCRIPT, ["--url", url or self.url, "--types", types, "--worker-id", worker_id, *options], env)
        self.addCleanup(process.kill)
        return process

    def changes(self, job_id: str) -> List[jobkeeper.JobEvent]:
        return [e for e in self.client.events(job_id) if e.type == "status_changed"]

    def test_completes_every_job_with_the_word_count_and_progress_and_fails_one_that_throws(self) -> None:
        worker_id = unique("py")
        words = "the quick brown fox jumps over the lazy dog again and again".split()
        expected = {}
        for i in range(8):
            text = ("  " if i % 3 == 0 else " ").join(words[n % len(words)] for n in range(i + 1))
            expected[self.client.create(TYPE, {"text": text, "steps": 1 + i % 4}).id] = i + 1
        throwing = self.client.create(TYPE, {"fail": "cannot read the text"}, max_attempts=1)
        process = self.start(worker_id, "--max", "4", "--wait-seconds", "2", "--exit-when-idle", "--demo-step-seconds", "0")
        self.assertEqual(process.wait(60), 0, process.output)
        for job_id, count in expected.items():
            job = self.client.get(job_id)
            self.assertEqual((job.status, job.result["words"], job.attempt), ("completed", count, 1))
            assert job.progress is not None
            self.assertEqual((job.progress.fraction, job.progress.current, job.progress.total, job.progress.stage),
                             (1.0, count, count, "counting"))
            events = self.client.events(job_id)
            changes = [e for e in events if e.type == "status_changed"]
            self.assertEqual([e.data["to"] for e in changes], ["running", "completed"])
            self.assertTrue(all(e.actor == worker_id and e.data["worker"] == worker_id for e in changes))
            reports = [e for e in events if e.type == "updated"]
            self.assertGreaterEqual(len(reports), 2)
            self.assertTrue(all(e.actor == worker_id for e in reports))
        failed = self.client.get(throwing.id)
        assert failed.error is not None
        self.assertEqual((failed.status, failed.error.message, failed.error.code),
                         ("failed", "cannot read the text", "exception"))
        self.assertIn("Traceback (most recent call last)", failed.error.details["traceback"])
        self.assertIn("RuntimeError: cannot read the text", failed.error.details["traceback"])
        self.assertEqual(self.changes(throwing.id)[-1].actor, worker_id)
        self.assertEqual(list(self.client.list(type=TYPE, status="queued,running")), [])

    def test_stops_a_job_when_the_server_says_it_was_cancelled(self) -> None:
        worker_id = unique("py")
        job = self.client.create(TYPE, long_job(30, 1))
        process = self.start(worker_id, "--lease-seconds", "3", "--wait-seconds", "1", "--exit-when-idle")
        poll(lambda: (lambda j: j.status == "running" and j.progress and j.progress.current)(self.client.get(job.id)),
             30, "the job being worked on")
        self.client.cancel(job.id)
        self.assertEqual(process.wait(60), 0, process.output)
        done = self.client.get(job.id)
        self.assertEqual((done.status, done.result), ("cancelled", None))
        self.assertLess(done.progress.current, done.progress.total)  # type: ignore[union-attr]
        last = self.changes(job.id)[-1]
        self.assertEqual((last.data["to"], last.actor), ("cancelled", worker_id))
        self.assertIn("cancel requested", process.output)

    def test_on_sigterm_stops_claiming_finishes_what_it_can_and_releases_the_rest(self) -> None:
        worker_id = unique("py")
        quick = self.client.create(TYPE, long_job(4, 0.5))
        slow = self.client.create(TYPE, long_job(60, 1))
        process = self.start(worker_id, "--max", "4", "--wait-seconds", "1", "--shutdown-grace", "4")
        for job in (quick, slow):
            poll(lambda: (lambda j: j.status == "running" and j.progress and j.progress.current)(self.client.get(job.id)),
                 30, "the jobs being worked on")
        process.signal(signal.SIGTERM)
        self.assertEqual(process.wait(60), 0, process.output)
        finished = self.client.get(quick.id)
        self.assertEqual((finished.status, finished.result["words"]), ("completed", 8), process.output)
        released = self.client.get(slow.id)
        self.assertEqual((released.status, released.attempt, released.lease_owner), ("queued", 1, None), process.output)
        self.assertIn(("released", worker_id), [(e.type, e.actor) for e in self.client.events(slow.id)])

    def test_drops_a_job_whose_lease_was_lost_without_overwriting_it(self) -> None:
        job = self.client.create(TYPE, long_job(30, 0.5))
        process = self.start(unique("py"), "--lease-seconds", "3", "--wait-seconds", "1", "--exit-when-idle")
        poll(lambda: (lambda j: j.status == "running" and j.progress and j.progress.current)(self.client.get(job.id)),
             30, "the job being worked on")
        taken = self.client.update(job.id, status="failed", error={"message": "taken away by hand"})
        self.assertEqual(process.wait(60), 0, process.output)
        self.assertIn("lease lost", process.output)
        self.assertEqual(json.dumps(self.client.get(job.id).raw, sort_keys=True), json.dumps(taken.raw, sort_keys=True))

    def test_asks_for_approval_and_completes_each_review_with_the_answer(self) -> None:
        worker_id = unique("py")
        texts = ["to be or not to be", "the quick brown fox", "hello"]
        ids = [self.client.create(REVIEW, {"text": text}).id for text in texts]
        process = self.start(worker_id, "--max", "4", "--wait-seconds", "1", types=REVIEW)
        for job_id, text in zip(ids, texts):
            prompt = poll(lambda: self.client.prompt(job_id), 30, "the question")
            self.assertEqual((prompt.key, prompt.options, prompt.asked_by), ("approve", ["yes", "no"], worker_id))
            self.assertIn(f"{len(text.split())} words", prompt.question)
            waiting = self.client.get(job_id)
            self.assertEqual((waiting.status, waiting.lease_owner), ("waiting", None))
        answers = ["yes", "no", "yes"]
        for i, job_id in enumerate(ids):
            self.assertEqual(self.client.answer(job_id, answers[i], answered_by=f"reviewer-{i}",
                                                reason="checked by hand").status, "queued")
        for i, job_id in enumerate(ids):
            job = self.client.wait(job_id, timeout=30)
            self.assertEqual(job.result, {"words": len(texts[i].split()), "approve": answers[i],
                                          "approved_by": f"reviewer-{i}"})
            self.assertEqual(job.attempt, 1)
            events = self.client.events(job_id)
            self.assertEqual([e.data["to"] for e in events if e.type == "status_changed"],
                             ["running", "waiting", "queued", "running", "completed"])
            self.assertEqual([e.actor for e in events if e.type == "prompt_asked"], [worker_id])
            [answered] = [e for e in events if e.type == "prompt_answered"]
            self.assertEqual((answered.actor, answered.data["reason"]), (f"reviewer-{i}", "checked by hand"))
            self.assertNotIn("released", [e.type for e in events])
        process.signal(signal.SIGTERM)
        self.assertEqual(process.wait(60), 0, process.output)
        self.assertIn("waiting for an answer to 'approve'", process.output)

    def test_a_worker_run_again_after_the_answer_completes_the_review_from_the_stored_answer(self) -> None:
        job = self.client.create(REVIEW, {"text": "one two three four five"})
        first = self.start(unique("py"), "--wait-seconds", "1", "--exit-when-idle", types=REVIEW)
        self.assertEqual(first.wait(60), 0, first.output)
        waiting = self.client.get(job.id)
        self.assertEqual((waiting.status, waiting.result), ("waiting", None))
        self.client.answer(job.id, "no", answered_by="editor")
        second_id = unique("py")
        second = self.start(second_id, "--wait-seconds", "1", "--exit-when-idle", types=REVIEW)
        self.assertEqual(second.wait(60), 0, second.output)
        done = self.client.get(job.id)
        self.assertEqual((done.status, done.result["words"], done.result["approve"], done.result["approved_by"]),
                         ("completed", 5, "no", "editor"))
        self.assertEqual(self.changes(job.id)[-1].actor, second_id)

    def test_resumes_from_its_checkpoint(self) -> None:
        job = self.client.create("demo.resumable", {"numbers": [1, 2, 3, 4, 5, 6], "step_seconds": 0.3})
        first = self.start(unique("py"), "--wait-seconds", "1", "--shutdown-grace", "0", types="demo.resumable")
        poll(lambda: (lambda j: j.progress and j.progress.current and j.progress.current >= 2)(self.client.get(job.id)),
             30, "two steps done")
        first.signal(signal.SIGTERM)
        self.assertEqual(first.wait(30), 0, first.output)
        second = self.start(unique("py"), "--wait-seconds", "1", "--exit-when-idle", types="demo.resumable")
        self.assertEqual(second.wait(60), 0, second.output)
        done = self.client.get(job.id)
        self.assertEqual(done.result["sum"], 21)
        self.assertGreaterEqual(done.result["resumed_from"], 2)


class ExampleWorkerKeyTests(unittest.TestCase):
    def test_sends_its_key_from_the_option_or_the_environment_and_without_one_is_refused(self) -> None:
        keys = {"work": new_key(), "submit": new_key()}
        keyed = ServerProcess([("py-worker", keys["work"], ["work"]), ("submitter", keys["submit"], ["submit", "read"])])
        self.addCleanup(keyed.stop)
        submit = jobkeeper.Client(keyed.url, keys["submit"])
        self.addCleanup(submit.close)

        def run(options: List[str], env: Optional[Dict[str, str]], expected: int) -> str:
            process = python_process(SCRIPT, ["--url", keyed.url, "--types", TYPE, "--worker-id", unique("py"),
                                              *options, "--wait-seconds", "1", "--exit-when-idle",
                                              "--demo-step-seconds", "0"], env)
            self.addCleanup(process.kill)
            self.assertEqual(process.wait(60), expected, process.output)
            return process.output

        by_option = submit.create(TYPE, {"text": "sent with the option"})
        run(["--api-key", keys["work"]], None, 0)
        self.assertEqual(submit.get(by_option.id).status, "completed")
        by_environment = submit.create(TYPE, {"text": "sent from the environment"})
        run([], {"JOBKEEPER_API_KEY": keys["work"]}, 0)
        self.assertEqual(submit.get(by_environment.id).result["words"], 4)
        self.assertIn("claim refused: HTTP 401", run([], None, 2))

    def test_ctrl_c_while_it_long_polls_ends_it_within_a_second_and_cuts_the_claim(self) -> None:
        key = new_key()
        keyed = ServerProcess([("py-worker", key, ["work"])],
                              env={"Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics": "Information"})
        self.addCleanup(keyed.stop)
        process = python_process(SCRIPT, ["--url", keyed.url, "--types", TYPE, "--worker-id", unique("py"),
                                          "--wait-seconds", "30"], {"JOBKEEPER_API_KEY": key})
        self.addCleanup(process.kill)
        claims = lambda word: [l for l in list(keyed.lines) if word in l and "/api/v1/workers/claim" in l]  # noqa: E731
        poll(lambda: claims("Request starting"), 30, "the worker's claim reaching the server")
        started = time.monotonic()
        process.signal(signal.SIGINT)
        self.assertEqual(process.wait(30), 0, process.output)
        self.assertLess(time.monotonic() - started, 1 + 4, process.output)
        self.assertIn("SIGINT: no more claims", process.output)
        poll(lambda: claims("Request finished"), 10, "the server seeing the claim end")
