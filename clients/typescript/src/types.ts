// The public types of the client, built on the generated wire types of src/schema.ts. Request and response objects
// keep their wire names (snake_case) so they read like the OpenAPI document; options of the client's own are camelCase.

import type { ActorOptions, CallOptions, FetchFunction } from "./http.js";
import type { Job, JobEvent, JobStatus } from "./schema.js";
import type { TraceContextProvider } from "./tracing.js";

export type * from "./schema.js";
export type { ActorOptions, CallOptions, FetchFunction } from "./http.js";
export type { TraceContextProvider } from "./tracing.js";

/** Settings of a `Client`. */
export interface ClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080` (a path prefix behind a proxy is kept). */
  baseUrl: string;
  /** The API key, sent as `Authorization: Bearer <key>`; default `process.env.JOBKEEPER_API_KEY` where `process` exists. */
  apiKey?: string;
  /** Each call's timeout in milliseconds, retries included (default 30,000). A claim's long poll adds its wait. */
  timeoutMs?: number;
  /** How often an idempotent call is tried again after a connection error or 502/503/504 (default 2). */
  retries?: number;
  /** The fetch to use (default the global one): for a custom agent, proxy, or tests. */
  fetch?: FetchFunction;
  /**
   * The caller's current W3C trace context, asked on every call that does not give `traceparent` itself. With
   * OpenTelemetry: `() => { const c: Record<string, string> = {}; propagation.inject(context.active(), c); return c.traceparent; }`.
   */
  traceContext?: TraceContextProvider;
  /** Headers to send with every call (e.g. for a proxy). */
  headers?: Record<string, string>;
}

/** A created job: `existing` is true when a unique key or `Idempotency-Key` found a job already there (200, nothing added). */
export type CreatedJob = Job & { existing: boolean };

/** Options of `create`. */
export interface CreateOptions extends CallOptions, ActorOptions {
  /**
   * Sent as `Idempotency-Key`: sent again with the same key within the server's window (a day by default), the answer
   * is the job the first create made. Makes the create safe to retry, so it is retried on connection errors.
   */
  idempotencyKey?: string;
}

/** Options of `update`. */
export interface UpdateOptions extends CallOptions, ActorOptions {
  /** Compare-and-set: applies only if the job is still at this version, else `ProblemError` 412 (`version-mismatch`). */
  ifMatch?: number;
}

/** The filters of `list` and `listPage`. */
export interface ListFilter {
  /** One status or several (any of them). */
  status?: JobStatus | readonly JobStatus[];
  type?: string;
  queue?: string;
  /** `key:value`, several of them, or an object; every label must match. */
  label?: string | readonly string[] | Readonly<Record<string, string>>;
  /** A search: jobs whose id starts with it, or whose type, labels, input, result and error have all its words. */
  q?: string;
  /** Created at or after (inclusive). */
  createdAfter?: string | Date;
  /** Created before (exclusive). */
  createdBefore?: string | Date;
}

/** The orders a listing sorts by: a field, with a leading `-` for descending. */
export type JobSort = "created" | "-created" | "updated" | "-updated" | "priority" | "-priority" | "duration" | "-duration";

/** Options of `list`: the filters and the page size used while following the cursor. */
export interface ListOptions extends ListFilter, CallOptions {
  /** The order (default `-created`, newest first); ties go by id. */
  sort?: JobSort;
  /** Jobs per request, 1–1000 (default 100). */
  pageSize?: number;
}

/** Options of `listPage`: one page. */
export interface ListPageOptions extends ListFilter, CallOptions {
  /** The order (default `-created`); send the same one with the `cursor`. */
  sort?: JobSort;
  /** Jobs on the page, 1–1000 (default 50). */
  limit?: number;
  /** The previous page's `next_cursor`. */
  cursor?: string | null;
}

/** Options of `bulk`: the filters (as `list` takes them), and whether to act on every job or only count. */
export interface BulkOptions extends ListFilter, CallOptions, ActorOptions {
  /** Required to act on every job when no filter is given. */
  all?: boolean;
  /** Only count the matching jobs; change nothing. */
  dryRun?: boolean;
}

/** Options of `events`. */
export interface EventsOptions extends CallOptions {
  /** Only events after this id (default 0: all). */
  after?: number;
  /** Events per request while reading every page (1–1000). */
  pageSize?: number;
}

/** Options of `answer`. */
export interface AnswerOptions extends CallOptions, ActorOptions {
  /** How sure the one answering is, 0–1. */
  confidence?: number;
  /** Who answered (default the actor). */
  answeredBy?: string;
  /** The prompt's key, so the answer cannot go to another question. */
  key?: string;
}

/** A live event from `watch`: the job's event plus the job's type and status after it. */
export interface StreamEvent extends JobEvent {
  id: number;
  job_type?: string | null;
  job_status?: JobStatus | null;
  message?: string | null;
}

/** Options of `watch`. */
export interface WatchOptions extends CallOptions {
  /** One job's events (`/api/v1/jobs/{id}/stream`); else every job's (`/api/v1/events`). */
  jobId?: string;
  /** Only jobs of this type (all jobs' stream only). */
  type?: string;
  /** Only events after which the job has one of these statuses (all jobs' stream only). */
  status?: JobStatus | readonly JobStatus[];
  /** Start after this event id: first what was missed, then live. Default: what happens next. */
  after?: number;
  /**
   * Reopen the stream (from the last event id, so nothing is lost) when no event came for this long. The server sends
   * nothing on a quiet stream, so this is how a connection that died silently (a dropped NAT entry, a proxy) is noticed.
   * Default: never.
   */
  idleTimeoutMs?: number;
}

/** Options of `wait`. */
export interface WaitOptions {
  signal?: AbortSignal;
  /** Give up (with `JobkeeperTimeoutError`) after this many milliseconds; default: wait until the job finishes. */
  timeoutMs?: number;
  /** Reopen the job's stream (and read the job again) when it was quiet this long (default 30,000 ms). */
  idleTimeoutMs?: number;
}

/** Options of `pauseQueue` and `resumeQueue`. */
export interface QueueTypeOptions extends CallOptions, ActorOptions {
  /** Only this job type in the queue. */
  type?: string;
}

/** The statuses a job never leaves by itself. */
export const FINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled"];
