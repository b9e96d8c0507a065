"""A worker process for the tests that need one (signals, SIGKILL): the package's Worker with test handlers.

    python3 worker_process.py URL TYPE --mode sleep|e2e [--concurrency N] [--lease-seconds S] [--grace S]
        [--wait-seconds S] [--log FILE] [--worker-id ID]

Modes: ``sleep`` sleeps ``input.seconds`` (reporting progress each second); ``e2e`` appends ``start <id>`` to
the log as a run starts, sleeps ``input.seconds``, asks ``input.ask`` when the job has one, and the worker
appends ``ack <id> <outcome>`` once the server acknowledged how the job ended.
"""

import argparse
import logging
import os
import sys
import threading

import jobkeeper


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("type")
    parser.add_argument("--mode", default="sleep")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--lease-seconds", type=int, default=30)
    parser.add_argument("--wait-seconds", type=float, default=1)
    parser.add_argument("--grace", type=float, default=10)
    parser.add_argument("--log", default=None)
    parser.add_argument("--worker-id", default=None)
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(message)s")
    log_lock = threading.Lock()
    log_fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if args.log else None

    def note(line: str) -> None:
        if log_fd is not None:
            with log_lock:
                os.write(log_fd, (line + "\n").encode("utf-8"))  # one write per line: whole lines survive a SIGKILL

    def sleeper(job: jobkeeper.WorkerJob) -> dict:
        seconds = float(job.input.get("seconds", 0))
        done = 0.0
        job.progress(fraction=0.0, stage="sleeping", current=0, total=int(seconds))
        while done < seconds:
            step = min(1.0, seconds - done)
            job.sleep(step)
            done += step
            job.progress(fraction=done / seconds, stage="sleeping", current=int(done), total=int(seconds))
        return {"slept": seconds}

    def e2e(job: jobkeeper.WorkerJob) -> dict:
        note(f"start {job.id} {job.attempt}")
        job.sleep(float(job.input.get("seconds", 0)))
        answer = job.ask("go", job.input["ask"], options=["yes", "no"]) if job.input.get("ask") else None
        return {"n": job.input.get("n"), "answer": answer}

    def on_outcome(job: jobkeeper.WorkerJob, outcome: str) -> None:
        note(f"ack {job.id} {outcome}")

    client = jobkeeper.Client(args.url)
    worker = jobkeeper.Worker(client, [args.type], concurrency=args.concurrency, lease_seconds=args.lease_seconds,
                              wait_seconds=args.wait_seconds, shutdown_grace=args.grace, worker_id=args.worker_id,
                              handlers={args.type: e2e if args.mode == "e2e" else sleeper}, on_outcome=on_outcome)
    worker.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
