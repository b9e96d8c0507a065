"""Parts that need no server: the event-stream parser, trace context, timestamps, and the build backend."""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import sys
import tarfile
import tempfile
import types
import unittest
import zipfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, List

import jobkeeper
from jobkeeper import tracing
from jobkeeper._sse import SseParser
from jobkeeper.models import Job, parse_timestamp

from .support import REPO

PROJECT = REPO / "clients" / "python"


class SseParserTests(unittest.TestCase):
    def feed(self, *chunks: bytes) -> List[Any]:
        parser = SseParser()
        return [message for chunk in chunks for message in parser.feed(chunk)]

    def test_messages_split_anywhere(self) -> None:
        stream = b"\xef\xbb\xbf: comment\r\nevent: created\r\ndata: {\"a\":\r\ndata: 1}\r\nid: 7\r\n\r\ndata: x\n\n"
        whole = self.feed(stream)
        for size in (1, 2, 3, 5, 7):
            with self.subTest(size=size):
                self.assertEqual(self.feed(*[stream[i:i + size] for i in range(0, len(stream), size)]), whole)
        self.assertEqual([(m.event, m.data, m.last_event_id) for m in whole],
                         [("created", '{"a":\n1}', "7"), ("message", "x", "7")])

    def test_cr_line_ends_and_events_without_data(self) -> None:
        messages = self.feed(b"event: nothing\r\r", b"data:no space\r", b"\r")
        self.assertEqual([(m.event, m.data) for m in messages], [("message", "no space")])


class TraceContextTests(unittest.TestCase):
    def test_parse_new_and_child(self) -> None:
        value = tracing.new_traceparent()
        parsed = tracing.parse_traceparent(value)
        assert parsed is not None
        self.assertEqual(str(parsed), value)
        child = tracing.parse_traceparent(tracing.child_traceparent(value))
        assert child is not None
        self.assertEqual((child.trace_id, child.flags), (parsed.trace_id, parsed.flags))
        self.assertNotEqual(child.span_id, parsed.span_id)
        for bad in ["", "00-xyz", "00-" + "0" * 32 + "-" + "1" * 16 + "-01", "ff-" + "1" * 32 + "-" + "1" * 16 + "-01"]:
            self.assertIsNone(tracing.parse_traceparent(bad))
        with jobkeeper.trace_context("not a traceparent"):
            self.assertIsNone(jobkeeper.current_traceparent())

    def test_opentelemetrys_current_span_wins_when_installed(self) -> None:
        with _fake_opentelemetry() as spans:
            self.assertIsNone(jobkeeper.current_traceparent())
            spans.append((0xABC, 0xDEF, 1))
            self.assertEqual(jobkeeper.current_traceparent(), f"00-{0xABC:032x}-{0xDEF:016x}-01")
            spans.clear()
            value = tracing.new_traceparent()
            with jobkeeper.trace_context(value):  # attached to OpenTelemetry's context too
                self.assertEqual(jobkeeper.current_traceparent(), value)
            self.assertIsNone(jobkeeper.current_traceparent())


@contextmanager
def _fake_opentelemetry() -> Iterator[List[Any]]:
    """A stand-in for the opentelemetry API: a stack of current spans as (trace id, span id, flags)."""
    spans: List[Any] = []

    class SpanContext:
        def __init__(self, trace_id: int, span_id: int, is_remote: bool = False, trace_flags: int = 0) -> None:
            self.trace_id, self.span_id, self.trace_flags = trace_id, span_id, trace_flags
            self.is_valid = bool(trace_id and span_id)

    class Span:
        def __init__(self, context: SpanContext) -> None:
            self.context = context

        def get_span_context(self) -> SpanContext:
            return self.context

    trace = types.ModuleType("opentelemetry.trace")
    trace.SpanContext = SpanContext  # type: ignore[attr-defined]
    trace.TraceFlags = int  # type: ignore[attr-defined]
    trace.NonRecordingSpan = Span  # type: ignore[attr-defined]
    trace.set_span_in_context = lambda span: span  # type: ignore[attr-defined]
    trace.get_current_span = lambda: Span(SpanContext(spans[-1][0], spans[-1][1], trace_flags=spans[-1][2]) if spans else SpanContext(0, 0))  # type: ignore[attr-defined]
    context = types.ModuleType("opentelemetry.context")

    def attach(span: Span) -> int:
        spans.append((span.context.trace_id, span.context.span_id, span.context.trace_flags))
        return len(spans)

    context.attach = attach  # type: ignore[attr-defined]
    context.detach = lambda token: spans.pop()  # type: ignore[attr-defined]
    package = types.ModuleType("opentelemetry")
    package.trace = trace  # type: ignore[attr-defined]
    package.context = context  # type: ignore[attr-defined]
    saved = {name: sys.modules.get(name) for name in ("opentelemetry", "opentelemetry.trace", "opentelemetry.context")}
    sys.modules.update({"opentelemetry": package, "opentelemetry.trace": trace, "opentelemetry.context": context})
    tracing._otel = None
    try:
        yield spans
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        tracing._otel = None


class ModelTests(unittest.TestCase):
    def test_timestamps(self) -> None:
        expected = datetime(2026, 11, 24, 4, 4, 13, 655946, tzinfo=timezone.utc)
        self.assertEqual(parse_timestamp("2026-11-24T04:04:13.655946Z"), expected)
        self.assertEqual(parse_timestamp("2026-11-24T04:04:13.6559461Z"), expected)
        self.assertEqual(parse_timestamp("2026-11-24T04:04:13.6Z"), expected.replace(microsecond=600000))
        self.assertIsNone(parse_timestamp(None))
        with self.assertRaises(jobkeeper.NotJobkeeperError):
            parse_timestamp("yesterday")

    def test_a_job_needs_its_members(self) -> None:
        with self.assertRaises(jobkeeper.NotJobkeeperError):
            Job.from_dict({"hello": "world"})
        job = Job.from_dict({"id": "a", "type": "t", "status": "completed", "progress": {"fraction": None}})
        self.assertTrue(job.finished)
        self.assertIsNone(job.progress)


class BuildBackendTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        spec = importlib.util.spec_from_file_location("jobkeeper_build", PROJECT / "_build" / "jobkeeper_build.py")
        assert spec is not None and spec.loader is not None
        cls.backend = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cls.backend)  # type: ignore[arg-type]

    def test_the_toml_subset_reads_pyproject_as_tomllib_does(self) -> None:
        text = (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
        parsed = self.backend._MiniToml(text).parse()
        self.assertEqual(parsed["project"]["name"], "jobkeeper")
        self.assertEqual(parsed["build-system"]["backend-path"], ["_build"])
        try:
            import tomllib
        except ImportError:
            return
        self.assertEqual(parsed, tomllib.loads(text))

    def test_the_wheel_sdist_and_editable_wheel(self) -> None:
        with tempfile.TemporaryDirectory() as directory:
            self.assertEqual(self.backend.get_requires_for_build_wheel(), [])
            name = self.backend.build_wheel(directory)
            self.assertEqual(name, f"jobkeeper-{jobkeeper.__version__}-py3-none-any.whl")
            with zipfile.ZipFile(Path(directory) / name) as wheel:
                names = wheel.namelist()
                info = f"jobkeeper-{jobkeeper.__version__}.dist-info"
                for required in ("jobkeeper/__init__.py", "jobkeeper/py.typed", f"{info}/METADATA", f"{info}/WHEEL",
                                 f"{info}/top_level.txt", f"{info}/RECORD"):
                    self.assertIn(required, names)
                metadata = wheel.read(f"{info}/METADATA").decode()
                self.assertIn("Name: jobkeeper\n", metadata)
                self.assertIn("Requires-Python: >=3.9\n", metadata)
                rows = list(csv.reader(io.StringIO(wheel.read(f"{info}/RECORD").decode())))
                self.assertEqual(sorted(r[0] for r in rows), sorted(names))
                for path, digest, size in rows:
                    if path.endswith("RECORD"):
                        self.assertEqual((digest, size), ("", ""))
                        continue
                    data = wheel.read(path)
                    expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    self.assertEqual((digest, int(size)), (f"sha256={expected}", len(data)))
            sdist = self.backend.build_sdist(directory)
            with tarfile.open(Path(directory) / sdist) as archive:
                members = archive.getnames()
            base = f"jobkeeper-{jobkeeper.__version__}"
            for required in ("PKG-INFO", "pyproject.toml", "_build/jobkeeper_build.py", "src/jobkeeper/client.py"):
                self.assertIn(f"{base}/{required}", members)
            editable = self.backend.build_editable(directory)
            with zipfile.ZipFile(Path(directory) / editable) as wheel:
                pth = [n for n in wheel.namelist() if n.endswith(".pth")]
                self.assertEqual(len(pth), 1)
                self.assertEqual(Path(wheel.read(pth[0]).decode().strip()), (PROJECT / "src").resolve())
