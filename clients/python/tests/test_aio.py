"""The asyncio client and worker against a real server."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Dict, List

import jobkeeper
from jobkeeper.tracing import new_traceparent, parse_traceparent

from .support import ServerTestCase, unique


class AsyncTests(ServerTestCase):
    def run_async(self, coroutine: Any) -> Any:
        return asyncio.run(asyncio.wait_for(coroutine, 120))

    def test_the_client(self) -> None:
        async def scenario() -> None:
            async with jobkeeper.AsyncClient(self.url, self.api_key, timeout=15) as client:
                job_type = unique("aio.client")
                self.assertEqual((await client.health()).status, "ok")
                job = await client.create(job_type, {"n": 1}, labels={"k": "v"}, unique_key=unique("aio-key"))
                again = await client.create(job_type, {"n": 2}, unique_key=job.unique_key)
                self.assertTrue(again.existing)
                self.assertEqual((await client.get(job.id)).labels, {"k": "v"})
                self.assertIsNone(await client.find(unique("missing")))
                with self.assertRaises(jobkeeper.NotFoundError):
                    await client.get(unique("missing"))
                batch = await client.create_many([jobkeeper.NewJob(job_type, {"n": n}) for n in range(3)])
                self.assertEqual(batch.created, 3)
                listed = [j.id async for j in client.list(type=job_type, page_size=2)]
                self.assertEqual(len(listed), 4)
                self.assertEqual(len((await client.list_page(type=job_type, limit=1)).items), 1)
                updated = await client.update(job.id, progress={"fraction": 0.5})
                self.assertEqual(updated.progress.fraction, 0.5)  # type: ignore[union-attr]
                self.assertEqual((await client.cancel(job.id)).status, "cancelled")
                self.assertEqual((await client.retry(job.id)).status, "queued")
                self.assertGreaterEqual(len(await client.events(job.id)), 3)
                self.assertIsNone(await client.prompt(job.id))
                self.assertGreaterEqual((await client.cleanup(36500)).retention_days, 36500)
                [item] = await client.claim("aio-hand", [job_type], max=1)
                await client.heartbeat(item.id, item.lease_token, 30)
                await client.report_progress(item.id, item.lease_token, fraction=0.1)
                await client.save_checkpoint(item.id, item.lease_token, {"at": 1})
                asked = await client.ask(item.id, item.lease_token, "ok", "OK?", options=["yes"])
                self.assertTrue(asked.waiting)
                self.assertEqual((await client.answer(item.id, "yes")).status, "queued")
                [item] = await client.claim("aio-hand", [job_type], max=1)
                await client.release(item.id, item.lease_token)
                [item] = await client.claim("aio-hand", [job_type], max=1)
                await client.fail(item.id, item.lease_token, "no", retry=False)
                [item] = await client.claim("aio-hand", [job_type], max=1)
                self.assertEqual((await client.complete(item.id, item.lease_token, 1)).status, "completed")
                queue = unique("aio-queue")
                await client.create(job_type, queue=queue)
                self.assertTrue((await client.pause_queue(queue)).paused)
                self.assertFalse((await client.resume_queue(queue)).paused)
                self.assertEqual((await client.update_queue(queue, concurrency_limit=3)).concurrency_limit, 3)
                self.assertIn(queue, [q.name for q in await client.queues()])
                self.assertEqual((await client.queue(queue)).name, queue)
                name = unique("aio-schedule")
                await client.create_schedule(name, {"type": job_type}, interval_seconds=3600)
                self.assertEqual((await client.schedule(name)).interval_seconds, 3600)
                self.assertIn(name, [s.name for s in await client.schedules()])
                self.assertTrue((await client.update_schedule(name, paused=True)).paused)
                self.assertFalse((await client.resume_schedule(name)).paused)
                self.assertTrue((await client.pause_schedule(name)).paused)
                self.assertEqual((await client.trigger_schedule(name)).job.type, job_type)
                await client.delete_schedule(name)
                await client.delete(job.id)

        self.run_async(scenario())

    def test_watch_wait_and_cancellation(self) -> None:
        async def scenario() -> None:
            async with jobkeeper.AsyncClient(self.url, self.api_key, timeout=15) as client:
                job = await client.create(unique("aio.watch"))
                events: List[jobkeeper.JobEvent] = []

                async def watch() -> None:
                    async with client.watch(job.id) as stream:
                        async for event in stream:
                            events.append(event)
                            if event.job_status == "cancelled":
                                return

                watcher = asyncio.ensure_future(watch())
                waiter = asyncio.ensure_future(client.wait(job.id, timeout=30))
                await asyncio.sleep(0.5)  # the stream and the wait are open (no event is missed either way)
                await client.cancel(job.id)
                self.assertEqual((await waiter).status, "cancelled")
                await asyncio.wait_for(watcher, 10)
                self.assertEqual(events[-1].type, "status_changed")

                # Cancelling a task cuts its call at once: a wait on a job that never finishes, a quiet stream.
                other = await client.create(unique("aio.never"))
                for coroutine in (client.wait(other.id), _first(client.watch(other.id))):
                    task = asyncio.ensure_future(coroutine)
                    await asyncio.sleep(0.3)
                    started = time.monotonic()
                    task.cancel()
                    with self.assertRaises(asyncio.CancelledError):
                        await task
                    self.assertLess(time.monotonic() - started, 2)
                with self.assertRaises(jobkeeper.JobkeeperTimeoutError):
                    await client.wait(other.id, timeout=0.5)
                # The cut frees the threads: none of the cancelled waits is still blocked on its socket.
                deadline = time.monotonic() + 3
                while any(t.name == "jobkeeper-aio-long" for t in threading.enumerate()) and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                self.assertFalse([t.name for t in threading.enumerate() if t.name == "jobkeeper-aio-long"])

            # With one thread, a cancelled long poll must give it back at once for the next call.
            async with jobkeeper.AsyncClient(self.url, self.api_key, timeout=15, max_threads=1) as single:
                claim = asyncio.ensure_future(single.claim("aio-idle", [unique("aio.none")], wait_seconds=30))
                await asyncio.sleep(0.3)
                claim.cancel()
                with self.assertRaises(asyncio.CancelledError):
                    await claim
                self.assertEqual((await asyncio.wait_for(single.health(), 3)).status, "ok")

        self.run_async(scenario())

    def test_the_worker(self) -> None:
        async def scenario() -> None:
            async with jobkeeper.AsyncClient(self.url, self.api_key, timeout=15) as client:
                job_type = unique("aio.worker")
                worker_id = unique("aio-worker")
                outcomes: List[str] = []
                seen: Dict[str, Any] = {}
                worker = jobkeeper.AsyncWorker(client, concurrency=4, lease_seconds=3, wait_seconds=1,
                                               worker_id=worker_id, on_outcome=lambda j, o: outcomes.append(o))

                @worker.handler(job_type)
                async def handle(job: jobkeeper.AsyncWorkerJob) -> Any:
                    kind = job.input["kind"]
                    await job.progress(fraction=0.1, stage=kind)
                    if kind == "raise":
                        raise ValueError("async boom")
                    if kind == "long":
                        for _ in range(5):  # 5 s with a 3 s lease: the heartbeats keep it
                            await job.sleep(1)
                        return "long done"
                    if kind == "cancel":
                        try:
                            await asyncio.sleep(600)
                        except asyncio.CancelledError:
                            seen["cancelled"] = job.stop_reason
                            raise
                    if kind == "ask":
                        return {"answer": await job.ask("go", "Go?", options=["yes", "no"])}
                    if kind == "checkpoint":
                        if job.attempt == 1:
                            await job.checkpoint({"step": 1})
                            raise RuntimeError("crash")
                        return job.last_checkpoint
                    if kind == "trace":
                        child = await client.create(unique("aio.child"))
                        return child.traceparent
                    return kind

                traceparent = new_traceparent()
                with jobkeeper.trace_context(traceparent):
                    traced = await client.create(job_type, {"kind": "trace"})
                ok = await client.create(job_type, {"kind": "ok"})
                raising = await client.create(job_type, {"kind": "raise"}, max_attempts=1)
                long = await client.create(job_type, {"kind": "long"})
                asking = await client.create(job_type, {"kind": "ask"})
                checkpoint = await client.create(job_type, {"kind": "checkpoint"}, max_attempts=2)
                runner = asyncio.ensure_future(worker.run(handle_signals=False))
                try:
                    self.assertEqual((await client.wait(ok.id, timeout=30)).result, "ok")
                    failed = await client.wait(raising.id, timeout=30)
                    self.assertEqual((failed.status, failed.error.code), ("failed", "exception"))  # type: ignore[union-attr]
                    self.assertIn("ValueError: async boom", failed.error.details["traceback"])  # type: ignore[union-attr]
                    prompt = None
                    while prompt is None:
                        prompt = await client.prompt(asking.id)
                        await asyncio.sleep(0.05)
                    self.assertEqual(prompt.asked_by, worker_id)
                    await client.answer(asking.id, "no")
                    self.assertEqual((await client.wait(asking.id, timeout=30)).result, {"answer": "no"})
                    done = await client.wait(long.id, timeout=60)
                    self.assertEqual((done.result, done.attempt), ("long done", 1))
                    self.assertEqual((await client.wait(checkpoint.id, timeout=60)).result, {"step": 1})
                    child_tp = (await client.wait(traced.id, timeout=30)).result
                    self.assertEqual(parse_traceparent(child_tp).trace_id, parse_traceparent(traceparent).trace_id)  # type: ignore[union-attr]

                    cancelled = await client.create(job_type, {"kind": "cancel"})
                    while (await client.get(cancelled.id)).progress is None:
                        await asyncio.sleep(0.05)
                    await client.cancel(cancelled.id)
                    final = await client.wait(cancelled.id, timeout=30)
                    self.assertEqual(final.status, "cancelled")
                    self.assertEqual(seen["cancelled"], "cancelled")
                    self.assertEqual((await client.events(cancelled.id))[-1].actor, worker_id)
                finally:
                    worker.stop()
                    await asyncio.wait_for(runner, 30)
                self.assertEqual(outcomes.count("waiting"), 1)
                self.assertIn("cancelled", outcomes)

        self.run_async(scenario())

    def test_stopping_the_worker_releases_what_runs_after_the_grace_period(self) -> None:
        async def scenario() -> None:
            async with jobkeeper.AsyncClient(self.url, self.api_key, timeout=15) as client:
                job_type = unique("aio.grace")
                worker = jobkeeper.AsyncWorker(client, [job_type], wait_seconds=30, shutdown_grace=1)

                @worker.handler(job_type)
                async def handle(job: jobkeeper.AsyncWorkerJob) -> None:
                    await job.progress(fraction=0)
                    await asyncio.sleep(600)

                slow = await client.create(job_type)
                runner = asyncio.ensure_future(worker.run(handle_signals=False))
                while (await client.get(slow.id)).progress is None:
                    await asyncio.sleep(0.05)
                started = time.monotonic()
                worker.stop()
                await asyncio.wait_for(runner, 30)
                self.assertLess(time.monotonic() - started, 5)
                released = await client.get(slow.id)
                self.assertEqual((released.status, released.attempt), ("queued", 1))
                self.assertEqual(worker.counts["released"], 1)
                await client.cancel(slow.id)

        self.run_async(scenario())


async def _first(stream: jobkeeper.AsyncEventStream) -> Any:
    async with stream:
        async for event in stream:
            return event
    return None
