// The QR window of one number (qr.html?client=ID): `Inicializando...` -> `Aguardando QR` -> `Conectado ✓`.
// The code is replaced as soon as WhatsApp rotates it (event `qr`), with a countdown to the next one; when
// WhatsApp stops making codes (status disconnected, reason qr_timeout) a button asks for new ones. A phone
// number can get a pairing code instead. Once connected the window closes itself if the app opened it.

import { api } from './api.js';
import { t } from './i18n.js';
import { $, busy, errorText, formatPhone, param, reasonText, showError } from './dom.js';
import { showPage, startPage } from './session.js';
import { displayName } from './card.js';

const CLIENT = param('client');
const WAIT_FOR_CLIENT_MS = 30000; // the window may open before ZapPool has created the number
const CLOSE_AFTER_MS = 1500;

let info = null;
let expiresAt = null;
let missingTimer = null;
let closing = false;

function statusLine(current) {
  if (current.status === 'ready') return t('qr.connected');
  if (current.status === 'idle') return t('status.initializing');
  return t(`status.${current.status}`);
}

function formatPairing(code) {
  const plain = String(code || '').replace(/[^0-9A-Za-z]/g, '');
  return plain.length === 8 ? `${plain.slice(0, 4)}-${plain.slice(4)}` : String(code || '');
}

function show() {
  if (!info) return;
  const { status, reason } = info;
  $('#connection').textContent = t('qr.connection', { name: displayName(info) });
  const line = $('#status');
  line.dataset.status = status;
  line.textContent = statusLine(info);
  const failed = status === 'disconnected' || status === 'error';
  $('#reason').hidden = !(failed && reason);
  $('#reason').textContent = failed ? reasonText(reason) : '';

  const waiting = status === 'qr_ready';
  $('#qr-block').hidden = !(waiting && info.qrCode);
  if (waiting && info.qrCode && $('#qr').getAttribute('src') !== info.qrCode) $('#qr').src = info.qrCode;
  expiresAt = waiting && info.qrExpiresAt ? Date.parse(info.qrExpiresAt) : null;
  tick();

  $('#pairing').hidden = !waiting;
  if (info.pairingCode) showPairing(info.pairingCode);

  $('#expired').hidden = !failed;
  $('#expired-text').hidden = reason !== 'qr_timeout';
  $('#renew').textContent = t(reason === 'qr_timeout' ? 'qr.newCode' : 'qr.retry');

  $('#done').hidden = status !== 'ready';
  if (status === 'ready') connected();
}

function showPairing(code) {
  $('#pairing-code').textContent = formatPairing(code);
  $('#pairing-result').hidden = false;
}

function tick() {
  const label = $('#countdown');
  if (!expiresAt || $('#qr-block').hidden) {
    label.textContent = '';
    return;
  }
  const seconds = Math.ceil((expiresAt - Date.now()) / 1000);
  label.textContent = seconds > 0 ? t('qr.expiresIn', { seconds }) : t('qr.renewing');
}

function connected() {
  $('#phone').textContent = info.phoneNumber ? t('qr.phone', { phone: formatPhone(info.phoneNumber) }) : '';
  if (closing) return;
  // In the desktop the bridge closes this window; in a browser only a window the app opened may close itself.
  const mayClose = api.mode === 'browser' && window.opener !== null;
  $('#closing').hidden = !mayClose;
  $('#back').hidden = mayClose || api.mode === 'desktop';
  if (mayClose) {
    closing = true;
    setTimeout(() => window.close(), CLOSE_AFTER_MS);
  }
}

function missing() {
  info = null;
  for (const id of ['#qr-block', '#pairing', '#expired', '#done', '#reason']) $(id).hidden = true;
  $('#status').textContent = '';
  $('#not-found').textContent = t('qr.notFound', { id: CLIENT || '?' });
  $('#not-found').hidden = false;
  $('#back').hidden = false;
  $('#done').hidden = false;
}

async function load() {
  if (!CLIENT) {
    missing();
    return;
  }
  try {
    info = await api.getClient(CLIENT);
  } catch (error) {
    if (error.code !== 'not_found') throw error;
    // Not created yet (the window opens first): keep saying "Inicializando..." for a while.
    if (!missingTimer && !info) missingTimer = setTimeout(missing, WAIT_FOR_CLIENT_MS);
    return;
  }
  clearTimeout(missingTimer);
  $('#not-found').hidden = true;
  show();
}

let reloadTimer = null;
function reloadSoon(ms = 100) {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => load().catch(showError), ms);
}

function onEvent(event) {
  switch (event.type) {
    case 'qr':
      // Show the new code now; its expiry time comes with the next read.
      if (info) {
        info = { ...info, status: 'qr_ready', qrCode: event.data.qrCode, qrExpiresAt: null, pairingCode: null };
        show();
      }
      reloadSoon();
      return;
    case 'status':
      if (info) {
        info = { ...info, status: event.data.status, reason: event.data.reason ?? null };
        show();
      }
      reloadSoon();
      return;
    case 'code':
      showPairing(event.data.code);
      return;
    case 'client_removed':
      missing();
      return;
    default:
      reloadSoon(); // client_added, ready, reset: read the number again
  }
}

async function start() {
  await startPage();
  if (!CLIENT) {
    missing();
    return;
  }
  api.subscribe(onEvent, { clientId: CLIENT });
  $('#renew').addEventListener('click', (event) => busy(event.currentTarget, async () => {
    try {
      info = await api.reconnectClient(CLIENT);
      show();
    } catch (error) {
      showError(error);
    }
  }));
  $('#pairing-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('#pairing-submit'), async () => {
      try {
        const result = await api.requestPairingCode(CLIENT, $('#pairing-phone').value.trim());
        showPairing(result.code);
      } catch (error) {
        $('#pairing-result').hidden = true;
        showError(error);
      }
    });
  });
  window.addEventListener('zapool:language', show);
  setInterval(tick, 1000);
  await load();
}

start().finally(showPage).catch((error) => {
  console.warn('[ZapPool]', error);
  if (error?.code) $('#not-found').textContent = errorText(error);
});
