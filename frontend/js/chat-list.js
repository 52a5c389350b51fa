// The chat window's list of conversations as WhatsApp shows it: the number's chats from WhatsApp merged with
// ZapPool's log (GET /clients/{id}/chats), pinned first, groups marked, archived ones last, a search over names,
// numbers and last messages, and an "unread first" switch. Names and previews come from other people's phones:
// they go in as text only.

import { t } from './i18n.js';
import { el, formatPhone } from './dom.js';
import { preview } from './bubble.js';

/** What the list shows for a chat: WhatsApp's name, else the name a message carried, else the number. */
export function chatTitle(chat, known) {
  const name = chat.name && !/^\+?\d+$/.test(chat.name) ? chat.name : null;
  return name || known || formatPhone(chat.chatId);
}

/** Unread messages of a chat: the larger of ZapPool's count and the phone's badge. */
export function unreadOf(chat) {
  return Math.max(chat.unreadCount || 0, chat.whatsappUnreadCount || 0);
}

/** The chats to show, in order: matching the search; unread ones first when asked; archived ones last. */
export function visibleChats(chats, { search = '', unreadFirst = false, title = (c) => c.chatId } = {}) {
  const words = search.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  const digits = search.replace(/\D/g, '');
  const matches = (chat) => {
    if (!words.length) return true;
    if (digits && digits === search.replace(/[\s+()-]/g, '')) return chat.chatId.includes(digits);
    const text = `${title(chat)} ${lastText(chat)}`.toLocaleLowerCase();
    return words.every((word) => text.includes(word));
  };
  const rank = (chat) => (chat.archived ? 2 : 0) + (unreadFirst && unreadOf(chat) === 0 ? 1 : 0);
  return chats.filter(matches).map((chat, index) => ({ chat, index }))
    .sort((a, b) => rank(a.chat) - rank(b.chat) || a.index - b.index).map(({ chat }) => chat);
}

function lastText(chat) {
  return chat.lastMessage ? preview(chat.lastMessage) : chat.preview?.body || '';
}

/** The <li> of one chat; `count` is the unread badge to show (0: none); `picture` its avatar (avatar.js). */
export function chatItem(chat, { title, current, count, onOpen, picture = null }) {
  const badge = count > 0
    ? el('span', { class: 'unread', dataset: { count: String(count) }, 'aria-label': t('chat.unread', { count }) },
         String(count))
    : el('span');
  const marks = [
    chat.isGroup ? el('span', { class: 'chat-mark chat-group' }, t('chat.group')) : null,
    chat.pinned ? el('span', { class: 'chat-mark', 'aria-label': t('chat.pinned') }, '📌') : null,
    chat.muted ? el('span', { class: 'chat-mark', 'aria-label': t('chat.muted') }, '🔕') : null,
    chat.archived ? el('span', { class: 'chat-mark' }, t('chat.archived')) : null,
  ].filter(Boolean);
  const button = el('button', { type: 'button', class: 'chat-item', dataset: { chatId: chat.chatId, group: chat.isGroup ? 'true' : 'false' },
                                'aria-current': chat.chatId === current ? 'true' : 'false' },
    picture, el('span', { class: 'chat-name' }, title, ...marks), badge,
    el('span', { class: 'chat-preview' }, lastText(chat)));
  button.addEventListener('click', () => onOpen(chat.chatId));
  return el('li', {}, button);
}
