// End to end with real processes: 1,000 jobs, one of which asks a question the test answers; the first worker process
// is killed with SIGKILL half-way, a second one finishes the rest. Every job ends completed, and completed once.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client, type Job, type JobEvent } from "jobkeeper";
import { connectShared, eventually, startWorkerProcess, uniqueType, type WorkerProcess, type SharedServer } from "./helpers.js";

const TOTAL = 1000;
const ASKING = 500;

let server: SharedServer;
let client: Client;
before(async () => ({ server, client } = await connectShared()));
after(async () => await server?.stop());

async function allJobs(type: string): Promise<Job[]> {
  const jobs: Job[] = [];
  for await (const job of client.list({ type, pageSize: 1000 })) jobs.push(job);
  return jobs;
}

const completedIds = (worker: WorkerProcess): string[] =>
  worker.lines.filter((l) => l["settled"] && l["outcome"] === "completed").map((l) => l["settled"] as string);

test(`${TOTAL} jobs survive a worker killed with SIGKILL: each completed exactly once`, { timeout: 180_000 }, async () => {
  const type = uniqueType("e2e");
  const answer = await client.createMany(Array.from({ length: TOTAL }, (_, i) => ({ type, input: i === ASKING ? { i, ask: true } : { i } })));
  assert.equal(answer.created, TOTAL);
  const asking = answer.items[ASKING]!.job!.id;
  const env = { JK_URL: server.url, JK_TYPE: type, JK_MODE: "e2e", JK_LEASE: "2", JK_WAIT: "2", JK_CONCURRENCY: "16", ...(server.apiKey ? { JOBKEEPER_API_KEY: server.apiKey } : {}) };

  // The question is answered through the Client as soon as it is open, whichever worker asked it.
  let answered = false;
  const answering = eventually("the question to be asked", async () => {
    const prompt = await client.prompt(asking);
    if (!prompt) return undefined;
    await client.answer(asking, "yes", { key: "approve", answeredBy: "e2e" });
    answered = true;
    return true;
  }, 120_000, 100);

  const first = startWorkerProcess({ ...env, JK_WORKER_ID: "first", JK_DELAY_MS: "25" });
  let second: WorkerProcess | undefined;
  try {
    // Kill it in the middle: after some but not all completed, with jobs in its hands.
    await eventually("the first worker to complete 300 jobs", () => completedIds(first).length >= 300 || undefined, 60_000, 10);
    first.child.kill("SIGKILL");
    assert.equal(await first.exited(10_000), "SIGKILL");
    const byFirst = completedIds(first).length;
    assert.ok(byFirst >= 300 && byFirst < TOTAL, `the first worker completed ${byFirst}`);

    second = startWorkerProcess({ ...env, JK_WORKER_ID: "second" });
    await answering;
    await eventually(`all ${TOTAL} jobs completed`, async () => {
      const jobs = await allJobs(type);
      const done = jobs.filter((j) => j.status === "completed").length;
      return done === TOTAL ? true : undefined;
    }, 120_000, 250);
    second.child.kill("SIGTERM");
    assert.equal(await second.exited(20_000), 0, second.stderr().slice(-2000));
  } finally {
    first.child.kill("SIGKILL");
    second?.child.kill("SIGKILL");
  }
  assert.ok(answered);

  const jobs = await allJobs(type);
  assert.equal(jobs.length, TOTAL);
  assert.deepEqual([...new Set(jobs.map((j) => j.status))], ["completed"]);
  const byIndex = new Map(jobs.map((j) => [(j.input as { i: number }).i, j]));
  for (let i = 0; i < TOTAL; i++) {
    const job = byIndex.get(i);
    assert.ok(job, `job ${i}`);
    assert.deepEqual(job.result, i === ASKING ? { i, answer: "yes" } : { i });
  }

  // The server's history: exactly one move to completed per job.
  let expired = 0;
  for (let start = 0; start < jobs.length; start += 50) {
    const histories = await Promise.all(jobs.slice(start, start + 50).map((j) => client.events(j.id)));
    for (const [k, events] of histories.entries()) {
      const completions = events.filter((e: JobEvent) => e.type === "status_changed" && (e.data as { to?: string }).to === "completed");
      assert.equal(completions.length, 1, `job ${jobs[start + k]!.id} completed ${completions.length} times`);
      if (events.some((e) => e.type === "lease_expired")) expired++;
    }
  }
  assert.ok(expired > 0, "the killed worker's jobs came back when their leases expired");

  // The workers' logs of acknowledged completions: no job twice, and both workers did some.
  const acknowledged = [...completedIds(first), ...completedIds(second!)];
  assert.equal(new Set(acknowledged).size, acknowledged.length, "no job acknowledged twice");
  assert.ok(completedIds(second!).length > 0);
  assert.ok(acknowledged.length <= TOTAL);
  console.log(`e2e: ${TOTAL} jobs completed once each; the first worker acknowledged ${completedIds(first).length} before kill -9, ` +
    `the second ${completedIds(second!).length}; ${expired} came back after a lease expired; job ${ASKING} answered "yes"`);
});
