// jobkeeper: a client and a worker for Jobkeeper's HTTP API, for Node 20+ and browsers (fetch only, no dependencies).

export { Client } from "./client.js";
export { Worker, errorBody } from "./worker.js";
export type { Handler, Outcome, RunOptions, JobOutcome, WorkerCounts, WorkerOptions } from "./worker.js";
export { WorkerJob } from "./job.js";
export type { AskOptions, ProgressUpdate } from "./job.js";
export {
  AnswerRejectedError,
  CancelledError,
  ConflictError,
  ForbiddenError,
  InvalidBaseUrlError,
  JobkeeperAbortError,
  JobkeeperConnectionError,
  JobkeeperError,
  JobkeeperTimeoutError,
  JobStoppedError,
  JobWaitingError,
  LEASE_LOST,
  LeaseLostError,
  NotFoundError,
  NotJobkeeperError,
  PayloadTooLargeError,
  PreconditionFailedError,
  PROBLEM_PREFIX,
  ProblemError,
  RateLimitedError,
  ServerError,
  ServerUnavailableError,
  UnauthorizedError,
  ValidationError,
} from "./errors.js";
export type { ProblemDocument, StopReason } from "./errors.js";
export { readEvents } from "./sse.js";
export type { SseMessage } from "./sse.js";
export { isTraceparent, traceIdOf, hasAmbientContext } from "./tracing.js";
export { FINAL_STATUSES } from "./types.js";
export type * from "./types.js";
