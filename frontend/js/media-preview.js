// The media of a message in the chat window's thread (issue 16 §2): image and sticker thumbnails, an audio
// player (voice notes too), video, and a download link for documents, for messages received and sent. The
// bytes come from api.messageMediaUrl (a blob: URL of the REST route's bytes in a browser, a short-lived link
// on this server in the desktop windows), so the page's CSP stays same-origin; a file name from a contact goes in as text or a download attribute,
// never as markup. Media still downloading is asked for again a few times; media WhatsApp no longer has shows
// as "not available".

import { api } from './api.js';
import { t } from './i18n.js';
import { el, formatSize } from './dom.js';

const VISUAL = new Set(['image', 'sticker']);
const SOUND = new Set(['audio', 'ptt']);
const RETRIES = 5;
const RETRY_MS = 2000;
const KEPT = 60; // URLs kept for re-rendered bubbles; beyond this the oldest are dropped (a blob: one revoked)
const urls = new Map(); // message key -> Promise<url>

function kindOf(message) {
  return message.media?.kind || message.type;
}

function mediaId(message) {
  return message.direction === 'out' ? message.id : message.waMessageId || message.id;
}

async function fetchOnce(message) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await api.messageMediaUrl(message.clientId, mediaId(message));
    } catch (err) {
      const waiting = err.code === 'media_unavailable' && err.details?.state === 'pending';
      if (!waiting || attempt >= RETRIES) throw err;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

/** The URL of a message's media, asked for once per message while the window is open. */
function mediaUrl(message) {
  const key = `${message.clientId}:${mediaId(message)}`;
  if (!urls.has(key)) {
    urls.set(key, fetchOnce(message));
    urls.get(key).catch(() => urls.delete(key)); // a later render asks again
    while (urls.size > KEPT) {
      const [oldest, url] = urls.entries().next().value;
      urls.delete(oldest);
      url.then((u) => u.startsWith('blob:') && URL.revokeObjectURL(u), () => null);
    }
  }
  return urls.get(key);
}

function unavailable(node) {
  node.replaceWith(el('p', { class: 'media-missing' }, t('media.unavailable')));
}

function player(tag, message) {
  const node = el(tag, { class: `media-${tag}`, controls: true, preload: 'metadata' });
  mediaUrl(message).then((url) => { node.src = url; }, () => unavailable(node));
  return node;
}

function picture(message) {
  const node = el('img', { class: `media-img ${kindOf(message)}`, alt: t('media.image'), loading: 'lazy' });
  mediaUrl(message).then((url) => { node.src = url; }, () => unavailable(node));
  return node;
}

function download(message) {
  const media = message.media || {};
  const name = media.filename || t('chat.media', { type: kindOf(message) });
  const size = media.size ? ` (${formatSize(media.size)})` : '';
  const link = el('a', { class: 'file media-doc', href: '#', download: name }, `📎 ${name}${size}`);
  link.addEventListener('click', (event) => {
    if (link.getAttribute('href') !== '#') return; // the URL is there: the browser downloads
    event.preventDefault();
    mediaUrl(message).then((url) => { link.href = url; link.click(); }, () => unavailable(link));
  });
  return link;
}

/** The preview of a message's media, or null for a text message. */
export function mediaPreview(message) {
  if (!message.media && message.type === 'chat') return null;
  const kind = kindOf(message);
  if (VISUAL.has(kind)) return picture(message);
  if (SOUND.has(kind)) return player('audio', message);
  if (kind === 'video') return player('video', message);
  return download(message);
}
