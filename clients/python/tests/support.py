"""What the tests share: the server they run against, keyed servers of their own, unique names, polling.

The server: ``$JOBKEEPER_URL`` (and ``$JOBKEEPER_API_KEY``, a key with every role) when set; otherwise one
``jobkeeper serve`` started on first use for the whole run, on a free loopback port and a temporary database,
and stopped when the run ends. Its executable: ``$JOBKEEPER_SERVER``, else the repository's Release build
(``src/Jobkeeper.Server/bin/Release/net10.0/jobkeeper``), else ``/tmp/jk-server/jobkeeper``. Tests that need
API keys start a server of their own with the same executable. Every test uses job types of its own (a uuid
suffix), so tests can share a server with each other and with other test suites.
"""

from __future__ import annotations

import atexit
import base64
import collections
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar

import jobkeeper

REPO = Path(__file__).resolve().parents[3]
TESTS = Path(__file__).resolve().parent
T = TypeVar("T")


def server_executable() -> str:
    candidates = [os.environ.get("JOBKEEPER_SERVER"),
                  str(REPO / "src" / "Jobkeeper.Server" / "bin" / "Release" / "net10.0" / "jobkeeper"),
                  "/tmp/jk-server/jobkeeper"]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("no Jobkeeper server to test against: set JOBKEEPER_URL (a running server) or JOBKEEPER_SERVER "
                       "(the jobkeeper executable), or build src/Jobkeeper.Server in Release")


def unique(prefix: str) -> str:
    """A name no other test uses: ``prefix`` and a uuid suffix."""
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


def poll(check: Callable[[], Optional[T]], timeout: float = 30.0, what: str = "the condition",
         interval: float = 0.05) -> T:
    """Calls ``check`` until it returns something truthy (returned), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s (last: {last!r})")
        time.sleep(interval)


def _die_with_parent(sig: int) -> Callable[[], None]:
    """For Popen(preexec_fn=...): on Linux the child gets ``sig`` when the test process dies, so a test run that is
    itself killed leaves no server or worker behind."""

    def prepare() -> None:
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
        except Exception:
            pass  # not Linux: the tests still stop their processes themselves

    return prepare


def new_key() -> str:
    return "jk_" + base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode("ascii")


class ServerProcess:
    """A ``jobkeeper serve`` of a test's own, on a free loopback port, with its output kept."""

    def __init__(self, keys: Sequence[Tuple[str, str, Sequence[str]]] = (), env: Optional[Dict[str, str]] = None) -> None:
        self.directory = tempfile.mkdtemp(prefix="jk-test-")
        if keys:
            settings = {"Jobkeeper": {"ApiKeys": [
                {"name": name, "hash": "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest(), "roles": list(roles)}
                for name, key, roles in keys]}}
            Path(self.directory, "appsettings.json").write_text(json.dumps(settings), encoding="utf-8")
        environment = dict(os.environ)
        environment.update(env or {})
        self.lines: Deque[str] = collections.deque(maxlen=5000)
        self._listening = threading.Event()
        self.url = ""
        self.process = subprocess.Popen(
            [server_executable(), "serve", "--urls", "http://127.0.0.1:0", "--db", os.path.join(self.directory, "jk.db")],
            cwd=self.directory, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace",
            preexec_fn=_die_with_parent(signal.SIGTERM) if sys.platform.startswith("linux") else None)
        threading.Thread(target=self._read, daemon=True).start()
        try:
            if not self._listening.wait(60):
                raise RuntimeError("the server did not start:\n" + self.output)
            poll(self._healthy, 30, "the server's /health")
        except BaseException:
            self.stop()
            raise

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            match = re.search(r"Now listening on: (http://\S+)", line)
            if match and not self.url:
                self.url = match.group(1)
                self._listening.set()

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health/live", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.directory, ignore_errors=True)


_shared: Optional[Tuple[str, Optional[str]]] = None
_shared_process: Optional[ServerProcess] = None
_shared_lock = threading.Lock()


def shared_server() -> Tuple[str, Optional[str]]:
    """(url, api key) of the server the tests share."""
    global _shared, _shared_process
    with _shared_lock:
        if _shared is None:
            if os.environ.get("JOBKEEPER_URL"):
                _shared = (os.environ["JOBKEEPER_URL"], os.environ.get("JOBKEEPER_API_KEY") or None)
            else:
                _shared_process = ServerProcess()
                atexit.register(_shared_process.stop)
                _shared = (_shared_process.url, None)
        return _shared


class ServerTestCase(unittest.TestCase):
    """A test against the shared server, with a client (``self.client``) closed after it."""

    url: str
    api_key: Optional[str]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.url, cls.api_key = shared_server()

    def setUp(self) -> None:
        super().setUp()
        self.client = jobkeeper.Client(self.url, self.api_key, timeout=15)
        self.addCleanup(self.client.close)

    def start_worker(self, worker: jobkeeper.Worker, **run: Any) -> threading.Thread:
        """Runs ``worker`` on a thread until the test ends (stopped and joined then, also on failure)."""
        errors: List[BaseException] = []

        def target() -> None:
            try:
                worker.run(handle_signals=False, **run)
            except BaseException as error:  # shown when the test ends
                errors.append(error)

        thread = threading.Thread(target=target, name="test-worker", daemon=True)
        thread.start()

        def stop() -> None:
            worker.stop()
            thread.join(30)
            self.assertFalse(thread.is_alive(), "the worker did not stop")
            if errors:
                raise errors[0]

        self.addCleanup(stop)
        return thread

    def wait_status(self, job_id: str, status: str, timeout: float = 30.0) -> jobkeeper.Job:
        return poll(lambda: (lambda j: j if j.status == status else None)(self.client.get(job_id)), timeout,
                    f"job {job_id} becoming {status}")

    def status_changes(self, job_id: str) -> List[jobkeeper.JobEvent]:
        return [e for e in self.client.events(job_id) if e.type == "status_changed"]


def python_process(script: Path, args: Iterable[str], env: Optional[Dict[str, str]] = None) -> "OutputProcess":
    return OutputProcess([sys.executable, "-u", str(script), *args], env)


class OutputProcess:
    """A child process whose output (stdout and stderr) is read as it comes."""

    def __init__(self, command: List[str], env: Optional[Dict[str, str]] = None) -> None:
        environment = dict(os.environ)
        environment.pop("JOBKEEPER_URL", None)
        environment.pop("JOBKEEPER_API_KEY", None)
        environment.update(env or {})
        environment["PYTHONUNBUFFERED"] = "1"
        self.lines: List[str] = []
        self._lock = threading.Lock()
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        env=environment, text=True, encoding="utf-8", errors="replace",
                                        preexec_fn=_die_with_parent(signal.SIGKILL) if sys.platform.startswith("linux") else None)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait(self, timeout: float) -> int:
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the process did not exit within {timeout:g} s:\n{self.output}") from None
        self._close()
        return code

    def _close(self) -> None:
        self._reader.join(5)
        if self.process.stdout is not None and not self._reader.is_alive():
            self.process.stdout.close()

    def signal(self, number: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(number)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._close()
