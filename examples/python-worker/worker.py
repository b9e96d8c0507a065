#!/usr/bin/env python3
"""An external Jobkeeper worker in plain Python (standard library only, Python 3.11+).

It claims jobs over HTTP with a long poll, runs a handler per job in its own thread, renews each
lease in the background, reports progress, and completes or fails each job. A job whose lease was
lost (409 lease-lost) is dropped without another word: someone else owns it now. A handler can ask a
person a question (job.ask): the job then waits on the server, holding no worker, and runs again once
answered, when the same ask returns the answer. On SIGINT or SIGTERM it stops claiming at once (a long
poll in flight is cut), lets running jobs finish for a grace period, and releases the rest.

    python3 worker.py --url http://127.0.0.1:8080 --types demo.wordcount
    JOBKEEPER_API_KEY=jk_... python3 worker.py --url https://jobs.example.com

See README.md in this folder.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable

LEASE_LOST = "https://jobkeeper.dev/problems/lease-lost"
# How often the main thread looks for a signal while it waits (seconds): a stop is noticed within this.
POLL = 0.1


# --------------------------------------------------------------------------------------------
# HTTP


class ApiError(Exception):
    """A non-2xx answer from the server (a problem document when the server sent one)."""

    def __init__(self, status: int, problem: dict[str, Any] | None, text: str):
        self.status = status
        self.problem = problem or {}
        detail = self.problem.get("detail") or self.problem.get("title") or text[:300]
        super().__init__(f"HTTP {status}: {detail}")

    @property
    def lease_lost(self) -> bool:
        """The job is no longer this worker's: another lease holds it, it ended, or it was deleted (404)."""
        return (self.status == 409 and self.problem.get("type") == LEASE_LOST) or self.status == 404

    @property
    def transient(self) -> bool:
        return self.status >= 500 or self.status == 429


class Cancel:
    """
    Lets another thread end a request at once: cancel() shuts down the request's socket, so a read blocked on it
    returns (the request raises) and the server sees the connection close. A request not yet connected is cut as
    soon as it connects.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []
        self.cancelled = False

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            connections = list(self._connections)
        for connection in connections:
            self._shut(connection)

    def wrap(self, connection_class: Callable[..., http.client.HTTPConnection]) -> Callable[..., http.client.HTTPConnection]:
        """A factory of connection_class whose connections this Cancel can cut."""

        def make(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
            connection = connection_class(*args, **kwargs)
            connect = connection.connect

            def tracked_connect() -> None:
                connect()
                with self._lock:
                    self._connections.append(connection)
                    cancelled = self.cancelled
                if cancelled:
                    self._shut(connection)

            connection.connect = tracked_connect  # type: ignore[method-assign]
            return connection

        return make

    @staticmethod
    def _shut(connection: http.client.HTTPConnection) -> None:
        sock = connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # closed already


class _CancellableOpen:
    """Mixed into urllib's HTTP(S) handlers: their connections are made through a Cancel."""

    def __init__(self, cancel: Cancel, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cancel = cancel

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        return super().do_open(self.cancel.wrap(http_class), req, **kwargs)  # type: ignore[misc]


class _CancellableHTTPHandler(_CancellableOpen, urllib.request.HTTPHandler):
    pass


class _CancellableHTTPSHandler(_CancellableOpen, urllib.request.HTTPSHandler):
    pass


class Api:
    """The worker routes of the Jobkeeper HTTP API."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            # The same header the .NET client and the jobkeeper CLI send.
            self.headers["Authorization"] = "Bearer " + api_key
        host = urllib.parse.urlsplit(base_url).hostname or ""
        # A server on this machine is reached directly, whatever proxy the environment names.
        self.handlers: list[urllib.request.BaseHandler] = (
            [urllib.request.ProxyHandler({})] if host in ("localhost", "127.0.0.1", "::1") else [])
        self.opener = urllib.request.build_opener(*self.handlers)

    def post(self, path: str, body: dict[str, Any] | None = None, timeout: float | None = None,
             cancel: Cancel | None = None, traceparent: str | None = None) -> dict[str, Any]:
        data = json.dumps(body if body is not None else {}).encode("utf-8")
        # A call about a job carries the job's trace context, so the server's spans of it join the job's trace.
        headers = self.headers if not traceparent else {**self.headers, "traceparent": traceparent}
        request = urllib.request.Request(self.base + path, data=data, method="POST", headers=headers)
        opener = self.opener if cancel is None else urllib.request.build_opener(
            *self.handlers, _CancellableHTTPHandler(cancel), _CancellableHTTPSHandler(cancel))
        try:
            with opener.open(request, timeout=timeout or self.timeout) as response:
                payload = response.read()
                return json.loads(payload) if payload else {}
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                problem = json.loads(text)
            except ValueError:
                problem = None
            raise ApiError(error.code, problem if isinstance(problem, dict) else None, text) from None

    def job_path(self, job_id: str, action: str) -> str:
        return "/jobs/" + urllib.parse.quote(job_id, safe="") + "/" + action

    def claim(self, worker_id: str, types: list[str], max_jobs: int, lease_seconds: int, wait_seconds: float,
              cancel: Cancel | None = None) -> list[dict[str, Any]]:
        body = {
            "worker_id": worker_id,
            "types": types,
            "max": max_jobs,
            "lease_seconds": lease_seconds,
            "wait_seconds": wait_seconds,
        }
        # The server answers within wait_seconds; allow for the round trip on top.
        return self.post("/workers/claim", body, timeout=wait_seconds + self.timeout, cancel=cancel)["jobs"]

    # Each call about a job takes the work item's traceparent (None when the job has none).

    def heartbeat(self, job_id: str, token: str, lease_seconds: int, traceparent: str | None = None) -> dict[str, Any]:
        return self.post(self.job_path(job_id, "heartbeat"), {"lease_token": token, "lease_seconds": lease_seconds},
                         traceparent=traceparent)

    def progress(self, job_id: str, token: str, lease_seconds: int, traceparent: str | None = None, **members: Any) -> dict[str, Any]:
        body = {"lease_token": token, "lease_seconds": lease_seconds}
        body.update({k: v for k, v in members.items() if v is not None})
        return self.post(self.job_path(job_id, "progress"), body, traceparent=traceparent)

    def complete(self, job_id: str, token: str, result: Any, traceparent: str | None = None) -> dict[str, Any]:
        return self.post(self.job_path(job_id, "complete"), {"lease_token": token, "result": result}, traceparent=traceparent)

    def fail(self, job_id: str, token: str, error: dict[str, Any], retry: bool = True, traceparent: str | None = None) -> dict[str, Any]:
        return self.post(self.job_path(job_id, "fail"), {"lease_token": token, "error": error, "retry": retry},
                         traceparent=traceparent)

    def release(self, job_id: str, token: str, traceparent: str | None = None) -> dict[str, Any]:
        return self.post(self.job_path(job_id, "release"), {"lease_token": token}, traceparent=traceparent)

    def ask(self, job_id: str, token: str, prompt: dict[str, Any], traceparent: str | None = None) -> dict[str, Any]:
        """Asks a question under the lease: {"waiting": true, ...} when it is now open, or the stored answer (a replay)."""
        return self.post(self.job_path(job_id, "prompt"), {"lease_token": token, **prompt}, traceparent=traceparent)


def with_retries(what: str, call: Callable[[], Any], give_up_at: float, log: Callable[[str], None]) -> Any:
    """Calls until it succeeds, retrying connection errors and 5xx with backoff until give_up_at (monotonic)."""
    delay = 0.2
    while True:
        try:
            return call()
        except ApiError as error:
            if not error.transient or time.monotonic() + delay >= give_up_at:
                raise
            log(f"{what}: {error}; retrying in {delay:.1f} s")
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as error:
            if time.monotonic() + delay >= give_up_at:
                raise
            log(f"{what}: {error}; retrying in {delay:.1f} s")
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


# --------------------------------------------------------------------------------------------
# Jobs


class JobStopped(Exception):
    """Raised inside a handler (by JobContext.check or progress) when the job must stop now."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "cancelled", "lease_lost" or "shutdown"


class JobWaiting(Exception):
    """
    Raised by JobContext.ask when the question is now open: the job waits on the server for an answer
    (its lease ended) and this attempt is over. The worker lets it go without completing, failing or
    releasing it; once answered it is queued again and the handler runs from the start, where the same
    ask now returns the answer. A handler that catches Exception must let this one through.
    """

    def __init__(self, key: str, question: str):
        super().__init__(f"waiting for an answer to '{key}': {question}")
        self.key = key


class JobContext:
    """What a handler gets: the claimed job, progress reporting, and whether it should stop."""

    def __init__(self, worker: "Worker", item: dict[str, Any]):
        self.worker = worker
        self.item = item
        self.id: str = item["id"]
        self.type: str = item["type"]
        self.input: Any = item.get("input")
        self.labels: dict[str, str] = item.get("labels") or {}
        self.attempt: int = item.get("attempt", 1)
        self.token: str = item["lease_token"]
        # The job's W3C trace context: sent as the traceparent header of every call about the job.
        self.traceparent: str | None = item.get("traceparent")
        # The questions this job asked before, by key, with their answers (answer, answered_by, answered_at, ...).
        self.prompts: dict[str, dict[str, Any]] = {
            p["key"]: p for p in item.get("prompts") or [] if isinstance(p, dict) and isinstance(p.get("key"), str)}
        self.checkpoint: Any = item.get("checkpoint")
        self.cancel_requested = threading.Event()
        self.lease_lost = threading.Event()
        self.shutdown = threading.Event()
        self.finished = threading.Event()
        # Set by any of the above: a handler can wait on it instead of sleeping.
        self.stop = threading.Event()
        self.lock = threading.Lock()  # serializes lease calls so a finish never races a heartbeat

    @property
    def stop_reason(self) -> str | None:
        if self.lease_lost.is_set():
            return "lease_lost"
        if self.cancel_requested.is_set():
            return "cancelled"
        if self.shutdown.is_set():
            return "shutdown"
        return None

    def check(self) -> None:
        """Raises JobStopped when the job was cancelled, its lease lost, or the worker is shutting down."""
        reason = self.stop_reason
        if reason is not None:
            raise JobStopped(reason)

    def sleep(self, seconds: float) -> None:
        """Waits up to seconds, returning early (with JobStopped) when the job must stop."""
        if seconds > 0:
            self.stop.wait(seconds)
        self.check()

    def progress(self, fraction: float | None = None, stage: str | None = None, message: str | None = None,
                 current: int | None = None, total: int | None = None) -> None:
        """Reports progress (which also renews the lease); raises JobStopped when the job must stop."""
        self.check()
        with self.lock:
            if self.finished.is_set():
                return
            try:
                answer = self.worker.api.progress(self.id, self.token, self.worker.lease_seconds, self.traceparent, fraction=fraction,
                                                  stage=stage, message=message, current=current, total=total)
            except ApiError as error:
                if error.lease_lost:
                    self.mark_lease_lost(str(error))
                elif not error.transient:
                    raise
                else:
                    self.worker.log(f"job {self.id}: progress not recorded: {error}")
            except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as error:
                # Progress is best effort; the heartbeat keeps the lease.
                self.worker.log(f"job {self.id}: progress not recorded: {error}")
            else:
                self.observe(answer)
        self.check()

    def ask(self, key: str, question: str, options: list[str] | None = None, schema: dict[str, Any] | None = None,
            expires_in_seconds: float | None = None, on_expiry: str | None = None, default_answer: Any = None) -> Any:
        """
        Asks a person and returns the answer. When the claimed job already holds the answer to key (this is
        a run after the answer came), returns it at once. Otherwise asks the server and, as the job now
        waits, raises JobWaiting: the attempt ends and the handler runs again, from the start, once answered.
        options: the allowed answers (strings); schema: a JSON schema the answer must satisfy (not both).
        expires_in_seconds with on_expiry "fail" (the default) or "default" (then default_answer is used).
        """
        known = self.prompts.get(key)
        if known is not None and known.get("answered_at") is not None:
            return known.get("answer")
        self.check()
        body: dict[str, Any] = {"key": key, "question": question}
        for name, value in (("options", options), ("schema", schema), ("expires_in_seconds", expires_in_seconds),
                            ("on_expiry", on_expiry), ("default_answer", default_answer)):
            if value is not None:
                body[name] = value
        with self.lock:
            if self.finished.is_set():
                raise JobStopped("lease_lost")
            try:
                # Asking a key twice is safe (the server answers a repeat from what it stored), so retry.
                answer = with_retries(f"job {self.id}: ask '{key}'", lambda: self.worker.api.ask(self.id, self.token, body, self.traceparent),
                                      time.monotonic() + self.worker.lease_seconds, self.worker.log)
            except ApiError as error:
                if error.lease_lost:
                    self.mark_lease_lost(str(error))
                    raise JobStopped("lease_lost") from None
                raise
            prompt = answer.get("prompt") or {}
            if answer.get("waiting"):
                # The lease ended with the question: no more heartbeats, nothing more to send for this attempt.
                self.finished.set()
                self.prompts[key] = prompt
                raise JobWaiting(key, question)
            if prompt.get("answered_at") is not None:
                self.prompts[key] = prompt
                return prompt.get("answer")
            # Not waiting and no answer: the job ended instead (e.g. cancelled); it is not ours any more.
            self.finished.set()
            self.worker.log(f"job {self.id}: asking '{key}' ended the job ({answer.get('status')})")
            raise JobStopped("lease_lost")

    def observe(self, lease_answer: dict[str, Any]) -> None:
        if lease_answer.get("cancel_requested") and not self.cancel_requested.is_set():
            self.worker.log(f"job {self.id}: cancel requested; stopping")
            self.cancel_requested.set()
            self.stop.set()

    def mark_lease_lost(self, why: str) -> None:
        if not self.lease_lost.is_set():
            self.worker.log(f"job {self.id}: lease lost ({why}); dropping the job")
            self.lease_lost.set()
            self.stop.set()

    def request_shutdown(self) -> None:
        self.shutdown.set()
        self.stop.set()


Handler = Callable[[JobContext], Any]


def wordcount(job: JobContext) -> dict[str, Any]:
    """The demo handler for "demo.wordcount": counts the words of input.text in a few steps."""
    data = job.input if isinstance(job.input, dict) else {}
    if data.get("fail"):
        raise RuntimeError(str(data["fail"]))
    text = data.get("text", "")
    if not isinstance(text, str):
        raise TypeError("input.text must be a string")
    words = text.split()
    steps = max(1, min(int(data.get("steps", 4)), len(words) or 1))
    step_seconds = float(data.get("step_seconds", job.worker.demo_step_seconds))
    chunk = -(-len(words) // steps) if words else 0  # ceiling division
    counted = 0
    job.progress(fraction=0.0, stage="counting", message="starting", current=0, total=len(words))
    for step in range(steps):
        job.sleep(step_seconds)  # stand-in for real work; returns early when the job must stop
        counted = min(len(words), counted + chunk)
        job.progress(fraction=round((step + 1) / steps, 4), stage="counting",
                     message=f"step {step + 1} of {steps}", current=counted, total=len(words))
    return {"words": len(words), "characters": len(text)}


def review(job: JobContext) -> dict[str, Any]:
    """
    The demo handler for "demo.review": counts the words of input.text, asks a person "approve?" (yes or
    no) and completes with the count and the answer. The first run ends at the question (the job waits);
    the run after the answer counts again (cheap) and gets the answer from the ask at once.
    """
    data = job.input if isinstance(job.input, dict) else {}
    text = data.get("text", "")
    if not isinstance(text, str):
        raise TypeError("input.text must be a string")
    words = len(text.split())
    job.progress(fraction=0.5, stage="counting", message=f"{words} words", current=words, total=words)
    answer = job.ask("approve", f"The text has {words} words: approve?", options=["yes", "no"])
    approval = job.prompts.get("approve") or {}
    return {"words": words, "approve": answer, "approved_by": approval.get("answered_by")}


HANDLERS: dict[str, Handler] = {"demo.wordcount": wordcount, "demo.review": review}


# --------------------------------------------------------------------------------------------
# The worker


class Worker:
    def __init__(self, api: Api, worker_id: str, handlers: dict[str, Handler], max_jobs: int, lease_seconds: int,
                 wait_seconds: float, exit_when_idle: bool, shutdown_grace: float, demo_step_seconds: float):
        self.api = api
        self.worker_id = worker_id
        self.handlers = handlers
        self.types = sorted(handlers)
        self.max_jobs = max_jobs
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.exit_when_idle = exit_when_idle
        self.shutdown_grace = shutdown_grace
        self.demo_step_seconds = demo_step_seconds
        # The signal handler only records the signal's name: it runs on the main thread between any two
        # bytecodes, so taking a lock there (Event.set takes one) could deadlock with the code it interrupted.
        # The main thread turns it into `stopping`, checking at least every POLL seconds while it waits.
        self.stop_signal: str | None = None
        self.stopping = threading.Event()
        self.running: dict[str, JobContext] = {}
        self.threads: list[threading.Thread] = []
        self.slots = threading.Condition()
        self.counts = {"completed": 0, "failed": 0, "cancelled": 0, "released": 0, "dropped": 0, "waiting": 0}
        self._counts_lock = threading.Lock()
        self._log_lock = threading.Lock()

    def log(self, message: str) -> None:
        with self._log_lock:
            print(f"{time.strftime('%H:%M:%S')} [{self.worker_id}] {message}", file=sys.stderr, flush=True)

    def count(self, outcome: str) -> None:
        with self._counts_lock:
            self.counts[outcome] += 1

    def request_stop(self, signal_name: str) -> None:
        """Called from the signal handler: only records the name, so it cannot deadlock on a lock the main thread holds."""
        self.stop_signal = signal_name

    def stop_requested(self) -> bool:
        """True once a signal came (or the worker was told to stop otherwise)."""
        if self.stop_signal is not None and not self.stopping.is_set():
            self.stopping.set()
        return self.stopping.is_set()

    def pause(self, seconds: float) -> None:
        """Waits up to seconds, returning within POLL seconds of a signal."""
        deadline = time.monotonic() + seconds
        while not self.stop_requested():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, POLL))

    # ---- the claim loop

    def run(self) -> int:
        self.log(f"claiming {', '.join(self.types)} from {self.api.base} "
                 f"(max {self.max_jobs}, lease {self.lease_seconds} s, wait {self.wait_seconds:g} s)")
        exit_code = 0
        backoff = 0.5
        while not self.stop_requested():
            free = self.wait_for_free_slots()
            if free == 0:
                break
            try:
                # Long poll: the server answers as soon as a job is due, or with [] after wait_seconds.
                items = self.claim(free)
                backoff = 0.5
            except (ApiError, urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as error:
                if isinstance(error, ApiError) and not error.transient:
                    self.log(f"claim refused: {error}")
                    exit_code = 2
                    break
                if self.stop_requested():
                    break
                self.log(f"claim failed: {error}; retrying in {backoff:.1f} s")
                self.pause(backoff)
                backoff = min(backoff * 2, 10.0)
                continue

            if self.stop_requested():
                # Claimed while a signal arrived: give them straight back, the attempt not counted.
                for item in items:
                    self.release(item["id"], item["lease_token"], "shutting down", item.get("traceparent"))
                break
            if not items:
                if self.exit_when_idle:
                    self.log("no work after waiting; exiting once the running jobs are done")
                    break
                if self.wait_seconds == 0:
                    self.pause(1.0)  # no server-side wait: poll once a second
                continue
            self.log(f"claimed {len(items)} job(s)")
            for item in items:
                self.start(item)

        self.finish_running()
        self.log("stopped: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()))
        return exit_code

    def wait_for_free_slots(self) -> int:
        with self.slots:
            while len(self.running) >= self.max_jobs and not self.stop_requested():
                self.slots.wait(POLL)
            return 0 if self.stop_requested() else self.max_jobs - len(self.running)

    def claim(self, free: int) -> list[dict[str, Any]]:
        """
        The long poll, on a thread of its own while this (the main) thread waits for it in POLL-second steps, so a
        signal ends the wait at once rather than when the server answers (up to wait_seconds). Then the request is
        cut: the server sees the connection close and stops waiting, so it claims nothing for a worker that is gone.
        Jobs that arrived anyway are returned, and the caller releases them.
        """
        cancel = Cancel()
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def call() -> None:
            try:
                outcome["items"] = self.api.claim(self.worker_id, self.types, free, self.lease_seconds, self.wait_seconds, cancel)
            except BaseException as error:  # handed to the main thread
                outcome["error"] = error
            finally:
                done.set()

        thread = threading.Thread(target=call, name="claim", daemon=True)
        thread.start()
        while not done.wait(POLL):
            if self.stop_requested():
                cancel.cancel()
                done.wait(5)  # the cut request fails at once; only a server that stopped answering takes long
                break
        if "items" in outcome:
            return outcome["items"]
        if self.stop_requested():
            return []
        raise outcome.get("error") or TimeoutError("the claim did not end")

    def finish_running(self) -> None:
        """
        Waits for the running jobs. Once stopping (a signal, now or while waiting), they get the grace
        period to finish; then they are asked to stop, and each is released (queued again, attempt not counted).
        """
        deadline: float | None = None
        while True:
            if self.stop_requested() and deadline is None:
                deadline = time.monotonic() + self.shutdown_grace
                self.log(f"{self.stop_signal or 'stop'}: no more claims; {len(self.running)} running job(s) "
                         f"get {self.shutdown_grace:g} s to finish")
            with self.slots:
                if not self.running:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    deadline = float("inf")
                    self.log(f"grace period over: releasing {len(self.running)} job(s)")
                    for job in self.running.values():
                        job.request_shutdown()
                self.slots.wait(POLL)
        for thread in self.threads:
            thread.join(timeout=5)

    # ---- one job

    def start(self, item: dict[str, Any]) -> None:
        job = JobContext(self, item)
        with self.slots:
            self.running[job.id] = job
        thread = threading.Thread(target=self.run_job, args=(job,), name=f"job-{job.id}", daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()]
        self.threads.append(thread)
        thread.start()

    def run_job(self, job: JobContext) -> None:
        beat = threading.Thread(target=self.heartbeat_loop, args=(job,), name=f"heartbeat-{job.id}", daemon=True)
        beat.start()
        try:
            handler = self.handlers[job.type]
            self.log(f"job {job.id}: {job.type} attempt {job.attempt} started")
            try:
                result = handler(job)
            except JobWaiting as waiting:
                # Not a failure: the server holds the job until a person answers; this worker moves on.
                self.count("waiting")
                self.log(f"job {job.id}: {waiting}")
            except JobStopped as stopped:
                self.stopped(job, stopped.reason)
            except Exception as error:  # the handler failed: report it, with the traceback
                if job.stop_reason is not None:
                    self.stopped(job, job.stop_reason)
                else:
                    self.fail(job, error)
            else:
                try:
                    json.dumps(result)
                except (TypeError, ValueError) as error:
                    self.fail(job, TypeError(f"the handler's result cannot be sent as JSON: {error}"))
                else:
                    self.complete(job, result)
        finally:
            job.finished.set()
            job.stop.set()
            beat.join(timeout=5)
            with self.slots:
                self.running.pop(job.id, None)
                self.slots.notify_all()

    def heartbeat_loop(self, job: JobContext) -> None:
        interval = max(self.lease_seconds / 3.0, 0.2)
        while not job.finished.wait(interval):
            with job.lock:
                if job.finished.is_set():
                    return
                try:
                    answer = with_retries(f"job {job.id}: heartbeat",
                                          lambda: self.api.heartbeat(job.id, job.token, self.lease_seconds, job.traceparent),
                                          time.monotonic() + interval, self.log)
                except ApiError as error:
                    if error.lease_lost:
                        job.mark_lease_lost(str(error))
                        return
                    self.log(f"job {job.id}: heartbeat refused: {error}")
                except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as error:
                    self.log(f"job {job.id}: heartbeat failed: {error}; trying again")
                else:
                    job.observe(answer)

    def finish(self, job: JobContext, what: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        """Reports how the job ended (retrying transient errors for a while); None when the lease was lost."""
        with job.lock:
            job.finished.set()
            try:
                return with_retries(f"job {job.id}: {what}", call, time.monotonic() + self.lease_seconds, self.log)
            except ApiError as error:
                if error.lease_lost:
                    job.mark_lease_lost(str(error))
                    self.count("dropped")
                    return None
                self.log(f"job {job.id}: {what} refused: {error}")
                return None
            except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as error:
                self.log(f"job {job.id}: {what} not delivered: {error}; the lease will run out and the job come back")
                return None

    def complete(self, job: JobContext, result: Any) -> None:
        answer = self.finish(job, "complete", lambda: self.api.complete(job.id, job.token, result, job.traceparent))
        if answer is not None:
            self.count("completed")
            self.log(f"job {job.id}: {answer.get('status')}")

    def fail(self, job: JobContext, error: BaseException) -> None:
        trace = "".join(traceback.format_exception(error))
        body = {
            "message": (str(error) or type(error).__name__)[:2000],
            "code": "exception",
            "details": {
                "exception_type": type(error).__name__,
                "traceback": trace if len(trace) <= 20000 else "...\n" + trace[-20000:],
            },
        }
        answer = self.finish(job, "fail", lambda: self.api.fail(job.id, job.token, body, traceparent=job.traceparent))
        if answer is not None:
            self.count("failed")
            self.log(f"job {job.id}: failed ({body['message']}); now {answer.get('status')}, attempt {answer.get('attempt')}")

    def stopped(self, job: JobContext, reason: str) -> None:
        if reason == "lease_lost":
            job.finished.set()
            self.count("dropped")
            return
        # Cancelled (the server then ends it cancelled) or shutting down (queued again, attempt not counted).
        answer = self.finish(job, "release", lambda: self.api.release(job.id, job.token, job.traceparent))
        if answer is not None:
            self.count("cancelled" if reason == "cancelled" else "released")
            self.log(f"job {job.id}: stopped ({reason}); now {answer.get('status')}")

    def release(self, job_id: str, token: str, why: str, traceparent: str | None = None) -> None:
        try:
            with_retries(f"job {job_id}: release", lambda: self.api.release(job_id, token, traceparent),
                         time.monotonic() + self.lease_seconds, self.log)
            self.count("released")
            self.log(f"job {job_id}: released ({why})")
        except ApiError as error:
            self.log(f"job {job_id}: release refused: {error}")
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as error:
            self.log(f"job {job_id}: release not delivered: {error}")


# --------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A Jobkeeper external worker (Python standard library only).")
    parser.add_argument("--url", default=os.environ.get("JOBKEEPER_URL", "http://127.0.0.1:8080"),
                        help="the server's base URL (default: $JOBKEEPER_URL or http://127.0.0.1:8080)")
    parser.add_argument("--types", default="demo.wordcount",
                        help="comma-separated job types to claim; each needs a handler (default: demo.wordcount; "
                             "also demo.review)")
    parser.add_argument("--api-key", default=os.environ.get("JOBKEEPER_API_KEY"),
                        help="the API key to send as 'Authorization: Bearer <key>' (default: $JOBKEEPER_API_KEY); "
                             "needed when the server has keys (any server not on loopback); the key needs the 'work' role")
    parser.add_argument("--worker-id", default=f"{socket.gethostname()}-py-{os.getpid()}",
                        help="this worker's name, recorded as the lease owner (default: <host>-py-<pid>)")
    parser.add_argument("--max", type=int, default=4, help="jobs run at once, and the claim batch size (1-1000, default 4)")
    parser.add_argument("--lease-seconds", type=int, default=30,
                        help="lease per claim, renewed every third of it (1-3600, default 30)")
    parser.add_argument("--wait-seconds", type=float, default=20,
                        help="how long a claim waits for work on the server (0-30, default 20)")
    parser.add_argument("--exit-when-idle", action="store_true",
                        help="exit (after the running jobs) once a claim waited and got nothing")
    parser.add_argument("--shutdown-grace", type=float, default=10,
                        help="on SIGINT/SIGTERM, seconds running jobs may take before they are released (default 10)")
    parser.add_argument("--demo-step-seconds", type=float, default=0.2,
                        help="pause per step of the demo handler (default 0.2)")
    args = parser.parse_args(argv)
    if not 1 <= args.max <= 1000:
        parser.error("--max must be between 1 and 1000")
    if not 1 <= args.lease_seconds <= 3600:
        parser.error("--lease-seconds must be between 1 and 3600")
    if not 0 <= args.wait_seconds <= 30:
        parser.error("--wait-seconds must be between 0 and 30")
    args.types = [t.strip() for t in args.types.split(",") if t.strip()]
    if not args.types:
        parser.error("--types must name at least one job type")
    unknown = [t for t in args.types if t not in HANDLERS]
    if unknown:
        parser.error(f"no handler for {', '.join(unknown)} (known: {', '.join(sorted(HANDLERS))})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    worker = Worker(
        api=Api(args.url, args.api_key),
        worker_id=args.worker_id,
        handlers={t: HANDLERS[t] for t in args.types},
        max_jobs=args.max,
        lease_seconds=args.lease_seconds,
        wait_seconds=args.wait_seconds,
        exit_when_idle=args.exit_when_idle,
        shutdown_grace=args.shutdown_grace,
        demo_step_seconds=args.demo_step_seconds,
    )

    def on_signal(number: int, _frame: Any) -> None:
        worker.request_stop(signal.Signals(number).name)  # a second signal changes nothing: jobs are still released

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
