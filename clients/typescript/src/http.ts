// The HTTP layer: one place that builds requests (base URL, key, trace context, who/why), bounds every call by a
// timeout and the caller's AbortSignal, retries idempotent calls on connection errors, and turns every answer that is
// not the expected one into a typed error. Uses only `fetch`, so it runs in Node 20+ and browsers alike; in Node the
// global fetch (undici) keeps connections alive, which the worker's throughput depends on.

import {
  AnswerRejectedError,
  ConflictError,
  ForbiddenError,
  InvalidBaseUrlError,
  JobkeeperAbortError,
  JobkeeperConnectionError,
  JobkeeperError,
  JobkeeperTimeoutError,
  LEASE_LOST,
  LeaseLostError,
  NotFoundError,
  NotJobkeeperError,
  PayloadTooLargeError,
  PreconditionFailedError,
  ProblemError,
  RateLimitedError,
  ServerError,
  ServerUnavailableError,
  UnauthorizedError,
  ValidationError,
  type ProblemDocument,
} from "./errors.js";
import * as shapes from "./shapes.js";
import type { Shape } from "./shapes.js";
import type { RawRequest, RawResponse, Requester } from "./node-http.js";
import { ambientTraceparent, isTraceparent, type TraceContextProvider } from "./tracing.js";

/** Options every client call takes. */
export interface CallOptions {
  /** Aborts the call (it then rejects with `JobkeeperAbortError`, named `AbortError`). */
  signal?: AbortSignal;
  /** This call's timeout in milliseconds (default: the client's `timeoutMs`), retries included. */
  timeoutMs?: number;
  /** The W3C trace context to send; default: the client's `traceContext` hook, else the running job's trace. */
  traceparent?: string;
}

/** Who asks and why, recorded in the job's history (`X-Actor`, `X-Reason`). */
export interface ActorOptions {
  /** Who asks (at most 200 characters). Behind API keys the key's name is the actor and this its display name. */
  actor?: string;
  /** Why (at most 2,000 characters). */
  reason?: string;
}

export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportConfig {
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
  retries: number;
  /** Opens event streams (they need a body stream). */
  fetch: FetchFunction;
  /** Sends the JSON calls: `node:http` in Node unless a fetch was given, else the fetch. */
  request: Requester;
  traceContext: TraceContextProvider | undefined;
  headers: Record<string, string>;
}

/** One request to the API. `path` is relative to the base URL and starts with "/". */
export interface ApiRequest {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  headers?: Record<string, string | undefined>;
  /** Safe to send twice: retried with backoff on connection errors and 502/503/504. */
  idempotent: boolean;
  /** The shape of a JSON answer; absent when the answer has no body (204). */
  shape?: Shape;
  /** Added to the timeout: a long poll's wait. */
  extraTimeoutMs?: number;
  /** Refusals to hand back instead of throwing, with their parsed JSON body (e.g. 404 `no-open-prompt`). */
  pass?: (status: number, body: unknown) => boolean;
}

export interface ApiAnswer<T> {
  status: number;
  headers: RawResponse["headers"];
  body: T;
}

/** Checks and normalises a base URL: absolute http(s), no credentials, query or fragment; returned without a trailing slash. */
export function normaliseBaseUrl(baseUrl: unknown): string {
  if (typeof baseUrl !== "string" || baseUrl.trim() === "") {
    throw new InvalidBaseUrlError(`baseUrl must be the server's address, e.g. http://127.0.0.1:8080; got ${describe(baseUrl)}`);
  }
  let url: URL;
  try {
    url = new URL(baseUrl.trim());
  } catch {
    throw new InvalidBaseUrlError(`baseUrl '${baseUrl}' is not an absolute URL; give scheme, host and port, e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidBaseUrlError(`baseUrl '${baseUrl}' must use http or https, not ${url.protocol.replace(":", "")}`);
  }
  if (url.username || url.password) {
    throw new InvalidBaseUrlError(`baseUrl must not hold credentials; give the API key as apiKey`);
  }
  if (url.search || url.hash) {
    throw new InvalidBaseUrlError(`baseUrl '${baseUrl}' must not have a query or fragment`);
  }
  return url.href.replace(/\/+$/, "");
}

function describe(value: unknown): string {
  return value === undefined ? "nothing" : value === null ? "null" : typeof value === "string" ? `'${value}'` : typeof value;
}

/** Builds a query string (with its "?") from defined values; arrays repeat the parameter. */
export function query(params: Record<string, string | number | boolean | readonly string[] | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) search.append(key, v);
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Percent-encodes a path segment (ids, queue and schedule names). */
export const segment = (value: string): string => encodeURIComponent(value);

const TIMED_OUT = Symbol("timeout");

/** A deadline and the caller's signal combined into one signal for fetch, telling afterwards which one fired. */
class Deadline {
  readonly controller = new AbortController();
  readonly endsAt: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly onAbort: () => void;

  constructor(
    readonly timeoutMs: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    this.onAbort = () => this.controller.abort(caller?.reason);
    if (caller?.aborted) this.controller.abort(caller.reason);
    else caller?.addEventListener("abort", this.onAbort, { once: true });
    // Timers take at most 2^31-1 ms (a longer one fires at once); anything longer is as good as no timeout.
    if (Number.isFinite(timeoutMs) && timeoutMs <= 2 ** 31 - 1) {
      this.timer = setTimeout(() => this.controller.abort(TIMED_OUT), Math.max(0, timeoutMs));
    }
    this.endsAt = Date.now() + timeoutMs;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get timedOut(): boolean {
    return this.controller.signal.aborted && this.controller.signal.reason === TIMED_OUT;
  }

  /** Stops the timer only: the caller's signal may still end a stream the call handed back. */
  disarm(): void {
    clearTimeout(this.timer);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener("abort", this.onAbort);
  }
}

export class Transport {
  readonly baseUrl: string;
  private readonly fixed: Record<string, string>;

  constructor(readonly config: TransportConfig) {
    this.baseUrl = normaliseBaseUrl(config.baseUrl);
    this.fixed = { Accept: "application/json", ...config.headers };
    if (config.apiKey) this.fixed["Authorization"] = `Bearer ${config.apiKey}`;
  }

  /** The traceparent a call sends: the call's own, else the hook's, else the running job's. */
  traceparentFor(options: CallOptions | undefined): string | undefined {
    if (options?.traceparent !== undefined) return isTraceparent(options.traceparent) ? options.traceparent : undefined;
    let fromHook: string | undefined;
    try {
      fromHook = this.config.traceContext?.();
    } catch {
      // A broken tracing hook must not break the call; the call just carries no trace.
    }
    if (isTraceparent(fromHook)) return fromHook;
    const ambient = ambientTraceparent();
    return isTraceparent(ambient) ? ambient : undefined;
  }

  private headersFor(request: ApiRequest, options: (CallOptions & ActorOptions) | undefined): Record<string, string> {
    const headers: Record<string, string> = { ...this.fixed };
    if (request.body !== undefined) headers["Content-Type"] = "application/json";
    const traceparent = this.traceparentFor(options);
    if (traceparent) headers["traceparent"] = traceparent;
    // Headers carry only ASCII safely; the server decodes percent-encoding (api.md, "Who and why").
    if (options?.actor) headers["X-Actor"] = encodeURIComponent(options.actor);
    if (options?.reason) headers["X-Reason"] = encodeURIComponent(options.reason);
    for (const [name, value] of Object.entries(request.headers ?? {})) if (value !== undefined) headers[name] = value;
    return headers;
  }

  /** Sends a request and returns its parsed answer, or throws a typed error. */
  async send<T>(request: ApiRequest, options?: CallOptions & ActorOptions): Promise<ApiAnswer<T>> {
    const deadline = new Deadline((options?.timeoutMs ?? this.config.timeoutMs) + (request.extraTimeoutMs ?? 0), options?.signal);
    const url = this.baseUrl + request.path;
    const init: RawRequest = {
      method: request.method,
      headers: this.headersFor(request, options),
      signal: deadline.signal,
    };
    if (request.body !== undefined) init.body = JSON.stringify(request.body);
    const attempts = request.idempotent ? 1 + Math.max(0, this.config.retries) : 1;
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.once<T>(url, init, request, deadline);
        } catch (error) {
          const retryable = error instanceof JobkeeperConnectionError || error instanceof ServerUnavailableError;
          if (!retryable || attempt >= attempts) throw error;
          const pause = Math.min(2000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
          if (Date.now() + pause >= deadline.endsAt) throw error;
          await sleep(pause, deadline.signal).catch(() => {
            throw this.abortError(deadline, request, error);
          });
        }
      }
    } finally {
      deadline.dispose();
    }
  }

  private async once<T>(url: string, init: RawRequest, request: ApiRequest, deadline: Deadline): Promise<ApiAnswer<T>> {
    let response: RawResponse;
    let text: string;
    try {
      response = await this.config.request(url, init);
      text = await response.text();
    } catch (error) {
      throw this.abortError(deadline, request, error);
    }
    const status = response.status;
    if (status >= 200 && status < 300) {
      if (!request.shape) return { status, headers: response.headers, body: undefined as T };
      const body = parseJson(text);
      if (body === undefined || !request.shape(body)) {
        throw notJobkeeper(request, url, response, text, "an answer that is not Jobkeeper's");
      }
      return { status, headers: response.headers, body: body as T };
    }
    if (request.pass) {
      const body = parseJson(text);
      if (request.pass(status, body)) return { status, headers: response.headers, body: body as T };
    }
    throw errorFor(request, url, response, text, problemOf(text));
  }

  /** The error for a fetch that threw: the caller aborted, the deadline passed, or the connection failed. */
  private abortError(deadline: Deadline, request: ApiRequest, error: unknown): JobkeeperError {
    if (error instanceof JobkeeperError) return error;
    const what = `${request.method} ${request.path.split("?")[0]}`;
    if (deadline.timedOut) {
      return new JobkeeperTimeoutError(`${what}: no answer from ${this.baseUrl} within ${deadline.timeoutMs} ms`, { cause: error });
    }
    if (deadline.signal.aborted) return new JobkeeperAbortError(`${what} was aborted`, { cause: deadline.signal.reason });
    return new JobkeeperConnectionError(`${what}: cannot reach ${this.baseUrl}: ${reasonOf(error)}`, { cause: error });
  }

  /**
   * Opens a Server-Sent Events stream. The timeout bounds only getting the answer's headers; the body then stays open
   * until the caller's signal aborts it or the connection ends. Call `close()` once done with it.
   */
  async openStream(path: string, headers: Record<string, string | undefined>, options?: CallOptions): Promise<OpenStream> {
    const request: ApiRequest = { method: "GET", path, headers, idempotent: false };
    const deadline = new Deadline(options?.timeoutMs ?? this.config.timeoutMs, options?.signal);
    const requestHeaders = this.headersFor(request, options);
    requestHeaders["Accept"] = "text/event-stream";
    const url = this.baseUrl + path;
    let response: Response;
    try {
      response = await this.config.fetch(url, { method: "GET", headers: requestHeaders, signal: deadline.signal });
    } catch (error) {
      deadline.dispose();
      throw this.abortError(deadline, request, error);
    }
    const type = response.headers.get("content-type") ?? "";
    if (response.ok && type.startsWith("text/event-stream") && response.body) {
      // The body outlives this call: keep the caller's signal wired to it, drop only the header timeout.
      deadline.disarm();
      const body = response.body;
      return {
        body,
        close: () => {
          deadline.dispose();
          // Ends the connection if the body was not read to its end; a finished body ignores it.
          deadline.controller.abort();
        },
      };
    }
    let text = "";
    try {
      text = await response.text();
    } catch (error) {
      throw this.abortError(deadline, request, error);
    } finally {
      deadline.dispose();
    }
    if (response.ok) throw notJobkeeper(request, url, response, text, "something that is not an event stream");
    throw errorFor(request, url, response, text, problemOf(text));
  }
}

/** An open event stream: its body, and `close()` to let go of it (the connection and the caller's signal). */
export interface OpenStream {
  body: ReadableStream<Uint8Array>;
  close(): void;
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function problemOf(text: string): ProblemDocument | undefined {
  const value = parseJson(text);
  return shapes.problem(value) ? (value as ProblemDocument) : undefined;
}

function reasonOf(error: unknown): string {
  // node:http throws the system error (ECONNREFUSED, ECONNRESET, …) itself; fetch (undici) wraps it as the cause of a
  // TypeError("fetch failed").
  const own = error as { code?: unknown; message?: string } | undefined;
  if (typeof own?.code === "string" && own.code.startsWith("E")) return `${own.code}${own.message ? ` (${own.message})` : ""}`;
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ""}`;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

function notJobkeeper(request: ApiRequest, url: string, response: RawResponse, text: string, what: string): NotJobkeeperError {
  const type = response.headers.get("content-type") || "no content type";
  const start = text.slice(0, 200);
  return new NotJobkeeperError(
    `${request.method} ${url} answered ${response.status} with ${what} (${type}: ${JSON.stringify(start.slice(0, 80))}); is the base URL a Jobkeeper server?`,
    response.status,
    start,
  );
}

/** The typed error for a refusal: by status, and for 409 by problem type. */
function errorFor(request: ApiRequest, url: string, response: RawResponse, text: string, problem: ProblemDocument | undefined): JobkeeperError {
  const status = response.status;
  const gateway = status === 502 || status === 503 || status === 504;
  if (!problem) {
    // Kestrel answers some refusals with no body at all (414, 431, malformed requests): still the server's answer.
    // A gateway's HTML page means Jobkeeper is away behind it. Anything else with a body is not Jobkeeper talking.
    if (text.trim() !== "" && !gateway) return notJobkeeper(request, url, response, text, "a body that is not problem details");
    problem = { status, title: response.statusText || `HTTP ${status}` };
  }
  switch (status) {
    case 400:
      return new ValidationError(status, problem);
    case 401:
      return new UnauthorizedError(status, problem);
    case 403:
      return new ForbiddenError(status, problem);
    case 404:
      return new NotFoundError(status, problem);
    case 409:
      return problem.type === LEASE_LOST ? new LeaseLostError(status, problem) : new ConflictError(status, problem);
    case 412:
      return new PreconditionFailedError(status, problem);
    case 413:
      return new PayloadTooLargeError(status, problem);
    case 422:
      return new AnswerRejectedError(status, problem);
    case 429:
      return new RateLimitedError(status, problem, retryAfterSeconds(response.headers.get("retry-after")));
    default:
      if (gateway) return new ServerUnavailableError(status, problem);
      return status >= 500 ? new ServerError(status, problem) : new ProblemError(status, problem);
  }
}

function retryAfterSeconds(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Waits `ms`, rejecting with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
