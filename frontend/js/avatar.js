// A contact's picture in the chat list, the contact picker and the conversation header: the initials of the name
// on a coloured circle, and over them the profile picture once it has loaded. The picture comes through ZapPool
// (GET /clients/{id}/contacts/{contactId}/picture, or the desktop's signed link: api.contactPictureUrl), never
// from WhatsApp's own URL. It is asked for only when the row comes on screen, and a contact without one is
// remembered for the page's life, so scrolling back does not ask again. Names are other people's text: the
// initials go in as text.

import { api } from './api.js';
import { el } from './dom.js';

const PERSON = /^\d{5,20}@c\.us$/; // groups and others keep their initials
const COLOURS = 8; // .avatar-c0 .. .avatar-c7 in chat-list.css (the page's CSP allows no inline style)
const known = new Map(); // `${clientId} ${contactId}` -> the picture's URL, or null when there is none
let watcher = null;

/** Up to two letters of a name (its first two words); '#' for a name without letters (a number). */
export function initials(name) {
  const letters = String(name || '').split(/\s+/)
    .map((word) => word.match(/\p{L}/u)?.[0]).filter(Boolean);
  return letters.length ? letters.slice(0, 2).join('').toLocaleUpperCase() : '#';
}

function colour(chatId) {
  let hash = 0;
  for (const ch of String(chatId)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % COLOURS;
}

/** The avatar of a chat or contact of the number `clientId`. */
export function avatar(clientId, chatId, name) {
  const node = el('span', { class: `avatar avatar-c${colour(chatId)}`, 'aria-hidden': 'true' },
    el('span', { class: 'avatar-initials' }, initials(name)));
  if (!PERSON.test(chatId || '')) return node;
  node.dataset.contact = chatId;
  node.dataset.client = clientId;
  const key = `${clientId} ${chatId}`;
  if (known.has(key)) {
    if (known.get(key)) picture(node, known.get(key), key);
  } else if (typeof IntersectionObserver === 'function') {
    watcher ??= new IntersectionObserver(onScreen, { rootMargin: '64px' });
    watcher.observe(node);
  } else {
    load(node);
  }
  return node;
}

function onScreen(entries) {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    watcher.unobserve(entry.target);
    load(entry.target);
  }
}

async function load(node) {
  const { client, contact } = node.dataset;
  const key = `${client} ${contact}`;
  try {
    picture(node, await api.contactPictureUrl(client, contact), key);
  } catch (error) {
    console.warn('[ZapPool]', error); // the initials stay
  }
}

function picture(node, url, key) {
  const img = el('img', { class: 'avatar-img', alt: '', decoding: 'async' });
  img.addEventListener('load', () => { known.set(key, url); node.classList.add('has-picture'); });
  img.addEventListener('error', () => { if (!known.has(key)) known.set(key, null); img.remove(); });
  img.src = url;
  node.append(img);
}
