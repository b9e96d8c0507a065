"""The blocking client against a real server: every method."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import jobkeeper
from jobkeeper.tracing import new_traceparent, parse_traceparent

from .support import ServerTestCase, poll, unique


class JobRoutesTests(ServerTestCase):
    def test_create_get_and_find(self) -> None:
        job_type = unique("client.create")
        run_at = datetime.now(timezone.utc) + timedelta(hours=1)
        job = self.client.create(job_type, {"file": "a.mp3"}, labels={"episode": "42"}, priority=5, max_attempts=7,
                                 queue="py-tests", run_at=run_at, actor="tester", reason="a test")
        self.assertEqual(job.status, "queued")
        self.assertFalse(job.existing)
        got = self.client.get(job.id)
        self.assertEqual((got.type, got.input, got.labels, got.priority, got.max_attempts, got.queue),
                         (job_type, {"file": "a.mp3"}, {"episode": "42"}, 5, 7, "py-tests"))
        self.assertAlmostEqual(got.run_at.timestamp(), run_at.timestamp(), delta=0.01)  # type: ignore[union-attr]
        self.assertEqual(got.created_at.tzinfo, timezone.utc)  # type: ignore[union-attr]
        created = self.client.events(job.id)[0]
        self.assertEqual((created.type, created.actor, created.reason), ("created", "tester", "a test"))
        self.assertIsNone(self.client.find(unique("missing")))
        with self.assertRaises(jobkeeper.NotFoundError) as refused:
            self.client.get(unique("missing"))
        self.assertEqual(refused.exception.kind, "job-not-found")
        self.assertEqual(refused.exception.status, 404)

    def test_a_chosen_id_twice_is_a_conflict(self) -> None:
        job_id = unique("py-id")
        self.client.create(unique("client.id"), id=job_id)
        with self.assertRaises(jobkeeper.ConflictError) as refused:
            self.client.create(unique("client.id"), id=job_id)
        self.assertEqual(refused.exception.kind, "duplicate-id")

    def test_unique_key_and_idempotency_key_return_the_existing_job(self) -> None:
        job_type = unique("client.unique")
        first = self.client.create(job_type, {"day": 1}, unique_key=unique("key"))
        again = self.client.create(job_type, {"day": 2}, unique_key=first.unique_key)
        self.assertTrue(again.existing)
        self.assertFalse(first.existing)
        self.assertEqual((again.id, again.input), (first.id, {"day": 1}))

        key = unique("idem")
        made = self.client.create(job_type, idempotency_key=key)
        resent = self.client.create(job_type, idempotency_key=key)
        self.assertEqual(resent.id, made.id)
        self.assertTrue(resent.existing)
        self.assertEqual(made.unique_key, key)

        windowed = self.client.create(job_type, unique_key=unique("w"), unique_window_seconds=timedelta(minutes=5),
                                      unique_statuses=["queued", "running", "waiting", "completed"])
        self.assertFalse(windowed.existing)
        with self.assertRaises(jobkeeper.ValidationError) as refused:
            self.client.create(job_type, idempotency_key=unique("k"), unique_key="both")
        self.assertIn("Idempotency-Key", refused.exception.errors)

    def test_debounce_folds_a_burst_into_one_job(self) -> None:
        job_type = unique("client.debounce")
        key = unique("render")
        first = self.client.create(job_type, {"cut": 1}, unique_key=key, debounce_seconds=60)
        second = self.client.create(job_type, {"cut": 2}, unique_key=key, debounce_seconds=60)
        self.assertEqual(second.id, first.id)
        self.assertTrue(second.existing)
        self.assertEqual(self.client.get(first.id).input, {"cut": 2})

    def test_create_many(self) -> None:
        job_type = unique("client.batch")
        key = unique("batch-key")
        result = self.client.create_many([
            jobkeeper.NewJob(job_type, {"n": 1}),
            {"type": job_type, "input": {"n": 2}, "unique_key": key},
            jobkeeper.NewJob(job_type, unique_key=key),
            {"type": ""},
        ])
        self.assertEqual(result.created, 2)
        self.assertEqual([i.outcome for i in result.items], ["created", "created", "existing", "invalid"])
        self.assertEqual(result.items[2].job.id, result.items[1].job.id)  # type: ignore[union-attr]
        self.assertTrue(result.items[2].job.existing)  # type: ignore[union-attr]
        self.assertEqual(result.items[3].field, "jobs[3].type")

    def test_update_with_and_without_if_match(self) -> None:
        job = self.client.create(unique("client.update"), labels={"a": "1", "b": "2"})
        updated = self.client.update(job.id, progress={"fraction": 0.5, "stage": "half"}, labels={"a": None, "c": "3"},
                                     actor="tester")
        self.assertEqual(updated.progress.fraction, 0.5)  # type: ignore[union-attr]
        self.assertEqual(updated.labels, {"b": "2", "c": "3"})
        cleared = self.client.update(job.id, progress=None, if_match=updated.version)
        self.assertIsNone(cleared.progress)
        with self.assertRaises(jobkeeper.PreconditionFailedError) as refused:
            self.client.update(job.id, result={"x": 1}, if_match=updated.version)
        self.assertEqual(refused.exception.current_version, cleared.version)
        with self.assertRaises(jobkeeper.ValidationError) as invalid:
            self.client.update(job.id, progress={"fraction": 2})
        self.assertIn("progress.fraction", invalid.exception.errors)
        running = self.client.update(job.id, status="running", lease_seconds=60)
        self.assertEqual(running.status, "running")
        done = self.client.update(job.id, status="completed", result={"ok": True})
        self.assertEqual((done.status, done.result), ("completed", {"ok": True}))
        self.assertTrue(done.finished)

    def test_delete(self) -> None:
        job = self.client.create(unique("client.delete"))
        self.client.delete(job.id, actor="tester", reason="not needed")
        self.assertIsNone(self.client.find(job.id))
        with self.assertRaises(jobkeeper.NotFoundError):
            self.client.delete(job.id)

    def test_list_follows_the_cursor_through_every_page(self) -> None:
        job_type = unique("client.list")
        before = datetime.now(timezone.utc) - timedelta(seconds=1)
        ids = [self.client.create(job_type, {"n": n}, labels={"parity": "even" if n % 2 == 0 else "odd"}).id
               for n in range(7)]
        listed = [job.id for job in self.client.list(type=job_type, page_size=2)]
        self.assertEqual(listed, list(reversed(ids)))  # newest first
        self.assertEqual(len(list(self.client.list(type=job_type, page_size=2, limit=3))), 3)
        self.assertEqual([job.id for job in self.client.list(type=job_type, page_size=2, sort="created")], ids)
        even = list(self.client.list(type=job_type, label={"parity": "even"}))
        self.assertEqual(len(even), 4)
        self.assertEqual(len(list(self.client.list(type=job_type, status=["queued", "running"], created_after=before))), 7)
        self.assertEqual(list(self.client.list(type=job_type, created_before=before)), [])
        page = self.client.list_page(type=job_type, limit=5)
        self.assertEqual(len(page.items), 5)
        rest = self.client.list_page(type=job_type, limit=5, cursor=page.next_cursor)
        self.assertEqual((len(rest.items), rest.next_cursor), (2, None))
        with self.assertRaises(jobkeeper.ValidationError):
            self.client.list_page(status="sleeping")

    def test_bulk_counts_then_changes_every_matching_job_and_refuses_an_empty_filter(self) -> None:
        job_type = unique("client.bulk")
        ids = [self.client.create(job_type, {"n": n}).id for n in range(6)]
        dry = self.client.bulk("cancel", type=job_type, status="queued", dry_run=True)
        self.assertEqual((dry.action, dry.dry_run, dry.matched, dry.changed), ("cancel", True, 6, 0))
        done = self.client.bulk("cancel", type=job_type, actor="tester", reason="tidy up")
        self.assertEqual((done.matched, done.changed, done.skipped), (6, 6, 0))
        self.assertTrue(all(self.client.get(i).status == "cancelled" for i in ids))
        self.assertEqual(self.client.events(ids[0])[-1].reason, "tidy up")
        again = self.client.bulk("retry", type=job_type, status=["cancelled"])
        self.assertEqual(again.changed, 6)
        word = unique("w").replace(".", "")
        self.client.update(ids[2], labels={"tag": word})
        # The search index catches up within about half a second.
        poll(lambda: [j.id for j in self.client.list(q=word.upper())] == [ids[2]], what="the search to find the job")
        self.assertEqual(self.client.bulk("cancel", q=word).changed, 1)
        with self.assertRaises(jobkeeper.ValidationError) as refused:
            self.client.bulk("delete")
        self.assertIn("filter", str(refused.exception))

    def test_workers_shows_an_http_worker_with_the_job_it_holds_and_what_it_completed(self) -> None:
        job_type = unique("client.workers")
        worker = unique("w")
        self.client.create(job_type)
        self.client.create(job_type)
        first = self.client.claim(worker, types=[job_type], max=1)[0]
        self.client.complete(first.id, first.lease_token)
        held = self.client.claim(worker, types=[job_type], max=1)[0]
        seen = poll(lambda: next((w for w in self.client.workers(600)
                                  if w.worker_id == worker and w.completed_last_5_minutes == 1), None),
                    what="the worker with its completed job")
        self.assertEqual((seen.kind, seen.running, seen.jobs[0].id), ("http", 1, held.id))
        with self.assertRaises(jobkeeper.ValidationError):
            self.client.workers(0)

    def test_cancel_retry_events_and_cleanup(self) -> None:
        job = self.client.create(unique("client.cancel"), max_attempts=1)
        cancelled = self.client.cancel(job.id, actor="tester", reason="changed my mind")
        self.assertEqual(cancelled.status, "cancelled")
        self.assertEqual(self.client.cancel(job.id).status, "cancelled")  # twice is as once
        retried = self.client.retry(job.id)
        self.assertEqual((retried.status, retried.attempt), ("queued", 2))
        with self.assertRaises(jobkeeper.ConflictError):
            self.client.retry(job.id)
        events = self.client.events(job.id)
        self.assertEqual([e.data["to"] for e in events if e.type == "status_changed"], ["cancelled", "queued"])
        self.assertEqual(events[1].actor, "tester")
        after = self.client.events(job.id, after=events[0].id, limit=1)
        self.assertEqual([e.id for e in after], [e.id for e in events[1:]])
        result = self.client.cleanup(days=36500)
        self.assertEqual(result.retention_days, 36500)
        with self.assertRaises(jobkeeper.ValidationError):
            self.client.cleanup(days=-1)

    def test_health(self) -> None:
        health = self.client.health()
        self.assertEqual(health.status, "ok")
        self.assertIn("provider", health.store)
        self.assertGreaterEqual(health.jobs_count, 0)


class PromptAndWorkerRouteTests(ServerTestCase):
    def test_the_worker_protocol_and_prompts_by_hand(self) -> None:
        job_type = unique("client.protocol")
        job = self.client.create(job_type, {"text": "hi"})
        self.assertEqual(self.client.claim("hand", [unique("none")], max=5), [])
        [item] = self.client.claim("hand", [job_type], max=5, lease_seconds=60, wait_seconds=0)
        self.assertEqual((item.id, item.attempt, item.input), (job.id, 1, {"text": "hi"}))
        state = self.client.heartbeat(item.id, item.lease_token, 60, traceparent=item.traceparent)
        self.assertFalse(state.cancel_requested)
        self.client.report_progress(item.id, item.lease_token, fraction=0.25, stage="reading", current=1, total=4)
        self.client.save_checkpoint(item.id, item.lease_token, {"read": 1})
        self.assertEqual(self.client.get(job.id).progress.stage, "reading")  # type: ignore[union-attr]
        self.assertIsNone(self.client.prompt(job.id))

        asked = self.client.ask(item.id, item.lease_token, "approve", "Ship it?", options=["yes", "no"], expires_in=3600)
        self.assertTrue(asked.waiting)
        prompt = self.client.prompt(job.id)
        self.assertEqual((prompt.key, prompt.question, prompt.options, prompt.asked_by),  # type: ignore[union-attr]
                         ("approve", "Ship it?", ["yes", "no"], "hand"))
        with self.assertRaises(jobkeeper.AnswerRejectedError) as rejected:
            self.client.answer(job.id, "maybe")
        self.assertTrue(rejected.exception.why)
        answered = self.client.answer(job.id, "yes", confidence=0.9, answered_by="alice", reason="looks fine")
        self.assertEqual(answered.status, "queued")
        with self.assertRaises(jobkeeper.ConflictError):
            self.client.answer(job.id, "no")

        [again] = self.client.claim("hand", [job_type], max=1)
        self.assertEqual(again.checkpoint, {"read": 1})
        self.assertEqual((again.prompts[0].answer, again.prompts[0].answered_by), ("yes", "alice"))
        replay = self.client.ask(again.id, again.lease_token, "approve", "Ship it?", options=["yes", "no"])
        self.assertFalse(replay.waiting)
        self.assertEqual(replay.prompt.answer, "yes")  # type: ignore[union-attr]
        done = self.client.complete(again.id, again.lease_token, {"shipped": True})
        self.assertEqual((done.status, done.result), ("completed", {"shipped": True}))
        with self.assertRaises(jobkeeper.LeaseLostError):
            self.client.complete(again.id, again.lease_token, {"shipped": "twice"})

    def test_fail_and_release(self) -> None:
        job_type = unique("client.fail")
        job = self.client.create(job_type, max_attempts=2)
        [item] = self.client.claim("hand", [job_type])
        failed = self.client.fail(item.id, item.lease_token, jobkeeper.JobError("broke", "disk", {"free": 0}))
        self.assertEqual((failed.status, failed.attempt, failed.error.code), ("queued", 2, "disk"))  # type: ignore[union-attr]
        [item] = poll(lambda: self.client.claim("hand", [job_type]), 30, "the retried job being due")
        released = self.client.release(item.id, item.lease_token)
        self.assertEqual((released.status, released.attempt), ("queued", 2))
        [item] = self.client.claim("hand", [job_type])
        final = self.client.fail(item.id, item.lease_token, "for good", retry=False)
        self.assertEqual((final.status, final.error.message), ("failed", "for good"))  # type: ignore[union-attr]
        self.assertEqual(final.id, job.id)

    def test_a_claim_by_queue(self) -> None:
        queue = unique("q")
        job = self.client.create(unique("client.queued"), queue=queue)
        [item] = self.client.claim("hand", queues=[queue], max=10, wait_seconds=1)
        self.assertEqual((item.id, item.queue), (job.id, queue))
        self.client.complete(item.id, item.lease_token)


class LiveEventTests(ServerTestCase):
    def test_watch_one_job_and_resume_after_the_last_event(self) -> None:
        job = self.client.create(unique("client.watch"))
        with self.client.watch(job.id) as stream:
            stream.connect()
            self.client.update(job.id, labels={"step": "1"})
            self.client.cancel(job.id)
            first = next(stream)
            second = next(stream)
        self.assertEqual((first.type, first.job_id), ("updated", job.id))
        self.assertEqual((second.type, second.job_status), ("status_changed", "cancelled"))
        self.assertEqual(stream.last_event_id, second.id)
        # Resuming after the first event replays the second: nothing missed, nothing twice.
        with self.client.watch(job.id, last_event_id=first.id) as resumed:
            self.assertEqual([e.id for e in resumed.poll(5) or []], [second.id])  # poll: fails rather than waits

    def test_watch_every_job_filtered_by_type(self) -> None:
        job_type = unique("client.watchall")
        with self.client.watch(type=job_type, status="queued") as stream:
            stream.connect()
            self.client.create(unique("client.other"))
            job = self.client.create(job_type)
            event = next(stream)
        self.assertEqual((event.job_id, event.type, event.job_type), (job.id, "created", job_type))

    def test_watch_ends_when_closed_from_another_thread(self) -> None:
        stream = self.client.watch(type=unique("client.quiet"))
        stream.connect()
        timer = threading.Timer(0.3, stream.close)
        timer.start()
        started = time.monotonic()
        self.assertEqual(list(stream), [])
        self.assertLess(time.monotonic() - started, 5)

    def test_wait_returns_the_finished_job_and_times_out(self) -> None:
        job = self.client.create(unique("client.wait"))
        with self.assertRaises(jobkeeper.JobkeeperTimeoutError):
            self.client.wait(job.id, timeout=0.5)
        threading.Timer(0.5, lambda: self.client.cancel(job.id)).start()
        started = time.monotonic()
        finished = self.client.wait(job.id, timeout=30)
        self.assertEqual(finished.status, "cancelled")
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(self.client.wait(job.id, timeout=1).status, "cancelled")  # finished already
        with self.assertRaises(jobkeeper.NotFoundError):
            self.client.wait(unique("missing"), timeout=5)


class QueueAndScheduleTests(ServerTestCase):
    def test_queues(self) -> None:
        name = unique("client-queue")
        job = self.client.create(unique("client.q"), queue=name)
        self.assertIn(name, [q.name for q in self.client.queues()])
        queue = self.client.queue(name)
        self.assertEqual(queue.counts.get("queued"), 1)
        limited = self.client.update_queue(name, concurrency_limit=2, rate_limit={"count": 10, "period_seconds": 1})
        self.assertEqual((limited.concurrency_limit, limited.rate_limit["count"]), (2, 10))  # type: ignore[index]
        cleared = self.client.update_queue(name, rate_limit=None)
        self.assertIsNone(cleared.rate_limit)
        paused = self.client.pause_queue(name, actor="tester")
        self.assertTrue(paused.paused)
        self.assertEqual(self.client.get(job.id).blocked_by, "paused")
        self.assertFalse(self.client.resume_queue(name).paused)
        self.assertIn(job.type, self.client.pause_queue(name, job.type).paused_types)
        self.assertEqual(self.client.resume_queue(name, job.type).paused_types, [])
        with self.assertRaises(jobkeeper.NotFoundError):
            self.client.queue(unique("no-such-queue"))

    def test_schedules(self) -> None:
        name = unique("client-schedule")
        job_type = unique("client.scheduled")
        created = self.client.create_schedule(name, {"type": job_type, "input": {"x": 1}}, cron="0 3 * * *",
                                              time_zone="Europe/Berlin", overlap="skip", paused=False)
        self.assertEqual((created.name, created.cron, created.overlap), (name, "0 3 * * *", "skip"))
        self.assertEqual(len(created.next_runs), 5)
        with self.assertRaises(jobkeeper.ConflictError):
            self.client.create_schedule(name, {"type": job_type}, cron="0 3 * * *")
        with self.assertRaises(jobkeeper.ValidationError) as invalid:
            self.client.create_schedule(unique("bad"), {"type": job_type}, cron="61 * * * *")
        self.assertIn("cron", invalid.exception.errors)
        self.assertIn(name, [s.name for s in self.client.schedules()])
        self.assertEqual(self.client.schedule(name).time_zone, "Europe/Berlin")
        changed = self.client.update_schedule(name, interval_seconds=3600)
        self.assertEqual((changed.interval_seconds, changed.cron), (3600, None))
        self.assertTrue(self.client.pause_schedule(name).paused)
        self.assertFalse(self.client.resume_schedule(name).paused)
        triggered = self.client.trigger_schedule(name, actor="tester")
        self.assertEqual((triggered.job.type, triggered.job.labels.get("schedule")), (job_type, name))
        self.assertEqual(triggered.schedule.last_job_id, triggered.job.id)
        self.client.delete_schedule(name)
        with self.assertRaises(jobkeeper.NotFoundError) as gone:
            self.client.schedule(name)
        self.assertEqual(gone.exception.kind, "schedule-not-found")


class TraceContextTests(ServerTestCase):
    def test_a_create_in_a_trace_keeps_its_trace_id(self) -> None:
        traceparent = new_traceparent()
        with jobkeeper.trace_context(traceparent):
            self.assertEqual(jobkeeper.current_traceparent(), traceparent)
            job = self.client.create(unique("client.trace"))
        self.assertIsNone(jobkeeper.current_traceparent())
        self.assertEqual(parse_traceparent(job.traceparent).trace_id, parse_traceparent(traceparent).trace_id)  # type: ignore[union-attr]
        explicit = new_traceparent()
        other = self.client.create(unique("client.trace"), traceparent=explicit)
        self.assertEqual(parse_traceparent(other.traceparent).trace_id, parse_traceparent(explicit).trace_id)  # type: ignore[union-attr]
        outside = self.client.create(unique("client.trace"))
        self.assertNotEqual(parse_traceparent(outside.traceparent).trace_id,  # type: ignore[union-attr]
                            parse_traceparent(traceparent).trace_id)  # type: ignore[union-attr]


class ConnectionReuseTests(ServerTestCase):
    def test_many_calls_from_many_threads_share_a_few_connections(self) -> None:
        job = self.client.create(unique("client.reuse"))
        errors = []

        def read() -> None:
            try:
                for _ in range(50):
                    self.client.get(job.id)
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(errors, [])
        self.assertLessEqual(len(self.client._http._idle), 8)
