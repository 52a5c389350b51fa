// One connection to GET /events that survives drops: EventSource reconnects by itself after a network error
// (sending Last-Event-ID, so the server replays what was missed or says `reset`); when the server refused
// the stream (503: too many streams, or ZapPool restarting) EventSource gives up, so this opens a new one
// later, resuming from the last id seen. A refusal because the login is gone is reported, not retried.
//
// Used by events-worker.js (one stream shared by every window) and, where SharedWorker is missing, by a
// window itself. `sink` gets {kind: 'open' | 'down' | 'unauthorized'} and {kind: 'event', event}.

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;

export class EventStream {
  constructor(sink) {
    this.sink = sink;
    this.lastId = null;
    this.retryMs = FIRST_RETRY_MS;
    this.timer = null;
    this.source = null;
    this.isOpen = false;
    this.stopped = false;
    this.open();
  }

  open() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stopped) return;
    const query = this.lastId ? `?lastEventId=${encodeURIComponent(this.lastId)}` : '';
    const source = new EventSource(`/events${query}`, { withCredentials: true });
    this.source = source;
    source.onopen = () => {
      this.isOpen = true;
      this.retryMs = FIRST_RETRY_MS;
      this.sink({ kind: 'open' });
    };
    source.onmessage = (message) => {
      if (message.lastEventId) this.lastId = message.lastEventId;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return; // not an event frame: nothing to deliver
      }
      this.sink({ kind: 'event', event });
    };
    source.onerror = () => {
      if (this.isOpen) this.sink({ kind: 'down' });
      this.isOpen = false;
      if (source.readyState === EventSource.CLOSED) this.refused();
    };
  }

  /** The server answered with something other than a stream: logged out, or busy for now. */
  async refused() {
    if (this.stopped) return;
    try {
      const me = await fetch('/auth/me', { credentials: 'same-origin' });
      if (me.status === 401 || me.status === 403) {
        this.sink({ kind: 'unauthorized' });
        return; // a new login makes a new stream (ensure())
      }
    } catch {
      // ZapPool is not answering at all: try again later like for any other refusal
    }
    this.timer = setTimeout(() => this.open(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  /** Open again if the stream ended for good (after a new login, when a window joins). */
  ensure() {
    if (this.stopped) return;
    if (this.source?.readyState === EventSource.CLOSED && this.timer === null) this.open();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.source?.close();
  }
}
