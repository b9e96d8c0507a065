"""The exceptions of the package.

Everything the client raises is a :class:`JobkeeperError`; a refusal by the server is a :class:`ProblemError`
carrying the RFC 9457 problem details, subclassed by status so callers branch with ``except``. Two more classes
are not errors but signals inside a worker's handler (:class:`Cancelled`, :class:`JobWaiting`); they derive from
``BaseException`` like ``asyncio.CancelledError``, so a handler's ``except Exception`` does not swallow them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Type

PROBLEM_PREFIX = "https://jobkeeper.dev/problems/"
LEASE_LOST = PROBLEM_PREFIX + "lease-lost"


class JobkeeperError(Exception):
    """The base of every error this package raises."""


class InvalidBaseUrlError(JobkeeperError, ValueError):
    """The base URL given to a client is not an ``http://`` or ``https://`` address (raised at construction)."""


class NotJobkeeperError(JobkeeperError):
    """Something answered, but not a Jobkeeper server: HTML, or JSON without the expected shape."""

    def __init__(self, message: str, status: Optional[int] = None, content_type: Optional[str] = None,
                 body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.content_type = content_type
        self.body = body[:2000]


class JobkeeperConnectionError(JobkeeperError, ConnectionError):
    """The server could not be reached, or the connection broke before the whole answer arrived."""


class RequestCancelledError(JobkeeperConnectionError):
    """The request was cut on purpose (a worker stopping, an asyncio task cancelled)."""


class JobkeeperTimeoutError(JobkeeperError, TimeoutError):
    """No answer (or no more bytes of it) within the timeout, or ``wait`` ran out of time."""


class ProblemError(JobkeeperError):
    """The server refused the request; the members are those of its problem details (RFC 9457)."""

    def __init__(self, status: int, problem: Optional[Mapping[str, Any]] = None, reason: str = "",
                 headers: Optional[Mapping[str, str]] = None) -> None:
        self.problem: Dict[str, Any] = dict(problem or {})
        self.status = status
        self.type: str = _str(self.problem.get("type")) or "about:blank"
        self.title: str = _str(self.problem.get("title")) or reason or f"HTTP {status}"
        self.detail: Optional[str] = _str(self.problem.get("detail"))
        errors = self.problem.get("errors")
        self.errors: Dict[str, List[str]] = dict(errors) if isinstance(errors, dict) else {}
        self.trace_id: Optional[str] = _str(self.problem.get("trace_id") or self.problem.get("traceId"))
        self.headers: Dict[str, str] = dict(headers or {})
        super().__init__(f"HTTP {status}: {self.detail or self.title}")

    @property
    def kind(self) -> str:
        """The last segment of a Jobkeeper problem type: ``lease-lost``, ``job-not-found``, ``invalid-request``, ..."""
        return self.type[len(PROBLEM_PREFIX):] if self.type.startswith(PROBLEM_PREFIX) else self.type


class ValidationError(ProblemError):
    """400: a field is missing, of the wrong type or out of range (``errors`` names it)."""


class UnauthorizedError(ProblemError):
    """401: no API key, or one the server does not know."""


class ForbiddenError(ProblemError):
    """403: the key's roles do not allow the route (the detail names the role needed)."""


class NotFoundError(ProblemError):
    """404: no such job, schedule, queue or open prompt (see ``kind``)."""


class ConflictError(ProblemError):
    """409: the request conflicts with the current state (duplicate id, illegal move, key asked already, ...)."""


class LeaseLostError(ConflictError):
    """409 ``lease-lost``: the lease token is not the job's current lease; stop working on the job."""


class PreconditionFailedError(ProblemError):
    """412 ``version-mismatch``: ``if_match`` named an old version; ``current_version`` is the new one."""

    @property
    def current_version(self) -> Optional[int]:
        value = self.problem.get("current_version")
        return value if isinstance(value, int) else None


class PayloadTooLargeError(ProblemError):
    """413: the body is over the server's limit."""


class AnswerRejectedError(ProblemError):
    """422 ``answer-rejected``: the answer is not one of the options or fails the schema (``why``)."""

    @property
    def why(self) -> Optional[str]:
        return _str(self.problem.get("why"))


class RateLimitedError(ProblemError):
    """429: over the key's rate limit; ``retry_after`` (seconds) says when to try again."""

    @property
    def retry_after(self) -> Optional[float]:
        return parse_retry_after(self.headers.get("retry-after"))


class ServerError(ProblemError):
    """500 and other 5xx answers (``store-corrupt`` among them)."""


class ServerUnavailableError(ServerError):
    """503 (``store-unavailable``), or 502/504 from a proxy in front: retry later."""


class Cancelled(BaseException):
    """Raised inside a handler when its job must stop: ``reason`` is ``cancelled``, ``lease_lost`` or ``shutdown``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JobWaiting(BaseException):
    """Raised by ``job.ask`` once the question is open: this attempt ends, the job waits on the server for the
    answer, and the handler runs again from the start once it is answered (then ``ask`` returns the answer)."""

    def __init__(self, key: str, question: str) -> None:
        super().__init__(f"waiting for an answer to '{key}': {question}")
        self.key = key
        self.question = question


_BY_STATUS: Dict[int, Type[ProblemError]] = {
    400: ValidationError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    422: AnswerRejectedError,
    429: RateLimitedError,
    502: ServerUnavailableError,
    503: ServerUnavailableError,
    504: ServerUnavailableError,
}


def problem_error(status: int, problem: Optional[Mapping[str, Any]], reason: str = "",
                  headers: Optional[Mapping[str, str]] = None) -> ProblemError:
    """The most specific ``ProblemError`` for a refusal."""
    if status == 409 and problem is not None and problem.get("type") == LEASE_LOST:
        return LeaseLostError(status, problem, reason, headers)
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ProblemError)
    return cls(status, problem, reason, headers)


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta-seconds; an HTTP date is read as 1 s)."""
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return 1.0


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None
