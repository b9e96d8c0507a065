"""W3C trace context (``traceparent``) for the client and the worker, standard library only.

The client sends ``traceparent`` on every request made while a trace is current. The current trace is the
OpenTelemetry span that is current, when the ``opentelemetry`` package is importable (an optional import, never
required), else the one set with :func:`trace_context`. A worker runs each handler inside the job's trace
context, so the jobs and calls a handler makes join the job's trace.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
from contextvars import ContextVar
from typing import Any, Generator, NamedTuple, Optional

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_current: ContextVar[Optional[str]] = ContextVar("jobkeeper_traceparent", default=None)

# The OpenTelemetry API, looked up once on first use: None = not looked up yet, False = not installed.
_otel: Any = None


class TraceParent(NamedTuple):
    """The parts of a ``traceparent`` header."""

    version: str
    trace_id: str
    span_id: str
    flags: str

    def __str__(self) -> str:
        return f"{self.version}-{self.trace_id}-{self.span_id}-{self.flags}"


def parse_traceparent(value: Optional[str]) -> Optional[TraceParent]:
    """The parts of a valid ``traceparent`` (version 00 form, ids not all zero), else None."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return TraceParent("00", trace_id, span_id, flags)


def new_traceparent(sampled: bool = True) -> str:
    """A new trace: a random trace id and span id."""
    return f"00-{_random_hex(16)}-{_random_hex(8)}-{'01' if sampled else '00'}"


def child_traceparent(traceparent: str) -> str:
    """A new span id under the same trace (and flags) as ``traceparent``."""
    parent = parse_traceparent(traceparent)
    if parent is None:
        raise ValueError(f"not a traceparent: {traceparent!r}")
    return f"00-{parent.trace_id}-{_random_hex(8)}-{parent.flags}"


def current_traceparent() -> Optional[str]:
    """The ``traceparent`` of the current trace: OpenTelemetry's current span when valid, else :func:`trace_context`'s."""
    otel = _opentelemetry()
    if otel:
        context = otel.get_current_span().get_span_context()
        if context.is_valid:
            return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
    return _current.get()


@contextlib.contextmanager
def trace_context(traceparent: Optional[str]) -> Generator[None, None, None]:
    """Makes ``traceparent`` the current trace inside the ``with`` block (None or an invalid value: no trace).

    With OpenTelemetry installed the context is attached there too, so spans started inside are its children.
    """
    parsed = parse_traceparent(traceparent)
    token = _current.set(str(parsed) if parsed else None)
    otel_token = _attach_otel(parsed) if parsed else None
    try:
        yield
    finally:
        if otel_token is not None:
            _detach_otel(otel_token)
        _current.reset(token)


def _random_hex(size: int) -> str:
    while True:
        value = os.urandom(size).hex()
        if value.strip("0"):
            return value


def _opentelemetry() -> Any:
    global _otel
    if _otel is None:
        try:
            _otel = importlib.import_module("opentelemetry.trace")  # optional: used only when installed
        except Exception:  # not installed, or broken: trace without it
            _otel = False
    return _otel


def _attach_otel(parent: TraceParent) -> Any:
    otel = _opentelemetry()
    if not otel:
        return None
    otel_context = importlib.import_module("opentelemetry.context")
    span_context = otel.SpanContext(trace_id=int(parent.trace_id, 16), span_id=int(parent.span_id, 16), is_remote=True,
                                    trace_flags=otel.TraceFlags(int(parent.flags, 16)))
    return otel_context.attach(otel.set_span_in_context(otel.NonRecordingSpan(span_context)))


def _detach_otel(token: Any) -> None:
    importlib.import_module("opentelemetry.context").detach(token)
