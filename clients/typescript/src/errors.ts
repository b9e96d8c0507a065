// The errors the client and the worker throw. Every failure is one of these, so callers can branch with
// `instanceof` (or `error.name`) and never have to parse messages.

/** The problem type URI prefix of every Jobkeeper problem (RFC 9457). */
export const PROBLEM_PREFIX = "https://jobkeeper.dev/problems/";

/** The problem type of a lease that is no longer the job's current one. */
export const LEASE_LOST = PROBLEM_PREFIX + "lease-lost";

/** An RFC 9457 problem document as Jobkeeper sends it (`trace_id` on the wire; some problems add members). */
export interface ProblemDocument {
  type?: string | null;
  title?: string | null;
  status?: number | null;
  detail?: string | null;
  instance?: string | null;
  /** Field path → messages (400 `invalid-request`). */
  errors?: Record<string, string[]> | null;
  trace_id?: string | null;
  [member: string]: unknown;
}

/** The base of every error this package throws. */
export class JobkeeperError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The server refused the request and said why with problem details. */
export class ProblemError extends JobkeeperError {
  /** The HTTP status. */
  readonly status: number;
  /** The problem type URI, e.g. `https://jobkeeper.dev/problems/lease-lost` (`about:blank` when the server sent none). */
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  /** Field path → messages, for a refused body (400). */
  readonly errors: Record<string, string[]> | undefined;
  /** The server's trace context of the request (its `trace_id`), to find it in the server's traces and logs. */
  readonly traceId: string | undefined;
  /** The whole problem document, for members of particular problems (`why`, `current_version`, …). */
  readonly problem: ProblemDocument;

  constructor(status: number, problem: ProblemDocument, fallbackTitle?: string) {
    const title = problem.title ?? fallbackTitle ?? `HTTP ${status}`;
    super(`${status} ${title}${problem.detail ? `: ${problem.detail}` : ""}`);
    this.status = status;
    this.type = problem.type ?? "about:blank";
    this.title = title;
    this.detail = problem.detail ?? undefined;
    this.errors = problem.errors ?? undefined;
    this.traceId = typeof problem.trace_id === "string" ? problem.trace_id : typeof problem["traceId"] === "string" ? problem["traceId"] : undefined;
    this.problem = problem;
  }

  /** The last segment of the problem type: `lease-lost`, `job-not-found`, `invalid-request`, … */
  get kind(): string {
    return this.type.startsWith(PROBLEM_PREFIX) ? this.type.slice(PROBLEM_PREFIX.length) : this.type;
  }
}

/** 400: a field is missing, of the wrong type or out of range; `errors` names it. */
export class ValidationError extends ProblemError {}

/** 401: no API key, or one the server does not know. */
export class UnauthorizedError extends ProblemError {}

/** 403: the key's roles do not allow the route (the detail names the role needed). */
export class ForbiddenError extends ProblemError {}

/** 404: no such job, schedule, queue or open prompt (see `kind`). */
export class NotFoundError extends ProblemError {}

/** 409: the request conflicts with the job's state (duplicate id, illegal move, key asked already, …). */
export class ConflictError extends ProblemError {}

/** 409 `lease-lost`: the lease token is not the job's current lease; stop working on the job. */
export class LeaseLostError extends ConflictError {}

/** 412 `version-mismatch`: an `If-Match` named an old version; `currentVersion` is the job's version now. */
export class PreconditionFailedError extends ProblemError {
  get currentVersion(): number | undefined {
    const value = this.problem["current_version"];
    return typeof value === "number" ? value : undefined;
  }
}

/** 413 `payload-too-large`: the body is over the server's limit (1 MiB by default). */
export class PayloadTooLargeError extends ProblemError {}

/** 422 `answer-rejected`: the answer is not one of the prompt's options or fails its schema; `why` says which. */
export class AnswerRejectedError extends ProblemError {
  get why(): string | undefined {
    const value = this.problem["why"];
    return typeof value === "string" ? value : undefined;
  }
}

/** 429: over the key's rate limit; try again after `retryAfter` seconds. */
export class RateLimitedError extends ProblemError {
  /** Seconds to wait, from the `Retry-After` header (undefined when the server sent none). */
  readonly retryAfter: number | undefined;

  constructor(status: number, problem: ProblemDocument, retryAfter: number | undefined) {
    super(status, problem);
    this.retryAfter = retryAfter;
  }
}

/** 5xx: the server failed (e.g. 500 `store-corrupt`, which retrying does not cure). */
export class ServerError extends ProblemError {}

/** 503 (or a gateway's 502/504): the store or the server is unavailable for now; retry later. */
export class ServerUnavailableError extends ServerError {}

/** The base URL given to the client is not an absolute http(s) URL. */
export class InvalidBaseUrlError extends JobkeeperError {}

/** Something answered, but not Jobkeeper: an HTML page, or JSON that is not the shape the API sends. */
export class NotJobkeeperError extends JobkeeperError {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The start of the answer's body, to see what answered. */
  readonly bodyStart: string;

  constructor(message: string, status: number, bodyStart: string) {
    super(message);
    this.status = status;
    this.bodyStart = bodyStart;
  }
}

/** The server could not be reached, or the connection broke before the answer was read. */
export class JobkeeperConnectionError extends JobkeeperError {}

/** The server did not answer within the timeout. */
export class JobkeeperTimeoutError extends JobkeeperError {}

/** The caller aborted the call with its `AbortSignal` (named `AbortError`, as `fetch`'s own aborts are). */
export class JobkeeperAbortError extends JobkeeperError {
  constructor(message = "the call was aborted", options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AbortError";
  }
}

/** Why a running job must stop now. */
export type StopReason = "cancelled" | "lease_lost" | "shutdown";

/**
 * Thrown inside a handler (by `job.check()`, `job.progress()`, `job.sleep()`, …) when the job must stop: its lease was
 * lost, or the worker is shutting down. A handler may let it propagate; the worker then does the right thing.
 */
export class JobStoppedError extends JobkeeperError {
  readonly reason: StopReason;

  constructor(reason: StopReason, message?: string) {
    super(message ?? `the job must stop: ${reason.replace("_", " ")}`);
    this.reason = reason;
  }
}

/** Thrown inside a handler when someone cancelled the job; the worker releases it and the server ends it `cancelled`. */
export class CancelledError extends JobStoppedError {
  constructor(message = "the job was cancelled") {
    super("cancelled", message);
  }
}

/**
 * Thrown by `job.ask()` when the question is now open: the job waits on the server for an answer (holding no worker) and
 * this attempt is over. Once answered, the job runs again from the start and the same `ask` returns the answer.
 * A handler that catches errors must let this one through.
 */
export class JobWaitingError extends JobkeeperError {
  readonly key: string;

  constructor(key: string, question: string) {
    super(`waiting for an answer to '${key}': ${question}`);
    this.key = key;
  }
}
