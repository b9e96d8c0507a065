"""Jobkeeper's Python client: a blocking and an asyncio client of the HTTP API, and workers that run jobs.

    import jobkeeper

    client = jobkeeper.Client("http://127.0.0.1:8080")
    job = client.create("audio.analyze", {"file": "ep42.mp3"})
    print(client.wait(job.id, timeout=60).result)

Standard library only. See README.md for the whole API.
"""

import logging as _logging

from ._version import __version__
from .aio import AsyncClient, AsyncEventStream, AsyncWorker, AsyncWorkerJob
from .client import UNSET, Client, EventStream
from .errors import (
    AnswerRejectedError,
    Cancelled,
    ConflictError,
    ForbiddenError,
    InvalidBaseUrlError,
    JobkeeperConnectionError,
    JobkeeperError,
    JobkeeperTimeoutError,
    JobWaiting,
    LeaseLostError,
    NotFoundError,
    NotJobkeeperError,
    PayloadTooLargeError,
    PreconditionFailedError,
    ProblemError,
    RateLimitedError,
    RequestCancelledError,
    ServerError,
    ServerUnavailableError,
    UnauthorizedError,
    ValidationError,
)
from .models import (
    FINISHED_STATUSES,
    STATUSES,
    AskResult,
    BatchItem,
    BatchResult,
    BulkResult,
    HeldJob,
    WorkerInfo,
    CleanupResult,
    Health,
    Job,
    JobError,
    JobEvent,
    JobPage,
    LeaseState,
    NewJob,
    Progress,
    Prompt,
    Queue,
    Schedule,
    TriggerResult,
    WorkItem,
)
from .tracing import current_traceparent, trace_context
from ._workerbase import OUTCOMES, BaseJob
from .worker import Worker, WorkerJob

# A library logs, the application decides where to: nothing is printed unless logging is configured.
_logging.getLogger("jobkeeper").addHandler(_logging.NullHandler())

__all__ = [
    "__version__",
    "Client", "AsyncClient", "EventStream", "AsyncEventStream", "Worker", "WorkerJob", "AsyncWorker", "AsyncWorkerJob",
    "BaseJob", "OUTCOMES", "UNSET",
    "JobkeeperError", "InvalidBaseUrlError", "NotJobkeeperError", "JobkeeperConnectionError", "RequestCancelledError",
    "JobkeeperTimeoutError", "ProblemError", "ValidationError", "UnauthorizedError", "ForbiddenError", "NotFoundError",
    "ConflictError", "LeaseLostError", "PreconditionFailedError", "PayloadTooLargeError", "AnswerRejectedError",
    "RateLimitedError", "ServerError", "ServerUnavailableError", "Cancelled", "JobWaiting",
    "Job", "JobPage", "JobEvent", "JobError", "Progress", "Prompt", "WorkItem", "LeaseState", "AskResult", "BatchItem",
    "BatchResult", "BulkResult", "WorkerInfo", "HeldJob", "CleanupResult", "Health", "Queue", "Schedule", "TriggerResult", "NewJob", "STATUSES",
    "FINISHED_STATUSES", "trace_context", "current_traceparent",
]
