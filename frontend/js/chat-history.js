// Earlier messages of the open conversation, loaded as the person scrolls up (as WhatsApp Web does): first the
// pages ZapPool's log already has (cursor paging: a second look is local), then pages from WhatsApp itself,
// each before the oldest message shown (GET .../messages?before=), which the server also keeps in the log.

import { api } from './api.js';

export const PAGE = 50;
const NEAR_TOP_PX = 80;

/** The paging state of one conversation: the log's cursor, then WhatsApp's pages until a short one. */
export function historyState() {
  return { cursor: null, logDone: false, whatsappDone: false, loading: null };
}

/** True while there may be older messages to load. */
export function hasOlder(state) {
  return !state.logDone || !state.whatsappDone;
}

/** The oldest message shown that WhatsApp knows by id (the point a WhatsApp page starts before). */
function oldestKnown(messages) {
  let oldest = null;
  for (const message of messages) {
    if (!message.waMessageId || message.provisional) continue;
    if (!oldest || Date.parse(message.createdAt) < Date.parse(oldest.createdAt)) oldest = message;
  }
  return oldest;
}

/** Load the next older page into `upsert`; resolves to how many messages came (one load at a time). */
export function loadOlder(clientId, chatId, state, shown, upsert) {
  if (state.loading) return state.loading;
  state.loading = (async () => {
    let items = [];
    if (!state.logDone) {
      const page = await api.chatMessages(clientId, chatId, state.cursor);
      items = page.items;
      state.cursor = page.nextCursor;
      state.logDone = !page.nextCursor;
    }
    if (!items.length && !state.whatsappDone) {
      const oldest = oldestKnown(shown());
      const page = await api.chatHistory(clientId, chatId, oldest ? oldest.waMessageId : 'now');
      items = page.items;
      state.whatsappDone = items.length < PAGE;
    }
    for (const message of items) upsert(message);
    return items.length;
  })().finally(() => { state.loading = null; });
  return state.loading;
}

/** Call `onTop` whenever the thread (or whichever box of it scrolls) comes near its top. */
export function onScrollTop(root, onTop) {
  root.addEventListener('scroll', (event) => {
    const box = event.target;
    if (box instanceof Element && box.scrollTop < NEAR_TOP_PX && box.scrollHeight > box.clientHeight) onTop(box);
  }, { capture: true, passive: true });
}

/** Run `render` keeping what the person sees in `box` in place while older messages go in above it. */
export function keepingPosition(box, render) {
  const fromBottom = box ? box.scrollHeight - box.scrollTop : 0;
  render();
  if (box) box.scrollTop = box.scrollHeight - fromBottom;
}
