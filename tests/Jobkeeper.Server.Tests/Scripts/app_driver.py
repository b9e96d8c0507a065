"""An application that drives its own jobs over HTTP, the way the original apps did with their job
dictionaries: it sets each job running itself and keeps updating its progress, with no worker protocol.

    python3 app_driver.py BASE_URL LEASE_SECONDS JOB_ID...

Prints "running <id>" once each job is set running, then "ack <id> <fraction>" for every update the server
acknowledged. The tests kill it with SIGKILL and check that the server recovers its jobs after the lease.
"""
import json
import sys
import time
import urllib.request


def patch(base, job_id, body):
    request = urllib.request.Request(
        f"{base}/api/v1/jobs/{job_id}", data=json.dumps(body).encode(), method="PATCH",
        headers={"Content-Type": "application/json", "X-Actor": "driver-app"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def main():
    base, lease, ids = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3:]
    for job_id in ids:
        patch(base, job_id, {"status": "running", "lease_seconds": lease})
        print(f"running {job_id}", flush=True)
    step = 0
    while True:
        time.sleep(lease / 3)
        step += 1
        for job_id in ids:
            fraction = min(step / 1000, 1.0)
            patch(base, job_id, {"progress": {"fraction": fraction, "stage": f"step {step}"}})
            print(f"ack {job_id} {fraction}", flush=True)


if __name__ == "__main__":
    main()
