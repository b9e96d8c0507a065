"""The asyncio client and worker.

:class:`AsyncClient` runs the blocking client's calls on a thread pool (``run_in_executor``), each thread on its
own keep-alive connection. Why not a native asyncio HTTP stack: one implementation of HTTP, retries, errors and
parsing serves both clients, and the calls are few and short next to what a handler does. Cancelling a task
cuts its request at once: the call's socket is shut down (see ``_http.Cancel``), so the thread is freed and the
server sees the connection close. Long calls (``wait``, ``watch``) get a thread of their own, so they never
starve the pool.

:class:`AsyncWorker` runs ``async def`` handlers as tasks on the event loop: a cancelled job, a lost lease or the
end of the grace period cancels the handler's task (``asyncio.CancelledError`` at its next ``await``).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import signal
import threading
import time
from datetime import datetime
from concurrent.futures import ThreadPoolExecutor
from typing import (Any, AsyncIterator, NoReturn, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set,
                    TypeVar, Union)

from . import tracing
from ._http import Cancel, current_cancel
from .client import UNSET, Client, EventStream, Seconds
from .errors import (
    Cancelled,
    JobkeeperConnectionError,
    JobkeeperError,
    JobkeeperTimeoutError,
    JobWaiting,
    ProblemError,
    RequestCancelledError,
)
from .models import (
    AskResult,
    BatchResult,
    BulkResult,
    WorkerInfo,
    CleanupResult,
    Health,
    Job,
    JobError,
    JobEvent,
    JobPage,
    LeaseState,
    NewJob,
    Prompt,
    Queue,
    Schedule,
    TriggerResult,
    WorkItem,
    seconds,
)
from ._workerbase import DONE, POLL, QUEUED, RUNNING, SETTLING, STOP_WAIT, BaseJob, WorkerBase, error_body, is_lost, is_transient

T = TypeVar("T")
AsyncHandler = Callable[["AsyncWorkerJob"], Awaitable[Any]]


class AsyncClient:
    """The asyncio flavour of :class:`~jobkeeper.Client`: the same methods, as coroutines (the same arguments).

    ``max_threads``: threads that carry the calls (each keeps its keep-alive connection).
    """

    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None, *, timeout: float = 30.0,
                 retries: int = 3, actor: Optional[str] = None, user_agent: Optional[str] = None, max_threads: int = 32,
                 max_idle_connections: int = 64, ssl_context: Any = None) -> None:
        self.sync = Client(base_url, api_key, timeout=timeout, retries=retries, actor=actor, user_agent=user_agent,
                           max_idle_connections=max_idle_connections, ssl_context=ssl_context)
        self.base_url = self.sync.base_url
        self.timeout = self.sync.timeout
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="jobkeeper-aio")

    async def aclose(self) -> None:
        """Lets the threads go and closes the idle connections."""
        self._executor.shutdown(wait=False)
        self.sync.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"jobkeeper.AsyncClient({self.base_url!r})"

    async def _run(self, function: Callable[..., T], *args: Any, dedicated: bool = False, **kwargs: Any) -> T:
        """Runs a blocking call on a thread, in a copy of this context (trace context included); cancelling the
        awaiting task cuts the call's connection at once."""
        loop = asyncio.get_running_loop()
        cancel = Cancel()
        context = contextvars.copy_context()

        def call() -> T:
            current_cancel.set(cancel)  # in the copied context only
            return function(*args, **kwargs)

        if dedicated:
            future: "asyncio.Future[T]" = loop.create_future()

            def settle(outcome: Any, failed: bool) -> None:
                if not future.done():
                    if failed:
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)

            def target() -> None:
                try:
                    result = context.run(call)
                except BaseException as error:
                    loop.call_soon_threadsafe(settle, error, True)
                else:
                    loop.call_soon_threadsafe(settle, result, False)

            threading.Thread(target=target, name="jobkeeper-aio-long", daemon=True).start()
            awaitable: Awaitable[T] = future
        else:
            awaitable = loop.run_in_executor(self._executor, context.run, call)
        try:
            return await awaitable
        except asyncio.CancelledError:
            cancel.cancel()
            raise

    # ---- jobs

    async def create(self, type: str, input: Any = None, **options: Any) -> Job:
        """As :meth:`Client.create` (``id``, ``queue``, ``labels``, ``unique_key``, ``idempotency_key``, ...)."""
        return await self._run(self.sync.create, type, input, **options)

    async def create_many(self, jobs: Iterable[Union[NewJob, Mapping[str, Any]]], **options: Any) -> BatchResult:
        return await self._run(self.sync.create_many, list(jobs), **options)

    async def get(self, id: str) -> Job:
        return await self._run(self.sync.get, id)

    async def find(self, id: str) -> Optional[Job]:
        return await self._run(self.sync.find, id)

    async def update(self, id: str, **patch: Any) -> Job:
        """As :meth:`Client.update` (``status``, ``progress``, ``result``, ``error``, ``labels``, ``if_match``, ...)."""
        return await self._run(self.sync.update, id, **patch)

    async def delete(self, id: str, *, actor: Optional[str] = None, reason: Optional[str] = None) -> None:
        await self._run(self.sync.delete, id, actor=actor, reason=reason)

    async def list(self, **filters: Any) -> AsyncIterator[Job]:
        """Every job that matches, newest first, page by page (as :meth:`Client.list`)."""
        limit: Optional[int] = filters.pop("limit", None)
        page_size: int = filters.pop("page_size", 100)
        cursor: Optional[str] = None
        count = 0
        while True:
            size = page_size if limit is None else max(1, min(page_size, limit - count))
            page = await self.list_page(limit=size, cursor=cursor, **filters)
            for job in page.items:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield job
            cursor = page.next_cursor
            if cursor is None or (limit is not None and count >= limit):
                return

    async def list_page(self, **filters: Any) -> JobPage:
        return await self._run(self.sync.list_page, **filters)

    async def cancel(self, id: str, *, actor: Optional[str] = None, reason: Optional[str] = None) -> Job:
        return await self._run(self.sync.cancel, id, actor=actor, reason=reason)

    async def retry(self, id: str, *, actor: Optional[str] = None, reason: Optional[str] = None) -> Job:
        return await self._run(self.sync.retry, id, actor=actor, reason=reason)

    async def events(self, id: str, *, after: int = 0, limit: Optional[int] = None) -> List[JobEvent]:
        return await self._run(self.sync.events, id, after=after, limit=limit)

    async def workers(self, within_seconds: int = 300) -> List[WorkerInfo]:
        return await self._run(self.sync.workers, within_seconds)

    async def bulk(self, action: str, *, status: Union[str, Iterable[str], None] = None, type: Optional[str] = None,
                   queue: Optional[str] = None, label: Union[str, Mapping[str, str], Iterable[str], None] = None,
                   created_after: Union[datetime, str, None] = None, created_before: Union[datetime, str, None] = None,
                   all: bool = False, dry_run: bool = False, actor: Optional[str] = None, reason: Optional[str] = None,
                   timeout: Optional[float] = 3600.0, q: Optional[str] = None) -> BulkResult:
        return await self._run(self.sync.bulk, action, status=status, type=type, queue=queue, label=label,
                               created_after=created_after, created_before=created_before, all=all, dry_run=dry_run,
                               actor=actor, reason=reason, timeout=timeout, q=q)

    async def cleanup(self, days: int = 7) -> CleanupResult:
        return await self._run(self.sync.cleanup, days)

    async def health(self, *, unhealthy_ok: bool = False) -> Health:
        return await self._run(self.sync.health, unhealthy_ok=unhealthy_ok)

    async def prompt(self, id: str) -> Optional[Prompt]:
        return await self._run(self.sync.prompt, id)

    async def answer(self, id: str, answer: Any, **options: Any) -> Job:
        """As :meth:`Client.answer` (``confidence``, ``answered_by``, ``reason``, ``key``, ``actor``)."""
        return await self._run(self.sync.answer, id, answer, **options)

    def watch(self, job_id: Optional[str] = None, **options: Any) -> "AsyncEventStream":
        """Live events, as :meth:`Client.watch`: ``async for event in client.watch(...)``."""
        return AsyncEventStream(self.sync.watch(job_id, **options))

    async def wait(self, id: str, timeout: Optional[Seconds] = None, *, idle_timeout: float = 30.0) -> Job:
        """Waits until the job is finished and returns it (as :meth:`Client.wait`); cancellable."""
        return await self._run(self.sync.wait, id, timeout, idle_timeout=idle_timeout, dedicated=True)

    # ---- workers

    async def claim(self, worker_id: str, types: Optional[Sequence[str]] = None, queues: Optional[Sequence[str]] = None,
                    **options: Any) -> List[WorkItem]:
        return await self._run(self.sync.claim, worker_id, types, queues, **options)

    async def heartbeat(self, id: str, lease_token: str, lease_seconds: Optional[int] = None, *,
                        traceparent: Optional[str] = None) -> LeaseState:
        return await self._run(self.sync.heartbeat, id, lease_token, lease_seconds, traceparent=traceparent)

    async def report_progress(self, id: str, lease_token: str, **progress: Any) -> LeaseState:
        return await self._run(self.sync.report_progress, id, lease_token, **progress)

    async def save_checkpoint(self, id: str, lease_token: str, state: Any, *, traceparent: Optional[str] = None) -> LeaseState:
        return await self._run(self.sync.save_checkpoint, id, lease_token, state, traceparent=traceparent)

    async def complete(self, id: str, lease_token: str, result: Any = None, *, traceparent: Optional[str] = None) -> Job:
        return await self._run(self.sync.complete, id, lease_token, result, traceparent=traceparent)

    async def fail(self, id: str, lease_token: str, error: Union[str, JobError, Mapping[str, Any]], *,
                   retry: Optional[bool] = None, traceparent: Optional[str] = None) -> Job:
        return await self._run(self.sync.fail, id, lease_token, error, retry=retry, traceparent=traceparent)

    async def release(self, id: str, lease_token: str, *, traceparent: Optional[str] = None) -> Job:
        return await self._run(self.sync.release, id, lease_token, traceparent=traceparent)

    async def ask(self, id: str, lease_token: str, key: str, question: str, **options: Any) -> AskResult:
        return await self._run(self.sync.ask, id, lease_token, key, question, **options)

    # ---- queues

    async def queues(self) -> List[Queue]:
        return await self._run(self.sync.queues)

    async def queue(self, name: str) -> Queue:
        return await self._run(self.sync.queue, name)

    async def update_queue(self, name: str, **patch: Any) -> Queue:
        return await self._run(self.sync.update_queue, name, **patch)

    async def pause_queue(self, name: str, type: Optional[str] = None, **options: Any) -> Queue:
        return await self._run(self.sync.pause_queue, name, type, **options)

    async def resume_queue(self, name: str, type: Optional[str] = None, **options: Any) -> Queue:
        return await self._run(self.sync.resume_queue, name, type, **options)

    # ---- schedules

    async def schedules(self) -> List[Schedule]:
        return await self._run(self.sync.schedules)

    async def schedule(self, name: str) -> Schedule:
        return await self._run(self.sync.schedule, name)

    async def create_schedule(self, name: str, job: Mapping[str, Any], **options: Any) -> Schedule:
        return await self._run(self.sync.create_schedule, name, job, **options)

    async def update_schedule(self, name: str, **patch: Any) -> Schedule:
        return await self._run(self.sync.update_schedule, name, **patch)

    async def delete_schedule(self, name: str) -> None:
        await self._run(self.sync.delete_schedule, name)

    async def trigger_schedule(self, name: str, **options: Any) -> TriggerResult:
        return await self._run(self.sync.trigger_schedule, name, **options)

    async def pause_schedule(self, name: str) -> Schedule:
        return await self._run(self.sync.pause_schedule, name)

    async def resume_schedule(self, name: str) -> Schedule:
        return await self._run(self.sync.resume_schedule, name)


class AsyncEventStream:
    """Live events as an async iterator; each read runs on a thread of the stream's own, and ``aclose()`` (or
    cancelling the task reading it) cuts the connection."""

    _END = object()

    def __init__(self, stream: EventStream) -> None:
        self._stream = stream
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobkeeper-watch")

    @property
    def last_event_id(self) -> Optional[int]:
        return self._stream.last_event_id

    def __aiter__(self) -> "AsyncEventStream":
        return self

    async def __anext__(self) -> JobEvent:
        loop = asyncio.get_running_loop()
        try:
            event = await loop.run_in_executor(self._thread, self._next)
        except asyncio.CancelledError:
            await self.aclose()
            raise
        if event is self._END:
            await self.aclose()
            raise StopAsyncIteration
        return event  # type: ignore[return-value]

    def _next(self) -> Any:
        try:
            return next(self._stream)
        except StopIteration:
            return self._END

    async def aclose(self) -> None:
        self._stream.close()
        self._thread.shutdown(wait=False)

    async def __aenter__(self) -> "AsyncEventStream":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()


class AsyncWorkerJob(BaseJob):
    """The job an :class:`AsyncWorker` handler runs; its calls are coroutines."""

    def __init__(self, worker: "AsyncWorker", item: WorkItem) -> None:
        super().__init__(item, worker.worker_id)
        self._worker = worker
        self._client = worker.client
        self.stop_event = asyncio.Event()  # set once the job must stop
        self._task: Optional["asyncio.Task[Any]"] = None

    def _stop(self, reason: str) -> bool:
        news = super()._stop(reason)
        self.stop_event.set()
        task = self._task
        if news and task is not None and not task.done():
            task.cancel()  # the handler's next await raises CancelledError (reported as Cancelled)
        return news

    async def sleep(self, duration: float) -> None:
        """Waits ``duration`` seconds; raises Cancelled early when the job must stop."""
        self.check()
        try:
            await asyncio.wait_for(self.stop_event.wait(), seconds(duration))
        except asyncio.TimeoutError:
            pass
        self.check()

    async def progress(self, fraction: Optional[float] = None, stage: Optional[str] = None, message: Optional[str] = None,
                       current: Optional[int] = None, total: Optional[int] = None) -> None:
        """Reports progress (renews the lease); best effort, like :meth:`WorkerJob.progress`."""
        self.check()
        await self._lease_call(self._client.report_progress(
            self.id, self.lease_token, fraction=fraction, stage=stage, message=message, current=current, total=total,
            lease_seconds=self._worker.lease_seconds, traceparent=self.traceparent), "progress", True)
        self.check()

    async def heartbeat(self) -> None:
        self.check()
        await self._lease_call(self._client.heartbeat(self.id, self.lease_token, self._worker.lease_seconds,
                                                      traceparent=self.traceparent), "heartbeat", True)
        self.check()

    async def checkpoint(self, state: Any) -> None:
        """Saves small state; a later run reads it as ``last_checkpoint``."""
        self.check()
        await self._lease_call(self._client.save_checkpoint(self.id, self.lease_token, state, traceparent=self.traceparent),
                               "checkpoint", False)
        self.last_checkpoint = state
        self.check()

    async def ask(self, key: str, question: str, *, options: Optional[Sequence[str]] = None, schema: Any = None,
                  expires_in: Optional[float] = None, on_expiry: Optional[str] = None, default_answer: Any = UNSET) -> Any:
        """As :meth:`WorkerJob.ask`: the answer, or JobWaiting once the question is open."""
        known = self.answer(key, UNSET)
        if known is not UNSET:
            return known
        self.check()
        try:
            result = await self._client.ask(self.id, self.lease_token, key, question, options=options, schema=schema,
                                            expires_in=expires_in, on_expiry=on_expiry, default_answer=default_answer,
                                            traceparent=self.traceparent)
        except ProblemError as error:
            if not is_lost(error):
                raise
            job = await self._client.find(self.id)
            if self._asked_by_us(job, key):  # our ask went through; its answer was lost and resent
                result = AskResult(True, job.open_prompt if job is not None else None, "waiting")
            else:
                self._worker._lost(self, str(error))
                raise Cancelled("lease_lost") from None
        return self._asked(key, question, result)

    def _drop(self, why: str) -> NoReturn:
        self._worker._lost(self, why)
        raise Cancelled("lease_lost")

    async def _lease_call(self, call: Awaitable[LeaseState], what: str, best_effort: bool) -> None:
        try:
            state = await call
        except ProblemError as error:
            if is_lost(error):
                self._worker._lost(self, str(error))
                raise Cancelled("lease_lost") from None
            if not (best_effort and is_transient(error)):
                raise
            self._worker.log.warning("job %s: %s not recorded: %s", self.id, what, error)
        except (JobkeeperConnectionError, JobkeeperTimeoutError) as error:
            if not best_effort or isinstance(error, RequestCancelledError):
                raise
            self._worker.log.warning("job %s: %s not recorded: %s", self.id, what, error)
        else:
            self._renewed(state)

    def _renewed(self, state: LeaseState) -> None:
        self._renewed_at = time.monotonic()
        if state.cancel_requested and not self.cancelled:
            self._worker.log.info("job %s: cancel requested; stopping", self.id)
            self._stop("cancelled")


class AsyncWorker(WorkerBase):
    """Runs jobs with ``async def`` handlers on the event loop (``await worker.run()``); the options are those of
    :class:`~jobkeeper.Worker`. A handler that is a plain function is called on the loop (keep it quick)."""

    def __init__(self, client: AsyncClient, types: Optional[Sequence[str]] = None, queues: Optional[Sequence[str]] = None,
                 *, concurrency: int = 4, lease_seconds: int = 30, wait_seconds: float = 20.0,
                 worker_id: Optional[str] = None, shutdown_grace: float = 10.0,
                 handlers: Optional[Mapping[str, Callable[[AsyncWorkerJob], Any]]] = None,
                 on_outcome: Optional[Callable[[AsyncWorkerJob, str], None]] = None,
                 logger: Optional[logging.Logger] = None) -> None:
        super().__init__(types, queues, concurrency, lease_seconds, wait_seconds, worker_id, shutdown_grace, handlers,
                         on_outcome, logger)
        self.client = client
        self._active: Dict[str, AsyncWorkerJob] = {}
        self._tasks: Set["asyncio.Task[None]"] = set()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._room: Optional[asyncio.Event] = None
        self._claim_task: Optional["asyncio.Task[List[WorkItem]]"] = None

    # ---- control

    def stop(self) -> None:
        """Asks the worker to stop (no more claims; the grace period; then release). Safe from any thread."""
        self._stop_flag = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._wake_for_stop)
            except RuntimeError:
                pass  # the loop closed meanwhile

    def _wake_for_stop(self) -> None:
        if self._claim_task is not None:
            self._claim_task.cancel()
        if self._room is not None:
            self._room.set()

    async def run(self, *, exit_when_idle: bool = False, handle_signals: Optional[bool] = None) -> None:
        """Claims and runs jobs until :meth:`stop` (or SIGINT/SIGTERM when ``handle_signals``, the default on the main
        thread); with ``exit_when_idle`` until a claim found nothing and the running jobs ended. Raises the
        ProblemError of a claim refused for good. Cancelling the task running it stops it as :meth:`stop` does,
        without the grace period: the running jobs are released."""
        types = self._claim_types()
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._room = asyncio.Event()
        if handle_signals is None:
            handle_signals = threading.current_thread() is threading.main_thread()
        installed: List[int] = []
        if handle_signals:
            for number in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(number, self._on_signal, number)
                    installed.append(number)
                except (NotImplementedError, RuntimeError):
                    pass  # no signal handlers on this loop (Windows): stop() still works
        beats = asyncio.ensure_future(self._heartbeat_loop())
        refusal: Optional[BaseException] = None
        try:
            self.log.info("claiming %s from %s (concurrency %d, lease %d s, wait %g s)", ", ".join(types) or "every type",
                          self.client.base_url, self.concurrency, self.lease_seconds, self.wait_seconds)
            try:
                refusal = await self._claim_loop(types, exit_when_idle)
                await self._finish_running()
            except asyncio.CancelledError:
                self._stop_flag = True
                await asyncio.shield(self._release_all("the worker was cancelled"))
                raise
        finally:
            beats.cancel()
            for number in installed:
                loop.remove_signal_handler(number)
            self._stop_flag = False
            self._stop_signal = None
            self.log.info("stopped: %s", self._summary())
        if refusal is not None:
            raise refusal

    def _on_signal(self, number: int) -> None:
        if self._stop_signal is None:
            self._stop_signal = signal.Signals(number).name
        self.stop()

    # ---- claiming

    async def _claim_loop(self, types: List[str], exit_when_idle: bool) -> Optional[BaseException]:
        backoff = 0.5
        assert self._room is not None
        while not self._stop_flag:
            free = self.concurrency - len(self._active)
            if free <= 0:
                self._room.clear()
                await self._room.wait()
                continue
            self._claim_task = asyncio.ensure_future(self.client.claim(
                self.worker_id, types, self.queues or None, max=min(free, 1000), lease_seconds=self.lease_seconds,
                wait_seconds=self.wait_seconds))
            try:
                items = await self._claim_task
                backoff = 0.5
            except asyncio.CancelledError:
                if self._stop_flag:
                    return None
                raise
            except JobkeeperError as error:
                if self._stop_flag:
                    return None
                if not is_transient(error):
                    self.log.error("claim refused: %s", error)
                    return error
                self.log.warning("claim failed: %s; retrying in %.1f s", error, backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            finally:
                self._claim_task = None
            jobs = [AsyncWorkerJob(self, item) for item in items]
            if self._stop_flag:
                for job in jobs:
                    await self._release(job, "shutting down")
                return None
            if not jobs:
                if exit_when_idle:
                    self.log.info("no work after waiting; exiting once the running jobs are done")
                    return None
                if self.wait_seconds == 0:
                    await self._pause(1.0)
                continue
            for job in jobs:
                self._active[job.id] = job
                task = asyncio.ensure_future(self._run_job(job))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return None

    async def _pause(self, duration: float) -> None:
        assert self._room is not None
        self._room.clear()
        try:
            await asyncio.wait_for(self._room.wait(), duration)  # woken early by stop()
        except asyncio.TimeoutError:
            pass

    # ---- running one job

    async def _run_job(self, job: AsyncWorkerJob) -> None:
        try:
            await self._run_handler(job)
        except Exception:
            self.log.exception("job %s: the worker failed running it", job.id)
        finally:
            if self._active.get(job.id) is job:
                del self._active[job.id]
            if self._room is not None:
                self._room.set()

    async def _run_handler(self, job: AsyncWorkerJob) -> None:
        if job._state != QUEUED:
            return
        job._state = RUNNING
        handler = self._handler_for(job.type)
        job._task = asyncio.ensure_future(self._call(handler, job))
        try:
            result = await job._task
        except JobWaiting as waiting:
            self.log.info("job %s: %s", job.id, waiting)
            self._end(job, "waiting")
        except Cancelled as stopped:
            await self._stopped(job, job.stop_reason or stopped.reason)
        except asyncio.CancelledError:
            if job.stop_reason is None:
                # This task itself was cancelled (the worker's run() was): give the job back, then stop.
                await asyncio.shield(self._stopped(job, "shutdown"))
                raise
            await self._stopped(job, job.stop_reason)
        except BaseException as error:
            if job._waiting:
                self._end(job, "waiting")  # it asked, and then failed: the question stands, the job waits
            elif job.stop_reason is not None:
                await self._stopped(job, job.stop_reason)
            else:
                await self._settle_with(job, "fail", {"lease_token": job.lease_token, "error": error_body(error)})
        else:
            if job._waiting:
                self._end(job, "waiting")
            elif job.lease_lost:
                self._end(job, "dropped")
            else:
                await self._complete(job, result)

    @staticmethod
    async def _call(handler: Optional[Callable[[AsyncWorkerJob], Any]], job: AsyncWorkerJob) -> Any:
        with tracing.trace_context(job.traceparent):
            if handler is None:
                raise LookupError(f"this worker has no handler for job type '{job.type}'")
            result = handler(job)
            if inspect.isawaitable(result):
                result = await result
            return result

    def _end(self, job: AsyncWorkerJob, outcome: str) -> None:
        job._state = DONE
        self._outcome(job, outcome)

    async def _complete(self, job: AsyncWorkerJob, result: Any) -> None:
        try:
            await self._settle_with(job, "complete", {"lease_token": job.lease_token, "result": result})
        except (TypeError, ValueError) as error:
            job._state = RUNNING
            await self._settle_with(job, "fail", {"lease_token": job.lease_token, "error": error_body(
                TypeError(f"the handler's result cannot be sent as JSON: {error}"))})

    async def _stopped(self, job: AsyncWorkerJob, reason: str) -> None:
        if reason == "lease_lost":
            if job._state in (QUEUED, RUNNING):
                self._end(job, "dropped")
            return
        await self._settle_with(job, "release", {"lease_token": job.lease_token}, reason)

    async def _release(self, job: AsyncWorkerJob, why: str) -> None:
        await self._settle_with(job, "release", {"lease_token": job.lease_token}, why)

    async def _settle_with(self, job: AsyncWorkerJob, action: str, body: Dict[str, Any], why: str = "") -> None:
        if job._state not in (QUEUED, RUNNING):
            return
        job._state = SETTLING
        answer = await self._settle(job, action, body)
        if answer is None:
            self._end(job, "dropped")
            return
        status = answer.get("status")
        if action == "complete":
            outcome = "cancelled" if status == "cancelled" else "completed"
        elif action == "fail":
            outcome = "cancelled" if status == "cancelled" else "failed"
            self.log.info("job %s: failed (%s); now %s, attempt %s", job.id, body["error"]["message"], status,
                          answer.get("attempt"))
        else:
            outcome = "cancelled" if status == "cancelled" else "released"
            self.log.info("job %s: stopped (%s); now %s", job.id, why, status)
        self._end(job, outcome)

    async def _settle(self, job: AsyncWorkerJob, action: str, body: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        deadline = job._renewed_at + self.lease_seconds
        pause = 0.2
        while True:
            try:
                answer = await self.client._run(self.client.sync._lease_call, job.id, action, body, job.traceparent)
                return answer if isinstance(answer, dict) else {}
            except JobkeeperError as error:
                if is_lost(error):
                    self._lost(job, str(error))
                    return None
                if not is_transient(error) or time.monotonic() + pause >= deadline:
                    self.log.warning("job %s: %s not delivered: %s", job.id, action, error)
                    return None
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)

    def _lost(self, job: BaseJob, why: str) -> None:
        if job._stop("lease_lost"):
            self.log.warning("job %s: lease lost (%s); dropping the job", job.id, why)

    # ---- leases

    async def _heartbeat_loop(self) -> None:
        interval = self.lease_seconds / 3.0
        tick = min(1.0, max(0.05, interval / 4.0))
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            due = [j for j in self._active.values() if j._state in (QUEUED, RUNNING) and now - j._renewed_at >= interval]
            if due:
                await asyncio.gather(*(self._beat(job) for job in due))

    async def _beat(self, job: AsyncWorkerJob) -> None:
        try:
            state = await self.client.heartbeat(job.id, job.lease_token, self.lease_seconds, traceparent=job.traceparent)
        except JobkeeperError as error:
            if job._state not in (QUEUED, RUNNING):
                return
            if is_lost(error):
                self._lost(job, str(error))
            else:
                self.log.warning("job %s: heartbeat failed: %s; trying again", job.id, error)
            return
        job._renewed(state)

    # ---- stopping

    async def _finish_running(self) -> None:
        grace_ends: Optional[float] = None
        release_by: Optional[float] = None
        while self._tasks:
            now = time.monotonic()
            if self._stop_flag and grace_ends is None:
                grace_ends = now + self.shutdown_grace
                running = sum(1 for j in self._active.values() if j._state == RUNNING)
                self.log.info("%s: no more claims; %d running job(s) get %g s to finish", self._stop_signal or "stop",
                              running, self.shutdown_grace)
            if grace_ends is not None and release_by is None and now >= grace_ends:
                release_by = now + STOP_WAIT
                running_jobs = [j for j in self._active.values() if j._state == RUNNING]
                self.log.info("grace period over: releasing %d job(s)", len(running_jobs))
                for job in running_jobs:
                    job._stop("shutdown")
            if release_by is not None and now >= release_by:
                break
            await asyncio.wait(set(self._tasks), timeout=POLL)
        await self._release_all("its handler did not stop")

    async def _release_all(self, why: str) -> None:
        jobs = [j for j in self._active.values() if j._state in (QUEUED, RUNNING)]
        for job in jobs:
            job._stop("shutdown")
        await asyncio.gather(*(self._release(job, why) for job in jobs), return_exceptions=True)
