// The typed client of the Jobkeeper HTTP API (docs/api.md): jobs, prompts, live events, queues, schedules, and the
// worker protocol's low-level calls (which `Worker` uses).

import {
  InvalidBaseUrlError,
  JobkeeperAbortError,
  JobkeeperConnectionError,
  JobkeeperError,
  JobkeeperTimeoutError,
  NotJobkeeperError,
  PROBLEM_PREFIX,
  ServerUnavailableError,
} from "./errors.js";
import { query, segment, sleep, Transport, type ActorOptions, type CallOptions } from "./http.js";
import type * as S from "./schema.js";
import { nodeRequester, type Requester } from "./node-http.js";
import * as shapes from "./shapes.js";
import { readEvents } from "./sse.js";
import {
  FINAL_STATUSES,
  type AnswerOptions,
  type BulkOptions,
  type ClientOptions,
  type CreatedJob,
  type CreateOptions,
  type EventsOptions,
  type ListFilter,
  type ListOptions,
  type ListPageOptions,
  type QueueTypeOptions,
  type StreamEvent,
  type UpdateOptions,
  type WaitOptions,
  type WatchOptions,
} from "./types.js";

const API = "/api/v1";
const job = (id: string): string => `${API}/jobs/${segment(id)}`;
const queuePath = (name: string): string => `${API}/queues/${segment(name)}`;
const schedulePath = (name: string): string => `${API}/schedules/${segment(name)}`;

function envApiKey(): string | undefined {
  // `process` exists in Node (and Deno/Bun); in a browser there is no environment to read.
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.["JOBKEEPER_API_KEY"] || undefined;
}

function listQuery(filter: ListFilter): Record<string, string | readonly string[] | undefined> {
  const label = filter.label;
  const labels =
    label === undefined ? undefined : typeof label === "string" ? [label] : Array.isArray(label) ? (label as readonly string[]) : Object.entries(label).map(([k, v]) => `${k}:${v}`);
  const status = filter.status === undefined ? undefined : typeof filter.status === "string" ? filter.status : filter.status.join(",");
  const instant = (value: string | Date | undefined) => (value instanceof Date ? value.toISOString() : value);
  return {
    status,
    type: filter.type,
    queue: filter.queue,
    label: labels,
    q: filter.q,
    created_after: instant(filter.createdAfter),
    created_before: instant(filter.createdBefore),
  };
}

/**
 * A client of one Jobkeeper server. Every call takes an optional `AbortSignal` and timeout, and throws only
 * `JobkeeperError`s. Idempotent calls (reads, `cancel`, `cleanup`, queue changes, schedule pause/resume, heartbeats,
 * progress, checkpoints, and `create` with an `idempotencyKey`) are retried on connection errors and 502/503/504.
 */
export class Client {
  /** The HTTP layer, shared by clients made with `withTraceparent`. */
  private readonly transport: Transport;
  private readonly boundTraceparent: string | undefined;

  constructor(options: ClientOptions);
  /** @internal A client sharing `transport` whose calls carry `traceparent` unless they give their own. */
  constructor(options: ClientOptions, transport: Transport, traceparent: string | undefined);
  constructor(options: ClientOptions, transport?: Transport, traceparent?: string) {
    if (transport) {
      this.transport = transport;
    } else {
      if (typeof options !== "object" || options === null) {
        throw new InvalidBaseUrlError("new Client({ baseUrl }) needs the server's address, e.g. { baseUrl: 'http://127.0.0.1:8080' }");
      }
      const fetchFunction = options.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
      const viaFetch: Requester = (url, request) => fetchFunction(url, request);
      this.transport = new Transport({
        baseUrl: options.baseUrl,
        apiKey: options.apiKey ?? envApiKey(),
        timeoutMs: options.timeoutMs ?? 30_000,
        retries: options.retries ?? 2,
        fetch: fetchFunction,
        // A fetch the caller gave is used for everything (a proxy agent, a test double); otherwise Node's http.
        request: options.fetch ? viaFetch : (nodeRequester() ?? viaFetch),
        traceContext: options.traceContext,
        headers: options.headers ?? {},
      });
    }
    this.options = options;
    this.boundTraceparent = traceparent;
  }

  private readonly options: ClientOptions;

  /** The server's base URL, normalised (no trailing slash). */
  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  /** A client whose calls carry `traceparent` (a job's trace) unless a call gives its own. */
  withTraceparent(traceparent: string | null | undefined): Client {
    return new Client(this.options, this.transport, traceparent ?? undefined);
  }

  private opts<T extends CallOptions>(options: T | undefined): T | undefined {
    if (this.boundTraceparent === undefined || options?.traceparent !== undefined) return options;
    return { ...(options as T), traceparent: this.boundTraceparent };
  }

  private async call<T>(request: Parameters<Transport["send"]>[0], options: (CallOptions & ActorOptions) | undefined): Promise<T> {
    return (await this.transport.send<T>(request, this.opts(options))).body;
  }

  // ---- jobs

  /**
   * Creates a job (201). With a `unique_key` that an existing job blocks, or an `idempotencyKey` seen before, the answer
   * is that job with `existing: true` (200 and `Jobkeeper-Existing: true`): nothing was added.
   */
  async create(newJob: S.NewJob, options?: CreateOptions): Promise<CreatedJob> {
    const answer = await this.transport.send<S.Job>(
      {
        method: "POST",
        path: `${API}/jobs`,
        body: newJob,
        headers: { "Idempotency-Key": options?.idempotencyKey },
        idempotent: options?.idempotencyKey !== undefined,
        shape: shapes.job,
      },
      this.opts(options),
    );
    const existing = answer.headers.get("jobkeeper-existing") === "true" || answer.body.existing === true;
    return { ...answer.body, existing };
  }

  /** Creates up to 10,000 jobs in one transaction; each is answered on its own (`created`, `existing`, `duplicate_id`, `invalid`). */
  createMany(jobs: readonly S.NewJob[], options?: CallOptions & ActorOptions): Promise<S.BatchCreateResponse> {
    return this.call({ method: "POST", path: `${API}/jobs/batch`, body: { jobs }, idempotent: false, shape: shapes.batch }, options);
  }

  /** The job; `NotFoundError` when there is none. */
  get(id: string, options?: CallOptions): Promise<S.Job> {
    return this.call({ method: "GET", path: job(id), idempotent: true, shape: shapes.job }, options);
  }

  /** The job, or null when there is none. */
  async find(id: string, options?: CallOptions): Promise<S.Job | null> {
    const notFound = (status: number, body: unknown) =>
      status === 404 && (body as { type?: unknown } | undefined)?.type === PROBLEM_PREFIX + "job-not-found";
    const answer = await this.transport.send<S.Job>({ method: "GET", path: job(id), idempotent: true, shape: shapes.job, pass: notFound }, this.opts(options));
    return answer.status === 404 ? null : answer.body;
  }

  /**
   * Applies a JSON merge patch (status, progress, result, error, labels, lease_seconds). With `ifMatch` it is
   * compare-and-set: a job no longer at that version is refused with 412 and nothing changes.
   */
  update(id: string, patch: S.UpdateJobRequest, options?: UpdateOptions): Promise<S.Job> {
    const ifMatch = options?.ifMatch === undefined ? undefined : `"${options.ifMatch}"`;
    return this.call({ method: "PATCH", path: job(id), body: patch, headers: { "If-Match": ifMatch }, idempotent: false, shape: shapes.job }, options);
  }

  /** Deletes the job with its history (who and why go to the server's log). */
  async delete(id: string, options?: CallOptions & ActorOptions): Promise<void> {
    await this.call({ method: "DELETE", path: job(id), idempotent: false }, options);
  }

  /** Every job matching the filters, newest first, following the cursor page by page. */
  async *list(options: ListOptions = {}): AsyncGenerator<S.Job, void, undefined> {
    let cursor: string | null | undefined;
    do {
      const page = await this.listPage({ ...options, limit: options.pageSize ?? 100, cursor });
      yield* page.items;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /** One page of jobs, newest first; pass `next_cursor` back as `cursor` for the next. */
  listPage(options: ListPageOptions = {}): Promise<S.JobListResponse> {
    const path = `${API}/jobs${query({ ...listQuery(options), sort: options.sort, limit: options.limit, cursor: options.cursor })}`;
    return this.call({ method: "GET", path, idempotent: true, shape: shapes.jobList }, options);
  }

  /** Cancels the job: queued or waiting ones at once; a running one is asked to stop and ends `cancelled`. */
  cancel(id: string, options?: CallOptions & ActorOptions): Promise<S.Job> {
    return this.call({ method: "POST", path: `${job(id)}/cancel`, idempotent: true, shape: shapes.job }, options);
  }

  /** Queues a failed or cancelled job again with `attempt` + 1. */
  retry(id: string, options?: CallOptions & ActorOptions): Promise<S.Job> {
    return this.call({ method: "POST", path: `${job(id)}/retry`, idempotent: false, shape: shapes.job }, options);
  }

  /**
   * The workers heard from in the last `withinSeconds` (default 300) on any instance — in-process handlers and HTTP workers —
   * and those holding running jobs: the jobs they hold, when last heard from, and what they did per minute.
   */
  async workers(options: CallOptions & { withinSeconds?: number } = {}): Promise<S.WorkerInfo[]> {
    const path = `${API}/workers${query({ within_seconds: options.withinSeconds })}`;
    const list: S.WorkerListResponse = await this.call({ method: "GET", path, idempotent: true, shape: shapes.workerList }, options);
    return list.items;
  }

  /**
   * `retry`, `cancel` or `delete` every job the filters match (`POST /api/v1/jobs/bulk`); `dryRun` only counts them. Jobs
   * whose status does not allow the action are counted in `skipped`. With no filter it is refused unless `all`. Interrupted,
   * call it again: it goes on where it stopped (so it is retried on connection errors). The default timeout is an hour.
   */
  bulk(action: "retry" | "cancel" | "delete", options: BulkOptions = {}): Promise<S.BulkActionResponse> {
    const filter: Record<string, string | readonly string[]> = {};
    for (const [name, value] of Object.entries(listQuery(options))) {
      if (value !== undefined) filter[name] = value;
    }
    const body: S.BulkActionRequest = { action, filter };
    if (options.all) body.all = true;
    if (options.dryRun) body.dry_run = true;
    return this.call(
      { method: "POST", path: `${API}/jobs/bulk`, body, idempotent: true, shape: shapes.bulk },
      { ...options, timeoutMs: options.timeoutMs ?? 3_600_000 },
    );
  }

  /** The job's history after `after` (default: all of it), oldest first, every page read. */
  async events(id: string, options: EventsOptions = {}): Promise<S.JobEvent[]> {
    const events: S.JobEvent[] = [];
    let after: number | null | undefined = options.after ?? 0;
    while (after !== null && after !== undefined) {
      const path = `${job(id)}/events${query({ after, limit: options.pageSize })}`;
      const page: S.JobEventListResponse = await this.call({ method: "GET", path, idempotent: true, shape: shapes.eventList }, options);
      events.push(...page.items);
      after = page.next_after;
    }
    return events;
  }

  /** Deletes finished jobs that finished more than `days` days ago (default 7), with their history. */
  cleanup(days?: number, options?: CallOptions): Promise<S.CleanupResponse> {
    return this.call({ method: "DELETE", path: `${API}/jobs/cleanup${query({ days })}`, idempotent: true, shape: shapes.cleanup }, options);
  }

  /** The server's health (store, counts, cache). An unhealthy server (503) throws `ServerUnavailableError` with it as `problem.health`. */
  async health(options?: CallOptions): Promise<S.HealthResponse> {
    const answer = await this.transport.send<S.HealthResponse>(
      { method: "GET", path: "/health", idempotent: true, shape: shapes.health, pass: (status, body) => status === 503 && shapes.health(body) },
      this.opts(options),
    );
    if (answer.status === 503) {
      throw new ServerUnavailableError(503, { status: 503, title: `Store ${answer.body.status}`, detail: answer.body.error, health: answer.body });
    }
    return answer.body;
  }

  // ---- prompts

  /** The open prompt of a waiting job, or null when it has none (`NotFoundError` when there is no such job). */
  async prompt(id: string, options?: CallOptions): Promise<S.JobPrompt | null> {
    const noOpenPrompt = (status: number, body: unknown) =>
      status === 404 && (body as { type?: unknown } | undefined)?.type === PROBLEM_PREFIX + "no-open-prompt";
    const answer = await this.transport.send<S.JobPrompt>(
      { method: "GET", path: `${job(id)}/prompt`, idempotent: true, shape: shapes.prompt, pass: noOpenPrompt },
      this.opts(options),
    );
    return answer.status === 404 ? null : answer.body;
  }

  /**
   * Answers the job's open prompt; the job is queued to run again. `ConflictError` when it was answered already or is not
   * waiting; `AnswerRejectedError` (422, with `why`) when the answer is not one of the options or fails the schema.
   */
  answer(id: string, answer: unknown, options: AnswerOptions = {}): Promise<S.Job> {
    const body: S.AnswerPromptRequest = { answer };
    if (options.confidence !== undefined) body.confidence = options.confidence;
    if (options.answeredBy !== undefined) body.answered_by = options.answeredBy;
    if (options.reason !== undefined) body.reason = options.reason;
    if (options.key !== undefined) body.key = options.key;
    return this.call({ method: "POST", path: `${job(id)}/prompt/response`, body, idempotent: false, shape: shapes.job }, options);
  }

  // ---- live events

  /**
   * Live events (Server-Sent Events) as they are committed: one job's with `jobId`, else every job's (narrowed by
   * `type` and `status`). When the connection drops, or the server cuts off a reader that fell behind (`overflow`), it
   * reconnects with `Last-Event-ID`, so no event is missed or repeated. Runs until the signal aborts (then it throws
   * `JobkeeperAbortError`) or the loop breaks; a refusal (404, 401, …) throws.
   */
  watch(options: WatchOptions = {}): AsyncGenerator<StreamEvent, void, undefined> {
    return this.stream(options, undefined);
  }

  private async *stream(options: WatchOptions, onOpen: (() => Promise<boolean>) | undefined): AsyncGenerator<StreamEvent, void, undefined> {
    const status = options.status === undefined ? undefined : typeof options.status === "string" ? options.status : options.status.join(",");
    const path = options.jobId !== undefined ? `${job(options.jobId)}/stream` : `${API}/events${query({ type: options.type, status })}`;
    const signal = options.signal;
    let last = options.after;
    let pause = 100;
    for (;;) {
      if (signal?.aborted) throw new JobkeeperAbortError("watch was aborted", { cause: signal.reason });
      let open;
      try {
        open = await this.transport.openStream(path, { "Last-Event-ID": last === undefined ? undefined : String(last) }, this.opts(options));
      } catch (error) {
        if (!reconnectable(error)) throw error;
        await this.pause(pause, signal);
        pause = Math.min(5000, pause * 2);
        continue;
      }
      let received = false;
      // The server sends nothing on a quiet stream (no keep-alive comments), so a connection that died without a
      // word looks the same as a quiet one; with idleTimeoutMs it is reopened (losslessly, from the last id).
      let idled = false;
      let idleTimer: ReturnType<typeof setTimeout> | undefined;
      const stream = open;
      const rearm = () => {
        if (options.idleTimeoutMs === undefined) return;
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          idled = true;
          stream.close();
        }, options.idleTimeoutMs);
      };
      try {
        rearm();
        if (onOpen && (await onOpen())) return;
        for await (const message of readEvents(open.body)) {
          rearm();
          if (message.event === "overflow") break; // fell behind: reconnect from the last id read
          const event = parseEvent(message.data);
          last = /^\d+$/.test(message.lastEventId) ? Number(message.lastEventId) : event.id;
          received = true;
          yield event;
        }
      } catch (error) {
        if (signal?.aborted) throw new JobkeeperAbortError("watch was aborted", { cause: signal.reason });
        if (error instanceof JobkeeperError && !reconnectable(error)) throw error;
        // Otherwise the connection broke mid-stream (or went quiet too long): reconnect below.
      } finally {
        clearTimeout(idleTimer);
        open.close();
      }
      if (received || idled) pause = 100;
      await this.pause(pause, signal);
      if (!received) pause = Math.min(5000, pause * 2);
    }
  }

  private async pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      await sleep(ms, signal);
    } catch {
      throw new JobkeeperAbortError("watch was aborted", { cause: signal?.reason });
    }
  }

  /**
   * Waits until the job is completed, failed or cancelled, and returns it. Listens to the job's event stream (no
   * polling); reads the job on each (re)connection, so a job that finished meanwhile is seen at once. A stream quiet
   * for `idleTimeoutMs` (default 30 s) is reopened, so a connection that died silently cannot make it wait forever.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<S.Job> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) throw new JobkeeperAbortError("wait was aborted", { cause: options.signal.reason });
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, options.timeoutMs);
    let found: S.Job | undefined;
    const check = async () => {
      const current = await this.get(id, { signal: controller.signal });
      if (FINAL_STATUSES.includes(current.status)) found = current;
      return found !== undefined;
    };
    try {
      const watch = { jobId: id, signal: controller.signal, idleTimeoutMs: options.idleTimeoutMs ?? 30_000 };
      for await (const event of this.stream(watch, check)) {
        if (event.job_status && FINAL_STATUSES.includes(event.job_status) && (await check())) break;
      }
      if (found) return found;
      throw new JobkeeperError(`the event stream of job '${id}' ended`); // not reached: the stream only ends when found
    } catch (error) {
      if (found) return found;
      if (timedOut) throw new JobkeeperTimeoutError(`job '${id}' did not finish within ${options.timeoutMs} ms`, { cause: error });
      if (options.signal?.aborted) throw new JobkeeperAbortError("wait was aborted", { cause: options.signal.reason });
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  // ---- queues

  /** Every queue with jobs or settings. */
  async queues(options?: CallOptions): Promise<S.QueueInfo[]> {
    return (await this.call<S.QueueListResponse>({ method: "GET", path: `${API}/queues`, idempotent: true, shape: shapes.queueList }, options)).items;
  }

  /** One queue: settings, counts, throughput (`NotFoundError` `queue-not-found`). */
  queue(name: string, options?: CallOptions): Promise<S.QueueInfo> {
    return this.call({ method: "GET", path: queuePath(name), idempotent: true, shape: shapes.queue }, options);
  }

  /** Changes a queue's settings (a merge patch: members given replace, null removes a limit). */
  updateQueue(name: string, patch: S.UpdateQueueRequest, options?: CallOptions & ActorOptions): Promise<S.QueueInfo> {
    return this.call({ method: "PATCH", path: queuePath(name), body: patch, idempotent: true, shape: shapes.queue }, options);
  }

  /** Pauses the queue, or one type in it: once this returns no instance claims its jobs. */
  pauseQueue(name: string, options: QueueTypeOptions = {}): Promise<S.QueueInfo> {
    const body: S.PauseQueueRequest = options.type === undefined ? {} : { type: options.type };
    return this.call({ method: "POST", path: `${queuePath(name)}/pause`, body, idempotent: true, shape: shapes.queue }, options);
  }

  /** Resumes the queue, or one type in it; waiting claims wake at once. */
  resumeQueue(name: string, options: QueueTypeOptions = {}): Promise<S.QueueInfo> {
    const body: S.PauseQueueRequest = options.type === undefined ? {} : { type: options.type };
    return this.call({ method: "POST", path: `${queuePath(name)}/resume`, body, idempotent: true, shape: shapes.queue }, options);
  }

  // ---- schedules

  /** Every schedule, with its next fire times. */
  async schedules(options?: CallOptions): Promise<S.Schedule[]> {
    return (await this.call<S.ScheduleListResponse>({ method: "GET", path: `${API}/schedules`, idempotent: true, shape: shapes.scheduleList }, options)).items;
  }

  /** One schedule (`NotFoundError` `schedule-not-found`). */
  schedule(name: string, options?: CallOptions): Promise<S.Schedule> {
    return this.call({ method: "GET", path: schedulePath(name), idempotent: true, shape: shapes.schedule }, options);
  }

  /** Creates a schedule (201); a taken name is `ConflictError` (`schedule-exists`). */
  createSchedule(schedule: S.NewSchedule, options?: CallOptions & ActorOptions): Promise<S.Schedule> {
    return this.call({ method: "POST", path: `${API}/schedules`, body: schedule, idempotent: false, shape: shapes.schedule }, options);
  }

  /** Changes a schedule (a merge patch; `job` replaces the template); a new timing counts from now. */
  updateSchedule(name: string, patch: S.UpdateScheduleRequest, options?: CallOptions & ActorOptions): Promise<S.Schedule> {
    return this.call({ method: "PATCH", path: schedulePath(name), body: patch, idempotent: false, shape: shapes.schedule }, options);
  }

  /** Deletes a schedule; the jobs it created stay. */
  async deleteSchedule(name: string, options?: CallOptions & ActorOptions): Promise<void> {
    await this.call({ method: "DELETE", path: schedulePath(name), idempotent: false }, options);
  }

  /** An extra run now, outside the timing (also while paused): the job it created, and the schedule. */
  triggerSchedule(name: string, options?: CallOptions & ActorOptions): Promise<S.ScheduleTriggerResponse> {
    return this.call({ method: "POST", path: `${schedulePath(name)}/trigger`, idempotent: false, shape: shapes.trigger }, options);
  }

  /** Pauses a schedule (idempotent): no fires until resumed. */
  pauseSchedule(name: string, options?: CallOptions & ActorOptions): Promise<S.Schedule> {
    return this.call({ method: "POST", path: `${schedulePath(name)}/pause`, idempotent: true, shape: shapes.schedule }, options);
  }

  /** Resumes a schedule (idempotent); it counts from now. */
  resumeSchedule(name: string, options?: CallOptions & ActorOptions): Promise<S.Schedule> {
    return this.call({ method: "POST", path: `${schedulePath(name)}/resume`, idempotent: true, shape: shapes.schedule }, options);
  }

  // ---- the worker protocol (what `Worker` uses; for workers of your own)

  /** Claims due jobs under a lease; with `wait_seconds` a long poll (the timeout grows by the wait). Not retried. */
  async claim(request: S.ClaimJobsRequest, options?: CallOptions): Promise<S.WorkItem[]> {
    const extraTimeoutMs = Math.max(0, request.wait_seconds ?? 0) * 1000;
    const answer = await this.call<S.ClaimResponse>(
      { method: "POST", path: `${API}/workers/claim`, body: request, idempotent: false, shape: shapes.claim, extraTimeoutMs },
      options,
    );
    return answer.jobs;
  }

  /** Renews the lease (for `lease_seconds`, else the claim's length); `cancel_requested` says the job should stop. */
  heartbeat(id: string, request: S.LeaseRequest, options?: CallOptions): Promise<S.LeaseResponse> {
    return this.call({ method: "POST", path: `${job(id)}/heartbeat`, body: request, idempotent: true, shape: shapes.lease }, options);
  }

  /** Reports progress under the lease (members given merge into the job's progress) and renews it. */
  reportProgress(id: string, request: S.ProgressRequest, options?: CallOptions): Promise<S.LeaseResponse> {
    return this.call({ method: "POST", path: `${job(id)}/progress`, body: request, idempotent: true, shape: shapes.lease }, options);
  }

  /** Saves small JSON state on the job under the lease; a later run reads it from the work item's `checkpoint`. */
  saveCheckpoint(id: string, request: S.CheckpointRequest, options?: CallOptions): Promise<S.LeaseResponse> {
    return this.call({ method: "POST", path: `${job(id)}/checkpoint`, body: request, idempotent: true, shape: shapes.lease }, options);
  }

  /**
   * Asks a question under the lease: the job waits (`waiting: true`), or the key's stored answer comes back. Not
   * retried: once the first ask committed, the job waits without a lease and a resend is refused as `lease-lost`.
   */
  ask(id: string, request: S.AskPromptRequest, options?: CallOptions): Promise<S.PromptAskResponse> {
    return this.call({ method: "POST", path: `${job(id)}/prompt`, body: request, idempotent: false, shape: shapes.ask }, options);
  }

  /** Completes the attempt with a result (the job ends `cancelled` instead when a cancel was requested). Not retried. */
  complete(id: string, request: S.CompleteRequest, options?: CallOptions): Promise<S.Job> {
    return this.call({ method: "POST", path: `${job(id)}/complete`, body: request, idempotent: false, shape: shapes.job }, options);
  }

  /** Fails the attempt: queued again after a backoff while attempts remain and `retry` is not false. Not retried. */
  fail(id: string, request: S.FailRequest, options?: CallOptions): Promise<S.Job> {
    return this.call({ method: "POST", path: `${job(id)}/fail`, body: request, idempotent: false, shape: shapes.job }, options);
  }

  /** Gives the job back: queued again at once, the attempt not counted (or `cancelled` when a cancel was requested). Not retried. */
  release(id: string, request: S.LeaseRequest, options?: CallOptions): Promise<S.Job> {
    return this.call({ method: "POST", path: `${job(id)}/release`, body: request, idempotent: false, shape: shapes.job }, options);
  }
}

/** Errors after which a stream is opened again (the server was away for a moment); refusals are not. */
function reconnectable(error: unknown): boolean {
  return error instanceof JobkeeperConnectionError || error instanceof ServerUnavailableError || error instanceof JobkeeperTimeoutError || !(error instanceof JobkeeperError);
}

function parseEvent(data: string): StreamEvent {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new NotJobkeeperError("the event stream sent an event that is not JSON", 200, data.slice(0, 200));
  }
  if (!shapes.event(value)) throw new NotJobkeeperError("the event stream sent an event that is not a job event", 200, data.slice(0, 200));
  return value as StreamEvent;
}
