// The pool's events in a window (split from api.js): one stream shared by every window of a browser
// (a SharedWorker over stream.js's EventStream), or the desktop bridge's calls; each subscriber gets the events
// of its numbers and types, and every one gets `reset` (read your state again).

import { EventStream } from './stream.js';

let mode = 'browser';
let authLost = () => {};

const handlers = new Set();
let connection = null; // browser: the shared stream's port, or this page's own EventSource

function deliver(event) {
  for (const entry of handlers) {
    const { clientIds, types } = entry;
    const always = event.type === 'reset';
    if (!always && clientIds && !clientIds.has(event.clientId)) continue;
    if (!always && types && !types.has(event.type)) continue;
    try {
      entry.handler(event);
    } catch (err) {
      console.error('[ZapPool] event handler failed', err);
    }
  }
}

// A stream that (re)opens may have missed events while it was away: a `reset` makes every window read its
// state again, as the server's own reset does.
function onStreamMessage(message) {
  if (message.kind === 'event') {
    deliver(message.event);
  } else if (message.kind === 'open') {
    deliver({ id: null, type: 'reset', clientId: null, data: { reason: 'connected' },
              timestamp: new Date().toISOString() });
  } else if (message.kind === 'unauthorized') {
    authLost({ code: 'unauthorized', message: 'Log in again' });
  }
  window.dispatchEvent(new CustomEvent('zapool:stream', { detail: message.kind }));
}

// Browsers allow six connections per server, and an event stream holds one for as long as it lasts: with a
// stream per window, the seventh window would hang. A SharedWorker holds one stream for all of them.
function connectStream() {
  if (connection) return;
  if (typeof SharedWorker === 'function') {
    try {
      const worker = new SharedWorker('/ui/js/events-worker.js', { type: 'module', name: 'zapool-events' });
      worker.port.onmessage = (m) => onStreamMessage(m.data);
      worker.port.start();
      window.addEventListener('pagehide', () => worker.port.postMessage('bye'));
      // A page back from the back/forward cache said goodbye to the stream when it left: start afresh.
      window.addEventListener('pageshow', (event) => { if (event.persisted) location.reload(); });
      connection = worker.port;
      return;
    } catch (err) {
      console.warn('[ZapPool] no shared event stream, this window opens its own', err);
    }
  }
  connection = new EventStream(onStreamMessage);
}

/** Where the events come from: the desktop's bridge calls every open window; a browser opens the stream on
 *  the first subscription. `lost(error)`: what to do when the stream says the login is gone. */
export function listenForEvents(where, lost) {
  mode = where;
  authLost = lost;
  if (mode === 'desktop') {
    // The bridge calls this in every open window for every event.
    window.__zapoolEvent = (event) => deliver(event);
  }
}

export function subscribeEvents(handler, { clientId, types } = {}) {
  const ids = clientId == null ? null : new Set(Array.isArray(clientId) ? clientId : [clientId]);
  const entry = { handler, clientIds: ids, types: types ? new Set(types) : null };
  handlers.add(entry);
  if (mode === 'browser') connectStream();
  return () => handlers.delete(entry);
}
