// One message of the chat window's thread: text, file, time and, for messages sent from here, the ticks of
// the seed's acks (✓ sent, ✓✓ delivered, blue ✓✓ read). Text goes in as text: HTML in a message shows as written.

import { t } from './i18n.js';
import { el, formatSize, formatTime } from './dom.js';
import { mediaPreview } from './media-preview.js';

const TICKS = { queued: '🕓', sending: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '⚠' };

/** The key of a message in the thread: an outgoing one by ZapPool's id, an incoming one by WhatsApp's. */
export function messageKey(message) {
  return message.direction === 'out' ? `out:${message.id}` : `in:${message.waMessageId || message.id}`;
}

/** An incoming message as the `message` event carries it (WhatsApp's fields), shaped like a log record. */
export function fromEvent(clientId, raw) {
  const media = raw.mimetype ? { mimetype: raw.mimetype, filename: raw.filename, size: raw.size, kind: raw.media?.kind,
                                 state: raw.media?.state } : null;
  const at = raw.t ? new Date(raw.t * 1000).toISOString() : new Date().toISOString();
  // In a group `from` is the group and `author` the member who wrote.
  return { id: raw.id, waMessageId: raw.id, clientId, direction: 'in', chatId: raw.from, from: raw.author || raw.from,
           type: raw.type || 'chat', body: raw.body ?? raw.caption ?? null, media, status: 'received',
           notifyName: raw.notifyName || null, createdAt: at, provisional: true };
}

/** When the message happened, for ordering. */
export function messageTime(message) {
  return Date.parse(message.createdAt) || 0;
}

/** A short text for chat list previews and notifications. */
export function preview(message) {
  if (!message) return '';
  const file = message.media?.filename || (message.type !== 'chat' ? t('chat.media', { type: message.type }) : '');
  return [file, message.body].filter(Boolean).join(' · ');
}

function ticks(message) {
  const status = message.status;
  const label = t(`ack.${status}`);
  return el('span', { class: 'ticks', role: 'img', 'aria-label': label, title: message.reason || label,
                      dataset: { status } }, TICKS[status] || '');
}

function fileLine(message) {
  const media = message.media;
  if (!media && message.type === 'chat') return null;
  const name = media?.filename || t('chat.media', { type: message.type });
  const size = media?.size ? ` (${formatSize(media.size)})` : '';
  return el('p', { class: 'file' }, `📎 ${name}${size}`);
}

/** The <li> of a message (build a new one when the message changes: they are small). In a group, `author` is
 * the name shown above another member's message and `text(body)` gives the body's nodes (its mentions). */
export function bubble(message, { author = null, text = null } = {}) {
  const out = message.direction === 'out';
  const time = el('time', { datetime: message.createdAt }, formatTime(message.createdAt));
  return el('li', { class: `bubble ${out ? 'out' : 'in'}`, dataset: { key: messageKey(message), status: message.status } },
    author ? el('p', { class: 'sender' }, author) : null,
    mediaPreview(message) || fileLine(message),
    message.body ? el('p', { class: 'text' }, ...(text ? text(message.body) : [message.body])) : null,
    el('div', { class: 'meta' }, time, out ? ticks(message) : null));
}
