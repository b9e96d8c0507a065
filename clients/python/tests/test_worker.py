"""The blocking Worker against a real server."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import jobkeeper
from jobkeeper.tracing import new_traceparent, parse_traceparent

from .support import ServerTestCase, poll, unique


class Boom(Exception):
    pass


class WorkerTests(ServerTestCase):
    def worker(self, job_type: str, handler: Any, **options: Any) -> jobkeeper.Worker:
        options.setdefault("wait_seconds", 1)
        options.setdefault("worker_id", unique("py-worker"))
        return jobkeeper.Worker(self.client, [job_type], handlers={job_type: handler}, **options)

    def test_a_raising_handler_fails_only_that_attempt_and_the_worker_goes_on(self) -> None:
        job_type = unique("worker.raise")

        def handler(job: jobkeeper.WorkerJob) -> Dict[str, Any]:
            if job.input.get("boom") and job.attempt == 1:
                raise Boom(f"attempt {job.attempt} broke")
            return {"n": job.input["n"], "attempt": job.attempt}

        flaky = self.client.create(job_type, {"n": 0, "boom": True}, max_attempts=2)
        doomed = self.client.create(job_type, {"n": 1, "boom": True}, max_attempts=1)
        fine = [self.client.create(job_type, {"n": n}) for n in range(2, 6)]
        outcomes: List[str] = []
        worker = self.worker(job_type, handler, concurrency=2, on_outcome=lambda job, outcome: outcomes.append(outcome))
        self.start_worker(worker)

        for job in fine:
            self.assertEqual(self.client.wait(job.id, timeout=30).status, "completed")
        failed = self.client.wait(doomed.id, timeout=30)
        self.assertEqual(failed.status, "failed")
        assert failed.error is not None
        self.assertEqual((failed.error.message, failed.error.code), ("attempt 1 broke", "exception"))
        self.assertEqual(failed.error.details["exception_type"], f"{Boom.__module__}.Boom")
        self.assertIn("Traceback (most recent call last)", failed.error.details["traceback"])
        self.assertIn("Boom: attempt 1 broke", failed.error.details["traceback"])
        retried = self.client.wait(flaky.id, timeout=60)  # the failed attempt is retried after a backoff
        self.assertEqual((retried.status, retried.result), ("completed", {"n": 0, "attempt": 2}))
        self.assertEqual([e.data["to"] for e in self.status_changes(flaky.id)], ["running", "queued", "running", "completed"])
        # The worker reports an outcome after the server answered, which wait() may see first.
        poll(lambda: len(outcomes) == 7, 30, "the worker to report every outcome")
        self.assertEqual(outcomes.count("failed"), 2)
        self.assertEqual(outcomes.count("completed"), 5)

    def test_a_result_that_is_not_json_fails_the_job(self) -> None:
        job_type = unique("worker.notjson")
        job = self.client.create(job_type, max_attempts=1)
        self.start_worker(self.worker(job_type, lambda job: {"when": object()}))
        failed = self.client.wait(job.id, timeout=30)
        self.assertEqual(failed.status, "failed")
        self.assertIn("cannot be sent as JSON", failed.error.message)  # type: ignore[union-attr]

    def test_a_lost_lease_stops_the_handler_and_the_job_is_not_completed(self) -> None:
        job_type = unique("worker.lost")
        job = self.client.create(job_type)
        seen: Dict[str, Any] = {}
        stopped = threading.Event()

        def handler(work: jobkeeper.WorkerJob) -> str:
            work.progress(fraction=0.1)
            try:
                while True:
                    work.sleep(0.1)
            except jobkeeper.Cancelled as cancelled:
                seen["reason"] = cancelled.reason
                seen["flag"] = work.cancelled
                stopped.set()
                raise
            return "never"

        outcomes: List[str] = []
        self.start_worker(self.worker(job_type, handler, lease_seconds=3, on_outcome=lambda j, o: outcomes.append(o)))
        poll(lambda: self.client.get(job.id).progress, 30, "the handler reporting progress")
        taken = self.client.update(job.id, status="failed", error={"message": "taken away by hand"})
        self.assertTrue(stopped.wait(10), "the handler was not stopped")
        self.assertEqual(seen, {"reason": "lease_lost", "flag": True})
        poll(lambda: outcomes == ["dropped"], 10, "the worker dropping the job")
        after = self.client.get(job.id)
        self.assertEqual((after.status, after.version, after.error.message), ("failed", taken.version, "taken away by hand"))  # type: ignore[union-attr]

    def test_a_cancel_stops_the_handler_by_exception_or_by_flag(self) -> None:
        job_type = unique("worker.cancel")
        by_exception = self.client.create(job_type, {"style": "exception"})
        by_flag = self.client.create(job_type, {"style": "flag"})
        worker_id = unique("py-worker")
        ended: Dict[str, str] = {}

        def handler(job: jobkeeper.WorkerJob) -> str:
            job.progress(fraction=0.0)
            if job.input["style"] == "exception":
                try:
                    for _ in range(600):
                        job.sleep(0.1)
                except jobkeeper.Cancelled as cancelled:
                    ended[job.id] = cancelled.reason
                    raise
            else:
                while not job.cancelled:
                    time.sleep(0.02)  # a handler that only looks at the flag
                ended[job.id] = job.stop_reason or ""
                return "partial"
            return "finished"

        self.start_worker(self.worker(job_type, handler, concurrency=2, lease_seconds=3, worker_id=worker_id))
        for job in (by_exception, by_flag):
            poll(lambda: self.client.get(job.id).progress, 30, "the handler starting")
            self.client.cancel(job.id)
            cancelled = self.client.wait(job.id, timeout=30)
            self.assertEqual(cancelled.status, "cancelled")
            self.assertIsNone(cancelled.result)
            self.assertEqual(self.status_changes(job.id)[-1].actor, worker_id)  # ended by its worker, not the reaper
            self.assertEqual(ended[job.id], "cancelled")

    def test_ask_waits_and_the_run_after_the_answer_completes_with_it(self) -> None:
        job_type = unique("worker.ask")
        runs: List[int] = []

        def handler(job: jobkeeper.WorkerJob) -> Dict[str, Any]:
            runs.append(job.attempt)
            answer = job.ask("approve", "Publish it?", options=["yes", "no"], expires_in=3600)
            return {"answer": answer, "by": job.prompts["approve"].answered_by, "answers": job.answers}

        job = self.client.create(job_type)
        outcomes: List[str] = []
        worker_id = unique("py-worker")
        self.start_worker(self.worker(job_type, handler, worker_id=worker_id, on_outcome=lambda j, o: outcomes.append(o)))
        prompt = poll(lambda: self.client.prompt(job.id), 30, "the question")
        self.assertEqual((prompt.key, prompt.question, prompt.options, prompt.asked_by),
                         ("approve", "Publish it?", ["yes", "no"], worker_id))
        waiting = self.client.get(job.id)
        self.assertEqual((waiting.status, waiting.lease_owner), ("waiting", None))
        self.assertEqual(waiting.open_prompt.key, "approve")  # type: ignore[union-attr]
        self.client.answer(job.id, "yes", answered_by="editor")
        done = self.client.wait(job.id, timeout=30)
        self.assertEqual(done.result, {"answer": "yes", "by": "editor", "answers": {"approve": "yes"}})
        self.assertEqual(done.attempt, 1)
        self.assertEqual(runs, [1, 1])
        # The worker reports the outcome after the server answered its completion, which wait() may see first.
        poll(lambda: len(outcomes) == 2, 30, "the worker to report the second outcome")
        self.assertEqual(outcomes, ["waiting", "completed"])
        self.assertEqual([e.data["to"] for e in self.status_changes(job.id)],
                         ["running", "waiting", "queued", "running", "completed"])

    def test_a_handler_that_swallows_job_waiting_still_leaves_the_job_waiting_and_frees_its_slot(self) -> None:
        job_type = unique("worker.swallow")

        def handler(job: jobkeeper.WorkerJob) -> str:
            if job.input.get("ask"):
                try:
                    job.ask("ok", "OK?", options=["yes"])
                except BaseException:  # a handler that should not do this
                    return "swallowed"
            return "next"

        outcomes: List[str] = []
        asking = self.client.create(job_type, {"ask": True})
        self.start_worker(self.worker(job_type, handler, concurrency=1, on_outcome=lambda j, o: outcomes.append(o)))
        poll(lambda: self.client.prompt(asking.id), 30, "the question")
        after = self.client.create(job_type, {})
        self.assertEqual(self.client.wait(after.id, timeout=30).result, "next")  # the only slot was given back
        self.assertEqual(self.client.get(asking.id).status, "waiting")
        poll(lambda: len(outcomes) == 2, 30, "the worker to report both outcomes")
        self.assertEqual(outcomes, ["waiting", "completed"])

    def test_a_checkpoint_is_read_by_the_next_run(self) -> None:
        job_type = unique("worker.checkpoint")

        def handler(job: jobkeeper.WorkerJob) -> Dict[str, Any]:
            seen = job.last_checkpoint
            if job.attempt == 1:
                job.checkpoint({"done": 5})
                assert job.last_checkpoint == {"done": 5}
                raise Boom("crash after the checkpoint")
            return {"resumed_from": seen}

        job = self.client.create(job_type, max_attempts=2)
        self.start_worker(self.worker(job_type, handler))
        done = self.client.wait(job.id, timeout=60)
        self.assertEqual((done.status, done.attempt, done.result), ("completed", 2, {"resumed_from": {"done": 5}}))

    def test_heartbeats_keep_a_job_running_longer_than_its_lease(self) -> None:
        job_type = unique("worker.long")
        quiet = self.client.create(job_type, {"progress": False})
        chatty = self.client.create(job_type, {"progress": True})

        def handler(job: jobkeeper.WorkerJob) -> str:
            for step in range(8):  # 8 s with a 3 s lease
                if job.input["progress"]:
                    job.progress(fraction=step / 8, stage="working", current=step, total=8)
                job.sleep(1.0)
            return "done"

        self.start_worker(self.worker(job_type, handler, concurrency=2, lease_seconds=3))
        for job in (quiet, chatty):
            done = self.client.wait(job.id, timeout=60)
            self.assertEqual((done.status, done.attempt, done.result), ("completed", 1, "done"))
            events = self.client.events(job.id)
            self.assertNotIn("lease_expired", [e.type for e in events])
            self.assertEqual([e.data["to"] for e in events if e.type == "status_changed"], ["running", "completed"])
        self.assertEqual(self.client.get(chatty.id).progress.current, 7)  # type: ignore[union-attr]

    def test_the_handler_runs_in_the_jobs_trace_and_so_do_the_jobs_it_creates(self) -> None:
        job_type = unique("worker.trace")
        child_type = unique("worker.child")
        seen: Dict[str, Any] = {}

        def handler(job: jobkeeper.WorkerJob) -> str:
            seen["current"] = jobkeeper.current_traceparent()
            child = self.client.create(child_type)  # no traceparent given: the handler's trace
            return child.id

        traceparent = new_traceparent()
        with jobkeeper.trace_context(traceparent):
            job = self.client.create(job_type)
        self.start_worker(self.worker(job_type, handler))
        done = self.client.wait(job.id, timeout=30)
        child = self.client.get(done.result)
        trace_id = parse_traceparent(traceparent).trace_id  # type: ignore[union-attr]
        self.assertEqual(seen["current"], job.traceparent)
        self.assertEqual(parse_traceparent(job.traceparent).trace_id, trace_id)  # type: ignore[union-attr]
        self.assertEqual(parse_traceparent(child.traceparent).trace_id, trace_id)  # type: ignore[union-attr]

    def test_a_job_without_a_handler_fails(self) -> None:
        known = unique("worker.known")
        unknown = unique("worker.unknown")
        a = self.client.create(known)
        b = self.client.create(unknown, max_attempts=1)
        self.start_worker(jobkeeper.Worker(self.client, [known, unknown], handlers={known: lambda job: "ok"}, wait_seconds=1))
        self.assertEqual(self.client.wait(a.id, timeout=30).result, "ok")
        failed = self.client.wait(b.id, timeout=30)
        self.assertIn("no handler", failed.error.message)  # type: ignore[union-attr]

    def test_a_catch_all_handler_claims_every_type_in_its_queues(self) -> None:
        queue = unique("worker-queue")
        known = unique("worker.known")
        a = self.client.create(known, queue=queue)
        b = self.client.create(unique("worker.any"), queue=queue)
        elsewhere = self.client.create(unique("worker.any"))
        worker = jobkeeper.Worker(self.client, queues=[queue], wait_seconds=1)
        worker.handler(known)(lambda job: "known")
        worker.handler("*")(lambda job: f"any {job.queue}")
        self.start_worker(worker)
        self.assertEqual(self.client.wait(a.id, timeout=30).result, "known")
        self.assertEqual(self.client.wait(b.id, timeout=30).result, f"any {queue}")
        self.assertEqual(self.client.get(elsewhere.id).status, "queued")
        self.client.cancel(elsewhere.id)
        with self.assertRaises(ValueError):
            jobkeeper.Worker(self.client, handlers={"*": lambda job: None}).run(handle_signals=False)

    def test_exit_when_idle_and_stop(self) -> None:
        job_type = unique("worker.idle")
        jobs = [self.client.create(job_type, {"n": n}) for n in range(5)]
        worker = self.worker(job_type, lambda job: job.input["n"] * 2, concurrency=3)
        started = time.monotonic()
        worker.run(exit_when_idle=True, handle_signals=False)
        self.assertLess(time.monotonic() - started, 20)
        self.assertEqual([self.client.get(j.id).result for j in jobs], [0, 2, 4, 6, 8])
        self.assertEqual(worker.counts["completed"], 5)

        idle = self.worker(unique("worker.none"), lambda job: None, wait_seconds=30)
        thread = threading.Thread(target=idle.run, kwargs={"handle_signals": False})
        thread.start()
        time.sleep(0.5)  # let the long poll start: stop() must cut it, not wait 30 s
        started = time.monotonic()
        idle.stop()
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertLess(time.monotonic() - started, 2)

    def test_stop_releases_what_does_not_finish_in_the_grace_period(self) -> None:
        job_type = unique("worker.grace")
        quick = self.client.create(job_type, {"seconds": 1})
        slow = self.client.create(job_type, {"seconds": 60})
        worker_id = unique("py-worker")

        def handler(job: jobkeeper.WorkerJob) -> str:
            job.progress(fraction=0.0)
            job.sleep(job.input["seconds"])
            return "slept"

        worker = self.worker(job_type, handler, concurrency=2, shutdown_grace=2, worker_id=worker_id)
        thread = threading.Thread(target=worker.run, kwargs={"handle_signals": False})
        thread.start()
        self.addCleanup(lambda: (worker.stop(), thread.join(30)))
        for job in (quick, slow):
            poll(lambda: self.client.get(job.id).progress, 30, "both jobs running")
        worker.stop()
        thread.join(30)
        self.assertFalse(thread.is_alive())
        self.assertEqual(self.client.get(quick.id).status, "completed")
        released = self.client.get(slow.id)
        self.assertEqual((released.status, released.attempt, released.lease_owner), ("queued", 1, None))
        self.assertIn(("released", worker_id), [(e.type, e.actor) for e in self.client.events(slow.id)])
        self.assertEqual((worker.counts["completed"], worker.counts["released"]), (1, 1))
        self.client.cancel(slow.id)
