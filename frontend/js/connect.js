// Adding a number, from the main screen's "📱 Conectar WhatsApp" and the manager's "➕ Adicionar Nova
// Conexão", under an id chosen here as the seed names them. The QR window shows "Inicializando..." while
// ZapPool starts the number. In a browser it opens first, inside the click, so no pop-up blocker stops it;
// the desktop opens windows for numbers that exist, so there it opens as soon as ZapPool has the number.

import { api } from './api.js';

export function newClientId() {
  return `client_${Date.now()}`;
}

/** Open the QR window of a new number and create it; resolves to its ClientInfo. */
export async function addConnection(name = null, onDemand = false) {
  const clientId = newClientId();
  if (api.mode === 'browser') {
    const opened = api.openQrWindow(clientId);
    const created = api.createClient({ clientId, name: name || null, onDemand });
    await opened;
    return created;
  }
  let opened = null;
  const open = () => { opened = opened || api.openQrWindow(clientId); };
  const stop = api.subscribe((event) => event.type === 'client_added' && open(),
                             { clientId, types: ['client_added'] });
  try {
    const info = await api.createClient({ clientId, name: name || null, onDemand });
    open(); // in case the event did not come through
    await opened;
    return info;
  } finally {
    stop();
  }
}
