// Group conversations in the chat window, as WhatsApp Web shows them: above each message of another member,
// who wrote it (the name saved on this number's phone, else the member's own push name, else the number), and
// each @mention as a highlighted name. Names and texts come from other people's phones: they go in as text only.

import { api } from './api.js';
import { el, formatPhone } from './dom.js';

const MENTION = /@(\d{8,15})\b/g; // WhatsApp writes a mention as "@<number>" in the text

/** True for a group's chat id (…@g.us). */
export function isGroupChat(chatId) {
  return /@g\.us$/.test(String(chatId || ''));
}

/** The digits of a member's id ("5511…@c.us"), else null. */
function numberOf(id) {
  const digits = String(id || '').split('@')[0];
  return /^\d{8,15}$/.test(digits) ? digits : null;
}

/** The members' names of one number: its saved contacts, and push names learnt from their messages. */
export function memberNames(clientId) {
  const saved = new Map(); // number -> the name saved on the phone
  const pushed = new Map(); // number -> the member's own name
  let loading = null;
  return {
    /** Read the address book once (again after a failure); resolves once its names are known. */
    load() {
      loading ||= api.listContacts(clientId).then((page) => {
        for (const contact of page.items || []) {
          if (!contact.number) continue;
          if (contact.name) saved.set(contact.number, contact.name);
          if (contact.pushname && !pushed.has(contact.number)) pushed.set(contact.number, contact.pushname);
        }
      }).catch((error) => { loading = null; console.warn('[ZapPool]', error); });
      return loading;
    },
    /** Keep the push name an incoming message carried for its author. */
    learn(message) {
      const number = numberOf(message?.from);
      if (number && message.direction === 'in' && message.notifyName) pushed.set(number, message.notifyName);
    },
    /** The name to show for a member. */
    name(id) {
      const number = numberOf(id);
      if (!number) return String(id || '');
      return saved.get(number) || pushed.get(number) || formatPhone(number);
    },
  };
}

/** A group message's text as nodes: plain text, and each "@<number>" as a highlighted "@Name". */
export function withMentions(text, nameOf) {
  const parts = [];
  let at = 0;
  for (const match of text.matchAll(MENTION)) {
    if (match.index > at) parts.push(text.slice(at, match.index));
    parts.push(el('span', { class: 'mention', dataset: { number: match[1] } }, `@${nameOf(match[1])}`));
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

/** In a group: the author above another member's message, and its mentions as names (bubble()'s options). */
export function groupParts(message, members) {
  if (!isGroupChat(message.chatId)) return {};
  const nameOf = (id) => members.name(id);
  return { author: message.direction === 'in' ? nameOf(message.from) : null, text: (body) => withMentions(body, nameOf) };
}
