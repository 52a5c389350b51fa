// The pool manager: stats, one card per number, the seed's actions, search, status filter, and an order the
// person sets by dragging (or with the arrow keys on a card's handle), saved as the cardOrder preference.
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
import './card-reports.js'; // issue 18: today's response rate and first response time on each card

const STATUSES = ['ready', 'qr_ready', 'initializing', 'authenticated', 'disconnected', 'error', 'idle'];
const NEEDS_SCAN = new Set(['logged_out', 'qr_timeout']);

const clients = new Map(); // clientId -> ClientInfo
const unread = new Map(); // clientId -> unread messages over its chats
const limits = new Map(); // clientId -> its limits and today's count (GET /clients/{id}/limits)
const cards = new Map(); // clientId -> card (card.js)
let order = []; // clientIds in the order the cards show
let saved = []; // the cardOrder preference as last read or written
let dragging = null;

// -- state from the server ------------------------------------------------------------------------------------

function arrange(ids) {
  // Saved order first (for the ids that still exist), then newcomers in the pool's own order.
  const known = saved.filter((id) => ids.includes(id));
  return [...known, ...ids.filter((id) => !known.includes(id))];
}

async function loadAll() {
  const infos = await api.listAllClientsInfo();
  clients.clear();
  for (const info of infos) clients.set(info.clientId, info);
  order = arrange(infos.map((i) => i.clientId));
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
  for (const id of order) {
    if (!cards.has(id)) cards.set(id, makeCard(clients.get(id)));
    cards.get(id).update(clients.get(id), unread.get(id) ?? 0, limits.get(id));
  }
  place();
  applyFilter();
}

/** Put the cards in `order`, moving only what is out of place. */
function place() {
  const list = $('#cards');
  order.forEach((id, index) => {
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

// -- ordering ----------------------------------------------------------------------------------------------

async function saveOrder() {
  saved = [...order];
  try {
    await api.setPreferences({ cardOrder: saved });
  } catch (error) {
    showError(error);
  }
}

function move(id, to) {
  const from = order.indexOf(id);
  if (from < 0 || to < 0 || to >= order.length || to === from) return;
  order.splice(from, 1);
  order.splice(to, 0, id);
  place();
  saveOrder();
}

/** Arrow keys on a card's handle move the card; the handle keeps the focus. */
function moveByKey(id, event) {
  const from = order.indexOf(id);
  const to = { ArrowUp: from - 1, ArrowLeft: from - 1, ArrowDown: from + 1, ArrowRight: from + 1,
               Home: 0, End: order.length - 1 }[event.key];
  if (to === undefined) return;
  event.preventDefault();
  move(id, Math.max(0, Math.min(order.length - 1, to)));
  cards.get(id).handle.focus();
  $('#moved').textContent = t('pool.moved', { name: displayName(clients.get(id)),
                                              position: order.indexOf(id) + 1, count: order.length });
}

function draggable(card, id) {
  const { root } = card;
  root.addEventListener('dragstart', (event) => {
    dragging = id;
    event.dataTransfer.effectAllowed = 'move';
    event.dataTransfer.setData('text/plain', id);
    root.classList.add('dragging');
  });
  root.addEventListener('dragend', () => {
    dragging = null;
    for (const c of cards.values()) c.root.classList.remove('dragging', 'drop-target');
  });
  root.addEventListener('dragover', (event) => {
    if (!dragging || dragging === id) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'move';
    root.classList.add('drop-target');
  });
  root.addEventListener('dragleave', () => root.classList.remove('drop-target'));
  root.addEventListener('drop', (event) => {
    event.preventDefault();
    root.classList.remove('drop-target');
    if (dragging && dragging !== id) move(dragging, order.indexOf(id)); // takes the place of the card under it
  });
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
  move: moveByKey,
};

function makeCard(info) {
  const card = buildCard(info, actions);
  draggable(card, info.clientId);
  return card;
}

function forget(id) {
  const focusNext = cards.get(id)?.root.contains(document.activeElement);
  clients.delete(id);
  unread.delete(id);
  limits.delete(id);
  order = order.filter((x) => x !== id);
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
        order = arrange([...order, id]);
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
  saved = prefs.cardOrder || [];
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
