// src/schema.ts is what scripts/generate-types.mjs makes from the live server's OpenAPI document: a server whose
// document changed (a new field, a changed type) fails this test until the types are regenerated.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { packageRoot, sharedServer } from "./helpers.js";

let server: Awaited<ReturnType<typeof sharedServer>>;
before(async () => {
  server = await sharedServer();
});
after(async () => {
  await server?.stop();
});

interface Generator {
  generateSchema(doc: unknown, options?: { descriptions?: boolean }): string;
  loadDocument(source: string): Promise<unknown>;
}

/** The committed file without its doc comments (as the generator writes it with `descriptions: false`). */
function withoutComments(source: string): string {
  return source.replace(/^[ \t]*\/\*\*[\s\S]*?\*\/\n/gm, "");
}

test("the committed src/schema.ts equals the types generated from the server's /openapi/v1.json", async () => {
  const generator = (await import(path.join(packageRoot, "scripts", "generate-types.mjs"))) as Generator;
  const document = await generator.loadDocument(`${server.url}/openapi/v1.json`);
  const expected = generator.generateSchema(document);
  const committed = await readFile(path.join(packageRoot, "src", "schema.ts"), "utf8");
  if (committed !== expected) {
    const a = committed.split("\n");
    const b = expected.split("\n");
    const line = a.findIndex((l, i) => l !== b[i]);
    const typesDiffer = withoutComments(committed) !== generator.generateSchema(document, { descriptions: false });
    assert.fail(
      `src/schema.ts is out of date with ${server.url}/openapi/v1.json: ${typesDiffer ? "the types differ" : "only descriptions differ"} ` +
        `(first difference at line ${line + 1}:\n  committed: ${a[line]}\n  generated: ${b[line]}).\n` +
        `Run: npm run generate -- --from ${server.url}/openapi/v1.json${typesDiffer ? ", then review the client against the change" : ""}`,
    );
  }
});

test("every schema the client's types lean on is in the document", async () => {
  const response = await fetch(`${server.url}/openapi/v1.json`);
  const document = (await response.json()) as { components: { schemas: Record<string, unknown> }; paths: Record<string, unknown> };
  for (const name of ["Job", "NewJob", "WorkItem", "JobEvent", "JobPrompt", "LeaseResponse", "QueueInfo", "Schedule", "HealthResponse", "BatchCreateResponse"]) {
    assert.ok(document.components.schemas[name], `schema ${name}`);
  }
  for (const route of ["/api/v1/jobs", "/api/v1/jobs/batch", "/api/v1/workers/claim", "/api/v1/events", "/api/v1/jobs/{id}/stream", "/api/v1/queues/{name}/pause", "/api/v1/schedules/{name}/trigger"]) {
    assert.ok(document.paths[route], `route ${route}`);
  }
});
