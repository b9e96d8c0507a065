// What a handler gets: the claimed job, progress and checkpoints under its lease, questions for a person, and the
// ways to learn it must stop (an AbortSignal, a flag, and errors thrown from check()/progress()).

import type { Client } from "./client.js";
import {
  CancelledError,
  JobkeeperConnectionError,
  JobkeeperTimeoutError,
  JobStoppedError,
  JobWaitingError,
  LeaseLostError,
  NotFoundError,
  type StopReason,
} from "./errors.js";
import { sleep, type CallOptions } from "./http.js";
import type { JobPrompt, LeaseResponse, WorkItem } from "./schema.js";

/** Progress members to report; those left out keep their value on the job. */
export interface ProgressUpdate {
  /** How far along, 0–1. */
  fraction?: number | null;
  stage?: string | null;
  message?: string | null;
  current?: number | null;
  total?: number | null;
}

/** Options of `job.ask`: `options` or `schema` (not both) say what an answer may be. */
export interface AskOptions {
  /** The answers to choose from. */
  options?: readonly string[];
  /** A JSON Schema the answer must satisfy. */
  schema?: unknown;
  /** Seconds until the question expires (at most a year); no expiry when absent. */
  expiresIn?: number;
  /** What expiry does: `fail` (default) fails the job with `prompt_expired`, `default` answers with `defaultAnswer`. */
  onExpiry?: "fail" | "default";
  defaultAnswer?: unknown;
}

/**
 * Where the attempt stands, from the worker's side. `running`: the handler works under the lease; `asking`: an ask is
 * in flight; `waiting`: the question is open and the lease ended with it; `lost`: the lease is someone else's; `gone`:
 * the server ended the job itself; `settling`: its outcome is being reported; `done`: reported.
 * @internal
 */
export type JobState = "running" | "asking" | "waiting" | "lost" | "gone" | "settling" | "done";

/** What a job needs from the worker running it. @internal */
export interface JobHost {
  readonly client: Client;
  readonly leaseSeconds: number;
  log(line: string): void;
}

const isLeaseLost = (error: unknown): boolean => error instanceof LeaseLostError || error instanceof NotFoundError;
const isTransient = (error: unknown): boolean => error instanceof JobkeeperConnectionError || error instanceof JobkeeperTimeoutError;

/** A claimed job, as its handler sees it. `I` is the type of its input (not checked: the handler's claim about it). */
export class WorkerJob<I = unknown> {
  readonly id: string;
  readonly type: string;
  readonly queue: string | undefined;
  readonly input: I;
  readonly labels: Readonly<Record<string, string>>;
  /** Which attempt this is, from 1. */
  readonly attempt: number;
  readonly maxAttempts: number | undefined;
  readonly priority: number | undefined;
  /** The job's W3C trace context: every call about the job carries it. */
  readonly traceparent: string | undefined;
  /** The lease token of this attempt. */
  readonly leaseToken: string;
  /** The work item as the claim returned it. */
  readonly item: WorkItem;
  /** The questions this job asked before, by key, with their answers once answered. */
  readonly prompts: Record<string, JobPrompt>;
  /** The state saved with `checkpoint()` (by this run or an earlier one), or undefined when none was. */
  lastCheckpoint: unknown;

  /** @internal */ state: JobState = "running";
  /** @internal When the lease was last renewed (ms since the epoch; the claim counts). */ renewedAt = Date.now();
  /** @internal A heartbeat is in flight. */ renewing = false;
  /** @internal */ readonly controller = new AbortController();
  private cancelRequested = false;
  private boundClient: Client | undefined;

  /** @internal */
  constructor(
    item: WorkItem,
    private readonly host: JobHost,
  ) {
    this.item = item;
    this.id = item.id;
    this.type = item.type;
    this.queue = item.queue;
    this.input = item.input as I;
    this.labels = item.labels ?? {};
    this.attempt = item.attempt ?? 1;
    this.maxAttempts = item.max_attempts;
    this.priority = item.priority;
    this.traceparent = item.traceparent ?? undefined;
    this.leaseToken = item.lease_token;
    this.lastCheckpoint = item.checkpoint ?? undefined;
    this.prompts = {};
    for (const prompt of item.prompts ?? []) this.prompts[prompt.key] = prompt;
  }

  /** Aborted when the job must stop (cancelled, lease lost, worker shutting down); its `reason` is the matching error. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True once someone asked to cancel the job (seen on the next heartbeat or progress report). */
  get cancelled(): boolean {
    return this.cancelRequested;
  }

  /** Why the job must stop, or undefined while it may go on. */
  get stopReason(): StopReason | undefined {
    const reason: unknown = this.controller.signal.reason;
    return this.controller.signal.aborted && reason instanceof JobStoppedError ? reason.reason : undefined;
  }

  /** True once the lease was lost (another worker has the job now, or it was ended by hand). */
  get leaseLost(): boolean {
    return this.state === "lost";
  }

  /** The answer given to question `key` (in an earlier run), else `fallback`. */
  answer(key: string, fallback?: unknown): unknown {
    const prompt = this.prompts[key];
    return prompt?.answered_at ? prompt.answer : fallback;
  }

  /** The answers given so far, by question key. */
  get answers(): Record<string, unknown> {
    const answers: Record<string, unknown> = {};
    for (const [key, prompt] of Object.entries(this.prompts)) if (prompt.answered_at) answers[key] = prompt.answer;
    return answers;
  }

  /** A client whose calls carry this job's trace context (so jobs it creates join the job's trace). */
  get client(): Client {
    this.boundClient ??= this.host.client.withTraceparent(this.traceparent);
    return this.boundClient;
  }

  /** Throws `CancelledError` (cancelled) or `JobStoppedError` (lease lost, shutting down) when the job must stop. */
  check(): void {
    if (this.controller.signal.aborted) throw this.controller.signal.reason;
  }

  /** Waits `ms` milliseconds, ending early with the stop error when the job must stop. */
  async sleep(ms: number): Promise<void> {
    this.check();
    await sleep(ms, this.controller.signal);
  }

  /**
   * @internal Options of every call about the job: its trace context. A job without one sends none (the empty string
   * stops the client from borrowing an unrelated ambient trace).
   */
  get callOptions(): CallOptions {
    return { traceparent: this.traceparent ?? "" };
  }

  /** Reports progress (which renews the lease). Throws `CancelledError`/`JobStoppedError` when the job must stop. */
  async progress(update: ProgressUpdate): Promise<void> {
    this.check();
    if (this.state !== "running") return;
    const startedAt = Date.now();
    try {
      const lease = await this.host.client.reportProgress(
        this.id,
        { lease_token: this.leaseToken, lease_seconds: this.host.leaseSeconds, ...defined(update) },
        this.callOptions,
      );
      this.renewed(lease, startedAt);
    } catch (error) {
      if (isLeaseLost(error)) this.markLost(error);
      else if (isTransient(error)) this.host.log(`job ${this.id}: progress not recorded: ${(error as Error).message}`);
      else throw error; // a refused report (bad values) is the handler's to see
    }
    this.check();
  }

  /**
   * Saves small JSON state on the job (renewing the lease). A later run of the job (after a question was answered, or
   * a retry) finds it in `lastCheckpoint`, so work done before is not done again.
   */
  async checkpoint(state: unknown): Promise<void> {
    this.check();
    if (this.state !== "running") throw new JobStoppedError("lease_lost", `job ${this.id} is no longer running here`);
    const startedAt = Date.now();
    try {
      const lease = await this.host.client.saveCheckpoint(this.id, { lease_token: this.leaseToken, state }, this.callOptions);
      this.lastCheckpoint = state;
      this.renewed(lease, startedAt);
    } catch (error) {
      if (isLeaseLost(error)) this.markLost(error);
      throw error;
    }
    this.check();
  }

  /**
   * Asks a person and returns the answer. When the job already holds the answer to `key` (this is the run after the
   * answer came), returns it at once. Otherwise the question is stored, the job waits on the server holding no worker,
   * and this throws `JobWaitingError`: the attempt is over. Once answered, the job runs again from the start and this
   * same call returns the answer. Code before a question runs again, so keep it cheap or save its result with `checkpoint`.
   */
  async ask(key: string, question: string, options: AskOptions = {}): Promise<unknown> {
    const known = this.prompts[key];
    if (known?.answered_at) return known.answer;
    this.check();
    if (this.state !== "running") throw new JobStoppedError("lease_lost", `job ${this.id} is no longer running here`);
    const body = {
      lease_token: this.leaseToken,
      key,
      question,
      ...defined({
        options: options.options ? [...options.options] : undefined,
        schema: options.schema,
        expires_in_seconds: options.expiresIn,
        on_expiry: options.onExpiry,
        default_answer: options.defaultAnswer,
      }),
    };
    this.state = "asking";
    let answer;
    try {
      answer = await this.host.client.ask(this.id, body, this.callOptions);
    } catch (error) {
      this.state = "running";
      if (isTransient(error) && (await this.askedAnyway(key))) {
        // The ask committed but its answer was lost on the way back: the job waits all the same.
        this.state = "waiting";
        throw new JobWaitingError(key, question);
      }
      if (isLeaseLost(error)) {
        this.markLost(error);
        this.check();
      }
      throw error;
    }
    if (answer.prompt) this.prompts[key] = answer.prompt;
    if (answer.waiting) {
      this.state = "waiting";
      throw new JobWaitingError(key, question);
    }
    if (answer.prompt?.answered_at) {
      this.state = "running";
      return answer.prompt.answer;
    }
    // Neither waiting nor answered: the server ended the job instead (a cancel was pending).
    this.state = "gone";
    this.cancelRequested = true;
    this.controller.abort(new CancelledError(`job ${this.id} ended ${answer.status} instead of asking '${key}'`));
    throw this.controller.signal.reason;
  }

  /** Whether the job now waits on `key` (to tell a lost answer from a lost ask). */
  private async askedAnyway(key: string): Promise<boolean> {
    try {
      const current = await this.host.client.get(this.id, this.callOptions);
      return current.status === "waiting" && current.prompts?.some((p) => p.key === key && !p.answered_at) === true;
    } catch {
      return false;
    }
  }

  /** @internal Records a renewal's answer: the lease's new start and whether a cancel was requested. */
  renewed(lease: LeaseResponse, startedAt: number): void {
    if (startedAt > this.renewedAt) this.renewedAt = startedAt;
    if (lease.cancel_requested && !this.cancelRequested && this.state === "running") {
      this.cancelRequested = true;
      this.host.log(`job ${this.id}: cancel requested; stopping`);
      this.controller.abort(new CancelledError(`job ${this.id} was cancelled`));
    }
  }

  /** @internal The lease is someone else's now: stop the handler, send nothing more. */
  markLost(error: unknown): void {
    if (this.state === "lost") return;
    this.state = "lost";
    this.host.log(`job ${this.id}: lease lost (${(error as Error)?.message ?? error}); dropping the job`);
    // A cancel that was already signalled keeps its reason; the state says the lease is gone either way.
    if (!this.controller.signal.aborted) this.controller.abort(new JobStoppedError("lease_lost", `the lease of job ${this.id} was lost`));
  }

  /** @internal The worker is stopping and gives the job back. */
  shutDown(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new JobStoppedError("shutdown", `the worker is shutting down`));
  }
}

/** The object without its undefined members (so a report changes only what it names). */
function defined<T extends object>(value: T): Partial<T> {
  const result: Partial<T> = {};
  for (const [key, member] of Object.entries(value)) if (member !== undefined) (result as Record<string, unknown>)[key] = member;
  return result;
}
