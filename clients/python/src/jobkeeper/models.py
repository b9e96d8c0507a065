"""What the API answers, as typed objects.

Each class keeps the whole JSON object it was read from in ``raw`` (members a newer server adds are there), and
checks only that the members it cannot do without are present: an answer without them did not come from
Jobkeeper (:class:`~jobkeeper.NotJobkeeperError`). Timestamps are timezone-aware ``datetime`` objects in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .errors import NotJobkeeperError

FINISHED_STATUSES = ("completed", "failed", "cancelled")
STATUSES = ("queued", "running", "waiting", "completed", "failed", "cancelled")

_FRACTION = re.compile(r"\.(\d+)")


def parse_timestamp(value: Any) -> Optional[datetime]:
    """An ISO 8601 timestamp (``2026-11-24T04:04:13.655946Z``) as an aware datetime; None for null."""
    if not isinstance(value, str) or not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        # Python before 3.11 reads exactly 3 or 6 fraction digits: pad or cut to 6.
        try:
            return datetime.fromisoformat(_FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1))
        except ValueError:
            raise NotJobkeeperError(f"not a timestamp: {value!r}") from None


def format_timestamp(value: Union[datetime, str]) -> str:
    """A datetime as the API writes it (UTC, ``Z``); a naive datetime is taken as UTC; a string passes as it is."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def seconds(value: Union[float, int, timedelta]) -> float:
    """Seconds from a number or a timedelta."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _object(data: Any, what: str, required: Sequence[str] = ()) -> Dict[str, Any]:
    if not isinstance(data, dict):
        raise NotJobkeeperError(f"expected {what} (a JSON object), got {type(data).__name__}")
    missing = [name for name in required if name not in data]
    if missing:
        raise NotJobkeeperError(f"expected {what}, but the answer has no {', '.join(missing)}")
    return data


def _list(data: Any, what: str) -> List[Any]:
    if not isinstance(data, list):
        raise NotJobkeeperError(f"expected {what} (a JSON array), got {type(data).__name__}")
    return data


@dataclass
class Progress:
    fraction: Optional[float] = None
    stage: Optional[str] = None
    message: Optional[str] = None
    current: Optional[int] = None
    total: Optional[int] = None

    @classmethod
    def from_dict(cls, data: Any) -> Optional["Progress"]:
        # A cleared progress comes back as an object of nulls: None, as the API describes it.
        if not isinstance(data, dict) or all(value is None for value in data.values()):
            return None
        return cls(data.get("fraction"), data.get("stage"), data.get("message"), data.get("current"), data.get("total"))


@dataclass
class JobError:
    message: str
    code: Optional[str] = None
    details: Any = None

    @classmethod
    def from_dict(cls, data: Any) -> Optional["JobError"]:
        if not isinstance(data, dict):
            return None
        return cls(str(data.get("message", "")), data.get("code"), data.get("details"))


@dataclass
class Prompt:
    """A question a job asked, with its answer once there is one."""

    key: str
    question: str
    options: Optional[List[str]] = None
    schema: Any = None
    asked_at: Optional[datetime] = None
    expires_at: Optional[datetime] = None
    on_expiry: Optional[str] = None
    default_answer: Any = None
    asked_by: Optional[str] = None
    answer: Any = None
    confidence: Optional[float] = None
    answered_by: Optional[str] = None
    answered_by_display_name: Optional[str] = None
    answered_at: Optional[datetime] = None
    reason: Optional[str] = None
    expired: Optional[bool] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @classmethod
    def from_dict(cls, data: Any) -> "Prompt":
        d = _object(data, "a prompt", ("key", "question"))
        return cls(d["key"], d["question"], d.get("options"), d.get("schema"), parse_timestamp(d.get("asked_at")),
                   parse_timestamp(d.get("expires_at")), d.get("on_expiry"), d.get("default_answer"), d.get("asked_by"),
                   d.get("answer"), d.get("confidence"), d.get("answered_by"), d.get("answered_by_display_name"),
                   parse_timestamp(d.get("answered_at")), d.get("reason"), d.get("expired"), d)


@dataclass
class Job:
    """A job as the server has it."""

    id: str
    type: str
    status: str
    queue: str = "default"
    priority: int = 0
    input: Any = None
    result: Any = None
    labels: Dict[str, str] = field(default_factory=dict)
    progress: Optional[Progress] = None
    error: Optional[JobError] = None
    attempt: int = 1
    max_attempts: int = 3
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    started_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None
    run_at: Optional[datetime] = None
    lease_owner: Optional[str] = None
    lease_expires_at: Optional[datetime] = None
    cancel_requested_at: Optional[datetime] = None
    prompts: List[Prompt] = field(default_factory=list)
    checkpoint: Any = None
    blocked_by: Optional[str] = None
    traceparent: Optional[str] = None
    unique_key: Optional[str] = None
    existing: bool = False
    version: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        """True in a final status: completed, failed or cancelled."""
        return self.status in FINISHED_STATUSES

    @property
    def open_prompt(self) -> Optional[Prompt]:
        """The question a waiting job asks, if any."""
        for prompt in reversed(self.prompts):
            if not prompt.answered:
                return prompt
        return None

    @classmethod
    def from_dict(cls, data: Any, existing: Optional[bool] = None) -> "Job":
        d = _object(data, "a job", ("id", "type", "status"))
        return cls(
            d["id"], d["type"], d["status"], d.get("queue") or "default", d.get("priority") or 0, d.get("input"),
            d.get("result"), d.get("labels") or {}, Progress.from_dict(d.get("progress")), JobError.from_dict(d.get("error")),
            d.get("attempt") or 1, d.get("max_attempts") or 3, parse_timestamp(d.get("created_at")),
            parse_timestamp(d.get("updated_at")), parse_timestamp(d.get("started_at")),
            parse_timestamp(d.get("completed_at")), parse_timestamp(d.get("run_at")), d.get("lease_owner"),
            parse_timestamp(d.get("lease_expires_at")), parse_timestamp(d.get("cancel_requested_at")),
            [Prompt.from_dict(p) for p in d.get("prompts") or []], d.get("checkpoint"), d.get("blocked_by"),
            d.get("traceparent"), d.get("unique_key"), bool(d.get("existing")) if existing is None else existing,
            d.get("version") or 0, d)


@dataclass
class JobPage:
    """One page of a listing; pass ``next_cursor`` back as ``cursor`` for the next (None on the last page)."""

    items: List[Job]
    next_cursor: Optional[str]

    @classmethod
    def from_dict(cls, data: Any) -> "JobPage":
        d = _object(data, "a page of jobs", ("items",))
        return cls([Job.from_dict(j) for j in _list(d["items"], "items")], d.get("next_cursor"))


@dataclass
class JobEvent:
    """One entry of a job's history; from a live stream also ``job_type``, ``job_status`` and ``message``."""

    id: int
    job_id: str
    type: str
    at: Optional[datetime]
    actor: Optional[str] = None
    display_name: Optional[str] = None
    reason: Optional[str] = None
    version: int = 0
    data: Any = None
    job_type: Optional[str] = None
    job_status: Optional[str] = None
    message: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> "JobEvent":
        d = _object(data, "a job event", ("type",))
        return cls(d.get("id") or 0, d.get("job_id") or "", d["type"], parse_timestamp(d.get("at")), d.get("actor"),
                   d.get("display_name"), d.get("reason"), d.get("version") or 0, d.get("data"), d.get("job_type"),
                   d.get("job_status"), d.get("message"), d)


@dataclass
class WorkItem:
    """A claimed job: what a worker needs to run it, with its lease token."""

    id: str
    type: str
    lease_token: str
    queue: str = "default"
    input: Any = None
    labels: Dict[str, str] = field(default_factory=dict)
    priority: int = 0
    attempt: int = 1
    max_attempts: int = 3
    progress: Optional[Progress] = None
    created_at: Optional[datetime] = None
    run_at: Optional[datetime] = None
    version: int = 0
    lease_expires_at: Optional[datetime] = None
    prompts: List[Prompt] = field(default_factory=list)
    checkpoint: Any = None
    traceparent: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> "WorkItem":
        d = _object(data, "a work item", ("id", "type", "lease_token"))
        prompts = d.get("prompts")
        return cls(d["id"], d["type"], d["lease_token"], d.get("queue") or "default", d.get("input"), d.get("labels") or {},
                   d.get("priority") or 0, d.get("attempt") or 1, d.get("max_attempts") or 3,
                   Progress.from_dict(d.get("progress")), parse_timestamp(d.get("created_at")),
                   parse_timestamp(d.get("run_at")), d.get("version") or 0, parse_timestamp(d.get("lease_expires_at")),
                   [Prompt.from_dict(p) for p in prompts] if prompts else [], d.get("checkpoint"), d.get("traceparent"), d)


@dataclass
class LeaseState:
    """The answer to a heartbeat, progress report or checkpoint."""

    id: str
    version: int
    lease_expires_at: Optional[datetime]
    cancel_requested: bool

    @classmethod
    def from_dict(cls, data: Any) -> "LeaseState":
        d = _object(data, "a lease", ("id", "cancel_requested"))
        return cls(d["id"], d.get("version") or 0, parse_timestamp(d.get("lease_expires_at")), bool(d["cancel_requested"]))


@dataclass
class AskResult:
    """The answer to a worker's question: ``waiting`` (the job now waits), or the stored answer of a key answered already."""

    waiting: bool
    prompt: Optional[Prompt]
    status: str

    @classmethod
    def from_dict(cls, data: Any) -> "AskResult":
        d = _object(data, "an ask answer", ("waiting", "status"))
        prompt = d.get("prompt")
        return cls(bool(d["waiting"]), Prompt.from_dict(prompt) if prompt is not None else None, d["status"])


@dataclass
class BatchItem:
    """One job of a batch: ``outcome`` is ``created``, ``existing``, ``duplicate_id`` or ``invalid``."""

    outcome: str
    job: Optional[Job] = None
    id: Optional[str] = None
    field: Optional[str] = None
    detail: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Any) -> "BatchItem":
        d = _object(data, "a batch item", ("outcome",))
        job = d.get("job")
        return cls(d["outcome"], Job.from_dict(job, existing=d["outcome"] == "existing") if job is not None else None,
                   d.get("id"), d.get("field"), d.get("detail"))


@dataclass
class BatchResult:
    created: int
    items: List[BatchItem]

    @classmethod
    def from_dict(cls, data: Any) -> "BatchResult":
        d = _object(data, "a batch answer", ("created", "items"))
        return cls(d["created"], [BatchItem.from_dict(i) for i in _list(d["items"], "items")])


@dataclass
class CleanupResult:
    deleted_count: int
    retention_days: int
    message: str

    @classmethod
    def from_dict(cls, data: Any) -> "CleanupResult":
        d = _object(data, "a cleanup answer", ("deleted_count",))
        return cls(d["deleted_count"], d.get("retention_days", 0), d.get("message", ""))


@dataclass
class BulkResult:
    """``POST /api/v1/jobs/bulk``: ``changed`` of the ``matched`` jobs changed; the rest were ``skipped``."""

    action: str
    dry_run: bool
    matched: int
    changed: int
    skipped: int

    @classmethod
    def from_dict(cls, data: Any) -> "BulkResult":
        d = _object(data, "a bulk answer", ("action", "matched", "changed"))
        return cls(d["action"], bool(d.get("dry_run", False)), d["matched"], d["changed"], d.get("skipped", d["matched"] - d["changed"]))


@dataclass
class Health:
    """``GET /health``: the store, job counts, cache and uptime."""

    status: str
    store: Dict[str, Any]
    jobs_count: int
    jobs_by_status: Dict[str, int]
    cache: Dict[str, Any]
    uptime_seconds: float
    error: Optional[str] = None
    maintenance: Dict[str, Any] = field(default_factory=dict)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> "Health":
        d = _object(data, "Jobkeeper's health document", ("status", "store", "jobs_count"))
        if not isinstance(d["store"], dict):
            raise NotJobkeeperError("expected Jobkeeper's health document, but 'store' is not an object")
        return cls(d["status"], d["store"], d["jobs_count"], d.get("jobs_by_status") or {}, d.get("cache") or {},
                   d.get("uptime_seconds") or 0, d.get("error"), d.get("maintenance") or {}, d)


@dataclass
class Queue:
    """A queue: its flow-control settings, whether it is paused, and its counts."""

    name: str
    paused: bool = False
    paused_types: List[str] = field(default_factory=list)
    concurrency_limit: Optional[int] = None
    partition: Optional[Dict[str, Any]] = None
    rate_limit: Optional[Dict[str, Any]] = None
    counts: Dict[str, int] = field(default_factory=dict)
    running: int = 0
    oldest_queued_age_seconds: Optional[float] = None
    throughput: Dict[str, Any] = field(default_factory=dict)
    updated_at: Optional[datetime] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> "Queue":
        d = _object(data, "a queue", ("name", "counts"))
        return cls(d["name"], bool(d.get("paused")), d.get("paused_types") or [], d.get("concurrency_limit"),
                   d.get("partition"), d.get("rate_limit"), d.get("counts") or {}, d.get("running") or 0,
                   d.get("oldest_queued_age_seconds"), d.get("throughput") or {}, parse_timestamp(d.get("updated_at")), d)


@dataclass
class HeldJob:
    """A running job a worker holds a lease on."""

    id: str
    type: str
    queue: str
    started_at: Optional[datetime] = None
    lease_expires_at: Optional[datetime] = None

    @classmethod
    def from_dict(cls, data: Any) -> "HeldJob":
        d = _object(data, "a worker's job", ("id", "type"))
        return cls(d["id"], d["type"], d.get("queue") or "default", parse_timestamp(d.get("started_at")),
                   parse_timestamp(d.get("lease_expires_at")))


@dataclass
class WorkerInfo:
    """``GET /api/v1/workers``: a worker heard from lately (in-process handlers or an HTTP worker), or one holding jobs."""

    worker_id: str
    kind: str
    last_seen_at: Optional[datetime] = None
    instances: int = 0
    running: int = 0
    jobs: List[HeldJob] = field(default_factory=list)
    claimed_last_5_minutes: int = 0
    completed_last_5_minutes: int = 0
    failed_last_5_minutes: int = 0
    completed_per_minute: float = 0.0

    @classmethod
    def from_dict(cls, data: Any) -> "WorkerInfo":
        d = _object(data, "a worker", ("worker_id", "kind"))
        return cls(d["worker_id"], d["kind"], parse_timestamp(d.get("last_seen_at")), d.get("instances") or 0, d.get("running") or 0,
                   [HeldJob.from_dict(j) for j in d.get("jobs") or []], d.get("claimed_last_5_minutes") or 0,
                   d.get("completed_last_5_minutes") or 0, d.get("failed_last_5_minutes") or 0, float(d.get("completed_per_minute") or 0))


@dataclass
class Schedule:
    """A recurring schedule (see docs/schedules.md)."""

    name: str
    job: Dict[str, Any]
    cron: Optional[str] = None
    interval_seconds: Optional[int] = None
    time_zone: Optional[str] = None
    misfire: str = "fire_once"
    catch_up_limit: Optional[int] = None
    overlap: str = "allow"
    paused: bool = False
    next_runs: List[datetime] = field(default_factory=list)
    next_fire_at: Optional[datetime] = None
    last_fire_at: Optional[datetime] = None
    last_job_id: Optional[str] = None
    skipped_fires: int = 0
    created_at: Optional[datetime] = None
    updated_at: Optional[datetime] = None
    version: int = 0
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> "Schedule":
        d = _object(data, "a schedule", ("name", "job"))
        runs = [parse_timestamp(r) for r in d.get("next_runs") or []]
        return cls(d["name"], d["job"], d.get("cron"), d.get("interval_seconds"), d.get("time_zone"),
                   d.get("misfire") or "fire_once", d.get("catch_up_limit"), d.get("overlap") or "allow", bool(d.get("paused")),
                   [r for r in runs if r is not None], parse_timestamp(d.get("next_fire_at")),
                   parse_timestamp(d.get("last_fire_at")), d.get("last_job_id"), d.get("skipped_fires") or 0,
                   parse_timestamp(d.get("created_at")), parse_timestamp(d.get("updated_at")), d.get("version") or 0, d)


@dataclass
class TriggerResult:
    """The answer to a schedule's trigger: the job it created and the schedule."""

    job: Job
    schedule: Schedule


@dataclass
class NewJob:
    """A job to create, for ``create_many`` (``create`` takes the same as keyword arguments)."""

    type: str
    input: Any = None
    id: Optional[str] = None
    queue: Optional[str] = None
    labels: Optional[Mapping[str, str]] = None
    priority: Optional[int] = None
    run_at: Optional[Union[datetime, str]] = None
    max_attempts: Optional[int] = None
    unique_key: Optional[str] = None
    unique_window_seconds: Optional[Union[float, timedelta]] = None
    unique_statuses: Optional[Sequence[str]] = None
    debounce_seconds: Optional[Union[float, timedelta]] = None

    def to_dict(self) -> Dict[str, Any]:
        body: Dict[str, Any] = {"type": self.type}
        if self.input is not None:
            body["input"] = self.input
        for name in ("id", "queue", "priority", "max_attempts", "unique_key"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        if self.labels is not None:
            body["labels"] = dict(self.labels)
        if self.run_at is not None:
            body["run_at"] = format_timestamp(self.run_at)
        if self.unique_window_seconds is not None:
            body["unique_window_seconds"] = seconds(self.unique_window_seconds)
        if self.unique_statuses is not None:
            body["unique_statuses"] = list(self.unique_statuses)
        if self.debounce_seconds is not None:
            body["debounce_seconds"] = seconds(self.debounce_seconds)
        return body
