// The event-stream parser on its own: the parts of the standard a server or a proxy may use.

import assert from "node:assert/strict";
import { test } from "node:test";
import { readEvents, type SseMessage } from "jobkeeper";

/** A body that delivers `chunks` one by one, as a network would. */
function body(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function all(chunks: string[]): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const message of readEvents(body(chunks))) messages.push(message);
  return messages;
}

test("events, ids and names, split anywhere, with LF, CRLF or CR line ends", async () => {
  const text = "event: created\ndata: {\"id\":1}\nid: 1\n\r\nevent: status_changed\r\ndata: {\"id\":2}\r\nid: 2\r\n\r\ndata: x\rid: 3\r\r";
  const expected = [
    { event: "created", data: '{"id":1}', lastEventId: "1", retry: undefined },
    { event: "status_changed", data: '{"id":2}', lastEventId: "2", retry: undefined },
    { event: "message", data: "x", lastEventId: "3", retry: undefined },
  ];
  assert.deepEqual(await all([text]), expected);
  // Every split point, a CRLF cut in half included, gives the same events.
  for (let i = 1; i < text.length; i++) assert.deepEqual(await all([text.slice(0, i), text.slice(i)]), expected, `split at ${i}`);
  assert.deepEqual(await all([...text]), expected, "one character at a time");
});

test("multi-line data, comments, retry, a BOM, an id kept across events, and a partial event at the end", async () => {
  const messages = await all(["\uFEFF: a comment\nretry: 1500\nid: 7\ndata: one\ndata: two\n\ndata:three\n\nunknown: field\ndata: {\"partial\""]);
  assert.deepEqual(messages, [
    { event: "message", data: "one\ntwo", lastEventId: "7", retry: 1500 },
    { event: "message", data: "three", lastEventId: "7", retry: 1500 },
  ]);
});

test("an event without data is not dispatched; an id with NUL is ignored", async () => {
  const messages = await all(["event: x\nid: 4\n\nid: 5\u0000\ndata: y\n\n"]);
  assert.deepEqual(messages, [{ event: "message", data: "y", lastEventId: "4", retry: undefined }]);
});

test("stopping early cancels the body", async () => {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new TextEncoder().encode("data: tick\n\n"));
    },
    cancel() {
      cancelled = true;
    },
  });
  for await (const message of readEvents(stream)) {
    assert.equal(message.data, "tick");
    break;
  }
  assert.equal(cancelled, true);
});
