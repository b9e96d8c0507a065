// Every Client method against a real server.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  AnswerRejectedError,
  Client,
  ConflictError,
  JobkeeperAbortError,
  JobkeeperTimeoutError,
  LeaseLostError,
  NotFoundError,
  PreconditionFailedError,
  ValidationError,
  type Job,
  type StreamEvent,
} from "jobkeeper";
import { connectShared, eventually, uniqueType, type SharedServer } from "./helpers.js";

let server: SharedServer;
let client: Client;
before(async () => ({ server, client } = await connectShared()));
after(async () => await server?.stop());

/** Claims the one queued job of `type` under a short lease. */
async function claimOne(type: string, leaseSeconds = 30) {
  const [item] = await client.claim({ worker_id: "test-claimer", types: [type], max: 1, lease_seconds: leaseSeconds });
  assert.ok(item, `a job of ${type} to claim`);
  return item;
}

describe("jobs", () => {
  test("create, get, and the create's fields", async () => {
    const type = uniqueType("create");
    const job = await client.create({
      type,
      queue: "ts-tests",
      input: { file: "a.mp3" },
      labels: { episode: "42" },
      priority: 5,
      max_attempts: 2,
      run_at: new Date(Date.now() - 1000).toISOString(),
    });
    assert.equal(job.type, type);
    assert.equal(job.status, "queued");
    assert.equal(job.existing, false);
    assert.equal(job.queue, "ts-tests");
    assert.deepEqual(job.input, { file: "a.mp3" });
    assert.deepEqual(job.labels, { episode: "42" });
    assert.equal(job.priority, 5);
    assert.equal(job.max_attempts, 2);
    const read = await client.get(job.id);
    assert.equal(read.id, job.id);
    assert.equal(read.version, job.version);
  });

  test("a given id twice is ConflictError (duplicate-id)", async () => {
    const id = `ts-${uniqueType("dup").replaceAll(".", "-")}`;
    await client.create({ type: uniqueType("dup"), id });
    const error = await client.create({ type: "x", id }).catch((e: unknown) => e);
    assert.ok(error instanceof ConflictError, String(error));
    assert.equal(error.kind, "duplicate-id");
    assert.equal(error.status, 409);
  });

  test("unique_key: the second create answers the first job with existing: true", async () => {
    const type = uniqueType("unique");
    const key = `${type}:2026-12-07`;
    const first = await client.create({ type, unique_key: key, input: { n: 1 } });
    const second = await client.create({ type, unique_key: key, input: { n: 2 } });
    assert.equal(first.existing, false);
    assert.equal(second.existing, true);
    assert.equal(second.id, first.id);
    assert.equal(second.unique_key, key);
    assert.deepEqual(second.input, { n: 1 });
  });

  test("idempotencyKey: sent again, the same job comes back (Jobkeeper-Existing)", async () => {
    const type = uniqueType("idem");
    const key = `idem-${type}`;
    const first = await client.create({ type }, { idempotencyKey: key });
    const again = await client.create({ type }, { idempotencyKey: key });
    assert.equal(first.existing, false);
    assert.equal(again.existing, true);
    assert.equal(again.id, first.id);
    assert.equal(again.unique_key, key);
  });

  test("createMany answers per item: created, existing, duplicate_id, invalid", async () => {
    const type = uniqueType("batch");
    const id = `batch-${type.replaceAll(".", "-")}`;
    const answer = await client.createMany([
      { type, id },
      { type, unique_key: `${type}:k` },
      { type, unique_key: `${type}:k` },
      { type, id },
      { type: "" },
    ]);
    assert.equal(answer.created, 2);
    assert.deepEqual(
      answer.items.map((i) => i.outcome),
      ["created", "created", "existing", "duplicate_id", "invalid"],
    );
    assert.equal(answer.items[4]?.field, "jobs[4].type");
  });

  test("bad input is ValidationError naming the field", async () => {
    const error = await client.create({ type: "x", priority: "high" as unknown as number }).catch((e: unknown) => e);
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.status, 400);
    assert.ok(error.errors?.["priority"], JSON.stringify(error.problem));
    assert.ok(error.traceId, "the problem's trace_id is kept");
  });

  test("get of a missing job is NotFoundError (job-not-found); find answers null", async () => {
    const error = await client.get("no-such-job-" + Date.now()).catch((e: unknown) => e);
    assert.ok(error instanceof NotFoundError, String(error));
    assert.equal(error.kind, "job-not-found");
    assert.equal(await client.find("no-such-job-" + Date.now()), null);
    const job = await client.create({ type: uniqueType("find") });
    assert.equal((await client.find(job.id))?.id, job.id);
  });

  test("update merges, If-Match is compare-and-set (412 PreconditionFailedError)", async () => {
    const job = await client.create({ type: uniqueType("update"), labels: { a: "1" } });
    const updated = await client.update(job.id, { labels: { b: "2" }, progress: { fraction: 0.5, stage: "encode" } }, { ifMatch: job.version, actor: "Łukasz", reason: "test" });
    assert.deepEqual(updated.labels, { a: "1", b: "2" });
    assert.equal(updated.progress?.stage, "encode");
    assert.equal(updated.version, job.version + 1);
    const stale = await client.update(job.id, { labels: { c: "3" } }, { ifMatch: job.version }).catch((e: unknown) => e);
    assert.ok(stale instanceof PreconditionFailedError, String(stale));
    assert.equal(stale.currentVersion, updated.version);
    const events = await client.events(job.id);
    const change = events.find((e) => e.version === updated.version);
    assert.equal(change?.reason, "test");
    assert.equal(change?.actor, "Łukasz"); // an open server takes X-Actor as the actor, percent-decoded
  });

  test("an illegal move is ConflictError (invalid-transition)", async () => {
    const job = await client.create({ type: uniqueType("illegal") });
    const error = await client.update(job.id, { status: "waiting" }).catch((e: unknown) => e);
    assert.ok(error instanceof ConflictError, String(error));
    assert.ok(!(error instanceof LeaseLostError));
  });

  test("delete removes the job", async () => {
    const job = await client.create({ type: uniqueType("delete") });
    await client.delete(job.id, { reason: "test" });
    await assert.rejects(client.get(job.id), NotFoundError);
    await assert.rejects(client.delete(job.id), NotFoundError);
  });

  test("list follows the cursor through every page, with the filters", async () => {
    const type = uniqueType("list");
    const made: Job[] = [];
    for (let i = 0; i < 5; i++) made.push(await client.create({ type, labels: { n: String(i), parity: i % 2 ? "odd" : "even" } }));
    const all: Job[] = [];
    for await (const job of client.list({ type, pageSize: 2 })) all.push(job);
    assert.deepEqual(
      all.map((j) => j.id),
      made.map((j) => j.id).reverse(),
      "newest first, every page",
    );
    const odd: string[] = [];
    for await (const job of client.list({ type, label: { parity: "odd" }, status: ["queued", "running"] })) odd.push(job.id);
    assert.deepEqual(odd, [made[3]!.id, made[1]!.id]);
    const none: Job[] = [];
    for await (const job of client.list({ type, status: "completed" })) none.push(job);
    assert.equal(none.length, 0);
    const since: Job[] = [];
    for await (const job of client.list({ type, label: "n:4", createdAfter: made[4]!.created_at, createdBefore: new Date(Date.now() + 60_000) })) since.push(job);
    assert.deepEqual(
      since.map((j) => j.id),
      [made[4]!.id],
    );
    const oldest: string[] = [];
    for await (const job of client.list({ type, pageSize: 2, sort: "created" })) oldest.push(job.id);
    assert.deepEqual(oldest, all.map((j) => j.id).reverse());
    const page = await client.listPage({ type, limit: 3 });
    assert.equal(page.items.length, 3);
    assert.ok(page.next_cursor);
    const rest = await client.listPage({ type, limit: 3, cursor: page.next_cursor });
    assert.equal(rest.items.length, 2);
    assert.equal(rest.next_cursor, null);
    const byQueue = await client.listPage({ queue: "no-such-queue-" + Date.now() });
    assert.equal(byQueue.items.length, 0);
  });

  test("cancel and retry", async () => {
    const job = await client.create({ type: uniqueType("cancel") });
    const cancelled = await client.cancel(job.id, { actor: "ops", reason: "customer asked" });
    assert.equal(cancelled.status, "cancelled");
    const again = await client.cancel(job.id);
    assert.equal(again.status, "cancelled", "cancelling a cancelled job changes nothing");
    const retried = await client.retry(job.id);
    assert.equal(retried.status, "queued");
    assert.equal(retried.attempt, 2);
    await assert.rejects(client.retry(job.id), ConflictError);
  });

  test("events reads the whole history, paging with after", async () => {
    const job = await client.create({ type: uniqueType("events") });
    for (let i = 0; i < 4; i++) await client.update(job.id, { labels: { i: String(i) } });
    const events = await client.events(job.id, { pageSize: 2 });
    assert.equal(events[0]?.type, "created");
    assert.equal(events.length, 5);
    const later = await client.events(job.id, { after: events[2]!.id! });
    assert.deepEqual(
      later.map((e) => e.id),
      events.slice(3).map((e) => e.id),
    );
  });

  test("bulk counts, then changes every matching job; an empty filter is refused", async () => {
    const type = uniqueType("bulk");
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) ids.push((await client.create({ type, input: { n } })).id);
    const dry = await client.bulk("cancel", { type, status: "queued", dryRun: true });
    assert.deepEqual([dry.action, dry.dry_run, dry.matched, dry.changed], ["cancel", true, 5, 0]);
    const done = await client.bulk("cancel", { type, actor: "tester", reason: "tidy up" });
    assert.deepEqual([done.matched, done.changed, done.skipped], [5, 5, 0]);
    for (const id of ids) assert.equal((await client.get(id)).status, "cancelled");
    const again = await client.bulk("retry", { type, status: ["cancelled"] });
    assert.equal(again.changed, 5);
    const word = `w${uniqueType("s").replace(/[^a-z0-9]/g, "")}`;
    await client.update(ids[2]!, { labels: { tag: word } });
    // The search index catches up within about half a second.
    await eventually("the search to find the job", async () => {
      const found: string[] = [];
      for await (const job of client.list({ q: word.toUpperCase() })) found.push(job.id);
      return found.length === 1 && found[0] === ids[2];
    }, 30_000);
    assert.equal((await client.bulk("cancel", { q: word })).changed, 1);
    await assert.rejects(client.bulk("delete"), ValidationError);
  });

  test("workers: an HTTP worker with the job it holds and what it completed", async () => {
    const type = uniqueType("workers");
    const worker = `ts-${uniqueType("w").replaceAll(".", "-")}`.slice(0, 40);
    await client.create({ type });
    await client.create({ type });
    const [first] = await client.claim({ worker_id: worker, types: [type], max: 1 });
    await client.complete(first!.id, { lease_token: first!.lease_token });
    const [held] = await client.claim({ worker_id: worker, types: [type], max: 1 });
    const seen = await eventually("the worker with its completed job", async () => {
      const found = (await client.workers({ withinSeconds: 600 })).find((w) => w.worker_id === worker);
      return found && found.completed_last_5_minutes === 1 ? found : undefined;
    }, 30_000);
    assert.equal(seen.kind, "http");
    assert.equal(seen.running, 1);
    assert.equal(seen.jobs[0]!.id, held!.id);
    await assert.rejects(client.workers({ withinSeconds: 0 }), ValidationError);
  });

  test("cleanup and health", async () => {
    const health = await client.health();
    assert.equal(health.status, "ok");
    assert.equal(typeof health.store.provider, "string");
    const cleanup = await client.cleanup(3650);
    assert.equal(cleanup.retention_days, 3650);
    assert.equal(typeof cleanup.deleted_count, "number");
    await assert.rejects(client.cleanup(-1), ValidationError);
  });
});

describe("the worker protocol (low-level calls)", () => {
  test("claim, heartbeat, progress, checkpoint, complete", async () => {
    const type = uniqueType("protocol");
    const job = await client.create({ type, input: { x: 1 } });
    const item = await claimOne(type);
    assert.equal(item.id, job.id);
    assert.equal(item.traceparent, job.traceparent);
    const beat = await client.heartbeat(item.id, { lease_token: item.lease_token, lease_seconds: 60 });
    assert.equal(beat.cancel_requested, false);
    await client.reportProgress(item.id, { lease_token: item.lease_token, fraction: 0.25, stage: "one", current: 1, total: 4 });
    await client.saveCheckpoint(item.id, { lease_token: item.lease_token, state: { step: 1 } });
    const done = await client.complete(item.id, { lease_token: item.lease_token, result: { ok: true } });
    assert.equal(done.status, "completed");
    assert.deepEqual(done.result, { ok: true });
    assert.deepEqual(done.checkpoint, { step: 1 });
    assert.equal(done.progress?.stage, "one");
  });

  test("a call with a stale lease is LeaseLostError", async () => {
    const type = uniqueType("leaselost");
    await client.create({ type });
    const item = await claimOne(type);
    await client.release(item.id, { lease_token: item.lease_token });
    for (const call of [
      () => client.heartbeat(item.id, { lease_token: item.lease_token }),
      () => client.reportProgress(item.id, { lease_token: item.lease_token, fraction: 0.1 }),
      () => client.complete(item.id, { lease_token: item.lease_token }),
      () => client.fail(item.id, { lease_token: item.lease_token, error: { message: "x" } }),
    ]) {
      const error = await call().catch((e: unknown) => e);
      assert.ok(error instanceof LeaseLostError, String(error));
      assert.ok(error instanceof ConflictError);
      assert.equal(error.kind, "lease-lost");
    }
  });

  test("fail queues the job again while attempts remain", async () => {
    const type = uniqueType("fail");
    await client.create({ type, max_attempts: 2 });
    const item = await claimOne(type);
    const failed = await client.fail(item.id, { lease_token: item.lease_token, error: { message: "boom", code: "x" } });
    assert.equal(failed.status, "queued");
    assert.equal(failed.attempt, 2);
  });

  test("prompt, answer (rejected, accepted), and the claim's stored answer", async () => {
    const type = uniqueType("ask");
    const job = await client.create({ type });
    assert.equal(await client.prompt(job.id), null, "no open prompt while queued");
    await assert.rejects(client.prompt("no-such-job-" + Date.now()), NotFoundError);
    const item = await claimOne(type);
    const asked = await client.ask(item.id, { lease_token: item.lease_token, key: "approve", question: "Publish?", options: ["yes", "no"] });
    assert.equal(asked.waiting, true);
    const open = await client.prompt(job.id);
    assert.equal(open?.key, "approve");
    assert.deepEqual(open?.options, ["yes", "no"]);
    const rejected = await client.answer(job.id, "maybe").catch((e: unknown) => e);
    assert.ok(rejected instanceof AnswerRejectedError, String(rejected));
    assert.match(rejected.why ?? "", /options/);
    const answered = await client.answer(job.id, "yes", { key: "approve", confidence: 0.9, answeredBy: "alice", reason: "reads well" });
    assert.equal(answered.status, "queued");
    await assert.rejects(client.answer(job.id, "no"), ConflictError);
    const rerun = await claimOne(type);
    const prompt = rerun.prompts.find((p) => p.key === "approve");
    assert.equal(prompt?.answer, "yes");
    assert.equal(prompt?.confidence, 0.9);
    await client.complete(rerun.id, { lease_token: rerun.lease_token });
  });
});

describe("live events", () => {
  test("watch one job's stream: events as they happen, ended by the signal", async () => {
    const job = await client.create({ type: uniqueType("watch") });
    const controller = new AbortController();
    const seen: StreamEvent[] = [];
    const watching = (async () => {
      for await (const event of client.watch({ jobId: job.id, signal: controller.signal })) {
        seen.push(event);
        if (event.job_status === "cancelled") return;
      }
    })();
    // The stream starts with what happens next: change the job until the watcher has seen it (no fixed sleep).
    await eventually("the watcher to see an update", async () => {
      await client.update(job.id, { labels: { t: String(Date.now()) } });
      return seen.length > 0;
    });
    await client.cancel(job.id);
    await watching;
    assert.ok(seen.every((e) => e.job_id === job.id));
    assert.equal(seen.at(-1)?.job_status, "cancelled");
    const ids = seen.map((e) => e.id);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "in commit order");
    // Aborting ends the iteration with JobkeeperAbortError.
    const quiet = client.watch({ jobId: job.id, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(quiet.next(), JobkeeperAbortError);
  });

  test("watch every job's events with a type filter, from an id (replay)", async () => {
    const type = uniqueType("watchall");
    const first = await client.create({ type });
    const created = (await client.events(first.id))[0]!;
    const second = await client.create({ type });
    await client.create({ type: uniqueType("other") });
    const got: StreamEvent[] = [];
    const controller = new AbortController();
    for await (const event of client.watch({ type, after: created.id! - 1, signal: controller.signal })) {
      got.push(event);
      if (event.job_id === second.id) break;
    }
    assert.deepEqual(
      got.map((e) => e.job_id),
      [first.id, second.id],
    );
    assert.ok(got.every((e) => e.job_type === type));
  });

  test("watch of a missing job is NotFoundError", async () => {
    const stream = client.watch({ jobId: "no-such-job-" + Date.now() });
    await assert.rejects(stream.next(), NotFoundError);
  });

  test("wait returns the finished job; a job that does not finish times out", async () => {
    const type = uniqueType("wait");
    const job = await client.create({ type });
    const waiting = client.wait(job.id, { timeoutMs: 15_000 });
    const item = await claimOne(type);
    await client.complete(item.id, { lease_token: item.lease_token, result: 42 });
    const done = await waiting;
    assert.equal(done.status, "completed");
    assert.equal(done.result, 42);
    // Already finished: answered at once.
    assert.equal((await client.wait(job.id, { timeoutMs: 5000 })).status, "completed");
    const idle = await client.create({ type: uniqueType("wait-idle") });
    const started = Date.now();
    await assert.rejects(client.wait(idle.id, { timeoutMs: 300 }), JobkeeperTimeoutError);
    assert.ok(Date.now() - started < 5000);
    const controller = new AbortController();
    const aborted = client.wait(idle.id, { signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted, JobkeeperAbortError);
  });
});

describe("queues", () => {
  test("queues, queue, updateQueue, pauseQueue, resumeQueue", async () => {
    const name = `ts-q-${Date.now().toString(36)}`;
    await client.create({ type: uniqueType("queue"), queue: name });
    const list = await client.queues();
    assert.ok(list.some((q) => q.name === name));
    const one = await client.queue(name);
    assert.equal(one.counts["queued"], 1);
    const limited = await client.updateQueue(name, { concurrency_limit: 3, rate_limit: { count: 10, period_seconds: 60 } });
    assert.equal(limited.concurrency_limit, 3);
    assert.equal(limited.rate_limit?.count, 10);
    const cleared = await client.updateQueue(name, { concurrency_limit: null, rate_limit: null });
    assert.equal(cleared.concurrency_limit, null);
    const paused = await client.pauseQueue(name);
    assert.equal(paused.paused, true);
    const resumed = await client.resumeQueue(name);
    assert.equal(resumed.paused, false);
    const typePaused = await client.pauseQueue(name, { type: "some.type" });
    assert.deepEqual(typePaused.paused_types, ["some.type"]);
    await client.resumeQueue(name, { type: "some.type" });
    const missing = await client.queue("no-such-queue-" + Date.now()).catch((e: unknown) => e);
    assert.ok(missing instanceof NotFoundError, String(missing));
    assert.equal(missing.kind, "queue-not-found");
    await assert.rejects(client.queue("bad name!"), ValidationError);
  });
});

describe("schedules", () => {
  test("create, get, list, update, pause, resume, trigger, delete", async () => {
    const name = `ts-sched-${Date.now().toString(36)}`;
    const type = uniqueType("sched");
    const created = await client.createSchedule({ name, cron: "0 3 * * *", time_zone: "Europe/Berlin", job: { type, input: { scope: "all" } }, overlap: "skip" });
    assert.equal(created.name, name);
    assert.equal(created.next_runs?.length, 5);
    await assert.rejects(client.createSchedule({ name, interval_seconds: 60, job: { type } }), ConflictError);
    assert.equal((await client.schedule(name)).cron, "0 3 * * *");
    assert.ok((await client.schedules()).some((s) => s.name === name));
    const updated = await client.updateSchedule(name, { interval_seconds: 3600 });
    assert.equal(updated.interval_seconds, 3600);
    assert.equal(updated.cron, null);
    assert.equal((await client.pauseSchedule(name)).paused, true);
    assert.equal((await client.resumeSchedule(name)).paused, false);
    const triggered = await client.triggerSchedule(name);
    assert.equal(triggered.job.type, type);
    assert.equal(triggered.job.labels?.["schedule"], name);
    assert.equal(triggered.schedule.last_job_id, triggered.job.id);
    await client.deleteSchedule(name);
    const gone = await client.schedule(name).catch((e: unknown) => e);
    assert.ok(gone instanceof NotFoundError, String(gone));
    assert.equal(gone.kind, "schedule-not-found");
    await assert.rejects(client.createSchedule({ name: `${name}-bad`, cron: "99 * * * *", job: { type } }), ValidationError);
  });
});
