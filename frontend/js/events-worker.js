// A SharedWorker holding the one event stream every window of the app reads (see stream.js for why one).
// Each window's port gets every event; the window's api.subscribe() filters them.

import { EventStream } from './stream.js';

const ports = new Set();
let stream = null;

function broadcast(message) {
  for (const port of ports) port.postMessage(message);
}

self.onconnect = (connect) => {
  const port = connect.ports[0];
  ports.add(port);
  port.onmessage = (message) => {
    if (message.data !== 'bye') return;
    ports.delete(port);
    if (ports.size === 0 && stream) { // the last window went: nobody to read for
      stream.close();
      stream = null;
    }
  };
  port.start();
  if (!stream) {
    stream = new EventStream(broadcast);
  } else {
    stream.ensure();
    if (stream.isOpen) port.postMessage({ kind: 'open' });
  }
};
