// The Worker against a real server: outcomes, lease loss, cancellation, questions, checkpoints, heartbeats,
// graceful stops, and trace context.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CancelledError,
  Client,
  JobStoppedError,
  traceIdOf,
  Worker,
  type FetchFunction,
  type Job,
  type JobOutcome,
  type WorkerJob,
  type WorkerOptions,
} from "jobkeeper";
import { connectShared, delay, eventually, startWorkerProcess, uniqueType, type SharedServer } from "./helpers.js";

let server: SharedServer;
let client: Client;
before(async () => ({ server, client } = await connectShared()));
after(async () => await server?.stop());

/** Runs a worker for the test's duration; always stopped, also when the test fails. */
async function withWorker<T>(options: WorkerOptions, handlers: Record<string, (job: WorkerJob<any>) => unknown>, body: (worker: Worker, settled: JobOutcome[]) => Promise<T>, workerClient = client): Promise<T> {
  const settled: JobOutcome[] = [];
  const worker = new Worker(workerClient, { waitSeconds: 2, ...options, onOutcome: (job) => settled.push(job) });
  worker.handle(handlers);
  const running = worker.run();
  try {
    return await body(worker, settled);
  } finally {
    await worker.stop();
    await running;
  }
}

const statusOf = async (id: string): Promise<Job> => client.get(id);
const finished = (id: string) => eventually(`job ${id} to finish`, async () => {
  const job = await statusOf(id);
  return ["completed", "failed", "cancelled"].includes(job.status) ? job : undefined;
});

describe("outcomes", () => {
  test("a handler's result completes the job; a map of handlers; at most `concurrency` at once", async () => {
    const a = uniqueType("map-a");
    const b = uniqueType("map-b");
    let active = 0;
    let most = 0;
    const slow = async (job: WorkerJob<{ n: number }>) => {
      active++;
      most = Math.max(most, active);
      await delay(100);
      active--;
      return { twice: job.input.n * 2 };
    };
    const jobs = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => client.create({ type: n % 2 ? a : b, input: { n } })));
    await withWorker({ concurrency: 2 }, { [a]: slow, [b]: slow }, async (_worker, settled) => {
      await eventually("every job completed", () => settled.filter((s) => s.outcome === "completed").length === 6 || undefined);
    });
    assert.ok(most <= 2, `at most 2 at once, saw ${most}`);
    for (const [index, job] of jobs.entries()) {
      const done = await statusOf(job.id);
      assert.equal(done.status, "completed");
      assert.deepEqual(done.result, { twice: (index + 1) * 2 });
    }
  });

  test("a handler that throws fails only that attempt, with the error, and the worker keeps running", async () => {
    const type = uniqueType("throws");
    class DecodeError extends Error {}
    const bad = await client.create({ type, max_attempts: 1, input: { fail: true } });
    const bigint = await client.create({ type, max_attempts: 1, input: { bigint: true } });
    await withWorker({ concurrency: 1 }, {
      [type]: (job: WorkerJob<{ fail?: boolean; bigint?: boolean }>) => {
        if (job.input.fail) throw new DecodeError("cannot decode a.mp3");
        if (job.input.bigint) return { n: 1n };
        return "fine";
      },
    }, async (worker) => {
      const failed = await finished(bad.id);
      assert.equal(failed.status, "failed");
      assert.equal(failed.error?.message, "cannot decode a.mp3");
      assert.equal(failed.error?.code, "exception");
      const details = failed.error?.details as { exception_type: string; stack: string };
      assert.equal(details.exception_type, "DecodeError");
      assert.match(details.stack, /cannot decode a\.mp3\n\s+at /);
      const unsendable = await finished(bigint.id);
      assert.equal(unsendable.status, "failed");
      assert.match(unsendable.error?.message ?? "", /cannot be sent as JSON/);
      // Still running: a job created after the failures completes.
      const later = await client.create({ type, input: {} });
      assert.equal((await finished(later.id)).status, "completed");
      assert.equal(worker.counts.failed, 2);
    });
  });
});

describe("leases", () => {
  test("a lost lease aborts the job's signal and the job is not completed", async () => {
    const type = uniqueType("lost");
    const job = await client.create({ type });
    let reason: unknown;
    await withWorker({ leaseSeconds: 3 }, {
      [type]: async (run: WorkerJob) => {
        await new Promise((resolve) => run.signal.addEventListener("abort", resolve, { once: true }));
        reason = run.signal.reason;
        assert.equal(run.stopReason, "lease_lost");
        return "should not be sent";
      },
    }, async (worker, settled) => {
      await eventually("the job to run", async () => (await statusOf(job.id)).status === "running");
      // Someone else takes the job over (here: an operator failing it by hand); the worker's lease is gone.
      await client.update(job.id, { status: "failed", error: { message: "taken over" } });
      await eventually("the worker to drop it", () => settled.find((s) => s.id === job.id && s.outcome === "dropped"));
      assert.equal(worker.counts.completed, 0);
    });
    assert.ok(reason instanceof JobStoppedError);
    assert.equal(reason.reason, "lease_lost");
    const events = await client.events(job.id);
    assert.ok(!events.some((e) => e.type === "status_changed" && (e.data as { to?: string }).to === "completed"));
    assert.equal((await statusOf(job.id)).status, "failed");
  });

  test("cut off from the server, the lease expires; the late completion is refused and the job runs once more", async () => {
    const type = uniqueType("partition");
    const job = await client.create({ type, max_attempts: 3 });
    let firstToken: string | undefined;
    // A fetch that loses every renewal of the first attempt, as a network partition would.
    const lossy: FetchFunction = (input, init) => {
      const body = typeof init.body === "string" ? init.body : "";
      if (firstToken && body.includes(firstToken) && /\/(heartbeat|progress)$/.test(input)) {
        return Promise.reject(new TypeError("fetch failed", { cause: { code: "ECONNRESET" } }));
      }
      return globalThis.fetch(input, init);
    };
    const partitioned = new Client({ baseUrl: server.url, fetch: lossy, ...(server.apiKey ? { apiKey: server.apiKey } : {}) });
    const attempts: number[] = [];
    await withWorker({ leaseSeconds: 2, concurrency: 2 }, {
      [type]: async (run: WorkerJob) => {
        attempts.push(run.attempt);
        if (run.attempt === 1) {
          firstToken = run.leaseToken;
          // Keep working until the server gave the job to a new attempt.
          await eventually("attempt 2", async () => (await statusOf(run.id)).attempt === 2, 20_000);
          return "late";
        }
        return "on time";
      },
    }, async (_worker, settled) => {
      await eventually("both attempts to settle", () => settled.length === 2 || undefined, 30_000);
      assert.deepEqual(settled.map((s) => [s.attempt, s.outcome]).sort(), [[1, "dropped"], [2, "completed"]]);
    }, partitioned);
    const done = await statusOf(job.id);
    assert.equal(done.status, "completed");
    assert.equal(done.result, "on time");
    const completions = (await client.events(job.id)).filter((e) => e.type === "status_changed" && (e.data as { to?: string }).to === "completed");
    assert.equal(completions.length, 1);
  });

  test("heartbeats keep a job alive beyond its lease", async () => {
    const type = uniqueType("heartbeat");
    const job = await client.create({ type, max_attempts: 1 });
    await withWorker({ leaseSeconds: 3 }, {
      [type]: async (run: WorkerJob) => {
        await run.sleep(8000); // well beyond the 3 s lease; only the heartbeats keep it
        return { attempt: run.attempt };
      },
    }, async () => {
      const done = await finished(job.id);
      assert.equal(done.status, "completed");
      assert.deepEqual(done.result, { attempt: 1 });
    });
    const events = await client.events(job.id);
    assert.ok(!events.some((e) => e.type === "lease_expired"), "the lease never expired");
    assert.equal(events.filter((e) => e.type === "status_changed" && (e.data as { to?: string }).to === "running").length, 1);
  });
});

describe("cancellation", () => {
  test("progress throws CancelledError; the flag and the signal say so; the job ends cancelled", async () => {
    const type = uniqueType("cancel");
    const job = await client.create({ type });
    const seen: { error?: unknown; flag?: boolean; aborted?: boolean } = {};
    await withWorker({ leaseSeconds: 30 }, {
      [type]: async (run: WorkerJob) => {
        try {
          for (let step = 0; ; step++) {
            await run.progress({ fraction: Math.min(step / 100, 1), stage: "work", current: step, total: 100 });
            await delay(50);
          }
        } catch (error) {
          Object.assign(seen, { error, flag: run.cancelled, aborted: run.signal.aborted });
          throw error;
        }
      },
    }, async (worker) => {
      await eventually("progress", async () => ((await statusOf(job.id)).progress?.current ?? 0) > 0);
      await client.cancel(job.id, { reason: "test" });
      assert.equal((await finished(job.id)).status, "cancelled");
      await eventually("the worker to count it", () => worker.counts.cancelled === 1);
    });
    assert.ok(seen.error instanceof CancelledError, String(seen.error));
    assert.equal(seen.flag, true);
    assert.equal(seen.aborted, true);
  });

  test("a handler that only watches its signal learns of the cancel from the heartbeat", async () => {
    const type = uniqueType("cancel-signal");
    const job = await client.create({ type });
    let reason: unknown;
    await withWorker({ leaseSeconds: 3 }, {
      [type]: async (run: WorkerJob) => {
        await new Promise((resolve) => run.signal.addEventListener("abort", resolve, { once: true }));
        reason = run.signal.reason;
        run.check(); // throws the CancelledError
      },
    }, async () => {
      await eventually("the job to run", async () => (await statusOf(job.id)).status === "running");
      await client.cancel(job.id);
      assert.equal((await finished(job.id)).status, "cancelled");
    });
    assert.ok(reason instanceof CancelledError);
  });
});

describe("questions and checkpoints", () => {
  test("ask ends the attempt; the answer reruns the job, which reads its checkpoint and completes with the answer", async () => {
    const type = uniqueType("ask");
    const job = await client.create({ type, input: { text: "to be or not to be" } });
    const runs: Array<{ attempt: number; checkpoint: unknown }> = [];
    let expensive = 0;
    await withWorker({}, {
      [type]: async (run: WorkerJob<{ text: string }>) => {
        runs.push({ attempt: run.attempt, checkpoint: run.lastCheckpoint });
        let counted = run.lastCheckpoint as { words: number } | undefined;
        if (!counted) {
          expensive++;
          counted = { words: run.input.text.split(" ").length };
          await run.checkpoint(counted);
        }
        const verdict = await run.ask("approve", `The text has ${counted.words} words: approve?`, { options: ["yes", "no"], expiresIn: 3600 });
        assert.deepEqual(run.answers, { approve: verdict });
        assert.equal(run.answer("approve"), verdict);
        assert.equal(run.answer("other", "none"), "none");
        return { words: counted.words, verdict, by: run.prompts["approve"]?.answered_by };
      },
    }, async (worker) => {
      const open = await eventually("the question", () => client.prompt(job.id).then((p) => p ?? undefined));
      assert.equal(open.key, "approve");
      assert.equal((await statusOf(job.id)).status, "waiting");
      // The server shows the question a moment before the worker has read the ask's answer.
      await eventually("the worker to count the attempt as waiting", () => worker.counts.waiting === 1 || undefined);
      assert.equal(worker.active, 0, "a waiting job holds no slot");
      await client.answer(job.id, "yes", { answeredBy: "alice" });
      const done = await client.wait(job.id, { timeoutMs: 15_000 });
      assert.equal(done.status, "completed");
      assert.deepEqual(done.result, { words: 6, verdict: "yes", by: "alice" });
    });
    assert.equal(expensive, 1, "the work before the question ran once");
    assert.deepEqual(runs, [
      { attempt: 1, checkpoint: undefined },
      { attempt: 1, checkpoint: { words: 6 } },
    ]);
  });
});

describe("stopping", () => {
  for (const transport of ["node:http", "fetch"] as const) {
    test(`stop() of an idle worker cuts its long poll at once (${transport})`, async () => {
      let claims = 0;
      let claiming = false;
      const counting = new Client({
        baseUrl: server.url,
        ...(transport === "fetch"
          ? {
              fetch: (input: string, init: RequestInit) => {
                if (input.endsWith("/workers/claim")) claims++;
                return globalThis.fetch(input, init);
              },
            }
          : {}),
        ...(server.apiKey ? { apiKey: server.apiKey } : {}),
      });
      const worker = new Worker(counting, { waitSeconds: 20, log: (line) => (claiming ||= line.startsWith("claiming")) });
      worker.handle(uniqueType("idle"), () => null);
      const running = worker.run();
      // With fetch the test sees the claim go out; over node:http it sees the worker start claiming. Either way a
      // claim that is not cut keeps the worker for its 20 s wait.
      await eventually("the long poll to be sent", () => (transport === "fetch" ? claims === 1 : claiming) || undefined);
      const started = Date.now();
      await worker.stop();
      await running;
      assert.ok(Date.now() - started < 1500, `stopped in ${Date.now() - started} ms`);
    });
  }

  test("SIGTERM: no more claims, running jobs get the grace period, the rest are released", async () => {
    const type = uniqueType("sigterm");
    const quick = await client.create({ type, input: { ms: 700 }, priority: 3 });
    const stuck1 = await client.create({ type, input: { forever: true }, priority: 2 });
    const stuck2 = await client.create({ type, input: { forever: true }, priority: 2 });
    const waiting = await client.create({ type, input: { ms: 0 }, priority: 1 });
    const worker = startWorkerProcess({ JK_URL: server.url, JK_TYPE: type, JK_MODE: "shutdown", JK_CONCURRENCY: "3", JK_GRACE_MS: "2500", JK_WAIT: "20", ...(server.apiKey ? { JOBKEEPER_API_KEY: server.apiKey } : {}) });
    try {
      await eventually("three jobs started", () => worker.lines.filter((l) => l["started"]).length === 3 || undefined, 20_000);
      const stoppedAt = Date.now();
      worker.child.kill("SIGTERM");
      const code = await worker.exited(20_000);
      assert.equal(code, 0, worker.stderr());
      const took = Date.now() - stoppedAt;
      assert.ok(took >= 2000 && took < 15_000, `exited ${took} ms after SIGTERM (grace 2.5 s)`);
    } finally {
      worker.child.kill("SIGKILL");
    }
    assert.equal((await statusOf(quick.id)).status, "completed", "finished within the grace period");
    for (const stuck of [stuck1, stuck2]) {
      const job = await statusOf(stuck.id);
      assert.equal(job.status, "queued", "released: queued again at once");
      assert.equal(job.attempt, 1, "the attempt not counted");
      assert.ok((await client.events(stuck.id)).some((e) => e.type === "released"));
    }
    const untouched = await statusOf(waiting.id);
    assert.equal(untouched.status, "queued");
    assert.equal(untouched.started_at, null, "not claimed after the stop, though a slot freed up");
    const outcomes = worker.lines.filter((l) => l["settled"]).map((l) => l["outcome"]).sort();
    assert.deepEqual(outcomes, ["completed", "released", "released"]);
    for (const job of [stuck1, stuck2, waiting]) await client.cancel(job.id); // leave nothing for other tests
  });
});

describe("trace context", () => {
  test("jobs created inside a handler share the handler job's trace id (ambient and job.client)", async () => {
    const type = uniqueType("trace");
    const childType = uniqueType("trace-child");
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const parent = await client.create({ type }, { traceparent });
    assert.equal(traceIdOf(parent.traceparent), "4bf92f3577b34da6a3ce929d0e0e4736", "the create carried the call's traceparent");
    const made: Job[] = [];
    const headers: Array<{ url: string; traceparent: string | undefined }> = [];
    const recording: FetchFunction = (input, init) => {
      headers.push({ url: input, traceparent: (init.headers as Record<string, string>)["traceparent"] });
      return globalThis.fetch(input, init);
    };
    const recorded = new Client({ baseUrl: server.url, fetch: recording, ...(server.apiKey ? { apiKey: server.apiKey } : {}) });
    await withWorker({ leaseSeconds: 3 }, {
      [type]: async (run: WorkerJob) => {
        made.push(await client.create({ type: childType })); // the plain client: the job's trace from the ambient context
        made.push(await run.client.create({ type: childType })); // the job's own client
        await run.progress({ stage: "children made" });
        await run.sleep(1500); // long enough for a heartbeat
        return null;
      },
    }, async () => {
      assert.equal((await finished(parent.id)).status, "completed");
    }, recorded);
    assert.equal(made.length, 2);
    for (const child of made) assert.equal(traceIdOf(child.traceparent), "4bf92f3577b34da6a3ce929d0e0e4736");
    // Every call of the worker about the job carried the job's traceparent.
    const about = headers.filter((h) => h.url.includes(`/jobs/${parent.id}/`));
    const routes = new Set(about.map((h) => h.url.split("/").at(-1)));
    assert.ok(routes.has("heartbeat") && routes.has("progress") && routes.has("complete"), [...routes].join(","));
    for (const h of about) assert.equal(h.traceparent, parent.traceparent, h.url);
    // Outside any handler, a call carries no job's trace.
    const outside = await client.create({ type: childType });
    assert.notEqual(traceIdOf(outside.traceparent), "4bf92f3577b34da6a3ce929d0e0e4736");
  });

  test("the traceContext hook supplies the caller's trace; a call's own traceparent wins", async () => {
    const fromHook = "00-11111111111111111111111111111111-2222222222222222-01";
    const traced = new Client({ baseUrl: server.url, traceContext: () => fromHook, ...(server.apiKey ? { apiKey: server.apiKey } : {}) });
    const a = await traced.create({ type: uniqueType("hook") });
    assert.equal(traceIdOf(a.traceparent), "11111111111111111111111111111111");
    const b = await traced.create({ type: uniqueType("hook") }, { traceparent: "00-33333333333333333333333333333333-4444444444444444-01" });
    assert.equal(traceIdOf(b.traceparent), "33333333333333333333333333333333");
    const broken = new Client({ baseUrl: server.url, traceContext: () => { throw new Error("tracer down"); }, ...(server.apiKey ? { apiKey: server.apiKey } : {}) });
    assert.equal((await broken.create({ type: uniqueType("hook") })).status, "queued", "a broken hook does not break calls");
  });
});

describe("queues", () => {
  test("a worker by queue takes every type in it; a type without a handler fails with the reason", async () => {
    const queue = `ts-wq-${Date.now().toString(36)}`;
    const known = uniqueType("inqueue");
    const unknown = uniqueType("nohandler");
    const a = await client.create({ type: known, queue });
    const b = await client.create({ type: unknown, queue, max_attempts: 1 });
    const elsewhere = await client.create({ type: known });
    await withWorker({ queues: [queue] }, { [known]: () => "ok" }, async () => {
      assert.equal((await finished(a.id)).status, "completed");
      const failed = await finished(b.id);
      assert.equal(failed.status, "failed");
      assert.match(failed.error?.message ?? "", /no handler for job type/);
    });
    assert.equal((await statusOf(elsewhere.id)).status, "queued", "a job in another queue is not taken");
    await client.cancel(elsewhere.id);
  });
});
