// A Server-Sent Events parser over a fetch body stream (WHATWG ReadableStream), so live events work the same in Node
// and in browsers, with headers (EventSource cannot send Authorization) and with our own reconnect policy.
// It follows the HTML standard's event-stream interpretation: CR, LF or CRLF line ends; `data:` lines joined with
// "\n"; `event:`, `id:` (kept across events, ignored when it holds NUL), `retry:`; comments and unknown fields skipped;
// an event is dispatched at a blank line; a trailing partial event at the end of the stream is dropped.

/** One dispatched event. */
export interface SseMessage {
  /** The `event:` field, `message` when absent. */
  event: string;
  data: string;
  /** The last event id as of this event (the stream's last `id:` field so far), "" when none was sent. */
  lastEventId: string;
  /** The `retry:` reconnection time in milliseconds, when the server sent one before this event. */
  retry: number | undefined;
}

/** Reads `body` and yields its events; returns when the stream ends. Stopping the iteration cancels the body. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let first = true;
  let event = "";
  let data: string[] = [];
  let lastEventId = "";
  let retry: number | undefined;
  let finished = false;
  try {
    while (!finished) {
      const chunk = await reader.read();
      if (chunk.done) {
        finished = true;
        buffer += decoder.decode();
      } else {
        buffer += decoder.decode(chunk.value, { stream: true });
      }
      if (first && buffer.length > 0) {
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
        first = false;
      }
      let start = 0;
      for (;;) {
        const lf = buffer.indexOf("\n", start);
        const cr = buffer.indexOf("\r", start);
        let end: number;
        let next: number;
        if (cr !== -1 && (lf === -1 || cr < lf)) {
          // A CR as the last character may be the first half of a CRLF split across chunks: wait for more.
          if (cr === buffer.length - 1 && !finished) break;
          end = cr;
          next = buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
        } else if (lf !== -1) {
          end = lf;
          next = lf + 1;
        } else {
          break;
        }
        const line = buffer.slice(start, end);
        start = next;
        if (line === "") {
          if (data.length > 0) {
            yield { event: event || "message", data: data.join("\n"), lastEventId, retry };
          }
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        switch (field) {
          case "event":
            event = value;
            break;
          case "data":
            data.push(value);
            break;
          case "id":
            if (!value.includes("\0")) lastEventId = value;
            break;
          case "retry":
            if (/^\d+$/.test(value)) retry = Number(value);
            break;
          default:
            break;
        }
      }
      buffer = buffer.slice(start);
    }
  } finally {
    // Ends the connection when the consumer stops early; harmless when the stream already ended.
    await reader.cancel().catch(() => undefined);
  }
}
