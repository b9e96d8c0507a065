#!/usr/bin/env node
// Worker throughput: creates N no-op jobs with batch creates, runs the Worker until every one is completed, and prints
// jobs/s (from the worker's start to the last acknowledged completion). A warm-up round (--warmup jobs, default 2000)
// runs first and is not counted.
//
//   node bench/throughput.mjs --url http://127.0.0.1:8080 --jobs 20000 --concurrency 256 [--transport node|fetch]
//
// --transport fetch makes the client use the global fetch for its JSON calls too (by default Node uses node:http,
// which costs about a quarter of the CPU per request). The output also gives the client's CPU time per job.
//
// Needs a built package (npm run build). The key, if the server has keys, comes from JOBKEEPER_API_KEY (roles submit + work).

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Client, Worker } from "jobkeeper";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.JOBKEEPER_URL ?? "http://127.0.0.1:8080" },
    jobs: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "256" },
    batch: { type: "string", default: "5000" },
    lease: { type: "string", default: "30" },
    transport: { type: "string", default: "node" },
    warmup: { type: "string", default: "2000" },
    "server-pid": { type: "string" },
  },
});
if (values.transport !== "node" && values.transport !== "fetch") throw new Error("--transport is node or fetch");
const total = Number(values.jobs);
const concurrency = Number(values.concurrency);
const batchSize = Math.min(10_000, Number(values.batch));
const type = `bench.noop.${Date.now().toString(36)}`;

const client = new Client({
  baseUrl: values.url,
  timeoutMs: 120_000,
  ...(values.transport === "fetch" ? { fetch: (input, init) => globalThis.fetch(input, init) } : {}),
});
await client.health();

/** The server's CPU time in µs so far (Linux, when --server-pid names a server on this machine). */
function serverCpu() {
  if (!values["server-pid"]) return undefined;
  const fields = readFileSync(`/proc/${values["server-pid"]}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, in clock ticks of 1/100 s
}

async function createJobs(jobType, count) {
  for (let made = 0; made < count; ) {
    const size = Math.min(batchSize, count - made);
    const answer = await client.createMany(Array.from({ length: size }, (_, i) => ({ type: jobType, input: { i: made + i } })));
    if (answer.created !== size) throw new Error(`batch created ${answer.created} of ${size}`);
    made += size;
  }
}

/** Runs a worker until `count` jobs of `jobType` were acknowledged; returns the outcomes, the time and the CPU used. */
async function drain(jobType, count) {
  let completed = 0;
  let other = 0;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  const worker = new Worker(client, {
    types: [jobType],
    concurrency,
    leaseSeconds: Number(values.lease),
    waitSeconds: 1,
    onOutcome: (job) => {
      if (job.outcome === "completed") completed++;
      else other++;
      if (completed + other === count) resolveDone();
    },
  });
  worker.handle(jobType, () => null);
  const cpuBefore = process.cpuUsage();
  const serverBefore = serverCpu();
  const start = performance.now();
  const running = worker.run();
  await done;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serverUs = serverBefore === undefined ? undefined : serverCpu() - serverBefore;
  await worker.stop();
  await running;
  return { completed, other, seconds, cpu, serverUs };
}

// A fresh server compiles its hot paths on first use (JIT): a warm-up round keeps that out of the measurement.
const warmup = Number(values.warmup);
if (warmup > 0) {
  await createJobs(`${type}.warmup`, warmup);
  await drain(`${type}.warmup`, warmup);
}

const createStart = performance.now();
await createJobs(type, total);
const createSeconds = (performance.now() - createStart) / 1000;
const { completed, other, seconds, cpu, serverUs } = await drain(type, total);

console.log(
  JSON.stringify({
    jobs: total,
    concurrency,
    transport: values.transport,
    created_per_second: Math.round(total / createSeconds),
    completed,
    not_completed: other,
    seconds: Number(seconds.toFixed(3)),
    jobs_per_second: Math.round(completed / seconds),
    client_cpu_us_per_job: Math.round((cpu.user + cpu.system) / total),
    ...(serverUs === undefined ? {} : { server_cpu_us_per_job: Math.round(serverUs / total) }),
  }),
);
console.log(`${Math.round(completed / seconds)} jobs/s (${completed} no-op jobs in ${seconds.toFixed(2)} s, concurrency ${concurrency})`);
if (other > 0) process.exitCode = 1;
