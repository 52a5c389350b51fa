// Desktop notifications in the browser: a number disconnected, a message arrived. In the desktop app the
// Python side notifies, so nothing here runs there (one notification, not two).
//
// Every window of the app runs this, but one alone may show notifications: the window holding the Web Lock
// `zapool-notifier`. When it closes, the lock passes to another window.

import { api } from './api.js';
import { t } from './i18n.js';
import { formatPhone, reasonText } from './dom.js';

const KEY = 'zapool.notifications';
const QUIET_REASONS = new Set(['manual', 'shutdown']); // the person did it, or ZapPool is closing

/** The `notifications` preference as this computer last saw it (on unless turned off). */
export function notificationsWanted() {
  try {
    return localStorage.getItem(KEY) !== 'false';
  } catch {
    return true;
  }
}

/** Keep the preference where every window reads it at once, without asking the server each time. */
export function rememberNotifications(on) {
  try {
    localStorage.setItem(KEY, on ? 'true' : 'false');
  } catch {
    // storage disabled: notifications follow the default
  }
}

export function browserCanNotify() {
  return api.mode === 'browser' && 'Notification' in window;
}

async function clientName(clientId) {
  try {
    const info = await api.getClient(clientId);
    return info.name || info.clientId;
  } catch {
    return clientId;
  }
}

async function notify(event) {
  if (!notificationsWanted() || Notification.permission !== 'granted') return;
  if (event.type === 'disconnected') {
    if (QUIET_REASONS.has(event.data?.reason)) return;
    const name = await clientName(event.clientId);
    const reason = reasonText(event.data?.reason);
    new Notification(t('notify.disconnected', { name }), { body: reason, tag: `zapool-${event.clientId}` });
  } else if (event.type === 'message') {
    const message = event.data?.message || {};
    const name = await clientName(event.clientId);
    const text = message.body || message.caption || t('chat.media', { type: message.type || '?' });
    const from = message.notifyName || formatPhone(message.from);
    new Notification(t('notify.message', { name }), { body: `${from}: ${text}`, tag: `zapool-msg-${event.clientId}` });
  }
}

/** Start notifying, in the one window that holds the lock. */
export function startNotifications() {
  if (!browserCanNotify()) return;
  const listen = () => api.subscribe((event) => { notify(event).catch(() => {}); },
                                     { types: ['disconnected', 'message'] });
  if (navigator.locks?.request) {
    navigator.locks.request('zapool-notifier', () => {
      listen();
      return new Promise(() => {}); // held for as long as this window lives
    }).catch(() => {});
  } else {
    listen();
  }
}
