// Bad input and bad servers: each ends in its own typed error, and none hangs.

import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import {
  Client,
  ForbiddenError,
  InvalidBaseUrlError,
  JobkeeperAbortError,
  JobkeeperConnectionError,
  JobkeeperError,
  JobkeeperTimeoutError,
  LeaseLostError,
  NotJobkeeperError,
  ProblemError,
  RateLimitedError,
  ServerUnavailableError,
  UnauthorizedError,
  Worker,
  type StreamEvent,
} from "jobkeeper";
import { eventually, freePort, sharedServer, startServer, uniqueType, type TestServer } from "./helpers.js";

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A tiny HTTP server on loopback answering with `handler`; closed (connections included) by the returned function. */
async function fakeServer(handler: Handler): Promise<{ url: string; requests: IncomingMessage[]; close(): Promise<void> }> {
  const requests: IncomingMessage[] = [];
  const server: Server = createHttpServer((request, response) => {
    requests.push(request);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Rejects the test when `promise` takes longer than `ms`: "never a hang". */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hung for ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe("a malformed base URL", () => {
  for (const baseUrl of ["", "localhost:8080", "not a url", "ftp://127.0.0.1:8080", "http://user:pw@127.0.0.1:8080", "http://127.0.0.1:8080/?x=1", undefined]) {
    test(`${JSON.stringify(baseUrl)} is InvalidBaseUrlError from the constructor`, () => {
      assert.throws(() => new Client({ baseUrl: baseUrl as string }), InvalidBaseUrlError);
    });
  }

  test("a trailing slash and a path prefix are kept as the base", () => {
    assert.equal(new Client({ baseUrl: "http://127.0.0.1:8080/" }).baseUrl, "http://127.0.0.1:8080");
    assert.equal(new Client({ baseUrl: "https://example.com/jobs/" }).baseUrl, "https://example.com/jobs");
  });
});

describe("a server that is not Jobkeeper", () => {
  test("an HTML page (200 or 404) is NotJobkeeperError", async () => {
    const html = await fakeServer((request, response) => {
      response.writeHead(request.url?.startsWith("/api/v1/jobs/") ? 404 : 200, { "Content-Type": "text/html" });
      response.end("<!doctype html><html><body>It works!</body></html>");
    });
    try {
      const client = new Client({ baseUrl: html.url, timeoutMs: 5000 });
      for (const call of [() => client.health(), () => client.get("abc"), () => client.create({ type: "x" }), () => client.queues()]) {
        const error = await within(10_000, call().catch((e: unknown) => e));
        assert.ok(error instanceof NotJobkeeperError, String(error));
        assert.match(error.bodyStart, /<!doctype html>/);
      }
      const watch = await within(10_000, client.watch({ jobId: "abc" }).next().catch((e: unknown) => e));
      assert.ok(watch instanceof NotJobkeeperError, String(watch));
      const worker = new Worker(client, { waitSeconds: 1 }).handle("x", () => null);
      await assert.rejects(within(10_000, worker.run()), NotJobkeeperError);
    } finally {
      await html.close();
    }
  });

  test("JSON of the wrong shape is NotJobkeeperError; an empty 503 is ServerUnavailableError", async () => {
    const json = await fakeServer((request, response) => {
      if (request.url === "/api/v1/queues") {
        response.writeHead(503);
        response.end();
        return;
      }
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ hello: "world", items: 3 }));
    });
    try {
      const client = new Client({ baseUrl: json.url, timeoutMs: 5000, retries: 0 });
      await assert.rejects(within(10_000, client.get("x")), NotJobkeeperError);
      await assert.rejects(within(10_000, client.list().next()), NotJobkeeperError);
      await assert.rejects(within(10_000, client.health()), NotJobkeeperError);
      await assert.rejects(within(10_000, client.queues()), ServerUnavailableError);
    } finally {
      await json.close();
    }
  });

  test("a 429 is RateLimitedError with retryAfter", async () => {
    const limited = await fakeServer((_request, response) => {
      response.writeHead(429, { "Content-Type": "application/problem+json", "Retry-After": "7" });
      response.end(JSON.stringify({ type: "https://jobkeeper.dev/problems/rate-limited", title: "Too many requests", status: 429 }));
    });
    try {
      const error = await new Client({ baseUrl: limited.url }).get("x").catch((e: unknown) => e);
      assert.ok(error instanceof RateLimitedError, String(error));
      assert.equal(error.retryAfter, 7);
      assert.equal(error.kind, "rate-limited");
    } finally {
      await limited.close();
    }
  });
});

// Node's default path (node:http) and fetch (the browsers' path, and Node's when a fetch is given) alike.
for (const [transport, extra] of [
  ["node:http", {}],
  ["fetch", { fetch: (input: string, init: RequestInit) => globalThis.fetch(input, init) }],
] as const) describe(`connections and time (${transport})`, () => {
  test("nothing listening is JobkeeperConnectionError, after the retries of an idempotent call", async () => {
    const port = await freePort();
    const client = new Client({ baseUrl: `http://127.0.0.1:${port}`, retries: 2, timeoutMs: 5000, ...extra });
    const error = await within(10_000, client.get("x").catch((e: unknown) => e));
    assert.ok(error instanceof JobkeeperConnectionError, String(error));
    assert.match(error.message, /ECONNREFUSED/);
  });

  test("idempotent calls are retried after a dropped connection; others are not", async () => {
    let hits = 0;
    const flaky = await fakeServer((request, response) => {
      hits++;
      if (hits % 2 === 1) {
        request.socket.destroy(); // the connection breaks before any answer
        return;
      }
      response.writeHead(200, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ id: "a", type: "t", status: "queued" }));
    });
    try {
      const client = new Client({ baseUrl: flaky.url, retries: 2, ...extra });
      assert.equal((await client.get("a")).id, "a");
      assert.equal(hits, 2, "the GET was sent again once");
      hits = 0;
      await assert.rejects(client.retry("a"), JobkeeperConnectionError);
      assert.equal(hits, 1, "a retry (not idempotent) is sent once");
      hits = 0;
      await client.create({ type: "t" }, { idempotencyKey: "k" });
      assert.equal(hits, 2, "a create with an Idempotency-Key is retried");
      assert.equal(flaky.requests.at(-1)?.headers["idempotency-key"], "k");
    } finally {
      await flaky.close();
    }
  });

  test("a server that never answers is JobkeeperTimeoutError within the timeout", async () => {
    const silent = await fakeServer(() => undefined);
    try {
      const client = new Client({ baseUrl: silent.url, timeoutMs: 300, ...extra });
      const started = Date.now();
      await assert.rejects(within(5000, client.get("x")), JobkeeperTimeoutError);
      await assert.rejects(within(5000, client.get("x", { timeoutMs: 100 })), JobkeeperTimeoutError);
      assert.ok(Date.now() - started < 3000);
      const controller = new AbortController();
      const pending = client.get("x", { signal: controller.signal, timeoutMs: 10_000 });
      controller.abort();
      const aborted = await within(5000, pending.catch((e: unknown) => e));
      assert.ok(aborted instanceof JobkeeperAbortError, String(aborted));
      assert.equal(aborted.name, "AbortError");
      // A watch whose server never answers its headers times out per attempt and keeps trying until aborted.
      const watchController = new AbortController();
      const watching = client.watch({ signal: watchController.signal }).next();
      setTimeout(() => watchController.abort(), 700);
      await assert.rejects(within(5000, watching), JobkeeperAbortError);
    } finally {
      await silent.close();
    }
  });
});

test("a stream quiet for idleTimeoutMs is reopened from the last event id", async () => {
  const lastIds: Array<string | undefined> = [];
  const sse = await fakeServer((request, response) => {
    lastIds.push(request.headers["last-event-id"] as string | undefined);
    response.writeHead(200, { "Content-Type": "text/event-stream" });
    const id = 5 + lastIds.length - 1;
    // One event, then silence, as a connection that died without a word would look.
    response.write(`event: updated\ndata: ${JSON.stringify({ id, job_id: "j", type: "updated", at: "2026-12-07T00:00:00Z" })}\nid: ${id}\n\n`);
  });
  try {
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(), 5000); // a stream that is never reopened ends the test here
    const ids: number[] = [];
    try {
      for await (const event of new Client({ baseUrl: sse.url }).watch({ jobId: "j", idleTimeoutMs: 200, signal: controller.signal })) {
        ids.push(event.id);
        if (ids.length === 3) break;
      }
    } catch (error) {
      assert.fail(`no reconnect within 5 s (${String(error)}; ids ${ids})`);
    } finally {
      clearTimeout(deadline);
    }
    assert.deepEqual(ids, [5, 6, 7]);
    assert.deepEqual(lastIds, [undefined, "5", "6"]);
  } finally {
    await sse.close();
  }
});

describe("API keys", () => {
  let keyed: TestServer;
  before(async () => {
    keyed = await startServer({ keys: { worker: ["work", "read"], admin: ["admin"] } });
  });
  after(async () => {
    await keyed?.stop();
  });

  test("no key is UnauthorizedError (401); a key without the role is ForbiddenError (403)", async () => {
    const anonymous = new Client({ baseUrl: keyed.url, apiKey: "" });
    const error = await anonymous.list().next().catch((e: unknown) => e);
    assert.ok(error instanceof UnauthorizedError, String(error));
    assert.equal(error.kind, "api-key-required");
    const wrong = await new Client({ baseUrl: keyed.url, apiKey: "jk_wrong" }).get("x").catch((e: unknown) => e);
    assert.ok(wrong instanceof UnauthorizedError, String(wrong));
    assert.equal(wrong.kind, "invalid-api-key");
    const worker = new Client({ baseUrl: keyed.url, apiKey: keyed.keys["worker"]! });
    const forbidden = await worker.create({ type: "x" }).catch((e: unknown) => e);
    assert.ok(forbidden instanceof ForbiddenError, String(forbidden));
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.detail ?? "", /submit/);
    // A worker whose key may not claim stops at once with the refusal.
    const readOnly = new Worker(anonymous, { waitSeconds: 1 }).handle("x", () => null);
    await assert.rejects(within(10_000, readOnly.run()), UnauthorizedError);
    // The live stream needs the key too.
    await assert.rejects(anonymous.watch().next(), UnauthorizedError);
  });

  test("the key comes from JOBKEEPER_API_KEY when not given", async () => {
    const saved = process.env["JOBKEEPER_API_KEY"];
    process.env["JOBKEEPER_API_KEY"] = keyed.keys["admin"]!;
    try {
      const client = new Client({ baseUrl: keyed.url });
      const job = await client.create({ type: uniqueType("envkey") });
      const events = await client.events(job.id);
      assert.equal(events[0]?.actor, "admin", "behind keys the key's name is the actor");
    } finally {
      if (saved === undefined) delete process.env["JOBKEEPER_API_KEY"];
      else process.env["JOBKEEPER_API_KEY"] = saved;
    }
  });

  test("409 lease-lost from a keyed server is LeaseLostError", async () => {
    const admin = new Client({ baseUrl: keyed.url, apiKey: keyed.keys["admin"]! });
    const type = uniqueType("keyed-lease");
    await admin.create({ type });
    const [item] = await admin.claim({ worker_id: "w", types: [type] });
    await admin.release(item!.id, { lease_token: item!.lease_token });
    const error = await admin.complete(item!.id, { lease_token: item!.lease_token }).catch((e: unknown) => e);
    assert.ok(error instanceof LeaseLostError, String(error));
  });
});

describe("live events across a dropped connection", () => {
  let server: Awaited<ReturnType<typeof sharedServer>>;
  before(async () => {
    server = await sharedServer();
  });
  after(async () => {
    await server?.stop();
  });

  test("watch reconnects with Last-Event-ID: nothing missed, nothing twice", async () => {
    // A TCP proxy in front of the server whose connections the test can cut at will.
    const sockets = new Set<Socket>();
    const target = new URL(server.url);
    const proxy = createTcpServer((downstream) => {
      const upstream = connect(Number(target.port), target.hostname);
      sockets.add(downstream).add(upstream);
      downstream.pipe(upstream).pipe(downstream);
      const drop = () => {
        downstream.destroy();
        upstream.destroy();
        sockets.delete(downstream);
        sockets.delete(upstream);
      };
      downstream.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const proxied = new Client({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, ...(server.apiKey ? { apiKey: server.apiKey } : {}) });
    const direct = new Client({ baseUrl: server.url, ...(server.apiKey ? { apiKey: server.apiKey } : {}) });
    const job = await direct.create({ type: uniqueType("resume") });
    const controller = new AbortController();
    const seen: StreamEvent[] = [];
    const watching = (async () => {
      for await (const event of proxied.watch({ jobId: job.id, after: 0, signal: controller.signal })) {
        seen.push(event);
        if (event.type === "updated" && (event.data as { fields?: unknown })?.fields && seen.filter((e) => e.type === "updated").length === 6) return;
      }
    })();
    try {
      await eventually("the replayed created event", () => seen.length >= 1);
      for (let i = 0; i < 6; i++) {
        if (i === 2 || i === 4) {
          for (const socket of sockets) socket.destroy(); // the stream breaks mid-way
          await eventually("the stream to be cut", () => sockets.size === 0 || undefined, 5000);
        }
        await direct.update(job.id, { labels: { step: String(i) } });
      }
      await within(15_000, watching);
    } finally {
      controller.abort();
      await watching.catch(() => undefined);
      for (const socket of sockets) socket.destroy();
      proxy.close();
    }
    const ids = seen.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, `no event twice: ${ids}`);
    const history = await direct.events(job.id);
    assert.deepEqual(ids, history.map((e) => e.id), "every event, in order");
  });
});

test("every error is a JobkeeperError", () => {
  for (const type of [ProblemError, NotJobkeeperError, JobkeeperConnectionError, JobkeeperTimeoutError, JobkeeperAbortError, InvalidBaseUrlError]) {
    assert.ok(type.prototype instanceof JobkeeperError, type.name);
  }
});
