"""The blocking worker: claims jobs in batches with a long poll, runs handlers on a thread pool, keeps the leases.

One thread claims (the one that calls :meth:`Worker.run`), ``concurrency`` pool threads run handlers, up to 8
settler threads report how jobs ended (pipelined batches of complete/fail/release), and one scheduler thread renews
the leases of every job held, a third into each lease. No thread is started per job, so a no-op job costs its share
of a batch claim and of a pipelined write of reports.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, NoReturn, Sequence, Tuple

from . import tracing
from ._http import Cancel, current_cancel
from ._workerbase import (
    BATCH_WAIT,
    DONE,
    POLL,
    QUEUED,
    RUNNING,
    SETTLING,
    STOP_WAIT,
    BaseJob,
    WorkerBase,
    error_body,
    is_lost,
    is_transient,
)
from .client import UNSET, Client, json_body
from .errors import (
    Cancelled,
    JobkeeperConnectionError,
    JobkeeperError,
    JobkeeperTimeoutError,
    JobWaiting,
    ProblemError,
    RequestCancelledError,
)
from .models import AskResult, LeaseState, WorkItem, seconds

Handler = Callable[["WorkerJob"], Any]
Settled = Callable[["WorkerJob", Optional[Dict[str, Any]]], None]
class WorkerJob(BaseJob):
    """The job a handler of a :class:`Worker` runs: the claimed job, and what the handler can do about it."""

    def __init__(self, worker: "Worker", item: WorkItem) -> None:
        super().__init__(item, worker.worker_id)
        self._worker = worker
        self._client = worker.client
        self._event: Optional[threading.Event] = None  # made on first use: most handlers never wait on it

    @property
    def stop_event(self) -> threading.Event:
        """Set once the job must stop, for handlers that wait on something else."""
        event = self._event
        if event is None:
            with self._worker._lock:
                if self._event is None:
                    self._event = threading.Event()
                    if self._stop_reason is not None:
                        self._event.set()
                event = self._event
        return event

    def _stop(self, reason: str) -> bool:
        news = super()._stop(reason)
        event = self._event
        if event is not None:
            event.set()
        return news

    def sleep(self, duration: float) -> None:
        """Waits ``duration`` seconds, returning early with :class:`~jobkeeper.Cancelled` when the job must stop."""
        self.check()
        if duration > 0:
            self.stop_event.wait(seconds(duration))
        self.check()

    def progress(self, fraction: Optional[float] = None, stage: Optional[str] = None, message: Optional[str] = None,
                 current: Optional[int] = None, total: Optional[int] = None) -> None:
        """Reports progress (which renews the lease); raises Cancelled when the job must stop. Best effort: a server
        away for a moment is logged, not raised (the heartbeats keep the lease)."""
        self.check()
        self._lease_call(lambda: self._client.report_progress(
            self.id, self.lease_token, fraction=fraction, stage=stage, message=message, current=current, total=total,
            lease_seconds=self._worker.lease_seconds, traceparent=self.traceparent), "progress", best_effort=True)
        self.check()

    def heartbeat(self) -> None:
        """Renews the lease now (the worker does it by itself a third into each lease)."""
        self.check()
        self._lease_call(lambda: self._client.heartbeat(self.id, self.lease_token, self._worker.lease_seconds,
                                                        traceparent=self.traceparent), "heartbeat", best_effort=True)
        self.check()

    def checkpoint(self, state: Any) -> None:
        """Saves small state; a later run of this job reads it as ``last_checkpoint``. Raises when not saved."""
        self.check()
        self._lease_call(lambda: self._client.save_checkpoint(self.id, self.lease_token, state, traceparent=self.traceparent),
                         "checkpoint", best_effort=False)
        self.last_checkpoint = state
        self.check()

    def ask(self, key: str, question: str, *, options: Optional[Sequence[str]] = None, schema: Any = None,
            expires_in: Optional[float] = None, on_expiry: Optional[str] = None, default_answer: Any = UNSET) -> Any:
        """Asks a person and returns the answer. In the run after the answer came, returns it at once. Otherwise the
        question is sent, the job waits on the server (holding no worker), and :class:`~jobkeeper.JobWaiting` ends
        this run: the handler runs again from the start once answered. ``options`` (strings) or ``schema`` (JSON
        Schema) say what an answer may be; with ``expires_in`` seconds, ``on_expiry`` ``fail`` (default) or
        ``default`` (then ``default_answer``) says what happens when nobody answers in time."""
        known = self.answer(key, UNSET)
        if known is not UNSET:
            return known
        self.check()
        try:
            result = self._client.ask(self.id, self.lease_token, key, question, options=options, schema=schema,
                                      expires_in=expires_in, on_expiry=on_expiry, default_answer=default_answer,
                                      traceparent=self.traceparent)
        except ProblemError as error:
            if is_lost(error) and self._asked_already(key):
                result = AskResult(True, None, "waiting")  # our ask went through; its answer was lost and resent
            elif is_lost(error):
                self._worker._lost(self, str(error))
                raise Cancelled("lease_lost") from None
            else:
                raise
        return self._asked(key, question, result)

    def _asked_already(self, key: str) -> bool:
        try:
            job = self._client.get(self.id)
        except JobkeeperError:
            return False
        return self._asked_by_us(job, key)

    def _end_run(self) -> None:
        with self._worker._lock:
            super()._end_run()

    def _drop(self, why: str) -> NoReturn:
        self._worker._lost(self, why)
        raise Cancelled("lease_lost")

    def _lease_call(self, call: Callable[[], LeaseState], what: str, best_effort: bool) -> None:
        try:
            state = call()
        except ProblemError as error:
            if is_lost(error):
                self._worker._lost(self, str(error))
                raise Cancelled("lease_lost") from None
            if not (best_effort and is_transient(error)):
                raise
            self._worker.log.warning("job %s: %s not recorded: %s", self.id, what, error)
        except (JobkeeperConnectionError, JobkeeperTimeoutError) as error:
            if not best_effort:
                raise
            self._worker.log.warning("job %s: %s not recorded: %s", self.id, what, error)
        else:
            self._renewed(state)

    def _renewed(self, state: LeaseState) -> None:
        self._renewed_at = time.monotonic()
        if state.cancel_requested and self._stop("cancelled"):
            self._worker.log.info("job %s: cancel requested; stopping", self.id)


class _Settler:
    """Reports how jobs ended (complete, fail, release) for a Worker, in batches: the reports waiting when a settler
    thread comes round go out pipelined on its connection, one write and one read loop for up to MAX_BATCH jobs.
    The pool threads hand a report over and go on to the next job. A report that fails for a transient reason is
    sent again on its own until the job's lease would have run out (safe: see README § Retries)."""

    MAX_BATCH = 64

    def __init__(self, worker: "Worker", threads: int) -> None:
        self._worker = worker
        self._queue: "queue.SimpleQueue[Optional[Tuple[WorkerJob, str, bytes, Settled]]]" = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._loop, name=f"jobkeeper-settle-{i}", daemon=True)
                         for i in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, join_by: float) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=max(0.0, join_by - time.monotonic()))

    def submit(self, job: WorkerJob, action: str, body: bytes, then: "Settled") -> None:
        self._queue.put((job, action, body, then))

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # this thread stops after the batch
                    break
                batch.append(item)
            self._send(batch)

    def _send(self, batch: List[Tuple[WorkerJob, str, bytes, "Settled"]]) -> None:
        worker = self._worker
        answers: List[Any]
        try:
            answers = worker.client._lease_calls([(job.id, action, body, job.traceparent) for job, action, body, _ in batch])
        except Exception as error:  # each call's failure comes back on its own; this is a bug's safety net
            answers = [error] * len(batch)
        for (job, action, body, then), answer in zip(batch, answers):
            try:
                if not isinstance(answer, BaseException):
                    result: Optional[Dict[str, Any]] = answer if isinstance(answer, dict) else {}
                elif is_lost(answer):
                    worker._lost(job, str(answer))
                    result = None
                elif is_transient(answer):
                    result = worker._settle(job, action, body)
                else:
                    worker.log.warning("job %s: %s refused: %s", job.id, action, answer)
                    result = None
                then(job, result)
            except Exception:
                worker.log.exception("job %s: reporting its end failed", job.id)
                worker._end(job, "dropped")


class Worker(WorkerBase):
    """Runs jobs of the registered types with blocking handlers (``def handler(job): ...``).

    ``types`` default to the types handlers are registered for; ``queues`` narrow the claim (or, alone, claim every
    type in them). ``concurrency``: jobs run at once, and the largest claim batch. ``lease_seconds``: the lease of
    each claim, renewed every third of it. ``wait_seconds``: how long a claim waits on the server for work.
    ``shutdown_grace``: on stop, seconds running jobs get to finish before they are asked to stop and released.
    ``prefetch``: claimed jobs that may wait for a free thread (0 for long jobs; many times ``concurrency`` for
    short ones, so claims are large and threads never wait for one).
    ``on_outcome(job, outcome)``: called as each job ends (``completed``, ``failed``, ``cancelled``, ``released``,
    ``dropped``, ``waiting``).
    """

    def __init__(self, client: Client, types: Optional[Sequence[str]] = None, queues: Optional[Sequence[str]] = None, *,
                 concurrency: int = 4, lease_seconds: int = 30, wait_seconds: float = 20.0, worker_id: Optional[str] = None,
                 shutdown_grace: float = 10.0, prefetch: int = 0, handlers: Optional[Mapping[str, Handler]] = None,
                 on_outcome: Optional[Callable[[WorkerJob, str], None]] = None,
                 logger: Optional[logging.Logger] = None) -> None:
        super().__init__(types, queues, concurrency, lease_seconds, wait_seconds, worker_id, shutdown_grace, handlers,
                         on_outcome, logger)
        self.client = client
        if prefetch < 0:
            raise ValueError("prefetch must be 0 or more")
        self.prefetch = prefetch
        self._lock = threading.Lock()
        self._slots = threading.Condition(self._lock)
        self._in_flight = 0  # claimed and not yet ended (queued here or running)
        self._active: Dict[str, WorkerJob] = {}
        self._queue: "queue.SimpleQueue[Optional[WorkerJob]]" = queue.SimpleQueue()
        self._claim_cancel = Cancel()
        self._running = False
        self._beats_done = threading.Event()
        self._settler = _Settler(self, 1)

    # ---- control

    def stop(self) -> None:
        """Asks the worker to stop: no more claims (a long poll in flight is cut at once), running jobs get the grace
        period, then are released. Safe from any thread and from a signal handler (it takes no lock)."""
        self._stop_flag = True
        self._claim_cancel.cancel()

    def _on_signal(self, number: int, _frame: Any) -> None:
        # Runs on the main thread between two bytecodes: only plain assignments and the lock-free Cancel.
        if self._stop_signal is None:
            self._stop_signal = signal.Signals(number).name
        self.stop()

    def run(self, *, exit_when_idle: bool = False, handle_signals: Optional[bool] = None) -> None:
        """Claims and runs jobs until :meth:`stop` (or SIGINT/SIGTERM when ``handle_signals``, the default on the main
        thread), or, with ``exit_when_idle``, until a claim waited and found nothing and the running jobs ended.
        Raises the ProblemError of a claim the server refuses for good (401, 403, 400) after the running jobs ended."""
        if self._running:
            raise RuntimeError("this worker is running already")
        types = self._claim_types()
        self._running = True
        self._beats_done.clear()
        if handle_signals is None:
            handle_signals = threading.current_thread() is threading.main_thread()
        previous: Dict[int, Any] = {}
        if handle_signals:
            for number in (signal.SIGINT, signal.SIGTERM):
                previous[number] = signal.signal(number, self._on_signal)
        pool = [threading.Thread(target=self._pool_loop, name=f"jobkeeper-job-{i}", daemon=True)
                for i in range(self.concurrency)]
        beats = threading.Thread(target=self._heartbeat_loop, name="jobkeeper-heartbeat", daemon=True)
        self._settler = _Settler(self, max(1, min(8, self.concurrency)))
        self._settler.start()
        for thread in pool:
            thread.start()
        beats.start()
        refusal: Optional[BaseException] = None
        try:
            self.log.info("claiming %s from %s (concurrency %d, lease %d s, wait %g s)",
                          ", ".join(types) or "every type", self.client.base_url + ("" if not self.queues else
                          f" in {', '.join(self.queues)}"), self.concurrency, self.lease_seconds, self.wait_seconds)
            refusal = self._claim_loop(types, exit_when_idle)
            self._finish_running()
        finally:
            self._beats_done.set()
            for _ in pool:
                self._queue.put(None)
            # Handlers that ignored the stop may still run (daemon threads): do not wait for them long.
            join_by = time.monotonic() + 2.0
            for thread in pool + [beats]:
                thread.join(timeout=max(0.0, join_by - time.monotonic()))
            self._settler.stop(join_by)
            for number, handler in previous.items():
                signal.signal(number, handler)
            # Ready to run again.
            self._running = False
            self._stop_flag = False
            self._stop_signal = None
            self._claim_cancel = Cancel()
            self.log.info("stopped: %s", self._summary())
        if refusal is not None:
            raise refusal

    # ---- claiming

    def _claim_loop(self, types: List[str], exit_when_idle: bool) -> Optional[BaseException]:
        backoff = 0.5
        while not self._stop_flag:
            free = self._wait_for_free_slots()
            if free <= 0:
                return None
            token = current_cancel.set(self._claim_cancel)
            try:
                items = self.client.claim(self.worker_id, types, self.queues or None, max=min(free, 1000),
                                          lease_seconds=self.lease_seconds, wait_seconds=self.wait_seconds)
                backoff = 0.5
            except RequestCancelledError:
                return None
            except JobkeeperError as error:
                if self._stop_flag:
                    return None
                if not is_transient(error):
                    self.log.error("claim refused: %s", error)
                    return error
                self.log.warning("claim failed: %s; retrying in %.1f s", error, backoff)
                self._pause(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            finally:
                current_cancel.reset(token)
            if self._stop_flag:
                # Claimed while stopping: give them straight back, the attempt not counted.
                for job in self._register(items):
                    self._release_unstarted(job, "shutting down")
                return None
            if not items:
                if exit_when_idle:
                    self.log.info("no work after waiting; exiting once the running jobs are done")
                    return None
                if self.wait_seconds == 0:
                    self._pause(1.0)  # no wait on the server: look again in a second
                continue
            self.log.debug("claimed %d job(s)", len(items))
            self._dispatch(items)
        return None

    def _wait_for_free_slots(self) -> int:
        """Waits for room to claim into; then, unless half the room is free, up to BATCH_WAIT more for more room,
        so quick jobs are claimed in batches rather than one by one as each ends (a claim costs a round trip)."""
        capacity = self.concurrency + self.prefetch
        with self._slots:
            while self._in_flight >= capacity and not self._stop_flag:
                self._slots.wait(POLL)
            batch = max(1, capacity // 2)
            deadline = time.monotonic() + BATCH_WAIT
            while capacity - self._in_flight < batch and not self._stop_flag:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._slots.wait(left)
            return 0 if self._stop_flag else capacity - self._in_flight

    def _register(self, items: List[WorkItem]) -> List[WorkerJob]:
        """Holds claimed jobs: their slots are taken (and their leases renewed) until ``_end``."""
        jobs = [WorkerJob(self, item) for item in items]
        with self._lock:
            self._in_flight += len(jobs)
            for job in jobs:
                self._active[job.id] = job
        return jobs

    def _dispatch(self, items: List[WorkItem]) -> None:
        for job in self._register(items):
            self._queue.put(job)

    def _pause(self, duration: float) -> None:
        deadline = time.monotonic() + duration
        while not self._stop_flag:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, POLL))

    # ---- running one job

    def _pool_loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._run_job(job)
            except BaseException:  # a bug here must not take a pool thread (and a slot) with it
                self.log.exception("job %s: the worker failed running it", job.id)
                if self._begin_settling(job):
                    self._end(job, "dropped")

    def _run_job(self, job: WorkerJob) -> None:
        with self._lock:
            if job._state != QUEUED:
                return  # released before it started (the worker stopping)
            job._state = RUNNING
        handler = self._handler_for(job.type)
        self.log.debug("job %s: %s attempt %d started", job.id, job.type, job.attempt)
        try:
            with tracing.trace_context(job.traceparent):
                if handler is None:
                    raise LookupError(f"this worker has no handler for job type '{job.type}'")
                result = handler(job)
        except JobWaiting as waiting:
            # Not a failure: the server holds the job until a person answers; this worker moves on.
            self.log.info("job %s: %s", job.id, waiting)
            self._end(job, "waiting")
        except Cancelled as stopped:
            self._stopped(job, job.stop_reason or stopped.reason)
        except BaseException as error:  # the handler failed: report it with its traceback; the worker goes on
            if job._waiting:
                self._end(job, "waiting")  # it asked, and then failed: the question stands, the job waits
            elif job.stop_reason is not None:
                self._stopped(job, job.stop_reason)
            else:
                self._fail(job, error)
        else:
            if job._waiting:
                self._end(job, "waiting")  # it caught JobWaiting and returned: the job waits all the same
            elif job.lease_lost:
                self._stopped(job, "lease_lost")
            else:
                self._complete(job, result)

    def _begin_settling(self, job: WorkerJob) -> bool:
        """True for the one caller that gets to report how the job ended."""
        with self._lock:
            if job._state in (QUEUED, RUNNING):
                job._state = SETTLING
                return True
            return False

    def _end(self, job: WorkerJob, outcome: str) -> None:
        """The job is over for this worker: its slot is free. Once per job (a second call changes nothing)."""
        with self._slots:
            if job._state == DONE:
                return
            job._state = DONE
            self._in_flight -= 1
            if self._active.get(job.id) is job:
                del self._active[job.id]
            self._slots.notify_all()
        self._outcome(job, outcome)

    def _complete(self, job: WorkerJob, result: Any) -> None:
        if not self._begin_settling(job):
            return
        try:
            body = json_body({"lease_token": job.lease_token, "result": result})
        except (TypeError, ValueError) as error:  # the result is not JSON
            self._send_failure(job, TypeError(f"the handler's result cannot be sent as JSON: {error}"))
            return
        self._settler.submit(job, "complete", body, self._completed)

    def _completed(self, job: WorkerJob, answer: Optional[Dict[str, Any]]) -> None:
        if answer is None:
            self._end(job, "dropped")
            return
        status = answer.get("status")
        self.log.debug("job %s: %s", job.id, status)
        self._end(job, "cancelled" if status == "cancelled" else "completed")

    def _fail(self, job: WorkerJob, error: BaseException) -> None:
        if self._begin_settling(job):
            self._send_failure(job, error)

    def _send_failure(self, job: WorkerJob, error: BaseException) -> None:
        self._settler.submit(job, "fail", json_body({"lease_token": job.lease_token, "error": error_body(error)}),
                             self._failed)

    def _failed(self, job: WorkerJob, answer: Optional[Dict[str, Any]]) -> None:
        if answer is None:
            self._end(job, "dropped")
            return
        message = (answer.get("error") or {}).get("message")
        self.log.info("job %s: failed (%s); now %s, attempt %s", job.id, message, answer.get("status"),
                      answer.get("attempt"))
        self._end(job, "cancelled" if answer.get("status") == "cancelled" else "failed")

    def _stopped(self, job: WorkerJob, reason: str) -> None:
        if not self._begin_settling(job):
            return
        if reason == "lease_lost":
            self._end(job, "dropped")
            return
        # Cancelled (the server then ends it cancelled) or shutting down (queued again, the attempt not counted).
        self._settler.submit(job, "release", json_body({"lease_token": job.lease_token}), self._released)

    def _released(self, job: WorkerJob, answer: Optional[Dict[str, Any]]) -> None:
        if answer is None:
            self._end(job, "dropped")
            return
        self.log.info("job %s: stopped (%s); now %s", job.id, job.stop_reason, answer.get("status"))
        self._end(job, "cancelled" if answer.get("status") == "cancelled" else "released")

    def _release_unstarted(self, job: WorkerJob, why: str) -> None:
        """Releases a job from the stopping thread itself (not through the settler, which may be gone)."""
        if not self._begin_settling(job):
            return
        answer = self._settle(job, "release", {"lease_token": job.lease_token})
        if answer is not None:
            self.log.info("job %s: released (%s)", job.id, why)
        self._end(job, "released" if answer is not None else "dropped")

    def _settle(self, job: WorkerJob, action: str, body: Any) -> Optional[Dict[str, Any]]:
        """Reports how the job ended, trying again while the server is away, until its lease would have run out;
        None when the job is not ours any more or the report could not be delivered (the lease then runs out and
        the job comes back)."""
        deadline = job._renewed_at + self.lease_seconds
        pause = 0.2
        while True:
            try:
                answer = self.client._lease_call(job.id, action, body, job.traceparent)
                return answer if isinstance(answer, dict) else {}
            except JobkeeperError as error:
                if is_lost(error):
                    self._lost(job, str(error))
                    return None
                if not is_transient(error) or time.monotonic() + pause >= deadline:
                    self.log.warning("job %s: %s not delivered: %s", job.id, action, error)
                    return None
                self.log.warning("job %s: %s: %s; retrying in %.1f s", job.id, action, error, pause)
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _lost(self, job: WorkerJob, why: str) -> None:
        if job._stop("lease_lost"):
            self.log.warning("job %s: lease lost (%s); dropping the job", job.id, why)

    # ---- leases

    def _heartbeat_loop(self) -> None:
        interval = self.lease_seconds / 3.0
        tick = min(1.0, max(0.05, interval / 4.0))
        timeout = max(1.0, min(self.client.timeout, interval))
        while not self._beats_done.wait(tick):
            now = time.monotonic()
            due = [job for job in tuple(self._active.values())
                   if job._state in (QUEUED, RUNNING) and now - job._renewed_at >= interval]
            # Pipelined, MAX_BATCH a write: a worker holding hundreds of jobs renews them in a few round trips.
            for start in range(0, len(due), _Settler.MAX_BATCH):
                self._beat([job for job in due[start:start + _Settler.MAX_BATCH]], timeout)

    def _beat(self, jobs: List[WorkerJob], timeout: float) -> None:
        body = {"lease_seconds": self.lease_seconds}
        calls = [(job.id, "heartbeat", json_body({"lease_token": job.lease_token, **body}), job.traceparent) for job in jobs]
        for job, answer in zip(jobs, self.client._lease_calls(calls, timeout)):
            if isinstance(answer, BaseException):
                if job._state not in (QUEUED, RUNNING):
                    continue  # it ended meanwhile: the 409 is about a lease it gave up
                if is_lost(answer):
                    self._lost(job, str(answer))
                else:
                    self.log.warning("job %s: heartbeat failed: %s; trying again", job.id, answer)
            elif isinstance(answer, dict):
                job._renewed(LeaseState.from_dict(answer))

    # ---- stopping

    def _finish_running(self) -> None:
        """Waits for the running jobs. Once stopping they get the grace period; then they are asked to stop, and
        released (queued again, the attempt not counted) once their handlers return, or after STOP_WAIT anyway."""
        grace_ends: Optional[float] = None
        release_by: Optional[float] = None
        while True:
            now = time.monotonic()
            if self._stop_flag and grace_ends is None:
                grace_ends = now + self.shutdown_grace
                self._claim_cancel.cancel()
                with self._lock:
                    unstarted = [j for j in self._active.values() if j._state == QUEUED]
                    running = sum(1 for j in self._active.values() if j._state == RUNNING)
                self.log.info("%s: no more claims; %d running job(s) get %g s to finish",
                              self._stop_signal or "stop", running, self.shutdown_grace)
                for job in unstarted:
                    self._release_unstarted(job, "not started before the stop")
            with self._slots:
                if self._in_flight <= 0:
                    return
                running_jobs = [j for j in self._active.values() if j._state == RUNNING]
                if grace_ends is not None and release_by is None and now >= grace_ends:
                    release_by = now + STOP_WAIT
                    self.log.info("grace period over: releasing %d job(s)", len(running_jobs))
                    for job in running_jobs:
                        job._stop("shutdown")
                if release_by is not None and now >= release_by:
                    break
                self._slots.wait(POLL)
        # Handlers that did not stop within STOP_WAIT: release their jobs anyway; their results are dropped.
        for job in running_jobs:
            self._release_unstarted(job, "its handler did not stop")
