"""Bad input and bad servers: each ends in its own exception, and none hangs."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import socket
import threading
import time
import unittest
from typing import Any, List
from unittest import mock

import jobkeeper

from .support import ServerProcess, ServerTestCase, new_key, unique


def _client(test: unittest.TestCase, *args: Any, **kwargs: Any) -> jobkeeper.Client:
    """A client closed when the test ends."""
    client = jobkeeper.Client(*args, **kwargs)
    test.addCleanup(client.close)
    return client


class BaseUrlTests(unittest.TestCase):
    def test_malformed_base_urls_are_refused_at_construction(self) -> None:
        environment = mock.patch.dict(os.environ)
        environment.start()
        self.addCleanup(environment.stop)
        os.environ.pop("JOBKEEPER_URL", None)  # None reads $JOBKEEPER_URL: here there is none
        for url in ["", "   ", "localhost:8080", "ftp://example.com", "http://", "http://:8080", "http://host:99999",
                    "http://host:port", "http://exa mple.com", "http://example.com/?q=1", "http://example.com/#top",
                    "http://user:pw@example.com", "http://host:0", None, 8080]:
            with self.subTest(url=url), self.assertRaises(jobkeeper.InvalidBaseUrlError):
                _client(self, url, timeout=1)  # type: ignore[arg-type]
        self.assertTrue(issubclass(jobkeeper.InvalidBaseUrlError, ValueError))

    def test_good_base_urls(self) -> None:
        for url, expected in [("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
                              ("https://jobs.example.com/jk/", "https://jobs.example.com/jk"),
                              ("http://[::1]:9000", "http://[::1]:9000"), ("HTTP://Example.com:80", "http://example.com")]:
            with self.subTest(url=url):
                self.assertEqual(_client(self, url).base_url, expected)


class _FakeServer:
    """A loopback HTTP server answering every request with one canned answer."""

    def __init__(self, status: int, content_type: str, body: bytes) -> None:
        answer = (status, content_type, body)

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                code, kind, data = answer
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _SilentServer:
    """Accepts connections and reads, but never answers (or, with ``close``, hangs up at once)."""

    def __init__(self, close: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: List[socket.socket] = []
        self._close = close
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            if self._close:
                connection.close()
            else:
                self.accepted.append(connection)

    def close(self) -> None:
        self.sock.close()
        for connection in self.accepted:
            connection.close()


class NotJobkeeperTests(unittest.TestCase):
    def fake(self, status: int, content_type: str, body: bytes) -> _FakeServer:
        server = _FakeServer(status, content_type, body)
        self.addCleanup(server.close)
        return server

    def test_an_html_site_is_not_jobkeeper(self) -> None:
        server = self.fake(200, "text/html; charset=utf-8", b"<!doctype html><title>Welcome</title>")
        client = _client(self, server.url, timeout=5)
        for call in (client.health, lambda: client.get("x"), lambda: client.create("t"), lambda: list(client.list())):
            with self.subTest(call=call), self.assertRaises(jobkeeper.NotJobkeeperError):
                call()
        with self.assertRaises(jobkeeper.NotJobkeeperError):
            next(iter(client.watch()))

    def test_json_sent_as_text_is_not_jobkeeper(self) -> None:
        health = {"status": "ok", "store": {}, "jobs_count": 0}
        server = self.fake(200, "text/plain", json.dumps(health).encode())
        with self.assertRaises(jobkeeper.NotJobkeeperError):
            _client(self, server.url, timeout=5).health()

    def test_json_without_the_expected_shape_is_not_jobkeeper(self) -> None:
        server = self.fake(200, "application/json", json.dumps({"hello": "world"}).encode())
        client = _client(self, server.url, timeout=5)
        for call in (client.health, lambda: client.get("x"), lambda: client.claim("w", ["t"])):
            with self.subTest(call=call), self.assertRaises(jobkeeper.NotJobkeeperError):
                call()

    def test_an_html_error_page_is_not_jobkeeper_and_a_proxy_502_is_unavailable(self) -> None:
        html404 = self.fake(404, "text/html", b"<h1>Not Found</h1>")
        with self.assertRaises(jobkeeper.NotJobkeeperError):
            _client(self, html404.url, timeout=5).get("x")
        bad_gateway = self.fake(502, "text/html", b"<h1>Bad Gateway</h1>")
        with self.assertRaises(jobkeeper.ServerUnavailableError):
            _client(self, bad_gateway.url, timeout=5, retries=1).get("x")

    def test_a_problem_answer_maps_to_its_exception(self) -> None:
        problem = {"type": "https://jobkeeper.dev/problems/rate-limited", "title": "Too many", "status": 429,
                   "detail": "slow down", "trace_id": "00-abc"}
        server = self.fake(429, "application/problem+json", json.dumps(problem).encode())
        started = time.monotonic()
        with self.assertRaises(jobkeeper.RateLimitedError) as refused:
            _client(self, server.url, timeout=5, retries=0).get("x")
        error = refused.exception
        self.assertEqual((error.status, error.title, error.detail, error.trace_id, error.kind),
                         (429, "Too many", "slow down", "00-abc", "rate-limited"))
        self.assertLess(time.monotonic() - started, 5)


class _CountingHangUp:
    """Reads each request whole, counts it, and closes the connection without answering (a lost answer)."""

    def __init__(self) -> None:
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if data:
                    self.requests += 1

    def close(self) -> None:
        self.sock.close()


class RetryPolicyTests(unittest.TestCase):
    def test_only_calls_safe_to_repeat_are_sent_again_after_a_lost_answer(self) -> None:
        cases = [
            ("create without a key", lambda c: c.create("t"), 1),
            ("create with an idempotency key", lambda c: c.create("t", idempotency_key="k"), 3),
            ("create with a unique key", lambda c: c.create("t", unique_key="k"), 3),
            ("claim", lambda c: c.claim("w", ["t"]), 1),
            ("retry", lambda c: c.retry("x"), 1),
            ("answer", lambda c: c.answer("x", "yes"), 1),
            ("get", lambda c: c.get("x"), 3),
            ("complete under a lease", lambda c: c.complete("x", "token", 1), 3),
            ("cancel", lambda c: c.cancel("x"), 3),
        ]
        for name, call, expected in cases:
            with self.subTest(name):
                server = _CountingHangUp()
                self.addCleanup(server.close)
                with self.assertRaises(jobkeeper.JobkeeperConnectionError):
                    call(_client(self, server.url, timeout=5, retries=2))
                self.assertEqual(server.requests, expected)


class UnreachableTests(unittest.TestCase):
    def test_nothing_listening_is_a_connection_error_quickly(self) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        client = _client(self, f"http://127.0.0.1:{port}", timeout=2, retries=2)
        started = time.monotonic()
        with self.assertRaises(jobkeeper.JobkeeperConnectionError):
            client.get("x")
        with self.assertRaises(ConnectionError):  # also a built-in ConnectionError
            client.create("t")
        self.assertLess(time.monotonic() - started, 5)

    def test_a_server_that_never_answers_times_out(self) -> None:
        silent = _SilentServer()
        self.addCleanup(silent.close)
        client = _client(self, silent.url, timeout=0.5, retries=1)
        for call in (lambda: client.get("x"), lambda: client.create("t"), client.health):
            started = time.monotonic()
            with self.subTest(call=call), self.assertRaises(jobkeeper.JobkeeperTimeoutError):
                call()
            self.assertLess(time.monotonic() - started, 3)
        with self.assertRaises(jobkeeper.JobkeeperTimeoutError):
            client.wait("x", timeout=1)

    def test_a_server_that_hangs_up_is_a_connection_error(self) -> None:
        rude = _SilentServer(close=True)
        self.addCleanup(rude.close)
        with self.assertRaises(jobkeeper.JobkeeperConnectionError):
            _client(self, rude.url, timeout=2, retries=1).get("x")

    def test_the_async_client_raises_the_same(self) -> None:
        silent = _SilentServer()
        self.addCleanup(silent.close)

        async def run() -> None:
            async with jobkeeper.AsyncClient(silent.url, timeout=0.5, retries=0) as client:
                with self.assertRaises(jobkeeper.JobkeeperTimeoutError):
                    await client.get("x")
                with self.assertRaises(jobkeeper.InvalidBaseUrlError):
                    jobkeeper.AsyncClient("nope")

        asyncio.run(run())


class RefusalTests(ServerTestCase):
    def test_lease_lost_and_other_problems(self) -> None:
        job_type = unique("errors.lease")
        self.client.create(job_type)
        [item] = self.client.claim("hand", [job_type])
        for call in (lambda: self.client.heartbeat(item.id, "not-the-token"),
                     lambda: self.client.complete(item.id, "not-the-token", {"x": 1})):
            with self.subTest(call=call), self.assertRaises(jobkeeper.LeaseLostError) as lost:
                call()
            self.assertEqual((lost.exception.status, lost.exception.kind), (409, "lease-lost"))
            self.assertIsInstance(lost.exception, jobkeeper.ConflictError)
            self.assertTrue(lost.exception.trace_id)
        with self.assertRaises(jobkeeper.ValidationError) as invalid:
            self.client.create("")
        self.assertIn("type", invalid.exception.errors)
        self.assertIn("HTTP 400", str(invalid.exception))
        with self.assertRaises(ValueError):
            self.client.get("")
        with self.assertRaises(ValueError):
            self.client.create("t", {"x": float("nan")})
        self.client.release(item.id, item.lease_token)


class KeyedServerTests(unittest.TestCase):
    server: ServerProcess
    keys: dict

    @classmethod
    def setUpClass(cls) -> None:
        cls.keys = {role: new_key() for role in ("read", "submit", "work", "admin")}
        cls.server = ServerProcess([(role, key, [role]) for role, key in cls.keys.items()])

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_no_key_wrong_key_and_missing_role(self) -> None:
        url = self.server.url
        with self.assertRaises(jobkeeper.UnauthorizedError) as missing:
            _client(self, url, api_key="", timeout=5).list_page()
        self.assertEqual(missing.exception.kind, "api-key-required")
        with self.assertRaises(jobkeeper.UnauthorizedError) as wrong:
            _client(self, url, api_key=new_key(), timeout=5).get("x")
        self.assertEqual(wrong.exception.kind, "invalid-api-key")
        with self.assertRaises(jobkeeper.ForbiddenError) as forbidden:
            _client(self, url, api_key=self.keys["read"], timeout=5).create("t")
        self.assertEqual((forbidden.exception.status, forbidden.exception.kind), (403, "role-required"))
        self.assertEqual(_client(self, url, api_key=self.keys["read"]).health().status, "ok")  # /health is open

    def test_the_key_from_the_argument_or_the_environment(self) -> None:
        submit = _client(self, self.server.url, api_key=self.keys["submit"], timeout=5)
        job = submit.create(unique("keys.t"))
        with mock.patch.dict(os.environ, {"JOBKEEPER_API_KEY": self.keys["read"]}):
            reader = _client(self, self.server.url, timeout=5)
        self.assertEqual(reader.get(job.id).id, job.id)
        self.assertEqual(reader.events(job.id)[0].actor, "submit")  # behind keys the actor is the key's name
        with reader.watch(job.id) as stream:  # the streams take the key too
            stream.connect()

    def test_a_worker_without_the_work_role_stops_with_the_refusal(self) -> None:
        worker = jobkeeper.Worker(_client(self, self.server.url, api_key=self.keys["read"], timeout=5),
                                  [unique("keys.w")], wait_seconds=1)
        worker.handlers[worker.types[0]] = lambda job: None
        started = time.monotonic()
        with self.assertRaises(jobkeeper.ForbiddenError):
            worker.run(handle_signals=False)
        self.assertLess(time.monotonic() - started, 10)


