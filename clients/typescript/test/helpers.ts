// Shared test plumbing: a real Jobkeeper server (the one JOBKEEPER_URL names, or one started here), unique job
// types, polling with a deadline, and child processes that are always stopped.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "jobkeeper";

/** The package folder (clients/typescript), found from the compiled test (dist-test/test/). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const repoRoot = path.resolve(packageRoot, "..", "..");
export const fixtures = path.join(packageRoot, "test", "fixtures");

/** The server executable: JOBKEEPER_SERVER, else the Release build of the repository. */
export function serverExecutable(): string {
  return process.env["JOBKEEPER_SERVER"] || path.join(repoRoot, "src", "Jobkeeper.Server", "bin", "Release", "net10.0", "jobkeeper");
}

const children = new Set<ChildProcess>();
// A test process that dies anyway (an uncaught error) still takes its servers and workers with it.
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});

/** Starts `command` and tracks it so it is killed when the test process exits. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Waits for a child to exit (up to `timeoutMs`), killing it with SIGKILL after that. Returns its exit code or signal. */
export async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<number | NodeJS.Signals> {
  if (child.exitCode !== null) return child.exitCode;
  if (child.signalCode !== null) return child.signalCode;
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? -1);
    });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  url: string;
  /** The API keys made for it, by name (none for an open server). */
  keys: Record<string, string>;
  /** The server's output so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** API keys to add before it starts: name → roles. */
  keys?: Record<string, string[]>;
  /** Extra environment (e.g. JOBKEEPER__RATELIMIT__PERMITSPERSECOND). */
  env?: Record<string, string>;
}

/** Starts `jobkeeper serve` on a free loopback port with a fresh database in a temporary folder. */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const executable = serverExecutable();
  const dir = mkdtempSync(path.join(tmpdir(), "jk-ts-"));
  const keys: Record<string, string> = {};
  for (const [name, roles] of Object.entries(options.keys ?? {})) {
    const args = ["keys", "add", "--name", name, ...roles.flatMap((r) => ["--role", r]), "--file", path.join(dir, "appsettings.json")];
    const made = spawnSync(executable, args, { cwd: dir, encoding: "utf8", timeout: 30_000 });
    const key = made.stdout.trim().split(/\r?\n/)[0] ?? "";
    if (made.status !== 0 || !key.startsWith("jk_")) {
      throw new Error(`jobkeeper keys add failed (exit ${made.status}): ${made.stdout} ${made.stderr}`);
    }
    keys[name] = key;
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let log = "";
    const child = track(
      spawn(executable, ["serve", "--urls", url, "--db", path.join(dir, "jk.db")], {
        cwd: dir,
        env: { ...process.env, ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    child.stdout?.on("data", (chunk: Buffer) => (log += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
    const server: TestServer = {
      url,
      keys,
      output: () => log,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          await waitForExit(child, 10_000);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
        if (response.ok) return server;
      } catch {
        // not listening yet
      }
      await delay(50);
    }
    child.kill("SIGKILL");
    await waitForExit(child, 5000);
    // A port taken between freePort() and the bind: try another; anything else is a real failure.
    if (attempt < 3 && /already in use/.test(log)) continue;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`jobkeeper serve (${executable}) did not become healthy: ${log.slice(-2000)}`);
  }
}

/** The server the tests share: JOBKEEPER_URL (with JOBKEEPER_API_KEY) when set, else one started for this test file. */
export async function sharedServer(): Promise<{ url: string; apiKey: string | undefined; stop(): Promise<void> }> {
  const url = process.env["JOBKEEPER_URL"];
  if (url) return { url: url.replace(/\/+$/, ""), apiKey: process.env["JOBKEEPER_API_KEY"] || undefined, stop: async () => undefined };
  const server = await startServer();
  return { url: server.url, apiKey: undefined, stop: () => server.stop() };
}

export type SharedServer = Awaited<ReturnType<typeof sharedServer>>;

/** The shared server and a client of it (with its key), for a test file's before(). */
export async function connectShared(): Promise<{ server: SharedServer; client: Client }> {
  const server = await sharedServer();
  return { server, client: new Client({ baseUrl: server.url, ...(server.apiKey ? { apiKey: server.apiKey } : {}) }) };
}

/** A job type no other test uses, so tests can share one server. */
export function uniqueType(name: string): string {
  return `ts-test.${name}.${randomUUID().slice(0, 8)}`;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs` with `what` and the last
 * value seen. Used instead of sleeps: a test waits exactly as long as the thing takes.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await delay(intervalMs);
  }
}

/** A worker child process running test/fixtures/worker.mjs; `lines` holds what it printed (one JSON value per line). */
export interface WorkerProcess {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  stderr(): string;
  /** Resolves with the exit code or signal (SIGKILL after `timeoutMs`). */
  exited(timeoutMs?: number): Promise<number | NodeJS.Signals>;
}

export function startWorkerProcess(env: Record<string, string>): WorkerProcess {
  const child = track(
    spawn(process.execPath, [path.join(fixtures, "worker.mjs")], {
      cwd: packageRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const lines: Array<Record<string, unknown>> = [];
  let rest = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    rest += chunk.toString();
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as Record<string, unknown>);
  });
  child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
  return { child, lines, stderr: () => err, exited: (timeoutMs = 30_000) => waitForExit(child, timeoutMs) };
}
