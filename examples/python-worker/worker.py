#!/usr/bin/env python3
"""An external Jobkeeper worker in Python, on the `jobkeeper` package (clients/python, standard library only).

The package does the worker's part: it claims jobs in batches with a long poll, runs the handler of each job's
type on a thread pool, renews every lease a third into it, reports how each job ended (a handler's exception
with its traceback), drops a job whose lease was lost, lets a handler ask a person (the job then waits on the
server, holding no worker), and on SIGINT or SIGTERM stops claiming at once, gives running jobs a grace period
and releases the rest. This file holds the demo handlers and the command line.

    python3 worker.py --url http://127.0.0.1:8080 --types demo.wordcount
    JOBKEEPER_API_KEY=jk_... python3 worker.py --url https://jobs.example.com

See README.md in this folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from typing import Any, Callable, Dict, List, Optional

try:
    import jobkeeper
except ImportError:  # run from a checkout: use the package's source beside this example
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python", "src"))
    import jobkeeper

# The pause per step of the demo handlers (--demo-step-seconds); a job's input.step_seconds overrides it.
demo_step_seconds = 0.2


def wordcount(job: jobkeeper.WorkerJob) -> Dict[str, Any]:
    """demo.wordcount: counts the words of input.text in a few steps (input.steps, default 4), reporting progress;
    input.fail makes it raise with that message."""
    data = job.input if isinstance(job.input, dict) else {}
    if data.get("fail"):
        raise RuntimeError(str(data["fail"]))
    text = data.get("text", "")
    if not isinstance(text, str):
        raise TypeError("input.text must be a string")
    words = text.split()
    steps = max(1, min(int(data.get("steps", 4)), len(words) or 1))
    step_seconds = float(data.get("step_seconds", demo_step_seconds))
    chunk = -(-len(words) // steps) if words else 0  # ceiling division
    counted = 0
    job.progress(fraction=0.0, stage="counting", message="starting", current=0, total=len(words))
    for step in range(steps):
        job.sleep(step_seconds)  # stand-in for real work; raises jobkeeper.Cancelled when the job must stop
        counted = min(len(words), counted + chunk)
        job.progress(fraction=round((step + 1) / steps, 4), stage="counting",
                     message=f"step {step + 1} of {steps}", current=counted, total=len(words))
    return {"words": len(words), "characters": len(text)}


def review(job: jobkeeper.WorkerJob) -> Dict[str, Any]:
    """demo.review: counts the words of input.text, asks a person "approve?" (yes or no) and completes with the
    count and the answer. The first run ends at the question (the job waits); the run after the answer counts
    again (cheap) and gets the answer from the ask at once."""
    data = job.input if isinstance(job.input, dict) else {}
    text = data.get("text", "")
    if not isinstance(text, str):
        raise TypeError("input.text must be a string")
    words = len(text.split())
    job.progress(fraction=0.5, stage="counting", message=f"{words} words", current=words, total=words)
    answer = job.ask("approve", f"The text has {words} words: approve?", options=["yes", "no"])
    approval = job.prompts.get("approve")
    return {"words": words, "approve": answer, "approved_by": approval.answered_by if approval else None}


def resumable(job: jobkeeper.WorkerJob) -> Dict[str, Any]:
    """demo.resumable: sums input.numbers one step at a time, saving a checkpoint after each step, so a run after
    a crash or a release goes on from the last checkpoint instead of starting over."""
    data = job.input if isinstance(job.input, dict) else {}
    numbers: List[float] = list(data.get("numbers", []))
    state = job.last_checkpoint if isinstance(job.last_checkpoint, dict) else {"next": 0, "sum": 0}
    step_seconds = float(data.get("step_seconds", demo_step_seconds))
    for index in range(int(state["next"]), len(numbers)):
        job.sleep(step_seconds)
        state = {"next": index + 1, "sum": state["sum"] + numbers[index]}
        job.checkpoint(state)
        job.progress(fraction=round((index + 1) / len(numbers), 4), stage="summing", current=index + 1, total=len(numbers))
    return {"sum": state["sum"], "resumed_from": (job.item.checkpoint or {}).get("next", 0)}


HANDLERS: Dict[str, Callable[[jobkeeper.WorkerJob], Any]] = {
    "demo.wordcount": wordcount,
    "demo.review": review,
    "demo.resumable": resumable,
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A Jobkeeper external worker on the jobkeeper package.")
    parser.add_argument("--url", default=os.environ.get("JOBKEEPER_URL", "http://127.0.0.1:8080"),
                        help="the server's base URL (default: $JOBKEEPER_URL or http://127.0.0.1:8080)")
    parser.add_argument("--types", default="demo.wordcount",
                        help=f"comma-separated job types to claim; each needs a handler (default: demo.wordcount; "
                             f"known: {', '.join(sorted(HANDLERS))})")
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
                        help="pause per step of the demo handlers (default 0.2)")
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


def main(argv: Optional[List[str]] = None) -> int:
    global demo_step_seconds
    args = parse_args(argv)
    demo_step_seconds = args.demo_step_seconds
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format=f"%(asctime)s [{args.worker_id}] %(message)s", datefmt="%H:%M:%S")
    try:
        client = jobkeeper.Client(args.url, args.api_key or None)
    except jobkeeper.InvalidBaseUrlError as error:
        logging.error("%s", error)
        return 2
    worker = jobkeeper.Worker(client, args.types, concurrency=args.max, lease_seconds=args.lease_seconds,
                              wait_seconds=args.wait_seconds, worker_id=args.worker_id,
                              shutdown_grace=args.shutdown_grace, handlers={t: HANDLERS[t] for t in args.types})
    try:
        # SIGINT and SIGTERM stop it gracefully (handled by the worker, which runs on the main thread).
        worker.run(exit_when_idle=args.exit_when_idle)
    except (jobkeeper.ProblemError, jobkeeper.NotJobkeeperError):
        return 2  # the claim was refused for good (logged as "claim refused: ..."): a wrong key, URL or role
    finally:
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
