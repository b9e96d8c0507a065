// The worker: claims jobs with a long poll in batches as large as its free slots, runs a handler per job, keeps every
// lease alive from one timer, and reports each outcome (complete, fail, release) — the protocol of docs/api.md
// "Workers", as examples/python-worker/worker.py runs it, for async JavaScript.

import type { Client } from "./client.js";
import {
  JobkeeperAbortError,
  JobkeeperConnectionError,
  JobkeeperError,
  JobkeeperTimeoutError,
  JobWaitingError,
  LeaseLostError,
  NotFoundError,
  ProblemError,
  RateLimitedError,
} from "./errors.js";
import { sleep } from "./http.js";
import { WorkerJob, type JobHost } from "./job.js";
import type { FailRequest, Job, JobStatus, WorkItem } from "./schema.js";
import { loadAmbientContext, runWithTraceparent } from "./tracing.js";

/** A handler: returns the job's result (anything JSON can hold), or throws to fail the attempt. */
export type Handler<I = unknown> = (job: WorkerJob<I>) => unknown;

/** How an attempt ended, as the server acknowledged it (or `dropped`/`waiting`, when nothing was to be sent). */
export type Outcome = "completed" | "failed" | "cancelled" | "released" | "dropped" | "waiting" | "refused";

/** Reported through `onOutcome` once the server acknowledged how an attempt ended. */
export interface JobOutcome {
  id: string;
  type: string;
  attempt: number;
  outcome: Outcome;
  /** The job's status as the server answered the outcome (absent for `dropped` and `waiting`). */
  status?: JobStatus;
  /** The handler's error (failed), or the refusal (refused). */
  error?: unknown;
}

export interface WorkerOptions {
  /** The job types to claim; default the types of the handlers (unless `queues` is given: then every type in them). */
  types?: readonly string[];
  /** Only jobs in these queues. */
  queues?: readonly string[];
  /** Jobs run at once; also the largest claim (1–1000, default 4). */
  concurrency?: number;
  /** Each claim's lease (1–3600 s, default 30); renewed every third of it. */
  leaseSeconds?: number;
  /** How long a claim waits on the server for work (0–30 s, default 20). */
  waitSeconds?: number;
  /** Recorded as the lease owner and the actor of the worker's changes; default `<host>-ts-<pid>` in Node. */
  workerId?: string;
  /** After a stop, how long running jobs may take to finish before they are released (default 10,000 ms). */
  shutdownGraceMs?: number;
  /** In Node: stop gracefully on SIGINT and SIGTERM while running (default false). */
  handleSignals?: boolean;
  /** Receives one line per notable thing (claims, outcomes, lease losses); default: silent. */
  log?: (line: string) => void;
  /** Called after the server acknowledged an attempt's outcome. */
  onOutcome?: (job: JobOutcome) => void;
}

export interface RunOptions {
  /** Aborting it stops the worker gracefully, as `stop()` does. */
  signal?: AbortSignal;
}

/** What `run()` resolves with: how many attempts ended how. */
export type WorkerCounts = Record<Outcome, number>;

const isLeaseLost = (error: unknown): boolean => error instanceof LeaseLostError || error instanceof NotFoundError;

/** Errors a claim or a report may meet while the server restarts or is busy: tried again with backoff. */
function isTransient(error: unknown): boolean {
  return (
    error instanceof JobkeeperConnectionError ||
    error instanceof JobkeeperTimeoutError ||
    error instanceof RateLimitedError ||
    (error instanceof ProblemError && error.status >= 500)
  );
}

/** `<host>-ts-<pid>` in Node (as the Python worker's `<host>-py-<pid>`), a random name elsewhere. */
function defaultWorkerId(): string {
  const runtime = (globalThis as { process?: { pid?: number; getBuiltinModule?: (id: string) => unknown } }).process;
  let host = "worker";
  try {
    host = (runtime?.getBuiltinModule?.("node:os") as { hostname(): string } | undefined)?.hostname() || host;
  } catch {
    // not Node
  }
  return `${host}-ts-${runtime?.pid ?? Math.random().toString(36).slice(2, 8)}`;
}

/** The error a handler threw, as the job's `error`: `{message, code: "exception", details: {exception_type, stack}}`. */
export function errorBody(error: unknown): FailRequest["error"] {
  const isError = error instanceof Error;
  const message = (isError ? error.message || error.name : String(error)) || "the handler failed";
  const stack = isError && error.stack ? error.stack : undefined;
  return {
    message: message.length > 2000 ? message.slice(0, 2000) : message,
    code: "exception",
    details: {
      exception_type: isError ? error.constructor?.name || error.name : typeof error,
      stack: stack && stack.length > 20_000 ? "...\n" + stack.slice(-20_000) : (stack ?? null),
    },
  };
}

/**
 * Runs jobs with handlers: `new Worker(client, { concurrency: 8 }).handle("audio.analyze", async (job) => …).run()`.
 *
 * - Claims with a long poll, asking for as many jobs as it has free slots.
 * - Renews every running job's lease at a third of its length from one timer; a heartbeat that says the job was
 *   cancelled aborts `job.signal` (reason `CancelledError`) and makes `job.check()`/`job.progress()` throw.
 * - Completes with the handler's result, or fails the attempt when it throws; the worker keeps running.
 * - A job whose lease was lost (409 `lease-lost`) is dropped: its signal aborts and nothing more is sent for it.
 * - `stop()` (or the run signal, or SIGINT/SIGTERM with `handleSignals`) stops claiming at once, cuts the long poll,
 *   gives running jobs `shutdownGraceMs` to finish, then releases the rest (queued again, the attempt not counted).
 */
export class Worker {
  readonly client: Client;
  readonly workerId: string;
  readonly counts: WorkerCounts = { completed: 0, failed: 0, cancelled: 0, released: 0, dropped: 0, waiting: 0, refused: 0 };

  private readonly handlers = new Map<string, Handler<never>>();
  private readonly concurrency: number;
  private readonly leaseSeconds: number;
  private readonly waitSeconds: number;
  private readonly graceMs: number;
  private readonly log: (line: string) => void;
  /** Running jobs by lease token: the same job may come back to this worker while an old attempt still runs. */
  private readonly running = new Map<string, WorkerJob>();
  /** Outcome reports in flight, awaited before `run()` returns. */
  private readonly reporting = new Set<Promise<void>>();
  private stopping = new AbortController();
  private slotWaiters: Array<() => void> = [];
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private runPromise: Promise<WorkerCounts> | undefined;
  private readonly host: JobHost;

  constructor(
    client: Client,
    private readonly options: WorkerOptions = {},
  ) {
    this.client = client;
    this.workerId = options.workerId ?? defaultWorkerId();
    this.concurrency = clamp(options.concurrency ?? 4, 1, 1000, "concurrency");
    this.leaseSeconds = clamp(options.leaseSeconds ?? 30, 1, 3600, "leaseSeconds");
    this.waitSeconds = clamp(options.waitSeconds ?? 20, 0, 30, "waitSeconds");
    this.graceMs = Math.max(0, options.shutdownGraceMs ?? 10_000);
    const log = options.log;
    // A logger that throws must not break the worker (or leave a job's slot taken).
    this.log = log
      ? (line) => {
          try {
            log(line);
          } catch {
            // ignored
          }
        }
      : () => undefined;
    this.host = { client, leaseSeconds: this.leaseSeconds, log: this.log };
  }

  /** Registers the handler of a job type (or several, as a map of type → handler). */
  handle<I = unknown>(type: string, handler: Handler<I>): this;
  // A map's handlers take any input type: annotate `job: WorkerJob<MyInput>` to type one.
  handle(handlers: Readonly<Record<string, Handler<any>>>): this;
  handle(typeOrMap: string | Readonly<Record<string, Handler<never>>>, handler?: Handler<never>): this {
    const entries = typeof typeOrMap === "string" ? [[typeOrMap, handler] as const] : Object.entries(typeOrMap);
    for (const [type, fn] of entries) {
      if (typeof fn !== "function") throw new JobkeeperError(`the handler of '${type}' must be a function`);
      this.handlers.set(type, fn);
    }
    return this;
  }

  /** Jobs running now. */
  get active(): number {
    return this.running.size;
  }

  /**
   * Claims and runs jobs until stopped; resolves with the counts once every job was finished or released. Rejects
   * (after that same graceful stop) when the server refuses the claims for good: a bad key (401/403), a bad
   * request (400), or a server that is not Jobkeeper.
   */
  run(options: RunOptions = {}): Promise<WorkerCounts> {
    if (this.runPromise) return Promise.reject(new JobkeeperError("this worker is already running"));
    this.stopping = new AbortController();
    this.runPromise = this.loop(options).finally(() => {
      this.runPromise = undefined;
    });
    return this.runPromise;
  }

  /** Stops gracefully (see the class); resolves when `run()` has finished. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.runPromise?.catch(() => undefined);
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async loop(options: RunOptions): Promise<WorkerCounts> {
    const types = this.options.types ?? (this.options.queues ? undefined : [...this.handlers.keys()]);
    if (!types?.length && !this.options.queues?.length) throw new JobkeeperError("the worker has nothing to claim: register a handler, or give types or queues");
    for (const type of types ?? []) if (!this.handlers.has(type)) throw new JobkeeperError(`no handler for job type '${type}'`);
    await loadAmbientContext();

    const onAbort = () => this.stopping.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) this.stopping.abort();
    const removeSignals = this.options.handleSignals ? this.trapSignals() : () => undefined;
    this.scheduleHeartbeats();
    this.log(`claiming ${types?.join(", ") ?? "every type"}${this.options.queues ? ` in ${this.options.queues.join(", ")}` : ""} (concurrency ${this.concurrency}, lease ${this.leaseSeconds} s, wait ${this.waitSeconds} s)`);

    let fatal: unknown;
    try {
      fatal = await this.claimLoop(types);
    } finally {
      await this.finishRunning();
      clearTimeout(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      removeSignals();
      options.signal?.removeEventListener("abort", onAbort);
      this.log(`stopped: ${Object.entries(this.counts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    }
    if (fatal !== undefined) throw fatal;
    return { ...this.counts };
  }

  /** Claims until stopped; returns the error that ended it for good, if any. */
  private async claimLoop(types: readonly string[] | undefined): Promise<unknown> {
    let backoff = 250;
    while (!this.stopped) {
      const free = this.concurrency - this.running.size;
      if (free <= 0) {
        await this.slotFreed();
        continue;
      }
      let items: WorkItem[];
      try {
        items = await this.client.claim(
          {
            worker_id: this.workerId,
            ...(types ? { types: [...types] } : {}),
            ...(this.options.queues ? { queues: [...this.options.queues] } : {}),
            max: free,
            lease_seconds: this.leaseSeconds,
            wait_seconds: this.waitSeconds,
          },
          // The claim is about no job: it carries no trace context of its own.
          { signal: this.stopping.signal, traceparent: "" },
        );
        backoff = 250;
      } catch (error) {
        if (this.stopped || error instanceof JobkeeperAbortError) break;
        if (!isTransient(error)) {
          this.log(`claim refused: ${(error as Error).message}`);
          this.stopping.abort();
          return error;
        }
        const wait = error instanceof RateLimitedError && error.retryAfter !== undefined ? error.retryAfter * 1000 : backoff;
        this.log(`claim failed: ${(error as Error).message}; retrying in ${wait} ms`);
        await sleep(wait, this.stopping.signal).catch(() => undefined);
        backoff = Math.min(backoff * 2, 10_000);
        continue;
      }
      if (this.stopped) {
        // Claimed while stopping: give them straight back, the attempt not counted.
        for (const item of items) this.release(this.start(item));
        break;
      }
      if (items.length > 0) this.log(`claimed ${items.length} job(s)`);
      for (const item of items) void this.execute(this.start(item));
    }
    return undefined;
  }

  private start(item: WorkItem): WorkerJob {
    const job = new WorkerJob(item, this.host);
    this.running.set(job.leaseToken, job);
    return job;
  }

  /** Resolves when a slot frees up or the worker stops. */
  private slotFreed(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.stopping.signal.removeEventListener("abort", done);
        resolve();
      };
      this.slotWaiters.push(done);
      this.stopping.signal.addEventListener("abort", done, { once: true });
    });
  }

  private freeSlot(job: WorkerJob): void {
    if (!this.running.delete(job.leaseToken)) return;
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---- one job

  private async execute(job: WorkerJob): Promise<void> {
    const handler = this.handlers.get(job.type) as Handler | undefined;
    let result: unknown;
    let failure: unknown;
    let threw = false;
    try {
      if (!handler) throw new JobkeeperError(`no handler for job type '${job.type}' on worker ${this.workerId}`);
      // The handler runs in the job's trace: client calls it makes carry the job's traceparent (Node).
      result = await runWithTraceparent(job.traceparent, () => handler(job));
    } catch (error) {
      threw = true;
      failure = error;
    }
    try {
      await this.settle(job, threw, result, failure);
    } catch (error) {
      // Not expected (reports catch their own errors); whatever it was, the slot must not stay taken.
      this.log(`job ${job.id}: could not report its outcome: ${(error as Error)?.message ?? error}`);
      if (this.running.get(job.leaseToken) === job) this.finished(job, "refused", undefined, error);
    }
  }

  /** Reports how the handler ended, unless the job is no longer this worker's to report. */
  private async settle(job: WorkerJob, threw: boolean, result: unknown, failure: unknown): Promise<void> {
    switch (job.state) {
      case "waiting":
        // Not a failure: the server holds the job until someone answers; this worker moves on.
        this.log(`job ${job.id}: ${threw && failure instanceof JobWaitingError ? failure.message : "waiting for an answer"}`);
        this.finished(job, "waiting");
        return;
      case "lost":
      case "gone":
        this.finished(job, job.state === "lost" ? "dropped" : "cancelled");
        return;
      case "settling":
      case "done":
        return; // released at shutdown already
      default:
        break;
    }
    const token = job.leaseToken;
    const options = job.callOptions;
    if (threw && job.stopReason !== undefined) {
      // Cancelled (the release ends it cancelled) or shutting down (queued again, the attempt not counted).
      await this.report(job, "release", () => this.client.release(job.id, { lease_token: token }, options));
      return;
    }
    if (threw) {
      this.log(`job ${job.id}: handler failed: ${(failure as Error)?.message ?? failure}`);
      await this.report(job, "fail", () => this.client.fail(job.id, { lease_token: token, error: errorBody(failure) }, options), failure);
      return;
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(result);
    } catch (error) {
      const why = new TypeError(`the handler's result cannot be sent as JSON: ${(error as Error).message}`);
      await this.report(job, "fail", () => this.client.fail(job.id, { lease_token: token, error: errorBody(why) }, options), why);
      return;
    }
    const body = json === undefined ? { lease_token: token } : { lease_token: token, result: JSON.parse(json) as unknown };
    await this.report(job, "complete", () => this.client.complete(job.id, body, options));
  }

  /**
   * Sends an outcome, trying again on connection errors and 5xx for up to a lease (after that the lease ran out and
   * the job came back anyway). A lease lost meanwhile drops the job; the slot frees once the server answered.
   */
  private report(job: WorkerJob, what: "complete" | "fail" | "release", send: () => Promise<Job>, error?: unknown): Promise<void> {
    job.state = "settling";
    const task = (async () => {
      const giveUpAt = Date.now() + this.leaseSeconds * 1000;
      let pause = 100;
      for (;;) {
        try {
          const answer = await send();
          job.state = "done";
          const outcome: Outcome = answer.status === "cancelled" ? "cancelled" : what === "complete" ? "completed" : what === "fail" ? "failed" : "released";
          this.finished(job, outcome, answer.status, error);
          return;
        } catch (failure) {
          if (isLeaseLost(failure)) {
            job.state = "lost";
            this.log(`job ${job.id}: ${what} refused, the lease is no longer ours (${(failure as Error).message})`);
            this.finished(job, "dropped");
            return;
          }
          if (!isTransient(failure) || Date.now() + pause >= giveUpAt) {
            job.state = "done";
            this.log(`job ${job.id}: ${what} not delivered: ${(failure as Error).message}`);
            this.finished(job, "refused", undefined, failure);
            return;
          }
          await sleep(pause);
          pause = Math.min(pause * 2, 2000);
        }
      }
    })();
    this.reporting.add(task);
    void task.finally(() => this.reporting.delete(task));
    return task;
  }

  private finished(job: WorkerJob, outcome: Outcome, status?: JobStatus, error?: unknown): void {
    this.counts[outcome]++;
    this.freeSlot(job);
    if (outcome !== "completed") this.log(`job ${job.id}: ${outcome}${status ? ` (now ${status})` : ""}`);
    const settled: JobOutcome = { id: job.id, type: job.type, attempt: job.attempt, outcome };
    if (status) settled.status = status;
    if (error !== undefined) settled.error = error;
    try {
      this.options.onOutcome?.(settled);
    } catch (hookError) {
      this.log(`onOutcome threw: ${(hookError as Error)?.message ?? hookError}`);
    }
  }

  // ---- leases

  /**
   * One timer for every lease: each tick renews the jobs whose last renewal is a third of a lease old. A tick is a
   * twelfth of the lease (at most 1 s), so a renewal that failed is tried again well before the lease runs out.
   */
  private scheduleHeartbeats(): void {
    const leaseMs = this.leaseSeconds * 1000;
    const tick = Math.min(1000, Math.max(50, leaseMs / 12));
    const beat = () => {
      const due = Date.now() - leaseMs / 3;
      for (const job of this.running.values()) {
        if (job.state === "running" && !job.renewing && job.renewedAt <= due) void this.heartbeat(job);
      }
      this.heartbeatTimer = setTimeout(beat, tick);
    };
    this.heartbeatTimer = setTimeout(beat, tick);
  }

  private async heartbeat(job: WorkerJob): Promise<void> {
    job.renewing = true;
    const startedAt = Date.now();
    try {
      const lease = await this.client.heartbeat(
        job.id,
        { lease_token: job.leaseToken, lease_seconds: this.leaseSeconds },
        { ...job.callOptions, timeoutMs: Math.max(1000, (this.leaseSeconds * 1000) / 3) },
      );
      if (job.state === "running") job.renewed(lease, startedAt);
    } catch (error) {
      // Only a running job can lose its lease here: after an ask or an outcome the refusal is expected.
      if (isLeaseLost(error) && job.state === "running") job.markLost(error);
      else if (job.state === "running") this.log(`job ${job.id}: heartbeat failed: ${(error as Error).message}; trying again`);
    } finally {
      job.renewing = false;
    }
  }

  // ---- stopping

  /** Gives running jobs the grace period, then releases those still running; waits for every report. */
  private async finishRunning(): Promise<void> {
    if (this.running.size > 0) {
      this.log(`stopping: ${this.running.size} running job(s) get ${this.graceMs} ms to finish`);
      const deadline = Date.now() + this.graceMs;
      while (this.running.size > 0 && Date.now() < deadline) {
        const left = deadline - Date.now();
        const timeout = new AbortController();
        await Promise.race([this.anySlotFreed(), sleep(left, timeout.signal).catch(() => undefined)]);
        timeout.abort();
      }
      if (this.running.size > 0) this.log(`grace period over: releasing ${this.running.size} job(s)`);
      this.releaseAll();
    }
    while (this.reporting.size > 0) await Promise.allSettled([...this.reporting]);
  }

  private anySlotFreed(): Promise<void> {
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  /** Asks every running handler to stop and gives its job back now, without waiting for the handler. */
  private releaseAll(): void {
    for (const job of [...this.running.values()]) if (job.state === "running" || job.state === "asking") this.release(job);
  }

  private release(job: WorkerJob): void {
    job.shutDown();
    void this.report(job, "release", () => this.client.release(job.id, { lease_token: job.leaseToken }, job.callOptions));
  }

  private trapSignals(): () => void {
    const runtime = (globalThis as { process?: { on?: Function; off?: Function } }).process;
    if (typeof runtime?.on !== "function" || typeof runtime.off !== "function") return () => undefined;
    const onSignal = (signal: string) => {
      this.log(`${signal}: stopping`);
      this.stopping.abort();
    };
    runtime.on.call(runtime, "SIGINT", onSignal);
    runtime.on.call(runtime, "SIGTERM", onSignal);
    return () => {
      runtime.off!.call(runtime, "SIGINT", onSignal);
      runtime.off!.call(runtime, "SIGTERM", onSignal);
    };
  }
}

function clamp(value: number, min: number, max: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new JobkeeperError(`worker option ${name} must be from ${min} to ${max}; it is ${value}`);
  }
  return value;
}
