// W3C trace context for the client's calls. A call sends `traceparent` from, in order: the call's own option, the
// client's `traceContext` hook (e.g. OpenTelemetry's current span), or the job a worker is running right now (Node's
// AsyncLocalStorage, when available). The worker's own calls about a job always send the job's traceparent.

/** Returns the caller's current W3C `traceparent`, or undefined when there is no current trace. */
export type TraceContextProvider = () => string | undefined;

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** Whether `value` is a well-formed W3C traceparent (`00-{32 hex trace id}-{16 hex span id}-{2 hex flags}`). */
export function isTraceparent(value: unknown): value is string {
  if (typeof value !== "string") return false;
  const match = TRACEPARENT.exec(value);
  return match !== null && !value.startsWith("ff") && !/^0+$/.test(match[1]!) && !/^0+$/.test(match[2]!);
}

/** The trace id (32 hex digits) of a traceparent, or undefined when it is not one. */
export function traceIdOf(traceparent: string | null | undefined): string | undefined {
  return isTraceparent(traceparent) ? traceparent.split("-")[1] : undefined;
}

interface Storage<T> {
  run<R>(value: T, fn: () => R): R;
  getStore(): T | undefined;
}

interface AsyncHooksModule {
  AsyncLocalStorage: new <T>() => Storage<T>;
}

let storage: Storage<string> | undefined;
let loading: Promise<void> | undefined;

function adopt(module: AsyncHooksModule | undefined): void {
  if (!storage && module?.AsyncLocalStorage) storage = new module.AsyncLocalStorage<string>();
}

// Synchronously where the runtime offers it (Node 20.16+, Deno, Bun), so even the first call of a handler sees its job.
try {
  const runtime = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  adopt(runtime?.getBuiltinModule?.("node:async_hooks") as AsyncHooksModule | undefined);
} catch {
  // Not Node: there is no ambient job context; use job.client instead.
}

/**
 * Loads AsyncLocalStorage on runtimes without `process.getBuiltinModule` (older Node). The specifier is a variable so
 * browser bundlers leave it alone; in a browser the import fails and there is simply no ambient context.
 */
export function loadAmbientContext(): Promise<void> {
  if (storage) return Promise.resolve();
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";
  if (!isNode) return Promise.resolve();
  const specifier = "node:async_hooks";
  loading ??= import(/* @vite-ignore */ /* webpackIgnore: true */ specifier).then(
    (module: AsyncHooksModule) => adopt(module),
    () => undefined,
  );
  return loading;
}

/** Runs `fn` with `traceparent` as the ambient job context (a no-op wrapper where AsyncLocalStorage is missing). */
export function runWithTraceparent<R>(traceparent: string | undefined, fn: () => R): R {
  return storage && traceparent ? storage.run(traceparent, fn) : fn();
}

/** The traceparent of the job whose handler is running in this async context, if any. */
export function ambientTraceparent(): string | undefined {
  return storage?.getStore();
}

/** Whether handlers' calls can pick up their job's trace without `job.client` (AsyncLocalStorage is loaded). */
export function hasAmbientContext(): boolean {
  return storage !== undefined;
}
