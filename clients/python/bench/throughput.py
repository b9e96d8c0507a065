#!/usr/bin/env python3
"""Throughput of the package's Worker: creates N no-op jobs (batch creates), runs a Worker with batch claims until
every one is completed, and prints jobs/s.

    python3 clients/python/bench/throughput.py --url http://127.0.0.1:8080 --jobs 20000 --concurrency 16

Run it against a server of its own (the jobs stay in its database; their type is unique per run).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid

try:
    import jobkeeper
except ImportError:  # run from a checkout without installing the package
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    import jobkeeper


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("JOBKEEPER_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--api-key", default=os.environ.get("JOBKEEPER_API_KEY"))
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--lease-seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=2000,
                        help="no-op jobs run first, untimed, so a fresh server has compiled its hot paths (default 2000)")
    parser.add_argument("--prefetch", type=int, default=256,
                        help="claimed jobs that may wait for a free thread (the Worker option; default 256)")
    args = parser.parse_args()

    client = jobkeeper.Client(args.url, args.api_key)
    job_type = f"bench.noop.{uuid.uuid4().hex[:8]}"
    if args.warmup > 0:
        warmup_type = job_type + ".warmup"
        client.create_many([jobkeeper.NewJob(warmup_type) for _ in range(min(args.warmup, 10000))])
        jobkeeper.Worker(client, [warmup_type], concurrency=args.concurrency, prefetch=args.prefetch, wait_seconds=0.5,
                         handlers={warmup_type: lambda job: None}).run(exit_when_idle=True, handle_signals=False)
    started = time.perf_counter()
    for start in range(0, args.jobs, 5000):
        count = min(5000, args.jobs - start)
        result = client.create_many([jobkeeper.NewJob(job_type) for _ in range(count)])
        if result.created != count:
            print(f"created {result.created} of {count}", file=sys.stderr)
            return 1
    created_in = time.perf_counter() - started

    done = threading.Event()
    completed = 0
    lock = threading.Lock()

    def counted(_job: jobkeeper.WorkerJob, outcome: str) -> None:
        nonlocal completed
        if outcome == "completed":
            with lock:
                completed += 1
                if completed >= args.jobs:
                    done.set()

    worker = jobkeeper.Worker(client, [job_type], concurrency=args.concurrency, prefetch=args.prefetch, lease_seconds=args.lease_seconds,
                              wait_seconds=1, worker_id="bench", on_outcome=counted)
    worker.handlers[job_type] = lambda job: None
    runner = threading.Thread(target=worker.run, kwargs={"handle_signals": False})
    cpu_started = time.process_time()
    started = time.perf_counter()
    runner.start()
    done.wait()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    worker.stop()
    runner.join()
    print(f"created {args.jobs} jobs in {created_in:.2f} s ({args.jobs / created_in:,.0f} jobs/s, batches of 5,000)")
    print(f"completed {completed} jobs in {elapsed:.2f} s: {completed / elapsed:,.0f} jobs/s "
          f"(concurrency {args.concurrency}, prefetch {args.prefetch}; worker CPU {cpu / completed * 1e6:.0f} µs/job)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
