// Adding a number, from the main screen's "📱 Conectar WhatsApp" and the manager's "➕ Adicionar Nova
// Conexão": the QR window opens first (inside the click, so no pop-up blocker stops it) and shows
// "Inicializando..." while ZapPool starts the number under the id chosen here, as the seed names them.

import { api } from './api.js';

export function newClientId() {
  return `client_${Date.now()}`;
}

/** Open the QR window of a new number and create it; resolves to its ClientInfo. */
export async function addConnection(name = null) {
  const clientId = newClientId();
  const opened = api.openQrWindow(clientId);
  const created = api.createClient({ clientId, name: name || null });
  await opened;
  return created;
}
