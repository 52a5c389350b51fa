// One number's card in the pool manager: built once, then updated in place, so an event changes the badge
// without rebuilding the list (and without moving the keyboard focus).

import { t } from './i18n.js';
import { el, formatDate, formatPhone, reasonText } from './dom.js';
import { todayText } from './limits.js';

const ACTIVE = new Set(['initializing', 'qr_ready', 'authenticated', 'ready']);
const CONNECTED = new Set(['authenticated', 'ready']);
const BUTTONS = ['qr', 'chat', 'limits', 'groups', 'disconnect', 'reconnect', 'logout', 'remove'];

/** The name people gave the number, else its phone once linked, else "unnamed" (its id shows under it). */
export function displayName(info) {
  return info.name || (info.phoneNumber ? formatPhone(info.phoneNumber) : t('card.unnamed'));
}

/** What the status badge says, with the reason when there is one (disconnected, error). */
export function statusText(info) {
  return info.sleeping ? t('status.sleeping') : t(`status.${info.status}`);
}

/**
 * A card with its parts; `actions` maps chat/disconnect/reconnect/logout/remove/qr/limits/move to callbacks taking the
 * id. Returns {root, update(info, unread, limits)}: `limits` as GET /clients/{id}/limits gives them (today's count
 * against the daily cap), kept when not given.
 */
export function buildCard(info, actions) {
  const id = info.clientId;
  const button = (key, extra = {}) => el('button', { type: 'button', class: 'button button-small',
                                                     dataset: { action: key }, ...extra }, t(`card.${key}`));
  const parts = {
    handle: el('button', { type: 'button', class: 'handle', dataset: { action: 'move' } }, '⠿'),
    title: el('h3', {}),
    id: el('div', { class: 'card-id' }, id),
    badge: el('span', { class: 'badge', dataset: { role: 'badge' } }),
    reason: el('p', { class: 'reason' }),
    phone: el('dd', { dataset: { role: 'phone' } }),
    nodeTerm: el('dt', {}, t('card.node')), // cluster mode (issue 20): the node driving the number
    node: el('dd', { dataset: { role: 'node' } }),
    created: el('dd', { dataset: { role: 'created' } }),
    messages: el('dd', { dataset: { role: 'messages' } }),
    unread: el('span', { class: 'unread', dataset: { role: 'unread' } }),
    today: el('dd', { dataset: { role: 'today' } }),
    limits: button('limits'),
    groups: button('groups'),
    qr: button('qr'),
    chat: button('chat'),
    disconnect: button('disconnect'),
    reconnect: button('reconnect'),
    logout: button('logout'),
    remove: button('remove', { class: 'button button-small button-remove' }),
    // On demand: the browser runs only while there is something to send (a switch, saved at once).
    mode: el('input', { type: 'checkbox', id: `mode-${id}`, dataset: { action: 'mode' } }),
    modeLabel: el('label', { for: `mode-${id}` }),
    group: el('div', { class: 'actions', role: 'group' }),
  };
  parts.group.append(parts.qr, parts.chat, parts.limits, parts.groups, parts.disconnect, parts.reconnect,
                    parts.logout, parts.remove);
  const root = el('li', { class: 'card', draggable: 'true', dataset: { clientId: id } },
    el('div', { class: 'card-head' }, parts.handle,
      el('div', { class: 'card-title' }, parts.title, parts.id), parts.badge),
    parts.reason,
    el('dl', { class: 'facts' },
      el('dt', {}, t('card.phone')), parts.phone,
      el('dt', {}, t('card.created')), parts.created,
      el('dt', {}, t('card.messages')), parts.messages,
      el('dt', {}, t('card.unread')), el('dd', {}, parts.unread),
      el('dt', {}, t('card.today')), parts.today, parts.nodeTerm, parts.node),
    el('div', { class: 'switch card-mode' }, parts.mode, parts.modeLabel),
    parts.group);

  for (const key of BUTTONS) {
    parts[key].addEventListener('click', (event) => actions[key](id, event.currentTarget));
  }
  parts.handle.addEventListener('keydown', (event) => actions.move(id, event));
  parts.mode.addEventListener('change', (event) => actions.mode(id, event.currentTarget));

  let current = info;
  let limits = null;
  function update(next, unread, nextLimits) {
    current = next || current;
    limits = nextLimits || limits;
    parts.today.textContent = todayText(limits);
    parts.today.dataset.atCap = String(Boolean(limits?.dailyCap && limits.sentToday >= limits.dailyCap));
    const name = displayName(current);
    root.dataset.status = current.status;
    root.dataset.sleeping = String(Boolean(current.sleeping));
    parts.title.textContent = name;
    parts.id.hidden = name === id;
    parts.badge.className = `badge status-${current.sleeping ? 'sleeping' : current.status}`;
    parts.badge.textContent = statusText(current);
    const why = ['disconnected', 'error'].includes(current.status) && current.reason;
    parts.reason.textContent = current.sleeping ? t('card.sleepingHint') : why ? reasonText(current.reason) : '';
    parts.reason.hidden = !why && !current.sleeping;
    parts.mode.checked = Boolean(current.onDemand);
    parts.modeLabel.textContent = t('card.onDemand');
    parts.phone.textContent = formatPhone(current.phoneNumber);
    parts.node.textContent = current.node || '';  // a name from the cluster's database: text, never HTML
    parts.nodeTerm.hidden = parts.node.hidden = !current.node;
    parts.created.textContent = formatDate(current.metadata?.createdAt);
    parts.messages.textContent = String(current.metadata?.messageCount ?? 0);
    const count = unread ?? Number(parts.unread.dataset.count || 0);
    parts.unread.textContent = String(count);
    parts.unread.dataset.count = String(count);
    parts.qr.hidden = current.status !== 'qr_ready';
    parts.disconnect.hidden = !ACTIVE.has(current.status);
    parts.reconnect.hidden = CONNECTED.has(current.status) && !current.sleeping;  // nothing to reconnect
    parts.logout.hidden = !CONNECTED.has(current.status);  // unlinking asks WhatsApp: only while connected
    parts.groups.hidden = current.status !== 'ready';  // groups are read from WhatsApp: only while ready
    parts.handle.setAttribute('aria-label', t('card.move', { name }));
    parts.group.setAttribute('aria-label', t('card.actions', { name }));
    for (const key of BUTTONS) {
      parts[key].setAttribute('aria-label', `${t(`card.${key}`)}: ${name}`);
    }
  }
  update(info, 0);
  return { root, handle: parts.handle, update, info: () => current, limits: () => limits };
}
