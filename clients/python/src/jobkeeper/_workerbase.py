"""What the blocking and the asyncio worker share: options and handlers, outcomes, the job's members and stop
reason, and how a handler's exception is reported."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Mapping, NoReturn, Optional, Sequence, TypeVar

from .errors import (
    Cancelled,
    JobWaiting,
    JobkeeperConnectionError,
    JobkeeperTimeoutError,
    LeaseLostError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from .models import AskResult, Job, Prompt, WorkItem

F = TypeVar("F", bound=Callable[..., Any])
OUTCOMES = ("completed", "failed", "cancelled", "released", "dropped", "waiting")

# A job's life in a worker; changed under the worker's lock so one thread alone reports how it ended.
QUEUED, RUNNING, SETTLING, DONE = "queued", "running", "settling", "done"
# How often a waiting loop looks at the stop flag (seconds): a stop is noticed within this.
POLL = 0.1
# After the grace period, how long handlers told to stop get before their jobs are released anyway.
STOP_WAIT = 5.0
# How long a claim may wait for half the room to be free, once some is (seconds).
BATCH_WAIT = 0.02
MAX_TRACEBACK = 20000


def default_worker_id() -> str:
    return f"{socket.gethostname()}-py-{os.getpid()}"


def error_body(error: BaseException) -> Dict[str, Any]:
    """How a handler's exception is reported: ``{message, code: "exception", details: {exception_type, traceback}}``."""
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return {
        "message": (str(error) or kind.__name__)[:2000],
        "code": "exception",
        "details": {
            "exception_type": name,
            "traceback": trace if len(trace) <= MAX_TRACEBACK else "...\n" + trace[-MAX_TRACEBACK:],
        },
    }


def is_transient(error: BaseException) -> bool:
    """Worth trying again later: the server unreachable, slow, overloaded or failing for a moment."""
    return isinstance(error, (JobkeeperConnectionError, JobkeeperTimeoutError, ServerError, RateLimitedError))


def is_lost(error: BaseException) -> bool:
    """The job is not ours any more: another lease holds it, it ended, or it was deleted."""
    return isinstance(error, LeaseLostError) or (isinstance(error, NotFoundError) and error.kind == "job-not-found")


class BaseJob:
    """What both workers' jobs have: the claimed job's members, its answers and checkpoint, and whether it must stop."""

    def __init__(self, item: WorkItem, worker_id: str) -> None:
        self.item = item
        self.id = item.id
        self.type = item.type
        self.queue = item.queue
        self.input: Any = item.input
        self.labels: Dict[str, str] = item.labels
        self.priority = item.priority
        self.attempt = item.attempt
        self.max_attempts = item.max_attempts
        self.lease_token = item.lease_token
        self.worker_id = worker_id
        # The job's W3C trace context: sent with every call about the job; the handler runs inside it.
        self.traceparent: Optional[str] = item.traceparent
        # The questions the job asked in earlier runs, by key, with their answers once given.
        self.prompts: Dict[str, Prompt] = {p.key: p for p in item.prompts}
        # The state the job saved with checkpoint() before (in an earlier run, or this one).
        self.last_checkpoint: Any = item.checkpoint
        self._stop_reason: Optional[str] = None
        self._waiting = False  # asked a question that is open now: this run is over
        self._state = QUEUED
        self._renewed_at = time.monotonic()

    @property
    def stop_reason(self) -> Optional[str]:
        """Why the job must stop (``cancelled``, ``lease_lost`` or ``shutdown``), or None."""
        return self._stop_reason

    @property
    def cancelled(self) -> bool:
        """True once the job must stop: cancelled, its lease lost, or the worker shutting down."""
        return self._stop_reason is not None

    @property
    def cancel_requested(self) -> bool:
        return self._stop_reason == "cancelled"

    @property
    def lease_lost(self) -> bool:
        return self._stop_reason == "lease_lost"

    def check(self) -> None:
        """Raises :class:`~jobkeeper.Cancelled` when the job must stop."""
        reason = self._stop_reason
        if reason is not None:
            raise Cancelled(reason)

    def answer(self, key: str, default: Any = None) -> Any:
        """The answer given to question ``key`` (in an earlier run), else ``default``."""
        prompt = self.prompts.get(key)
        return prompt.answer if prompt is not None and prompt.answered else default

    @property
    def answers(self) -> Dict[str, Any]:
        """The answers given so far, by question key."""
        return {key: p.answer for key, p in self.prompts.items() if p.answered}

    def _asked(self, key: str, question: str, result: AskResult) -> Any:
        """What the server's answer to an ask means for this run: the question is open now (the lease ended with it,
        and JobWaiting ends the run), or it was answered before (the answer), or the job ended meanwhile."""
        if result.waiting:
            self._waiting = True
            self._end_run()
            if result.prompt is not None:
                self.prompts[key] = result.prompt
            raise JobWaiting(key, question)
        if result.prompt is not None and result.prompt.answered:
            self.prompts[key] = result.prompt
            return result.prompt.answer
        # Neither waiting nor answered: the job ended instead (cancelled meanwhile); it is not ours any more.
        self._drop(f"asking '{key}' found the job {result.status}")

    def _asked_by_us(self, job: Optional[Job], key: str) -> bool:
        """The job waits on this worker's question ``key``: an ask went through though its answer was lost."""
        prompt = job.open_prompt if job is not None else None
        return job is not None and job.status == "waiting" and prompt is not None and prompt.key == key \
            and prompt.asked_by == self.worker_id

    def _end_run(self) -> None:
        """No more heartbeats or reports for this run (the blocking worker does this under its lock)."""
        if self._state in (QUEUED, RUNNING):
            self._state = SETTLING

    def _drop(self, why: str) -> NoReturn:
        """The job is not ours any more: the worker drops it, and the handler stops."""
        raise NotImplementedError

    def _stop(self, reason: str) -> bool:
        """Records why the job must stop (a lost lease overrides the rest); True when this is news."""
        if self._stop_reason is None or (reason == "lease_lost" and self._stop_reason != reason):
            self._stop_reason = reason
            return True
        return False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.type} attempt {self.attempt}>"


class WorkerBase:
    """Options, handlers, outcomes and logging, shared by :class:`Worker` and :class:`~jobkeeper.AsyncWorker`."""

    def __init__(self, types: Optional[Sequence[str]], queues: Optional[Sequence[str]], concurrency: int,
                 lease_seconds: int, wait_seconds: float, worker_id: Optional[str], shutdown_grace: float,
                 handlers: Optional[Mapping[str, Callable[..., Any]]], on_outcome: Optional[Callable[[Any, str], None]],
                 logger: Optional[logging.Logger]) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not 1 <= lease_seconds <= 3600:
            raise ValueError("lease_seconds must be from 1 to 3600")
        if not 0 <= wait_seconds <= 30:
            raise ValueError("wait_seconds must be from 0 to 30")
        self.types: List[str] = list(types or [])
        self.queues: List[str] = list(queues or [])
        self.concurrency = concurrency
        self.lease_seconds = int(lease_seconds)
        self.wait_seconds = float(wait_seconds)
        self.worker_id = worker_id or default_worker_id()
        self.shutdown_grace = float(shutdown_grace)
        self.handlers: Dict[str, Callable[..., Any]] = dict(handlers or {})
        self.on_outcome = on_outcome
        self.log = logger or logging.getLogger("jobkeeper.worker")
        self.counts: Dict[str, int] = {outcome: 0 for outcome in OUTCOMES}
        self._counts_lock = threading.Lock()
        self._stop_flag = False
        self._stop_signal: Optional[str] = None

    def handler(self, type: str) -> Callable[[F], F]:
        """Registers the decorated function as the handler of job type ``type`` ("*": of every type without one)."""

        def register(function: F) -> F:
            self.handlers[type] = function
            return function

        return register

    @property
    def stopping(self) -> bool:
        return self._stop_flag

    def _claim_types(self) -> List[str]:
        """The types to claim: those given, else those with a handler; none (every type in ``queues``) when a
        catch-all handler ("*") is registered and no types are given."""
        if self.types:
            return list(self.types)
        if "*" in self.handlers:
            if not self.queues:
                raise ValueError("a catch-all handler ('*') claims by queue: give queues")
            return []
        types = sorted(self.handlers)
        if not types:
            raise ValueError("nothing to claim: register a handler, or give types or queues")
        return types

    def _handler_for(self, job_type: str) -> Optional[Callable[..., Any]]:
        return self.handlers.get(job_type) or self.handlers.get("*")

    def _outcome(self, job: BaseJob, outcome: str) -> None:
        with self._counts_lock:
            self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if self.on_outcome is not None:
            try:
                self.on_outcome(job, outcome)
            except Exception:
                self.log.exception("job %s: on_outcome raised", job.id)

    def _summary(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in self.counts.items())
