// The chat window of one number (chat.html?client=ID[&chat=CHAT]): its conversations with unread badges, the
// thread of the open one kept current by events, a box to send text, and files attached through
// api.pickFile(). A conversation is marked read (blue ticks on the contact's phone) only once the person in front
// of the window has done something in it: a link to chat.html?client=&chat= opens the conversation, unread.

import { api } from './api.js';
import { t } from './i18n.js';
import { $, busy, chatNumber, debounce, formatPhone, param, showError } from './dom.js';
import { showPage, startPage } from './session.js';
import { displayName } from './card.js';
import { bubble, fromEvent, messageKey, messageTime } from './bubble.js';
import { readUntil } from './sync.js';
import { READ_CHANNEL } from './chat-read.js';
import { chatItem, chatTitle, unreadOf, visibleChats } from './chat-list.js';
import { contactPicker } from './contact-picker.js';
import { avatar, pictureChanged } from './avatar.js';
import { PAGE, hasOlder, historyState, keepingPosition, loadOlder, onScrollTop } from './chat-history.js';
import { groupParts, isGroupChat, memberNames } from './group-thread.js';
import { clearAttachment, currentAttachment, showAttachment, wireComposer } from './chat-composer.js';

const CLIENT = param('client');
const FIRST_CHATS = 50; // the first read of the list: more than a screenful, painted at once
const CHATS_PAGE = 200; // each read after it (the API's largest page)

let client = null; // ClientInfo
let chats = []; // Chat items, most recent first
let current = param('chat'); // the open conversation's chat id
let clientLoading = null; // the first read of the number, while it is under way
let older = historyState(); // paging back through the open conversation (chat-history.js)
const listView = { search: '', unreadFirst: false }; // the chat list's search and switch
const thread = new Map(); // messageKey -> message record
// Set by the first key, click, touch or wheel of a person in this window (never by a script or a link); until
// then nothing is marked read.
let acted = false;
const nodes = new Map(); // messageKey -> <li>
const names = new Map(); // chat id -> the contact's name, when WhatsApp told it
const members = memberNames(CLIENT); // a group's authors and mentioned members, by number
// The window's first reads, sent before the login check and the language come back (they need neither to
// start); each is taken once, by the first load that wants it.
const early = {};
const firstRead = (key, read) => { const sent = early[key]; delete early[key]; return sent || read(); };

// -- the number --------------------------------------------------------------------------------------------

function showClient() {
  if (!client) return;
  const name = displayName(client);
  $('#heading').textContent = t('chat.heading', { name });
  document.title = `${t('chat.heading', { name })} — ZapPool`;
  const badge = $('#client-status');
  badge.className = `badge status-${client.status}`;
  badge.textContent = t(`status.${client.status}`);
  const notice = $('#not-ready');
  notice.hidden = client.status === 'ready' || !current;
  notice.textContent = t('chat.notReady', { status: t(`status.${client.status}`).toLowerCase() });
}

async function loadClient() {
  client = await firstRead('client', () => api.getClient(CLIENT));
  showClient();
}

// -- the conversations ---------------------------------------------------------------------------------------

/** The open chat's contact's own name (never a number, never a group's subject): a quick reply's `nome`. */
function contactName() {
  if (!current || isGroupChat(current)) return null;
  const named = chats.find((c) => c.chatId === current)?.name;
  return (named && !/^\+?\d+$/.test(named) ? named : null) || names.get(current) || null;
}

function chatName(chatId) {
  const chat = chats.find((c) => c.chatId === chatId);
  return chat ? chatTitle(chat, names.get(chatId)) : names.get(chatId) || formatPhone(chatId);
}

function rememberName(message) {
  if (isGroupChat(message?.chatId)) members.learn(message); // a member's name, not the group's
  else if (message?.direction === 'in' && message.notifyName) names.set(message.chatId, message.notifyName);
}

/** Build the thread's bubbles again (names learnt, language changed). */
function redrawThread() {
  nodes.clear();
  $('#thread').replaceChildren();
  renderThread();
}

function renderChats() {
  const list = $('#chats');
  $('#no-chats').hidden = chats.length > 0;
  for (const chat of chats) rememberName(chat.lastMessage);
  const shown = visibleChats(chats, { ...listView, title: (chat) => chatName(chat.chatId) });
  list.replaceChildren(...shown.map((chat) => chatItem(chat, {
    title: chatName(chat.chatId), current, onOpen: openChat,
    count: chat.chatId === current && acted ? 0 : unreadOf(chat), picture: avatar(CLIENT, chat.chatId, chatName(chat.chatId)),
  })));
  if (current) $('#thread-heading').textContent = t('chat.thread', { name: chatName(current) }); // a name learnt
  threadAvatar();
}

/** The open conversation's picture beside its heading, made again only when the chat or its name changed. */
function threadAvatar() {
  const place = $('#thread-avatar');
  const key = current ? `${current} ${chatName(current)}` : '';
  if (place.dataset.key === key) return;
  place.dataset.key = key;
  place.replaceChildren(...(current ? [avatar(CLIENT, current, chatName(current))] : []));
}

let listing = 0; // the latest read of the list: an older one still paging stops
let painted = 0; // the read whose first page is on screen: an older answer arriving late is not shown

async function loadChats() {
  const mine = ++listing;
  let page = await firstRead('chats', () => api.listChats(CLIENT, null, FIRST_CHATS));
  if (mine < painted) return chats;
  painted = mine;
  chats = page.items;
  renderChats(); // the first screenful at once; the rest of a long list follows, not waited for
  if (page.nextCursor) moreChats(mine, page.nextCursor).catch((error) => console.warn('[ZapPool]', error));
  return chats;
}

async function moreChats(mine, cursor) {
  let next = cursor;
  while (next && mine === listing) {
    const page = await api.listChats(CLIENT, next, CHATS_PAGE);
    if (mine !== listing) return;
    const known = new Set(chats.map((c) => c.chatId)); // the list moved between two reads: no chat twice
    chats = chats.concat(page.items.filter((c) => !known.has(c.chatId)));
    renderChats();
    next = page.nextCursor;
  }
}

// -- the open conversation -------------------------------------------------------------------------------------

function upsert(message) {
  rememberName(message);
  const key = messageKey(message);
  const known = thread.get(key);
  // A provisional copy (from the event) never replaces what the log said.
  if (known && message.provisional && !known.provisional) return;
  thread.set(key, message);
}

function renderThread(scroll = true) {
  const list = $('#thread');
  const keys = [...thread.keys()].sort((a, b) => messageTime(thread.get(a)) - messageTime(thread.get(b)));
  keys.forEach((key, index) => {
    const message = thread.get(key);
    let node = nodes.get(key);
    const stale = node && (node.dataset.status !== message.status || node.dataset.version !== message.updatedAt);
    if (!node || stale) {
      const fresh = bubble(message, groupParts(message, members));
      fresh.dataset.version = message.updatedAt || '';
      if (node) node.replaceWith(fresh);
      node = fresh;
      nodes.set(key, node);
    }
    if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
  });
  $('#thread-empty').hidden = thread.size > 0;
  $('#older').hidden = !hasOlder(older);
  if (scroll) list.lastElementChild?.scrollIntoView({ block: 'end' });
}

async function loadThread() {
  if (!current) return null;
  const first = thread.size === 0;
  const page = await firstRead(`thread:${current}`, () => api.chatMessages(CLIENT, current));
  // Pages come newest first; taken oldest first, messages logged in the same instant (a catch-up's batch) keep
  // the order they came in, as the thread's sort by time is stable.
  for (const message of [...page.items].reverse()) upsert(message);
  if (first) Object.assign(older, { cursor: page.nextCursor, logDone: !page.nextCursor });
  renderThread();
  // Few messages in the log (a chat from WhatsApp, or a new one): WhatsApp's history fills the thread at once.
  if (first && page.items.length < PAGE) {
    await clientLoading;
    if (client?.status === 'ready') await showOlder(null);
  }
  return page;
}

async function showOlder(box) {
  const chatId = current;
  try {
    const count = await loadOlder(CLIENT, chatId, older, () => thread.values(), upsert);
    if (chatId === current && count) keepingPosition(box, () => renderThread(!box));
    else renderThread(false);
  } catch (error) {
    if (box) showError(error); // not ready, say: the button and the scroll try again later
    else console.warn('[ZapPool]', error);
  }
}

function showConversation() {
  const open = Boolean(current);
  $('#thread-heading').textContent = open ? t('chat.thread', { name: chatName(current) }) : t('chat.pick');
  threadAvatar();
  $('#thread-log').hidden = !open;
  $('#composer').hidden = !open;
  showClient();
}

function onPersonActs(event) {
  if (acted || !event.isTrusted) return;
  acted = true;
  markRead().then((marked) => marked && loadChats()).catch(() => {});
}

/** Marks the open conversation read once the person acted; resolves to whether it was marked (here and on
 *  WhatsApp: the list's badges change). */
async function markRead() {
  if (!current || !acted || document.visibilityState !== 'visible') return false;
  try {
    const result = await api.markChatRead(CLIENT, current);
    if (result.marked > 0) READ_CHANNEL?.postMessage({ clientId: CLIENT, chatId: current });
    return true;
  } catch (error) {
    console.warn('[ZapPool]', error);
    return false;
  }
}

async function openChat(chatId) {
  if (chatId !== current) {
    current = chatId;
    older = historyState();
    thread.clear();
    nodes.clear();
    $('#thread').replaceChildren();
    const url = new URL(location.href);
    url.searchParams.set('chat', chatId);
    history.replaceState(null, '', url);
  }
  if (isGroupChat(chatId)) members.load().then(() => { if (chatId === current) redrawThread(); });
  showConversation();
  renderChats();
  try {
    await loadThread();
    renderChats(); // a contact's name learnt from the thread shows at once, not after the read and the list
    if (await markRead()) await loadChats(); // the badges changed; else the list's own read is enough
  } catch (error) {
    showError(error);
  }
  $('#message').focus();
}

// -- sending ------------------------------------------------------------------------------------------------

async function send() {
  const box = $('#message');
  const text = box.value.trim();
  const attachment = currentAttachment();
  if (!current || (!text && !attachment)) return;
  const to = isGroupChat(current) ? current : chatNumber(current); // a group goes by its id
  try {
    const record = attachment
      ? await api.sendMedia(CLIENT, to, { ...attachment, caption: text || undefined })
      : await api.sendText(CLIENT, to, text);
    box.value = '';
    clearAttachment();
    if (record.chatId && record.chatId !== current) await openChat(record.chatId);
    upsert(record);
    renderThread();
    refreshChats();
  } catch (error) {
    showError(error);
  }
  box.focus();
}

// -- events ----------------------------------------------------------------------------------------------

const refreshChats = debounce(() => loadChats().catch(showError), 250);
const refreshThread = debounce(() => loadThread().catch(showError), 250);

async function onIncoming(raw) {
  const message = fromEvent(CLIENT, raw);
  const mine = message.chatId === current;
  if (mine) {
    upsert(message);
    renderThread();
  }
  // Read the log once it has the message (see sync.js), then it can be marked read.
  const inChats = (list) => list.some((c) => c.lastMessage?.waMessageId === raw.id);
  await readUntil(loadChats, inChats);
  if (mine) {
    await readUntil(loadThread, (page) => page?.items.some((m) => m.waMessageId === raw.id));
    await markRead();
    await loadChats();
  }
}

function onEvent(event) {
  switch (event.type) {
    case 'reset':
      loadClient().catch(showError);
      loadChats().catch(showError);
      refreshThread();
      return;
    case 'status':
      if (client) {
        client = { ...client, status: event.data.status, reason: event.data.reason ?? null };
        showClient();
      }
      return;
    case 'message':
      onIncoming(event.data.message).catch(showError);
      return;
    case 'message_status': {
      const message = event.data.message;
      if (message && thread.has(messageKey(message))) {
        upsert(message);
        renderThread();
      } else if (message?.chatId === current) {
        refreshThread();
      }
      refreshChats();
      return;
    }
    case 'message_ack':
      refreshThread();
      return;
    case 'group_updated': // a new subject or picture: the list and the heading show it
      if (event.data.picture) pictureChanged(CLIENT, event.data.groupId);
      refreshChats();
      return;
    case 'client_removed':
      client = { ...(client || { clientId: CLIENT }), status: 'disconnected' };
      showClient();
      return;
    default:
  }
}

/** The chat list's controls: a new conversation (by name or number), search, unread first. */
function wireChatList() {
  const picker = contactPicker(CLIENT, (chatId) => openChat(chatId));
  $('#new-chat').addEventListener('submit', (event) => {
    event.preventDefault();
    const typed = $('#new-number').value;
    const digits = typed.replace(/\D/g, '');
    const first = $('#contact-matches [role="option"]');
    if (!/^[\d\s+()-]+$/.test(typed) && first) { first.click(); return; }
    if (!digits) return;
    $('#new-number').value = '';
    picker.close();
    openChat(`${digits}@c.us`);
  });
  $('#chat-search').addEventListener('input', debounce(() => {
    listView.search = $('#chat-search').value.trim();
    renderChats();
  }, 100));
  $('#unread-first').addEventListener('change', () => {
    listView.unreadFirst = $('#unread-first').checked;
    renderChats();
  });
}

async function start() {
  Object.assign(early, { client: api.getClient(CLIENT), chats: api.listChats(CLIENT, null, FIRST_CHATS),
                         ...(current ? { [`thread:${current}`]: api.chatMessages(CLIENT, current) } : {}) });
  for (const sent of Object.values(early)) sent.catch(() => {}); // a failure shows where the read is taken
  await startPage();
  api.subscribe(onEvent, { clientId: CLIENT });
  wireChatList();
  wireComposer({ send, clientId: CLIENT, chatId: () => current, me: () => client?.phoneNumber,
                 nameOf: (id) => members.name(id), contactName });
  onScrollTop($('#thread-log'), (box) => { if (hasOlder(older)) showOlder(box); });
  $('#older').addEventListener('click', (event) => busy(event.currentTarget, async () => {
    const box = $('#thread');
    await showOlder(box.scrollHeight > box.clientHeight ? box : $('#thread-log'));
  }));
  for (const type of ['pointerdown', 'keydown', 'wheel', 'touchstart']) {
    document.addEventListener(type, onPersonActs, { capture: true, passive: true });
  }
  // Only a read that changed the badges needs the list again; a window being hidden (or unloaded) reads nothing.
  document.addEventListener('visibilitychange', () => {
    markRead().then((marked) => marked && loadChats()).catch(() => {});
  });
  window.addEventListener('zapool:language', () => {
    showConversation();
    renderChats();
    redrawThread();
    showAttachment();
  });
  // Side by side: the list, the number and the open conversation each paint when their own answer comes.
  clientLoading = loadClient();
  if (!current) showConversation();
  await Promise.all([clientLoading, loadChats(), current ? openChat(current) : null]);
}

start().finally(showPage).catch((error) => {
  console.warn('[ZapPool]', error);
  if (error?.code) showError(error);
});
