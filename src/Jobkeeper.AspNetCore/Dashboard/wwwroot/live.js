// A Server-Sent Events connection that stays up. The browser reconnects by itself after a dropped connection
// and sends Last-Event-ID, so the server replays what was missed. Two cases need more:
// - `overflow`: this client fell too far behind and the server cut it off; start a fresh stream and refetch.
// - a refused connection (an HTTP error, a server that is down): EventSource gives up; retry with a backoff.
// After every (re)connection the owner refetches (onResync), so nothing missed while away stays stale.

// Every event type the server writes; EventSource only delivers named events to listeners of that name.
export const EVENT_TYPES = [
  'created', 'status_changed', 'stage_changed', 'updated', 'prompt_asked', 'prompt_answered', 'prompt_expired',
  'retried', 'lease_expired', 'cancel_requested', 'released',
];

const MAX_BACKOFF_MS = 15000;

export class LiveStream {
  /**
   * @param {URL} url
   * @param {{ onEvent: (e: object) => void, onResync?: () => void, onState?: (s: string) => void, onRefused?: () => void }} handlers
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.source = null;
    this.retryTimer = 0;
    this.backoff = 1000;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.source?.close();
    this.source = null;
  }

  connect() {
    if (this.stopped) return;
    this.state('connecting');
    const source = new EventSource(this.url);
    this.source = source;

    source.onopen = () => {
      this.backoff = 1000;
      this.state('open');
      this.handlers.onResync?.();
    };

    const deliver = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return; // not ours
      }
      this.handlers.onEvent(event);
    };
    for (const type of EVENT_TYPES) source.addEventListener(type, deliver);
    source.onmessage = deliver; // unnamed events, should the server ever send them

    source.addEventListener('overflow', () => {
      // A fresh stream starts with what happens next; the refetch on open covers what was skipped.
      source.close();
      this.connect();
    });

    source.onerror = () => {
      if (this.source !== source) return;
      if (source.readyState === EventSource.CLOSED) {
        // EventSource gave up (the server refused or is gone): try again later ourselves.
        this.state('offline');
        this.handlers.onRefused?.();
        this.retryTimer = setTimeout(() => this.connect(), this.backoff);
        this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
      } else {
        this.state('reconnecting');
      }
    };
  }

  state(value) {
    this.handlers.onState?.(value);
  }
}
