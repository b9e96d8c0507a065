"""A small HTTP/1.1 client over a pool of keep-alive connections (``socket`` and ``ssl``).

Why not ``http.client``: on the worker's hot path (one claim per batch, then one ``complete`` per job) it cost
about 2.6 times the CPU per request of this codec (its headers go through the ``email`` parser, each request is
two ``send`` calls, each response gets a new reader), and a worker shares two cores with the server. What this
module does: one request at a time per connection, ``Content-Length`` and chunked bodies, interim 1xx answers
skipped, ``Connection: close`` honoured, a timeout on every socket operation, idle connections checked before
reuse, retries with backoff where they are safe, and :class:`Cancel` to cut a request from another thread.
"""

from __future__ import annotations

import io
import random
import select
import socket
import ssl
import time
from collections import deque
from contextvars import ContextVar
from typing import Deque, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple, cast
from urllib.parse import urlsplit

from .errors import (
    InvalidBaseUrlError,
    JobkeeperConnectionError,
    JobkeeperTimeoutError,
    RequestCancelledError,
    parse_retry_after,
)

Headers = Iterable[Tuple[str, str]]

_MAX_LINE = 65536
_MAX_HEADERS = 200
# Kestrel closes a connection idle for 130 s; dropping ours well before avoids sending on one it is closing.
_MAX_IDLE_SECONDS = 50.0
# A connection used this recently is reused without checking it first: the server closes idle ones after 130 s.
_FRESH_SECONDS = 1.0
_RETRY_STATUSES = (502, 503, 504)
_MAX_RETRY_AFTER = 5.0


class BaseUrl(NamedTuple):
    """The parts of a client's base URL."""

    scheme: str
    host: str
    port: int
    prefix: str  # a path the server is mounted under, without the trailing slash ("" for none)
    host_header: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host_header}{self.prefix}"


def parse_base_url(url: object) -> BaseUrl:
    """Checks and splits a base URL such as ``http://127.0.0.1:8080`` or ``https://jobs.example.com/jk``."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidBaseUrlError(f"the base URL must be a non-empty string, not {url!r}")
    text = url.strip()
    if any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise InvalidBaseUrlError(f"the base URL {url!r} holds a space or a control character")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise InvalidBaseUrlError(f"the base URL {url!r} is malformed: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidBaseUrlError(f"the base URL {url!r} must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise InvalidBaseUrlError(f"the base URL {url!r} names no host")
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise InvalidBaseUrlError(f"the base URL {url!r} must not have a query or a fragment")
    if parts.username is not None or parts.password is not None:
        raise InvalidBaseUrlError(f"the base URL {url!r} must not hold credentials: give the API key instead")
    if port == 0:
        raise InvalidBaseUrlError(f"the base URL {url!r} has port 0")
    default_port = 443 if scheme == "https" else 80
    port = port or default_port
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default_port else f"{shown}:{port}"
    return BaseUrl(scheme, host, port, parts.path.rstrip("/"), host_header)


class Cancel:
    """Cuts requests from another thread, or from a signal handler: :meth:`cancel` shuts their sockets down, so a
    read blocked on one returns at once and the server sees the connection close. Lock-free on purpose: a signal
    handler runs between two bytecodes of the main thread and must not wait for a lock that thread holds (list
    append, remove and copy are atomic under the GIL)."""

    __slots__ = ("cancelled", "_socks")

    def __init__(self) -> None:
        self.cancelled = False
        self._socks: List[socket.socket] = []

    def cancel(self) -> None:
        self.cancelled = True
        for sock in list(self._socks):
            _shutdown(sock)

    def attach(self, sock: socket.socket) -> None:
        self._socks.append(sock)
        if self.cancelled:
            _shutdown(sock)

    def detach(self, sock: socket.socket) -> None:
        try:
            self._socks.remove(sock)
        except ValueError:
            pass

    def sleep(self, seconds: float) -> bool:
        """Sleeps up to ``seconds``; False when cancelled meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.cancelled:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            time.sleep(min(left, 0.05))
        return False


# The Cancel of the requests made in this context (set by the asyncio client around each call).
current_cancel: ContextVar[Optional[Cancel]] = ContextVar("jobkeeper_cancel", default=None)


class Response:
    """A whole answer: status, headers (lowercase names) and body."""

    __slots__ = ("status", "reason", "headers", "body")

    def __init__(self, status: int, reason: str, headers: Dict[str, str], body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class _Failure(Exception):
    """A request that did not get a whole answer; ``sent`` says whether the server may have acted on it."""

    def __init__(self, error: BaseException, sent: bool, timeout: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.sent = sent
        self.timeout = timeout


class _Connection:
    __slots__ = ("sock", "reader", "idle_since", "requests", "timeout")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = cast(io.BufferedReader, sock.makefile("rb", buffering=65536))
        self.idle_since = time.monotonic()
        self.requests = 0
        self.timeout: Optional[float] = None

    def set_timeout(self, timeout: float) -> None:
        if timeout != self.timeout:
            self.sock.settimeout(timeout)
            self.timeout = timeout

    def usable(self, now: float) -> bool:
        """False when the server closed it while idle (readable means EOF or stray bytes) or it idled too long."""
        idle = now - self.idle_since
        if idle > _MAX_IDLE_SECONDS:
            return False
        if idle < _FRESH_SECONDS:
            return True  # used a moment ago: skip the check (a system call, and a GIL hand-off, per request)
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def close(self) -> None:
        try:
            self.reader.close()
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class StreamResponse:
    """An answer whose body is read as it arrives (Server-Sent Events); owns its connection."""

    def __init__(self, connection: _Connection, status: int, reason: str, headers: Dict[str, str], cancel: Cancel,
                 ambient: Optional[Cancel] = None) -> None:
        self._connection = connection
        self._ambient = ambient
        self.status = status
        self.reason = reason
        self.headers = headers
        self._cancel = cancel
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self._left: Optional[int] = int(length) if length and length.isdigit() and not self._chunked else None
        self._done = False

    def read(self, timeout: float) -> bytes:
        """The next bytes of the body (b"" at its end); JobkeeperTimeoutError when none came within ``timeout``."""
        if self._done:
            return b""
        reader = self._connection.reader
        try:
            self._connection.set_timeout(timeout)
            if self._chunked:
                size = _chunk_size(reader.readline(_MAX_LINE))
                if size == 0:
                    self._done = True
                    return b""
                data = reader.read(size)
                if len(data) < size or reader.read(2) != b"\r\n":
                    raise ConnectionError("the stream ended inside a chunk")
                return data
            if self._left is not None:
                if self._left <= 0:
                    self._done = True
                    return b""
                data = reader.read1(min(self._left, 65536))
                self._left -= len(data)
            else:
                data = reader.read1(65536)
            if not data:
                self._done = True
            return data
        except (socket.timeout, TimeoutError) as error:
            if self.cancelled:
                raise RequestCancelledError("the stream was closed") from None
            raise JobkeeperTimeoutError(f"nothing arrived within {timeout:g} s") from error
        except (OSError, ValueError) as error:
            if self.cancelled:
                raise RequestCancelledError("the stream was closed") from None
            raise JobkeeperConnectionError(f"the stream broke: {error}") from error

    @property
    def cancelled(self) -> bool:
        return self._cancel.cancelled or (self._ambient is not None and self._ambient.cancelled)

    @property
    def body(self) -> bytes:
        """The rest of the body, for a refusal (a problem document is short)."""
        parts: List[bytes] = []
        while True:
            data = self.read(10.0)
            if not data:
                return b"".join(parts)
            parts.append(data)

    def close(self) -> None:
        """Closes the connection (from any thread: a read blocked on it returns)."""
        _shutdown(self._connection.sock)
        self._cancel.detach(self._connection.sock)
        if self._ambient is not None:
            self._ambient.detach(self._connection.sock)
        self._connection.close()


class Transport:
    """Sends requests to one server over pooled keep-alive connections; thread-safe."""

    def __init__(self, base: BaseUrl, headers: Headers, timeout: float, retries: int,
                 max_idle_connections: int = 64, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.base = base
        self.timeout = timeout
        self.retries = max(0, retries)
        self._max_idle = max_idle_connections
        self._ssl = ssl_context if ssl_context is not None else (ssl.create_default_context() if base.scheme == "https" else None)
        # Every request starts with these lines; built once.
        fixed = [("Host", base.host_header)] + list(headers)
        self._fixed = "".join(f"{name}: {_header_value(value)}\r\n" for name, value in fixed)
        # Idle connections, most recently used last: deque append/pop are atomic, so no lock is needed.
        self._idle: Deque[_Connection] = deque()
        self._closed = False

    # ---- requests

    def request(self, method: str, target: str, body: Optional[bytes] = None, headers: Optional[Headers] = None,
                timeout: Optional[float] = None, retry: bool = False) -> Response:
        """Sends one request and reads its answer, retrying where it is safe (see README § Retries).

        ``retry``: the request is safe to send twice (idempotent, or keyed), so it is sent again after a lost
        answer, a timeout or a 502/503/504; a request the server never got (no connection) and a 429 are sent
        again whatever it is.
        """
        timeout = self.timeout if timeout is None else timeout
        data = self._encode(method, target, body, headers)
        cancel = current_cancel.get()
        attempt = 0
        while True:
            if cancel is not None and cancel.cancelled:
                raise RequestCancelledError(f"{method} {target} was cancelled")
            try:
                response = self._exchange(method, data, timeout, cancel)
            except _Failure as failure:
                if cancel is not None and cancel.cancelled:
                    raise RequestCancelledError(f"{method} {target} was cancelled") from None
                if attempt < self.retries and (retry or not failure.sent):
                    self._backoff(attempt, cancel)
                    attempt += 1
                    continue
                raise self._error(method, target, failure, timeout) from failure.error
            if attempt < self.retries:
                if response.status == 429:
                    wait = parse_retry_after(response.headers.get("retry-after"))
                    if wait is None or wait <= _MAX_RETRY_AFTER:
                        self._backoff(attempt, cancel, wait)
                        attempt += 1
                        continue
                elif retry and response.status in _RETRY_STATUSES:
                    self._backoff(attempt, cancel)
                    attempt += 1
                    continue
            return response

    def pipeline(self, requests: Sequence[Tuple[str, str, Optional[bytes], Optional[Headers]]],
                 timeout: Optional[float] = None) -> List[object]:
        """Sends several requests on one connection in one write (HTTP/1.1 pipelining) and reads their answers in
        order: a :class:`Response` per request, or the exception that took its answer (the connection broke, or the
        server closed it first). Nothing is retried here: callers pipeline only calls that are safe to send again.
        Why: a worker reports a batch of finished jobs with one write and one read loop instead of a round trip each,
        which leaves more of a shared machine's CPU to the server."""
        timeout = self.timeout if timeout is None else timeout
        data = b"".join(self._encode(method, target, body, headers) for method, target, body, headers in requests)
        results: List[object] = []
        try:
            connection = self._take(timeout)
        except _Failure as failure:
            error = self._error("POST", "(pipelined)", failure, timeout)
            return [error for _ in requests]
        close = False
        try:
            connection.set_timeout(timeout)
            connection.sock.sendall(data)
            for method, _target, _body, _headers in requests:
                status, reason, headers = self._read_head(connection, method)
                body, close = self._read_body(connection, method, status, headers)
                results.append(Response(status, reason, headers, body))
                if close:
                    break
        except (OSError, ValueError) as error:
            close = True
            is_timeout = isinstance(error, (socket.timeout, TimeoutError))
            failure = self._error("POST", "(pipelined)", _Failure(error, True, is_timeout), timeout)
        else:
            failure = JobkeeperConnectionError("the server closed the connection before answering every pipelined request")
        if close or self._closed:
            connection.close()
        else:
            connection.requests += len(requests)
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        return results + [failure for _ in range(len(requests) - len(results))]

    def open_stream(self, target: str, headers: Optional[Headers], timeout: float, cancel: Cancel) -> StreamResponse:
        """Sends a GET and returns once the headers arrived; the body is read with ``StreamResponse.read``."""
        data = self._encode("GET", target, None, headers)
        ambient = current_cancel.get()
        if cancel.cancelled or (ambient is not None and ambient.cancelled):
            raise RequestCancelledError("the stream was closed")
        try:
            connection = self._connect(timeout)
        except _Failure as failure:
            raise self._error("GET", target, failure, timeout) from failure.error
        connection.set_timeout(timeout)
        cancel.attach(connection.sock)
        if ambient is not None and ambient is not cancel:
            # Also cut by the caller's Cancel (an asyncio task waiting on a job, say).
            ambient.attach(connection.sock)
        try:
            connection.sock.sendall(data)
            status, reason, response_headers = self._read_head(connection, "GET")
        except (OSError, ValueError) as error:
            connection.close()
            if cancel.cancelled or (ambient is not None and ambient.cancelled):
                raise RequestCancelledError("the stream was closed") from None
            is_timeout = isinstance(error, (socket.timeout, TimeoutError))
            raise self._error("GET", target, _Failure(error, True, is_timeout), timeout) from error
        return StreamResponse(connection, status, reason, response_headers, cancel, ambient)

    def close(self) -> None:
        """Closes the idle connections; connections in use close when their request ends."""
        self._closed = True
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:
                break

    # ---- one exchange

    def _encode(self, method: str, target: str, body: Optional[bytes], headers: Optional[Headers]) -> bytes:
        lines = [method, " ", target, " HTTP/1.1\r\n", self._fixed]
        if headers:
            for name, value in headers:
                lines.append(f"{name}: {_header_value(value)}\r\n")
        if body is not None:
            lines.append(f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        elif method in ("POST", "PUT", "PATCH"):
            lines.append("Content-Length: 0\r\n\r\n")
        else:
            lines.append("\r\n")
        head = "".join(lines).encode("latin-1")
        return head + body if body else head

    def _exchange(self, method: str, data: bytes, timeout: float, cancel: Optional[Cancel]) -> Response:
        connection = self._take(timeout)
        sock = connection.sock
        if cancel is not None:
            cancel.attach(sock)
        sent = False
        try:
            connection.set_timeout(timeout)
            try:
                connection.sock.sendall(data)
            except OSError as error:
                # The server closed the connection before reading the request: it did not act on it.
                raise _Failure(error, sent=False, timeout=isinstance(error, (socket.timeout, TimeoutError))) from error
            sent = True
            status, reason, headers = self._read_head(connection, method)
            body, close = self._read_body(connection, method, status, headers)
        except _Failure:
            connection.close()
            raise
        except (OSError, ValueError) as error:
            connection.close()
            raise _Failure(error, sent=sent, timeout=isinstance(error, (socket.timeout, TimeoutError))) from error
        finally:
            if cancel is not None:
                cancel.detach(sock)
        if close or self._closed or (cancel is not None and cancel.cancelled):
            connection.close()
        else:
            connection.requests += 1
            connection.idle_since = time.monotonic()
            if len(self._idle) < self._max_idle:
                self._idle.append(connection)
            else:
                connection.close()
        return Response(status, reason, headers, body)

    def _take(self, timeout: float) -> _Connection:
        now = time.monotonic()
        while True:
            try:
                connection = self._idle.pop()
            except IndexError:
                return self._connect(timeout)
            if connection.usable(now):
                return connection
            connection.close()

    def _connect(self, timeout: float) -> _Connection:
        base = self.base
        try:
            sock = socket.create_connection((base.host, base.port), timeout=timeout)
        except OSError as error:
            raise _Failure(error, sent=False, timeout=isinstance(error, (socket.timeout, TimeoutError))) from error
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(sock, server_hostname=base.host)
        except OSError as error:
            sock.close()
            raise _Failure(error, sent=False, timeout=isinstance(error, (socket.timeout, TimeoutError))) from error
        return _Connection(sock)

    @staticmethod
    def _read_head(connection: _Connection, method: str) -> Tuple[int, str, Dict[str, str]]:
        reader = connection.reader
        while True:
            line = reader.readline(_MAX_LINE)
            if not line:
                raise ConnectionError("the server closed the connection without answering")
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
                raise ValueError(f"not an HTTP answer: {line[:80]!r}")
            status = int(parts[1])
            reason = parts[2].strip().decode("latin-1") if len(parts) > 2 else ""
            headers: Dict[str, str] = {}
            for _ in range(_MAX_HEADERS):
                header = reader.readline(_MAX_LINE)
                if header in (b"\r\n", b"\n"):
                    break
                if not header:
                    raise ConnectionError("the connection closed inside the headers")
                name, sep, value = header.partition(b":")
                if not sep:
                    continue
                key = name.strip().lower().decode("latin-1")
                text = value.strip().decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            else:
                raise ValueError("too many headers")
            if 100 <= status < 200 and status != 101:
                continue  # an interim answer (100 Continue): the real one follows
            if parts[0] == b"HTTP/1.0" and "keep-alive" not in headers.get("connection", "").lower():
                headers.setdefault("connection", "close")
            return status, reason, headers

    @staticmethod
    def _read_body(connection: _Connection, method: str, status: int, headers: Dict[str, str]) -> Tuple[bytes, bool]:
        reader = connection.reader
        close = "close" in headers.get("connection", "").lower()
        if method == "HEAD" or status in (204, 304):
            return b"", close
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size = _chunk_size(reader.readline(_MAX_LINE))
                if size == 0:
                    while True:  # trailers, up to the blank line
                        trailer = reader.readline(_MAX_LINE)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    return b"".join(parts), close
                chunk = reader.read(size)
                if len(chunk) < size or reader.read(2) != b"\r\n":
                    raise ConnectionError("the connection closed inside a chunk")
                parts.append(chunk)
        length = headers.get("content-length")
        if length is not None:
            size = int(length)
            body = reader.read(size) if size else b""
            if len(body) < size:
                raise ConnectionError(f"the connection closed after {len(body)} of {size} bytes")
            return body, close
        return reader.read(), True  # no length: the body ends with the connection

    # ---- failures and waiting

    def _error(self, method: str, target: str, failure: _Failure, timeout: float) -> Exception:
        where = f"{self.base.scheme}://{self.base.host_header}"
        if failure.timeout:
            return JobkeeperTimeoutError(f"{method} {target}: no answer from {where} within {timeout:g} s")
        if not failure.sent:
            return JobkeeperConnectionError(f"cannot reach {where}: {failure.error}")
        return JobkeeperConnectionError(f"{method} {target}: the connection to {where} broke: {failure.error}")

    @staticmethod
    def _backoff(attempt: int, cancel: Optional[Cancel], wait: Optional[float] = None) -> None:
        delay = wait if wait is not None else min(2.0, 0.1 * (2 ** attempt)) * (0.5 + random.random() / 2)
        if cancel is not None:
            cancel.sleep(delay)
        else:
            time.sleep(delay)


def _chunk_size(line: bytes) -> int:
    if not line:
        raise ConnectionError("the connection closed before a chunk")
    return int(line.split(b";", 1)[0].strip(), 16)


def _header_value(value: str) -> str:
    if not value.isascii() or "\r" in value or "\n" in value or "\0" in value:
        raise ValueError(f"a header value must be ASCII without CR, LF or NUL: {value!r}")
    return value


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already
