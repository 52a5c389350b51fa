// A contact's picture in the chat list, the contact picker and the conversation header: the initials of the name
// on a coloured circle, and over them the profile picture once it has loaded. The picture comes through ZapPool
// (GET /clients/{id}/contacts/{contactId}/picture, or the desktop's signed link: api.contactPictureUrl), never
// from WhatsApp's own URL. It is asked for only when the row comes on screen, and a contact without one is
// remembered for the page's life, so scrolling back does not ask again. Names are other people's text: the
// initials go in as text. A group's picture comes the same way; when a member changes it (a group_updated event
// with picture), pictureChanged() has the page's avatars of that group load the new one.

import { api } from './api.js';
import { el } from './dom.js';

const PICTURED = /^(\d{5,20}@c\.us|\d{10,30}(-\d{1,20})?@g\.us)$/; // contacts and groups; others keep initials
const COLOURS = 8; // .avatar-c0 .. .avatar-c7 in chat-list.css (the page's CSP allows no inline style)
const known = new Map(); // `${clientId} ${contactId}` -> the picture's URL, or null when there is none
const changes = new Map(); // the same key -> how often the picture changed while the page was open
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
  if (!PICTURED.test(chatId || '')) return node;
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
    picture(node, fresh(await api.contactPictureUrl(client, contact), key), key);
  } catch (error) {
    console.warn('[ZapPool]', error); // the initials stay
  }
}

/** The URL, made new for a picture that changed: the browser keeps the old one's answer for an hour. */
function fresh(url, key) {
  if (!changes.has(key)) return url;
  const address = new URL(url, location.href);
  address.searchParams.set('v', String(changes.get(key)));
  return address.href;
}

/** A group's (or contact's) picture changed: every avatar of it on this page loads the new one. */
export function pictureChanged(clientId, chatId) {
  const key = `${clientId} ${chatId}`;
  known.delete(key);
  changes.set(key, (changes.get(key) || 0) + 1);
  for (const node of document.querySelectorAll('.avatar[data-contact]')) {
    if (node.dataset.contact !== chatId || node.dataset.client !== clientId) continue;
    node.querySelector('.avatar-img')?.remove();
    node.classList.remove('has-picture');
    load(node);
  }
}

function picture(node, url, key) {
  const img = el('img', { class: 'avatar-img', alt: '', decoding: 'async' });
  img.addEventListener('load', () => { known.set(key, url); node.classList.add('has-picture'); });
  img.addEventListener('error', () => { if (!known.has(key)) known.set(key, null); img.remove(); });
  img.src = url;
  node.append(img);
}
