// One measurement of one queue library against one (fresh) PostgreSQL database; prints one JSON line.
//
//   node bench.mjs <pg-boss|pg-boss-notify|graphile-worker> <enqueue|throughput|latency|bulk>
//
// pg-boss runs in two set-ups: `pg-boss` polls (its default mode; pollingIntervalSeconds 0.5, the
// minimum it accepts, instead of the default 2), `pg-boss-notify` turns on its LISTEN/NOTIFY wake-ups
// (`useListenNotify: true` and a queue created with `notify: true`; polling stays as a backstop).
// graphile-worker always uses LISTEN/NOTIFY. The JSON line names the library in `system` and the
// set-up in `variant`.
//
// Run it through bench/compare/run.sh, which installs Node 22 and the libraries, creates a database
// per measurement (PG_URL) and drops it afterwards. Settings (environment):
//
//   ENQUEUE_CLIENTS (64)      concurrent async loops, each awaiting one send/addJob at a time
//   ENQUEUE_SECONDS (10)      counted time, after ENQUEUE_WARMUP_SECONDS (2) not counted
//   THROUGHPUT_JOBS (50000)   jobs inserted in bulk before the workers start
//   LATENCY_JOBS (500)        single jobs enqueued one at a time to idle workers
//   LATENCY_SPACING_MS (20)   mean gap between two of them (uniform in 0.5x..1.5x)
//   POOL_SIZE (20)            connections of each library's pool (enqueue side and pg-boss workers)
//   WORKER_CONCURRENCY (32)   graphile-worker `concurrency` (its pool: max(POOL_SIZE, concurrency + 2))
//   LOCAL_QUEUE_SIZE (50)     graphile-worker `preset.worker.localQueue.size`
//   PGBOSS_BATCH_SIZE (50)    pg-boss work() `batchSize`
//   PGBOSS_LOCAL_CONCURRENCY (4)  pg-boss work() `localConcurrency` (workers polling in parallel)
//
// Handlers are no-ops. Log lines go to stderr; the JSON result is the only line on stdout.
import { performance } from "node:perf_hooks";
import { readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import pg from "pg";

const [system, bench] = process.argv.slice(2);
const PG_URL = process.env.PG_URL;
if (!PG_URL || !["pg-boss", "pg-boss-notify", "graphile-worker"].includes(system) || !["enqueue", "throughput", "latency", "bulk"].includes(bench)) {
  console.error("usage: PG_URL=postgres://... node bench.mjs <pg-boss|pg-boss-notify|graphile-worker> <enqueue|throughput|latency|bulk>");
  process.exit(2);
}

const num = (name, dflt) => (process.env[name] ? Number(process.env[name]) : dflt);
const ENQUEUE_CLIENTS = num("ENQUEUE_CLIENTS", 64);
const ENQUEUE_SECONDS = num("ENQUEUE_SECONDS", 10);
const ENQUEUE_WARMUP_SECONDS = num("ENQUEUE_WARMUP_SECONDS", 2);
const THROUGHPUT_JOBS = num("THROUGHPUT_JOBS", 50000);
const BULK_JOBS = num("BULK_JOBS", 100000);
const LATENCY_JOBS = num("LATENCY_JOBS", 500);
const LATENCY_SPACING_MS = num("LATENCY_SPACING_MS", 20);
const POOL_SIZE = num("POOL_SIZE", 20);
const WORKER_CONCURRENCY = num("WORKER_CONCURRENCY", 32);
const LOCAL_QUEUE_SIZE = num("LOCAL_QUEUE_SIZE", 50);
const PGBOSS_BATCH_SIZE = num("PGBOSS_BATCH_SIZE", 50);
const PGBOSS_LOCAL_CONCURRENCY = num("PGBOSS_LOCAL_CONCURRENCY", 4);
const PGBOSS_NOTIFY = system === "pg-boss-notify";
const QUEUE = "noop";

const log = (...args) => console.error(`[${system} ${bench}]`, ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (x, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const version = (pkg) => JSON.parse(readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url))).version;

// A plain connection of our own, for counting what is left and for CHECKPOINT between setup and measurement.
async function withClient(fn) {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
const checkpoint = () => withClient((c) => c.query("CHECKPOINT"));

// CPU time spent in the measured window, by this process and by the PostgreSQL server (the postmaster
// and all its children: backends, walwriter, checkpointer, autovacuum; exited children through the
// postmaster's cutime). On a shared machine wall-clock rates depend on the share of the cores the run
// got; CPU per job does much less. Null when the server is not on this machine.
const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();
function procStat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = text.slice(text.lastIndexOf(")") + 2).split(" "); // f[0] is field 3 (state)
  return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
}
async function findPostmaster() {
  try {
    // Read while the connection (and so its backend) is still open.
    const ppid = await withClient(async (c) => procStat((await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid).ppid);
    procStat(ppid);
    return ppid;
  } catch {
    return null;
  }
}
function serverCpuMs(postmaster) {
  if (!postmaster) return null;
  const pm = procStat(postmaster);
  let ticks = pm.utime + pm.stime + pm.cutime + pm.cstime;
  for (const name of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const st = procStat(name);
      if (st.ppid === postmaster) ticks += st.utime + st.stime;
    } catch {
      // exited meanwhile
    }
  }
  return (ticks * 1000) / CLK_TCK;
}
let postmaster = null;
function cpuWindow() {
  const node0 = process.cpuUsage();
  const server0 = serverCpuMs(postmaster);
  const load0 = loadavg()[0];
  return (jobs) => {
    const nodeUsage = process.cpuUsage(node0);
    const nodeMs = (nodeUsage.user + nodeUsage.system) / 1000;
    const server1 = serverCpuMs(postmaster);
    const serverMs = server0 === null || server1 === null ? null : server1 - server0;
    return {
      cpu_ms_node: Math.round(nodeMs),
      cpu_ms_postgres: serverMs === null ? null : Math.round(serverMs),
      cpu_us_per_job: serverMs === null ? null : Math.round(((nodeMs + serverMs) * 1000) / jobs),
      load1_start: round(load0),
      load1_end: round(loadavg()[0]),
    };
  };
}

// ---------------------------------------------------------------------------------------------
// The two libraries behind one small interface:
//   setup()                 schema/migrations and the queue
//   enqueue(data)           one job, awaited
//   bulkInsert(n)           n jobs, fast (setup only)
//   startWorkers(onJobs)    onJobs(jobsData[], startedAtMs) is called as handlers start
//   remaining(client)       jobs not yet completed, read from the library's tables
//   close()

async function pgBoss() {
  const { PgBoss } = await import("pg-boss");
  const boss = new PgBoss({
    connectionString: PG_URL,
    max: POOL_SIZE,
    // pg-boss-notify: LISTEN/NOTIFY wake-ups (with `notify: true` on the queue), pg-boss's documented
    // way to avoid waiting out the polling interval (>= 0.5 s) for a new job.
    useListenNotify: PGBOSS_NOTIFY,
    schedule: false,
  });
  boss.on("error", (err) => log("error:", err.message));
  await boss.start();
  return {
    name: "pg-boss",
    variant: PGBOSS_NOTIFY ? "listen-notify" : "polling",
    version: version("pg-boss"),
    config: { pool: POOL_SIZE, batchSize: PGBOSS_BATCH_SIZE, localConcurrency: PGBOSS_LOCAL_CONCURRENCY, burstWhenBatchFull: true, notify: PGBOSS_NOTIFY, ...(PGBOSS_NOTIFY ? {} : { pollingIntervalSeconds: 0.5 }) },
    async setup() {
      await boss.createQueue(QUEUE, { notify: PGBOSS_NOTIFY });
    },
    enqueue: (data) => boss.send(QUEUE, data),
    async bulkInsert(n) {
      for (let i = 0; i < n; i += 5000) {
        const jobs = [];
        for (let j = i; j < Math.min(n, i + 5000); j++) jobs.push({ data: { i: j } });
        await boss.insert(QUEUE, jobs);
      }
    },
    async startWorkers(onJobs) {
      await boss.work(
        QUEUE,
        {
          batchSize: PGBOSS_BATCH_SIZE,
          localConcurrency: PGBOSS_LOCAL_CONCURRENCY,
          // Keep fetching while fetches come back full (otherwise a worker waits out its polling
          // interval after every batch, even with a full queue).
          burstWhenBatchFull: true,
          ...(PGBOSS_NOTIFY ? {} : { pollingIntervalSeconds: 0.5 }),
        },
        async (jobs) => {
          onJobs(
            jobs.map((j) => j.data),
            performance.now(),
          );
        },
      );
    },
    remaining: async (client) =>
      Number((await client.query("SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state < 'completed'", [QUEUE])).rows[0].n),
    async close() {
      await boss.stop({ graceful: true, timeout: 10000 });
    },
  };
}

async function graphileWorker() {
  const { makeWorkerUtils, run, Logger } = await import("graphile-worker");
  const logger = new Logger(() => (level, message) => {
    if (level === "error" || level === "warning") log(level, message);
  });
  const utils = await makeWorkerUtils({ connectionString: PG_URL, maxPoolSize: POOL_SIZE, logger });
  let runner = null;
  const workerPool = Math.max(POOL_SIZE, WORKER_CONCURRENCY + 2);
  return {
    name: "graphile-worker",
    variant: "listen-notify",
    version: version("graphile-worker"),
    config: { pool: POOL_SIZE, workerPool, concurrency: WORKER_CONCURRENCY, localQueueSize: LOCAL_QUEUE_SIZE },
    async setup() {
      await utils.migrate();
    },
    enqueue: (data) => utils.addJob(QUEUE, data),
    async bulkInsert(n) {
      for (let i = 0; i < n; i += 5000) {
        const specs = [];
        for (let j = i; j < Math.min(n, i + 5000); j++) specs.push({ identifier: QUEUE, payload: { i: j } });
        await utils.addJobs(specs);
      }
    },
    async startWorkers(onJobs) {
      runner = await run({
        connectionString: PG_URL,
        // Its docs: "10 or concurrentJobs + 2, whichever is larger".
        maxPoolSize: workerPool,
        concurrency: WORKER_CONCURRENCY,
        noHandleSignals: true,
        logger,
        taskList: {
          [QUEUE]: async (payload) => {
            onJobs([payload], performance.now());
          },
        },
        preset: { worker: { localQueue: { size: LOCAL_QUEUE_SIZE } } },
      });
    },
    // Completed jobs are deleted from the jobs table.
    remaining: async (client) => Number((await client.query("SELECT count(*) AS n FROM graphile_worker._private_jobs")).rows[0].n),
    async close() {
      if (runner) await runner.stop();
      await utils.release();
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function benchEnqueue(lib) {
  let counting = false;
  let stop = false;
  let count = 0;
  const latencies = [];
  let seq = 0;
  async function client() {
    while (!stop) {
      const t0 = performance.now();
      await lib.enqueue({ i: seq++ });
      if (counting && !stop) {
        count++;
        latencies.push(performance.now() - t0);
      }
    }
  }
  const clients = Array.from({ length: ENQUEUE_CLIENTS }, client);
  await sleep(ENQUEUE_WARMUP_SECONDS * 1000);
  const started = performance.now();
  const cpu = cpuWindow();
  counting = true;
  await sleep(ENQUEUE_SECONDS * 1000);
  stop = true;
  const elapsed = (performance.now() - started) / 1000;
  const cpuUsed = cpu(count);
  await Promise.all(clients);
  latencies.sort((a, b) => a - b);
  return {
    jobs_per_sec: Math.round(count / elapsed),
    jobs: count,
    seconds: round(elapsed),
    clients: ENQUEUE_CLIENTS,
    call_p50_ms: round(percentile(latencies, 50)),
    call_p99_ms: round(percentile(latencies, 99)),
    ...cpuUsed,
  };
}

// The library's own bulk insert (batches of 5,000), timed alone: what Jobkeeper's batch create is compared with.
async function benchBulk(lib) {
  const n = BULK_JOBS;
  const t0 = performance.now();
  await lib.bulkInsert(n);
  const seconds = (performance.now() - t0) / 1000;
  return { jobs: n, seconds: round(seconds), jobs_per_s: round(n / seconds) };
}

async function benchThroughput(lib) {
  const n = THROUGHPUT_JOBS;
  const t0 = performance.now();
  await lib.bulkInsert(n);
  log(`inserted ${n} jobs in ${round((performance.now() - t0) / 1000)} s`);
  await checkpoint();
  return withClient(async (client) => {
    const before = await lib.remaining(client);
    if (before !== n) throw new Error(`expected ${n} queued jobs, found ${before}`);
    let handled = 0;
    let allHandled;
    const allHandledPromise = new Promise((r) => (allHandled = r));
    let handledAt = 0;
    const started = performance.now();
    const cpu = cpuWindow();
    await lib.startWorkers((jobs, at) => {
      handled += jobs.length;
      if (handled >= n && !handledAt) {
        handledAt = at;
        allHandled();
      }
    });
    const timeout = setTimeout(() => {
      log(`timed out after 300 s with ${handled} of ${n} handled`);
      process.exit(1);
    }, 300_000);
    await allHandledPromise;
    // The last handler has started; wait until the library has recorded every job as completed.
    let left;
    while ((left = await lib.remaining(client)) > 0) await sleep(10);
    const completedAt = performance.now();
    const cpuUsed = cpu(n);
    clearTimeout(timeout);
    const seconds = (completedAt - started) / 1000;
    return {
      jobs_per_sec: Math.round(n / seconds),
      jobs: n,
      seconds: round(seconds),
      handled_jobs_per_sec: Math.round(n / ((handledAt - started) / 1000)),
      handled_more_than_once: handled - n,
      ...cpuUsed,
    };
  });
}

async function benchLatency(lib) {
  const sentAt = new Map();
  const latencies = [];
  const waiters = new Map();
  await lib.startWorkers((jobs, at) => {
    for (const data of jobs) {
      const t0 = sentAt.get(data.seq);
      if (t0 === undefined) continue;
      latencies.push(at - t0);
      sentAt.delete(data.seq);
      waiters.get(data.seq)?.();
    }
  });
  // Let the workers settle into idle (listening, first empty fetches done).
  await sleep(1000);
  await checkpoint();
  const pending = [];
  const started = performance.now();
  const cpu = cpuWindow();
  for (let seq = 0; seq < LATENCY_JOBS; seq++) {
    pending.push(new Promise((r) => waiters.set(seq, r)));
    sentAt.set(seq, performance.now());
    await lib.enqueue({ seq });
    await sleep(LATENCY_SPACING_MS * (0.5 + Math.random()));
  }
  const timeout = setTimeout(() => {
    log(`timed out waiting for ${sentAt.size} jobs`);
    process.exit(1);
  }, 60_000);
  await Promise.all(pending);
  clearTimeout(timeout);
  const seconds = (performance.now() - started) / 1000;
  const cpuUsed = cpu(LATENCY_JOBS);
  latencies.sort((a, b) => a - b);
  return {
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    max_ms: round(latencies[latencies.length - 1]),
    mean_ms: round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
    jobs: latencies.length,
    spacing_ms: LATENCY_SPACING_MS,
    seconds: round(seconds),
    ...cpuUsed,
  };
}

const lib = system.startsWith("pg-boss") ? await pgBoss() : await graphileWorker();
let result;
try {
  await lib.setup();
  await checkpoint();
  postmaster = await findPostmaster();
  const run = { enqueue: benchEnqueue, throughput: benchThroughput, latency: benchLatency, bulk: benchBulk }[bench];
  result = await run(lib);
} finally {
  await Promise.race([lib.close(), sleep(15000)]);
}
console.log(
  JSON.stringify({
    system: lib.name,
    variant: lib.variant,
    version: lib.version,
    bench,
    ...result,
    config: lib.config,
    node: process.version,
    at: new Date().toISOString(),
  }),
);
process.exit(0);
