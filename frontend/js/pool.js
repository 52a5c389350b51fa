// The pool manager: stats, one card per number, the seed's actions, search, status filter, and an order the
// person sets by dragging (or with the arrow keys on a card's handle), saved as the cardOrder preference
// (card-order.js).
// Everything stays current through the event stream: a status event repaints its card at once.

import { api } from './api.js';
import { t } from './i18n.js';
import { $, busy, confirmDialog, debounce, el, formatTime, showError, toast } from './dom.js';
import { showPage, startPage } from './session.js';
import { renderStats } from './stats.js';
import { addConnection } from './connect.js';
import { buildCard, displayName } from './card.js';
import { editLimits } from './limits.js';
import { openGroups } from './groups.js';
import { READ_CHANNEL } from './chat-read.js';
import { readUntil } from './sync.js';
import { CardOrder } from './card-order.js';
import './card-reports.js'; // issue 18: today's response rate and first response time on each card

const STATUSES = ['ready', 'qr_ready', 'initializing', 'authenticated', 'disconnected', 'error', 'idle'];
const NEEDS_SCAN = new Set(['logged_out', 'qr_timeout']);

const clients = new Map(); // clientId -> ClientInfo
const unread = new Map(); // clientId -> unread messages over its chats
const limits = new Map(); // clientId -> its limits and today's count (GET /clients/{id}/limits)
const cards = new Map(); // clientId -> card (card.js)
const order = new CardOrder({ cards: () => cards.values(), cardOf: (id) => cards.get(id),
                              nameOf: (id) => displayName(clients.get(id)), place: () => place() });

// -- state from the server ------------------------------------------------------------------------------------

async function loadAll() {
  const infos = await api.listAllClientsInfo();
  clients.clear();
  for (const info of infos) clients.set(info.clientId, info);
  order.arrange(infos.map((i) => i.clientId));
  render();
  loadStats();
  for (const id of clients.keys()) {
    loadUnread(id);
    loadLimits(id);
  }
}

async function loadStats() {
  try {
    renderStats($('#stats'), await api.getPoolStats());
  } catch (error) {
    showError(error);
  }
}

async function loadLimits(id) {
  try {
    limits.set(id, await api.getClientLimits(id));
    paint(id);
  } catch (error) {
    if (error.code !== 'not_found') showError(error);
  }
}

async function loadClient(id) {
  try {
    const info = await api.getClient(id);
    clients.set(id, info);
    paint(id);
  } catch (error) {
    if (error.code !== 'not_found') showError(error);
  }
}

/** The number's unread messages; `waMessageId`: an incoming message that must be counted already. */
async function loadUnread(id, waMessageId = null) {
  try {
    const counted = (p) => !waMessageId || p.items.some((chat) => chat.lastMessage?.waMessageId === waMessageId);
    const page = await readUntil(() => api.listChats(id), counted);
    unread.set(id, page.items.reduce((sum, chat) => sum + chat.unreadCount, 0));
    paint(id);
  } catch (error) {
    if (error.code !== 'not_found') console.warn('[ZapPool]', error);
  }
}

// A burst of events for one number becomes one read of it.
const pending = new Map();
function later(kind, id, fn, ms) {
  const key = `${kind}:${id}`;
  clearTimeout(pending.get(key));
  pending.set(key, setTimeout(() => { pending.delete(key); fn(id); }, ms));
}
const statsSoon = debounce(loadStats, 200);

// -- drawing -----------------------------------------------------------------------------------------------

function paint(id) {
  const card = cards.get(id);
  const info = clients.get(id);
  if (card && info) card.update(info, unread.get(id) ?? 0, limits.get(id));
  applyFilter();
}

function render() {
  for (const [id, card] of cards) {
    if (!clients.has(id)) {
      card.root.remove();
      cards.delete(id);
    }
  }
  for (const id of order.ids) {
    if (!cards.has(id)) cards.set(id, makeCard(clients.get(id)));
    cards.get(id).update(clients.get(id), unread.get(id) ?? 0, limits.get(id));
  }
  place();
  applyFilter();
}

/** Put the cards in `order`, moving only what is out of place. */
function place() {
  const list = $('#cards');
  order.ids.forEach((id, index) => {
    const root = cards.get(id)?.root;
    if (root && list.children[index] !== root) list.insertBefore(root, list.children[index] || null);
  });
}

function matches(info, text, status) {
  if (status && info.status !== status) return false;
  if (!text) return true;
  const hay = [info.clientId, info.name, info.phoneNumber].filter(Boolean).join(' ').toLowerCase();
  const digits = text.replace(/\D/g, '');
  return hay.includes(text) || (digits.length > 0 && (info.phoneNumber || '').includes(digits));
}

function applyFilter() {
  const text = $('#search').value.trim().toLowerCase();
  const status = $('#status-filter').value;
  let shown = 0;
  for (const [id, card] of cards) {
    const visible = matches(clients.get(id), text, status);
    card.root.hidden = !visible;
    if (visible) shown += 1;
  }
  const empty = $('#empty');
  empty.hidden = shown > 0;
  empty.textContent = cards.size === 0 ? t('pool.empty') : t('pool.noMatch');
}

function fillStatusFilter() {
  const select = $('#status-filter');
  const value = select.value;
  select.replaceChildren(el('option', { value: '' }, t('pool.filterAll')),
    ...STATUSES.map((s) => el('option', { value: s }, t(`status.${s}`))));
  select.value = value;
}

// -- actions -----------------------------------------------------------------------------------------------

const actions = {
  qr: (id) => api.openQrWindow(id).catch(showError),
  chat: (id) => api.openChatWindow(id).catch(showError),
  disconnect: (id, button) => busy(button, () => api.disconnectClient(id).catch(showError)),
  reconnect: (id, button) => {
    const info = clients.get(id);
    // A number that must be scanned again gets its QR window now, inside the click.
    if (!info.phoneNumber || NEEDS_SCAN.has(info.reason)) api.openQrWindow(id).catch(showError);
    return busy(button, () => api.reconnectClient(id).catch(showError));
  },
  logout: async (id, button) => {
    const name = displayName(clients.get(id));
    const ok = await confirmDialog({ title: t('logout.title'), body: t('logout.body', { name }),
                                     confirm: t('logout.confirm') });
    if (!ok) return;
    await busy(button, async () => {
      try {
        clients.set(id, await api.logoutClient(id));
        paint(id);
        toast(t('pool.loggedOut', { name }), 'ok');
      } catch (error) {
        showError(error);
      }
    });
  },
  remove: async (id, button) => {
    const name = displayName(clients.get(id));
    const ok = await confirmDialog({ title: t('remove.title'), body: t('remove.body', { name }),
                                     confirm: t('remove.confirm') });
    if (!ok) return;
    await busy(button, async () => {
      try {
        await api.removeClient(id);
        forget(id);
        toast(t('pool.removed', { name }), 'ok');
      } catch (error) {
        showError(error);
      }
    });
  },
  limits: async (id) => {
    const name = displayName(clients.get(id));
    const current = limits.get(id) || await api.getClientLimits(id).catch(showError);
    const changes = current && await editLimits(name, current);
    if (!changes) return;
    try {
      limits.set(id, await api.setClientLimits(id, changes));
      paint(id);
      toast(t('limits.saved', { name }), 'ok');
    } catch (error) {
      showError(error);
    }
  },
  groups: (id) => openGroups(id, displayName(clients.get(id))),
  mode: (id, box) => {
    box.disabled = true;
    api.setClientMode(id, box.checked).then((info) => {
      clients.set(id, info);
      paint(id);
      toast(t(info.onDemand ? 'card.onDemandOn' : 'card.onDemandOff', { name: displayName(info) }), 'ok');
    }).catch((error) => {
      box.checked = !box.checked;
      showError(error);
    }).finally(() => { box.disabled = false; });
  },
  move: (id, event) => order.moveByKey(id, event),
};

function makeCard(info) {
  const card = buildCard(info, actions);
  order.draggable(card, info.clientId);
  return card;
}

function forget(id) {
  const focusNext = cards.get(id)?.root.contains(document.activeElement);
  clients.delete(id);
  unread.delete(id);
  limits.delete(id);
  order.remove(id);
  render();
  statsSoon();
  if (focusNext) $('#add').focus();
}

// -- events ----------------------------------------------------------------------------------------------

function onEvent(event) {
  const id = event.clientId;
  switch (event.type) {
    case 'reset':
      loadAll().catch(showError);
      return;
    case 'client_added':
      if (!clients.has(id)) {  // another node's number (cluster mode) is shown with that node
        clients.set(id, event.node ? { ...event.data.info, node: event.node } : event.data.info);
        order.add(id);
        render();
      }
      statsSoon();
      return;
    case 'client_removed':
      forget(id);
      return;
    case 'status': {
      const info = clients.get(id);
      if (!info) return;
      // Paint from the event itself: the badge must not wait for another round trip.
      clients.set(id, { ...info, status: event.data.status, reason: event.data.reason ?? null,
                        isReady: event.data.status === 'ready' });
      paint(id);
      later('client', id, loadClient, 100);
      statsSoon();
      return;
    }
    case 'ready':
      if (clients.has(id)) {
        clients.set(id, { ...clients.get(id), phoneNumber: event.data.phoneNumber });
        paint(id);
      }
      return;
    case 'message':
      loadUnread(id, event.data.message?.id);
      return;
    case 'rate_limited':
      toast(`${displayName(clients.get(id) || { clientId: id })}: ${t('card.held', { time: formatTime(event.data.until) })}`);
      later('limits', id, loadLimits, 200);
      return;
    case 'group_joined':
    case 'group_left': {  // the number was added to (or joined) a group, or left or was removed from one
      const key = event.type === 'group_joined' ? 'groups.joinedToast'
        : event.data.removed ? 'groups.removedToast' : 'groups.leftToast';
      toast(t(key, { name: displayName(clients.get(id) || { clientId: id }) }));
      return;
    }
    case 'message_status':
      later('client', id, loadClient, 200);
      later('limits', id, loadLimits, 300);
      statsSoon();
      return;
    default:
  }
}

async function start() {
  const { prefs } = await startPage();
  order.remember(prefs.cardOrder);
  fillStatusFilter();
  $('#search').addEventListener('input', applyFilter);
  $('#status-filter').addEventListener('change', applyFilter);
  $('#add-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('#new-name');
    const name = input.value.trim();
    addConnection(name, $('#new-on-demand').checked).then((info) => {
      input.value = '';
      toast(t('pool.added', { name: displayName(info) }), 'ok');
    }).catch(showError);
  });
  $('#restore').addEventListener('click', (event) => busy(event.currentTarget, async () => {
    const result = $('#restore-result');
    result.textContent = t('pool.restoring');
    try {
      const { restored, total } = await api.restorePersistedSessions();
      result.textContent = t('pool.restored', { restored, total });
    } catch (error) {
      result.textContent = '';
      showError(error);
    }
  }));
  window.addEventListener('zapool:language', () => {
    for (const card of cards.values()) card.root.remove();
    cards.clear();
    fillStatusFilter();
    render();
    loadStats();
  });
  // The chat window read a conversation: its unread count dropped, and no event says so.
  READ_CHANNEL?.addEventListener('message', (m) => m.data?.clientId && loadUnread(m.data.clientId));
  api.subscribe(onEvent);
  await loadAll();
}

start().catch((error) => console.warn('[ZapPool]', error)).finally(showPage);
