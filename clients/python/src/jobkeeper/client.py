"""The blocking client: every route of the Jobkeeper HTTP API (docs/api.md)."""

from __future__ import annotations

import collections
import json
import os
import time
from datetime import datetime, timedelta
from typing import Any, Deque, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import quote, urlencode

from . import tracing
from ._http import Cancel, Response, StreamResponse, Transport, current_cancel, parse_base_url
from ._sse import SseParser
from ._version import __version__
from .errors import (
    JobkeeperConnectionError,
    JobkeeperError,
    JobkeeperTimeoutError,
    NotFoundError,
    NotJobkeeperError,
    RequestCancelledError,
    problem_error,
)
from .models import (
    FINISHED_STATUSES,
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
    format_timestamp,
    seconds,
)

API = "/api/v1"
Headers = List[Tuple[str, str]]
Seconds = Union[float, int, timedelta]


class _Unset:
    """Marks a member left out of a merge patch (None sends null, which clears it)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def _encode_header_text(text: str) -> str:
    # As encodeURIComponent does: a header carries only ASCII safely (docs/api.md § Who and why).
    return quote(text, safe="!~*'()")


def json_body(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _job_path(job_id: str) -> str:
    if not job_id:
        raise ValueError(f"a job id must be a non-empty string, not {job_id!r}")
    return f"{API}/jobs/{quote(job_id, safe='')}"


def _name_path(kind: str, name: str) -> str:
    if not name:
        raise ValueError(f"a {kind[:-1]} name must be a non-empty string, not {name!r}")
    return f"{API}/{kind}/{quote(name, safe='')}"


def _csv(value: Union[str, Iterable[str], None]) -> Optional[str]:
    if value is None:
        return None
    return value if isinstance(value, str) else ",".join(value)


def _labels(value: Union[str, Mapping[str, str], Iterable[str], None]) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [f"{k}:{v}" for k, v in value.items()]
    return list(value)


def _patch(**members: Any) -> Dict[str, Any]:
    return {name: value for name, value in members.items() if value is not UNSET}


class Client:
    """A blocking client of one Jobkeeper server; thread-safe, with a pool of keep-alive connections.

    ``base_url``: the server (``http://127.0.0.1:8080``; default ``$JOBKEEPER_URL``), checked at once
    (:class:`~jobkeeper.InvalidBaseUrlError`). ``api_key``: sent as ``Authorization: Bearer <key>`` (default
    ``$JOBKEEPER_API_KEY``). ``timeout``: seconds for each socket operation of a call. ``retries``: how many
    times a call that is safe to repeat is sent again after a connection error, a timeout or a 502/503/504
    (README § Retries). ``actor``: the ``X-Actor`` of the changes this client asks for, unless a call names one.
    """

    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None, *, timeout: float = 30.0,
                 retries: int = 3, actor: Optional[str] = None, user_agent: Optional[str] = None,
                 max_idle_connections: int = 64, ssl_context: Any = None) -> None:
        base = parse_base_url(base_url if base_url is not None else os.environ.get("JOBKEEPER_URL"))
        key = api_key if api_key is not None else os.environ.get("JOBKEEPER_API_KEY")
        if timeout <= 0:
            raise ValueError("timeout must be more than 0 seconds")
        headers = [("User-Agent", user_agent or f"jobkeeper-python/{__version__}"), ("Accept", "application/json")]
        if key:
            headers.append(("Authorization", f"Bearer {key.strip()}"))
        self.base_url = str(base)
        self.timeout = float(timeout)
        self.actor = actor
        self._prefix = base.prefix
        self._http = Transport(base, headers, float(timeout), retries, max_idle_connections, ssl_context)

    def close(self) -> None:
        """Closes the idle connections (the client stays usable: a later call opens a new one)."""
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"jobkeeper.Client({self.base_url!r})"

    # ------------------------------------------------------------------------------------------------ jobs

    def create(self, type: str, input: Any = None, *, id: Optional[str] = None, queue: Optional[str] = None,
               labels: Optional[Mapping[str, str]] = None, priority: Optional[int] = None,
               run_at: Union[datetime, str, None] = None, max_attempts: Optional[int] = None,
               unique_key: Optional[str] = None, unique_window_seconds: Optional[Seconds] = None,
               unique_statuses: Optional[Sequence[str]] = None, debounce_seconds: Optional[Seconds] = None,
               idempotency_key: Optional[str] = None, traceparent: Optional[str] = None,
               actor: Optional[str] = None, reason: Optional[str] = None) -> Job:
        """Creates a job. With a ``unique_key`` a job holds, or an ``idempotency_key`` used already, nothing is
        added: the answer is that job as it is now, with ``existing`` True (docs/enqueue.md)."""
        body = NewJob(type, input, id, queue, labels, priority, run_at, max_attempts, unique_key, unique_window_seconds,
                      unique_statuses, debounce_seconds).to_dict()
        headers = self._headers(actor, reason, traceparent)
        if idempotency_key is not None:
            headers.append(("Idempotency-Key", idempotency_key))
        # Only a keyed create is safe to send twice: a resent one finds the job the first made.
        response = self._request("POST", f"{API}/jobs", body, headers, retry=bool(idempotency_key or unique_key))
        data = self._json(response, "a job")
        existing = response.status == 200 and response.headers.get("jobkeeper-existing", "").lower() == "true"
        return Job.from_dict(data, existing=existing or bool(isinstance(data, dict) and data.get("existing")))

    def create_many(self, jobs: Iterable[Union[NewJob, Mapping[str, Any]]], *, traceparent: Optional[str] = None,
                    actor: Optional[str] = None, reason: Optional[str] = None) -> BatchResult:
        """Creates up to 10,000 jobs in one transaction; each is answered on its own (``created``, ``existing``,
        ``duplicate_id`` or ``invalid``), in order."""
        items = [j.to_dict() if isinstance(j, NewJob) else dict(j) for j in jobs]
        keyed = bool(items) and all(item.get("unique_key") for item in items)
        response = self._request("POST", f"{API}/jobs/batch", {"jobs": items}, self._headers(actor, reason, traceparent),
                                 retry=keyed)
        return BatchResult.from_dict(self._json(response, "a batch answer"))

    def get(self, id: str) -> Job:
        """The job; :class:`~jobkeeper.NotFoundError` when there is none."""
        response = self._request("GET", _job_path(id), retry=True)
        return Job.from_dict(self._json(response, "a job"))

    def find(self, id: str) -> Optional[Job]:
        """The job, or None when there is none."""
        try:
            return self.get(id)
        except NotFoundError as error:
            if error.kind == "job-not-found":
                return None
            raise

    def update(self, id: str, *, status: Any = UNSET, progress: Any = UNSET, result: Any = UNSET, error: Any = UNSET,
               labels: Any = UNSET, lease_seconds: Optional[int] = None, patch: Optional[Mapping[str, Any]] = None,
               if_match: Optional[int] = None, actor: Optional[str] = None, reason: Optional[str] = None) -> Job:
        """Applies a JSON merge patch: members left out stay, None clears (``progress`` and ``labels`` merge member by
        member). With ``if_match`` (a version) it is compare-and-set: :class:`~jobkeeper.PreconditionFailedError`
        when the job moved on. ``patch`` adds raw members."""
        body = dict(patch or {})
        body.update(_patch(status=status, progress=progress, result=result, error=error, labels=labels))
        if isinstance(body.get("error"), JobError):
            e = body["error"]
            body["error"] = {"message": e.message, "code": e.code, "details": e.details}
        if lease_seconds is not None:
            body["lease_seconds"] = lease_seconds
        headers = self._headers(actor, reason)
        if if_match is not None:
            headers.append(("If-Match", f'"{int(if_match)}"'))
        return Job.from_dict(self._json(self._request("PATCH", _job_path(id), body, headers), "a job"))

    def delete(self, id: str, *, actor: Optional[str] = None, reason: Optional[str] = None) -> None:
        """Deletes the job and its history (the server logs who and why)."""
        self._check(self._request("DELETE", _job_path(id), None, self._headers(actor, reason), retry=True))

    def list(self, *, status: Union[str, Iterable[str], None] = None, type: Optional[str] = None,
             queue: Optional[str] = None, label: Union[str, Mapping[str, str], Iterable[str], None] = None,
             created_after: Union[datetime, str, None] = None, created_before: Union[datetime, str, None] = None,
             page_size: int = 100, limit: Optional[int] = None, q: Optional[str] = None,
             sort: Optional[str] = None) -> Iterator[Job]:
        """Every job that matches, newest first, read page by page as the iteration goes (at most ``limit``). ``q``: a
        search, jobs whose id starts with it or whose type, labels, input, result and error have all its words. ``sort``:
        ``created``, ``updated``, ``priority`` or ``duration``, with a leading ``-`` for descending (default ``-created``)."""
        cursor: Optional[str] = None
        count = 0
        while True:
            size = page_size if limit is None else max(1, min(page_size, limit - count))
            page = self.list_page(status=status, type=type, queue=queue, label=label, created_after=created_after,
                                  created_before=created_before, limit=size, cursor=cursor, q=q, sort=sort)
            for job in page.items:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield job
            cursor = page.next_cursor
            if cursor is None or (limit is not None and count >= limit):
                return

    def list_page(self, *, status: Union[str, Iterable[str], None] = None, type: Optional[str] = None,
                  queue: Optional[str] = None, label: Union[str, Mapping[str, str], Iterable[str], None] = None,
                  created_after: Union[datetime, str, None] = None, created_before: Union[datetime, str, None] = None,
                  limit: int = 50, cursor: Optional[str] = None, q: Optional[str] = None,
                  sort: Optional[str] = None) -> JobPage:
        """One page of the listing (``limit`` 1–1000); pass its ``next_cursor`` back as ``cursor``."""
        query: List[Tuple[str, str]] = []
        for name, value in (("status", _csv(status)), ("type", type), ("queue", queue), ("q", q), ("sort", sort)):
            if value is not None:
                query.append((name, value))
        query.extend(("label", v) for v in _labels(label))
        if created_after is not None:
            query.append(("created_after", format_timestamp(created_after)))
        if created_before is not None:
            query.append(("created_before", format_timestamp(created_before)))
        query.append(("limit", str(limit)))
        if cursor is not None:
            query.append(("cursor", cursor))
        response = self._request("GET", f"{API}/jobs?{urlencode(query, quote_via=quote)}", retry=True)
        return JobPage.from_dict(self._json(response, "a page of jobs"))

    def cancel(self, id: str, *, actor: Optional[str] = None, reason: Optional[str] = None) -> Job:
        """Cancels the job: queued or waiting ones at once, a running one when its worker stops (``cancel_requested_at``)."""
        # Cancelling twice leaves it as once (docs/api.md): safe to send again.
        response = self._request("POST", f"{_job_path(id)}/cancel", None, self._headers(actor, reason), retry=True)
        return Job.from_dict(self._json(response, "a job"))

    def retry(self, id: str, *, actor: Optional[str] = None, reason: Optional[str] = None) -> Job:
        """Queues a failed or cancelled job again, with ``attempt`` + 1."""
        response = self._request("POST", f"{_job_path(id)}/retry", None, self._headers(actor, reason))
        return Job.from_dict(self._json(response, "a job"))

    def events(self, id: str, *, after: int = 0, limit: Optional[int] = None) -> List[JobEvent]:
        """The job's history after event ``after``, oldest first, every page read (``limit``: page size)."""
        events: List[JobEvent] = []
        next_after: Optional[int] = after
        while next_after is not None:
            query = f"after={next_after}" + (f"&limit={limit}" if limit else "")
            data = self._json(self._request("GET", f"{_job_path(id)}/events?{query}", retry=True), "a page of events")
            if not isinstance(data, dict) or not isinstance(data.get("items"), list):
                raise NotJobkeeperError("expected a page of events")
            events.extend(JobEvent.from_dict(e) for e in data["items"])
            following = data.get("next_after")
            next_after = following if isinstance(following, int) and following != next_after else None
        return events

    def workers(self, within_seconds: int = 300) -> List[WorkerInfo]:
        """The workers heard from in the last ``within_seconds`` (in-process handlers and HTTP workers, on any
        instance) and those holding running jobs: what they hold, when last heard from, what they did per minute."""
        response = self._request("GET", f"{API}/workers?within_seconds={int(within_seconds)}", retry=True)
        data = self._json(response, "a list of workers")
        return [WorkerInfo.from_dict(w) for w in (data.get("items") if isinstance(data, dict) else None) or []]

    def bulk(self, action: str, *, status: Union[str, Iterable[str], None] = None, type: Optional[str] = None,
             queue: Optional[str] = None, label: Union[str, Mapping[str, str], Iterable[str], None] = None,
             created_after: Union[datetime, str, None] = None, created_before: Union[datetime, str, None] = None,
             all: bool = False, dry_run: bool = False, actor: Optional[str] = None, reason: Optional[str] = None,
             timeout: Optional[float] = 3600.0, q: Optional[str] = None) -> BulkResult:
        """``action`` (``retry``, ``cancel`` or ``delete``) on every job the filters match, as ``list`` takes them
        (``POST /api/v1/jobs/bulk``); ``dry_run`` only counts them. Jobs whose status does not allow the action are
        counted in ``skipped``. With no filter it is refused unless ``all``. Interrupted, call it again: it goes on
        where it stopped. ``timeout``: seconds to wait for the answer (a bulk action over many jobs takes a while)."""
        filter: Dict[str, Any] = {}
        for name, value in (("status", _csv(status)), ("type", type), ("queue", queue), ("q", q)):
            if value is not None:
                filter[name] = value
        labels = _labels(label)
        if labels:
            filter["label"] = labels
        if created_after is not None:
            filter["created_after"] = format_timestamp(created_after)
        if created_before is not None:
            filter["created_before"] = format_timestamp(created_before)
        body: Dict[str, Any] = {"action": action, "filter": filter}
        if all:
            body["all"] = True
        if dry_run:
            body["dry_run"] = True
        # A dry run changes nothing, and a repeated action goes on where it stopped: both are safe to send again.
        response = self._request("POST", f"{API}/jobs/bulk", body, self._headers(actor, reason), retry=True,
                                 timeout=timeout or self.timeout)
        return BulkResult.from_dict(self._json(response, "a bulk answer"))

    def cleanup(self, days: int = 7) -> CleanupResult:
        """Deletes finished jobs completed more than ``days`` days ago."""
        response = self._request("DELETE", f"{API}/jobs/cleanup?days={int(days)}", retry=True)
        return CleanupResult.from_dict(self._json(response, "a cleanup answer"))

    def health(self, *, unhealthy_ok: bool = False) -> Health:
        """``GET /health``. A 503 (store unavailable or damaged) raises, unless ``unhealthy_ok``: then its document
        is returned (``status`` says why). A server whose answer is not Jobkeeper's raises NotJobkeeperError."""
        headers = [("Cache-Control", "no-cache")]
        response = self._request("GET", "/health", None, headers, retry=not unhealthy_ok)
        if response.status == 503 and unhealthy_ok and "json" in response.content_type:
            try:
                return Health.from_dict(json.loads(response.body))
            except ValueError:
                pass
        return Health.from_dict(self._json(response, "Jobkeeper's health document"))

    # ------------------------------------------------------------------------------------------------ prompts

    def prompt(self, id: str) -> Optional[Prompt]:
        """The open question of a waiting job, or None when it asks nothing; NotFoundError when there is no job."""
        try:
            return Prompt.from_dict(self._json(self._request("GET", f"{_job_path(id)}/prompt", retry=True), "a prompt"))
        except NotFoundError as error:
            if error.kind == "no-open-prompt":
                return None
            raise

    def answer(self, id: str, answer: Any, *, confidence: Optional[float] = None, answered_by: Optional[str] = None,
               reason: Optional[str] = None, key: Optional[str] = None, actor: Optional[str] = None) -> Job:
        """Answers the open question; the job is queued to run again. ConflictError when it was answered already,
        AnswerRejectedError (422) when the answer does not fit its options or schema."""
        body: Dict[str, Any] = {"answer": answer}
        for name, value in (("confidence", confidence), ("answered_by", answered_by), ("reason", reason), ("key", key)):
            if value is not None:
                body[name] = value
        response = self._request("POST", f"{_job_path(id)}/prompt/response", body, self._headers(actor, None))
        return Job.from_dict(self._json(response, "a job"))

    # ------------------------------------------------------------------------------------------------ live events

    def watch(self, job_id: Optional[str] = None, *, type: Union[str, Iterable[str], None] = None,
              status: Union[str, Iterable[str], None] = None, last_event_id: Optional[int] = None,
              idle_timeout: float = 30.0) -> "EventStream":
        """Live events (Server-Sent Events): one job's with ``job_id``, else every job's, narrowed by ``type`` and
        ``status``. Starts after ``last_event_id`` when given, else with what happens next. A dropped connection (or
        ``idle_timeout`` seconds without a byte) is resumed with ``Last-Event-ID``: nothing is missed or repeated.
        Iterate it; ``close()`` it (from any thread) or use it in a ``with`` block."""
        if job_id is not None:
            path = f"{_job_path(job_id)}/stream"
        else:
            query = [(n, v) for n, v in (("type", _csv(type)), ("status", _csv(status))) if v is not None]
            path = f"{API}/events" + (f"?{urlencode(query, quote_via=quote)}" if query else "")
        return EventStream(self, path, last_event_id, idle_timeout)

    def wait(self, id: str, timeout: Optional[Seconds] = None, *, idle_timeout: float = 30.0) -> Job:
        """Waits until the job is finished (completed, failed or cancelled) and returns it, following its live
        stream (no polling loop). JobkeeperTimeoutError after ``timeout`` seconds (None: no limit)."""
        deadline = None if timeout is None else time.monotonic() + seconds(timeout)
        last_event_id: Optional[int] = None
        pause = 0.1
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise JobkeeperTimeoutError(f"job {id} did not finish within {seconds(timeout or 0):g} s")
            stream = EventStream(self, f"{_job_path(id)}/stream", last_event_id, idle_timeout, reconnect=False)
            try:
                stream.connect()
                # Subscribed before the stream's headers went out (docs/api.md): whatever the job does after this
                # read is in the stream, so reading it now misses nothing.
                job = self.get(id)
                if job.finished:
                    return job
                while True:
                    read_for = idle_timeout if deadline is None else min(idle_timeout, deadline - time.monotonic())
                    if read_for <= 0:
                        break
                    events = stream.poll(read_for)
                    if events is None:
                        break  # the stream ended (the server stopping): connect again
                    last_event_id = stream.last_event_id
                    if any(e.job_status in FINISHED_STATUSES for e in events):
                        job = self.get(id)
                        if job.finished:
                            return job
                pause = 0.1
            except JobkeeperTimeoutError:
                pass  # quiet for idle_timeout (or the deadline came): the loop checks the job again
            except RequestCancelledError:
                raise
            except JobkeeperConnectionError:
                cancel = current_cancel.get()
                if not (cancel or Cancel()).sleep(pause):
                    raise RequestCancelledError(f"waiting for job {id} was cancelled") from None
                pause = min(pause * 2, 5.0)
            finally:
                stream.close()

    # ------------------------------------------------------------------------------------------------ workers

    def claim(self, worker_id: str, types: Optional[Sequence[str]] = None, queues: Optional[Sequence[str]] = None, *,
              max: int = 1, lease_seconds: Optional[int] = None, wait_seconds: Optional[float] = None) -> List[WorkItem]:
        """Claims up to ``max`` due jobs of ``types`` and/or in ``queues``; with ``wait_seconds`` (0–30) it waits that
        long for one (a long poll). Never sent twice: a resent claim would take more jobs."""
        body: Dict[str, Any] = {"worker_id": worker_id, "max": max}
        if types:
            body["types"] = list(types)
        if queues:
            body["queues"] = list(queues)
        if lease_seconds is not None:
            body["lease_seconds"] = lease_seconds
        if wait_seconds is not None:
            body["wait_seconds"] = wait_seconds
        timeout = self.timeout + (wait_seconds or 0)
        data = self._json(self._request("POST", f"{API}/workers/claim", body, self._headers(), timeout=timeout),
                          "a claim answer")
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
            raise NotJobkeeperError("expected a claim answer with 'jobs'")
        return [WorkItem.from_dict(item) for item in data["jobs"]]

    def heartbeat(self, id: str, lease_token: str, lease_seconds: Optional[int] = None, *,
                  traceparent: Optional[str] = None) -> LeaseState:
        """Renews the lease; the answer says whether a cancel was requested. LeaseLostError when the job is not ours."""
        body: Dict[str, Any] = {"lease_token": lease_token}
        if lease_seconds is not None:
            body["lease_seconds"] = lease_seconds
        return LeaseState.from_dict(self._lease_call(id, "heartbeat", body, traceparent))

    def report_progress(self, id: str, lease_token: str, *, fraction: Optional[float] = None, stage: Optional[str] = None,
                        message: Optional[str] = None, current: Optional[int] = None, total: Optional[int] = None,
                        lease_seconds: Optional[int] = None, traceparent: Optional[str] = None) -> LeaseState:
        """Reports progress under the lease (which renews it)."""
        body: Dict[str, Any] = {"lease_token": lease_token}
        for name, value in (("lease_seconds", lease_seconds), ("fraction", fraction), ("stage", stage),
                            ("message", message), ("current", current), ("total", total)):
            if value is not None:
                body[name] = value
        return LeaseState.from_dict(self._lease_call(id, "progress", body, traceparent))

    def save_checkpoint(self, id: str, lease_token: str, state: Any, *, traceparent: Optional[str] = None) -> LeaseState:
        """Saves small state under the lease; the next run of the job reads it from its work item."""
        return LeaseState.from_dict(self._lease_call(id, "checkpoint", {"lease_token": lease_token, "state": state},
                                                     traceparent))

    def complete(self, id: str, lease_token: str, result: Any = None, *, traceparent: Optional[str] = None) -> Job:
        """Completes the job with ``result`` (or it ends cancelled, when a cancel was requested)."""
        return Job.from_dict(self._lease_call(id, "complete", {"lease_token": lease_token, "result": result}, traceparent))

    def fail(self, id: str, lease_token: str, error: Union[str, JobError, Mapping[str, Any]], *,
             retry: Optional[bool] = None, traceparent: Optional[str] = None) -> Job:
        """Fails this attempt: queued again after a backoff while attempts remain (unless ``retry`` is False)."""
        body: Dict[str, Any] = {"lease_token": lease_token, "error": _error_body(error)}
        if retry is not None:
            body["retry"] = retry
        return Job.from_dict(self._lease_call(id, "fail", body, traceparent))

    def release(self, id: str, lease_token: str, *, traceparent: Optional[str] = None) -> Job:
        """Gives the job back: queued again at once, the attempt not counted (a worker shutting down)."""
        return Job.from_dict(self._lease_call(id, "release", {"lease_token": lease_token}, traceparent))

    def ask(self, id: str, lease_token: str, key: str, question: str, *, options: Optional[Sequence[str]] = None,
            schema: Any = None, expires_in: Optional[Seconds] = None, on_expiry: Optional[str] = None,
            default_answer: Any = UNSET, traceparent: Optional[str] = None) -> AskResult:
        """Asks a person under the lease: the job waits (``waiting`` True) until answered; for a key answered already
        the answer comes back and nothing changes."""
        body: Dict[str, Any] = {"lease_token": lease_token, "key": key, "question": question}
        if options is not None:
            body["options"] = list(options)
        if schema is not None:
            body["schema"] = schema
        if expires_in is not None:
            body["expires_in_seconds"] = seconds(expires_in)
        if on_expiry is not None:
            body["on_expiry"] = on_expiry
        if default_answer is not UNSET:
            body["default_answer"] = default_answer
        return AskResult.from_dict(self._lease_call(id, "prompt", body, traceparent))

    # ------------------------------------------------------------------------------------------------ queues

    def queues(self) -> List[Queue]:
        """Every queue with its settings and counts."""
        data = self._json(self._request("GET", f"{API}/queues", retry=True), "a list of queues")
        return [Queue.from_dict(q) for q in _items(data, "a list of queues")]

    def queue(self, name: str) -> Queue:
        return Queue.from_dict(self._json(self._request("GET", _name_path("queues", name), retry=True), "a queue"))

    def update_queue(self, name: str, *, concurrency_limit: Any = UNSET, partition: Any = UNSET, rate_limit: Any = UNSET,
                     actor: Optional[str] = None, reason: Optional[str] = None) -> Queue:
        """Changes a queue's flow control (a merge patch: None removes a setting); see docs/flow-control.md."""
        body = _patch(concurrency_limit=concurrency_limit, partition=partition, rate_limit=rate_limit)
        response = self._request("PATCH", _name_path("queues", name), body, self._headers(actor, reason), retry=True)
        return Queue.from_dict(self._json(response, "a queue"))

    def pause_queue(self, name: str, type: Optional[str] = None, *, actor: Optional[str] = None,
                    reason: Optional[str] = None) -> Queue:
        """Pauses a queue (or one job type in it); idempotent."""
        body = {"type": type} if type else {}
        response = self._request("POST", f"{_name_path('queues', name)}/pause", body, self._headers(actor, reason), retry=True)
        return Queue.from_dict(self._json(response, "a queue"))

    def resume_queue(self, name: str, type: Optional[str] = None, *, actor: Optional[str] = None,
                     reason: Optional[str] = None) -> Queue:
        """Resumes a queue (or one job type in it); idempotent."""
        body = {"type": type} if type else {}
        response = self._request("POST", f"{_name_path('queues', name)}/resume", body, self._headers(actor, reason), retry=True)
        return Queue.from_dict(self._json(response, "a queue"))

    # ------------------------------------------------------------------------------------------------ schedules

    def schedules(self) -> List[Schedule]:
        data = self._json(self._request("GET", f"{API}/schedules", retry=True), "a list of schedules")
        return [Schedule.from_dict(s) for s in _items(data, "a list of schedules")]

    def schedule(self, name: str) -> Schedule:
        return Schedule.from_dict(self._json(self._request("GET", _name_path("schedules", name), retry=True), "a schedule"))

    def create_schedule(self, name: str, job: Mapping[str, Any], *, cron: Optional[str] = None,
                        interval_seconds: Optional[int] = None, time_zone: Optional[str] = None,
                        misfire: Optional[str] = None, catch_up_limit: Optional[int] = None,
                        overlap: Optional[str] = None, paused: bool = False) -> Schedule:
        """Creates a recurring schedule: ``job`` is the template (``type``, ``queue``, ``input``, ``labels``, ...),
        with ``cron`` or ``interval_seconds``. ConflictError (``schedule-exists``) when the name is taken."""
        body: Dict[str, Any] = {"name": name, "job": dict(job), "paused": paused}
        for member, value in (("cron", cron), ("interval_seconds", interval_seconds), ("time_zone", time_zone),
                              ("misfire", misfire), ("catch_up_limit", catch_up_limit), ("overlap", overlap)):
            if value is not None:
                body[member] = value
        return Schedule.from_dict(self._json(self._request("POST", f"{API}/schedules", body, self._headers()), "a schedule"))

    def update_schedule(self, name: str, *, cron: Any = UNSET, interval_seconds: Any = UNSET, time_zone: Any = UNSET,
                        job: Any = UNSET, misfire: Any = UNSET, catch_up_limit: Any = UNSET, overlap: Any = UNSET,
                        paused: Any = UNSET) -> Schedule:
        """Changes a schedule (a merge patch; ``cron`` clears ``interval_seconds`` and the reverse)."""
        body = _patch(cron=cron, interval_seconds=interval_seconds, time_zone=time_zone, job=job, misfire=misfire,
                      catch_up_limit=catch_up_limit, overlap=overlap, paused=paused)
        response = self._request("PATCH", _name_path("schedules", name), body, self._headers(), retry=True)
        return Schedule.from_dict(self._json(response, "a schedule"))

    def delete_schedule(self, name: str) -> None:
        """Deletes a schedule; the jobs it created stay."""
        self._check(self._request("DELETE", _name_path("schedules", name), None, self._headers(), retry=True))

    def trigger_schedule(self, name: str, *, actor: Optional[str] = None, reason: Optional[str] = None) -> TriggerResult:
        """Runs a schedule now, outside its timing (also while paused)."""
        response = self._request("POST", f"{_name_path('schedules', name)}/trigger", None, self._headers(actor, reason))
        data = self._json(response, "a trigger answer")
        if not isinstance(data, dict):
            raise NotJobkeeperError("expected a trigger answer")
        return TriggerResult(Job.from_dict(data.get("job")), Schedule.from_dict(data.get("schedule")))

    def pause_schedule(self, name: str) -> Schedule:
        response = self._request("POST", f"{_name_path('schedules', name)}/pause", None, self._headers(), retry=True)
        return Schedule.from_dict(self._json(response, "a schedule"))

    def resume_schedule(self, name: str) -> Schedule:
        response = self._request("POST", f"{_name_path('schedules', name)}/resume", None, self._headers(), retry=True)
        return Schedule.from_dict(self._json(response, "a schedule"))

    # ------------------------------------------------------------------------------------------------ plumbing

    def _headers(self, actor: Optional[str] = None, reason: Optional[str] = None,
                 traceparent: Optional[str] = None) -> Headers:
        headers: Headers = []
        tp = traceparent or tracing.current_traceparent()
        if tp:
            headers.append(("traceparent", tp))
        who = actor or self.actor
        if who:
            headers.append(("X-Actor", _encode_header_text(who)))
        if reason:
            headers.append(("X-Reason", _encode_header_text(reason)))
        return headers

    def _request(self, method: str, path: str, body: Any = None, headers: Optional[Headers] = None,
                 retry: bool = False, timeout: Optional[float] = None) -> Response:
        if headers is None:
            headers = self._headers()
        data = None if body is None else body if isinstance(body, bytes) else json_body(body)
        return self._http.request(method, self._prefix + path, data, headers, timeout, retry)

    def _lease_call(self, id: str, action: str, body: Union[Dict[str, Any], bytes], traceparent: Optional[str],
                    timeout: Optional[float] = None) -> Any:
        # Calls under a lease token are safe to send again: a replay of one that was applied finds the token
        # spent and answers 409 lease-lost, changing nothing (README § Retries).
        response = self._request("POST", f"{_job_path(id)}/{action}", body, self._headers(traceparent=traceparent),
                                 retry=True, timeout=timeout)
        return self._json(response, f"the answer to {action}")

    def _lease_calls(self, calls: Sequence[Tuple[str, str, bytes, Optional[str]]],
                     timeout: Optional[float] = None) -> List[Any]:
        """Several calls under lease tokens (job id, action, JSON body, traceparent), pipelined on one connection:
        each one's decoded answer, or the exception it ended in (a ProblemError, a connection error)."""
        requests = [("POST", f"{self._prefix}{_job_path(job_id)}/{action}", body, self._headers(traceparent=traceparent))
                    for job_id, action, body, traceparent in calls]
        answers: List[Any] = []
        for (_id, action, _body, _tp), outcome in zip(calls, self._http.pipeline(requests, timeout)):
            if isinstance(outcome, Response):
                try:
                    answers.append(self._json(outcome, f"the answer to {action}"))
                except JobkeeperError as error:
                    answers.append(error)
            else:
                answers.append(outcome)
        return answers

    def _json(self, response: Response, what: str) -> Any:
        self._check(response)
        if not response.body:
            raise NotJobkeeperError(f"expected {what}, got an empty answer (HTTP {response.status})", response.status,
                                    response.content_type)
        if "json" not in response.content_type:
            raise NotJobkeeperError(
                f"expected {what} as JSON, got {response.content_type or 'no content type'} (HTTP {response.status}): "
                f"is {self.base_url} a Jobkeeper server?", response.status, response.content_type, response.body)
        try:
            return json.loads(response.body)
        except ValueError:
            raise NotJobkeeperError(f"expected {what}, got a body that is not JSON: is {self.base_url} a Jobkeeper server?",
                                    response.status, response.content_type, response.body) from None

    def _check(self, response: Response) -> None:
        if response.status < 300:
            return
        raise self._refusal(response.status, response.reason, response.headers, response.body)

    def _refusal(self, status: int, reason: str, headers: Mapping[str, str], body: bytes) -> JobkeeperError:
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if body and "json" in content_type:
            try:
                problem = json.loads(body)
            except ValueError:
                problem = None
            if isinstance(problem, dict) and ("title" in problem or "type" in problem or "status" in problem):
                return problem_error(status, problem, reason, headers)
        if not body or status in (502, 503, 504):
            # Kestrel's own refusals (414, 431, ...) have no body; a proxy's 502-504 page says the server is away.
            return problem_error(status, None, reason, headers)
        return NotJobkeeperError(f"HTTP {status} with {content_type or 'no content type'} and no problem details: "
                                 f"is {self.base_url} a Jobkeeper server?", status, content_type, body)


def _items(data: Any, what: str) -> List[Any]:
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise NotJobkeeperError(f"expected {what}")
    return data["items"]


def _error_body(error: Union[str, JobError, Mapping[str, Any]]) -> Dict[str, Any]:
    if isinstance(error, str):
        return {"message": error}
    if isinstance(error, JobError):
        body: Dict[str, Any] = {"message": error.message}
        if error.code is not None:
            body["code"] = error.code
        if error.details is not None:
            body["details"] = error.details
        return body
    return dict(error)


class EventStream:
    """Live job events from a Server-Sent Events stream, resumed with ``Last-Event-ID`` after a drop."""

    def __init__(self, client: Client, path: str, last_event_id: Optional[int], idle_timeout: float,
                 reconnect: bool = True) -> None:
        self._client = client
        self._path = path
        self.last_event_id = last_event_id
        self._idle_timeout = idle_timeout
        self._reconnect = reconnect
        self._cancel = Cancel()
        self._response: Optional[StreamResponse] = None
        self._parser = SseParser()
        self._pending: Deque[JobEvent] = collections.deque()
        self._connected_once = False

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> JobEvent:
        pause = 0.1
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._cancel.cancelled:
                raise StopIteration
            try:
                self._read(self._idle_timeout)
                pause = 0.1
            except (JobkeeperTimeoutError, JobkeeperConnectionError) as error:
                self._drop()
                if isinstance(error, RequestCancelledError) or self._cancel.cancelled:
                    raise StopIteration from None
                if not self._connected_once:
                    raise
                if isinstance(error, JobkeeperTimeoutError):
                    continue  # quiet for idle_timeout: reconnect, resuming after the last event
                if not self._cancel.sleep(pause):
                    raise StopIteration from None
                pause = min(pause * 2, 5.0)

    def poll(self, timeout: float) -> Optional[List[JobEvent]]:
        """Reads once, waiting up to ``timeout`` (JobkeeperTimeoutError when nothing came): the events that arrived,
        or None when the stream ended. Does not reconnect; for callers that watch a deadline of their own."""
        if self._response is None:
            self.connect()
        if not self._read(timeout) and not self._pending:
            return None
        events = list(self._pending)
        self._pending.clear()
        return events

    def connect(self) -> None:
        """Opens the stream (done by the first ``next`` otherwise); raises what refuses it."""
        if self._response is not None:
            return
        headers = self._client._headers()
        headers.append(("Accept", "text/event-stream"))
        if self.last_event_id is not None:
            headers.append(("Last-Event-ID", str(self.last_event_id)))
        response = self._client._http.open_stream(self._client._prefix + self._path, headers, self._client.timeout,
                                                 self._cancel)
        if response.status >= 300:
            body = response.body
            response.close()
            raise self._client._refusal(response.status, response.reason, response.headers, body)
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith("text/event-stream"):
            response.close()
            raise NotJobkeeperError(f"expected an event stream, got {content_type or 'no content type'}: "
                                    f"is {self._client.base_url} a Jobkeeper server?", response.status, content_type)
        self._response = response
        self._parser = SseParser()
        self._connected_once = True

    def _read(self, timeout: float) -> bool:
        """Reads what arrives next into the pending events; False when the connection ended."""
        if self._response is None:
            self.connect()
        assert self._response is not None
        chunk = self._response.read(timeout)
        if not chunk:
            self._drop()
            if not self._reconnect:
                return False
            return True
        for message in self._parser.feed(chunk):
            if message.event == "overflow":
                # The server cut us off for being too far behind: reconnect from the last event read.
                self._drop()
                return self._reconnect
            try:
                event = JobEvent.from_dict(json.loads(message.data))
            except ValueError:
                raise NotJobkeeperError(f"an event that is not JSON: {message.data[:200]!r}") from None
            resume = message.last_event_id
            self.last_event_id = int(resume) if resume.isdigit() else (event.id or self.last_event_id)
            self._pending.append(event)
        return True

    def _drop(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()

    def close(self) -> None:
        """Ends the stream; safe from any thread (a read blocked on it returns)."""
        self._cancel.cancel()
        self._drop()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
