// The chat window of one number (chat.html?client=ID[&chat=CHAT]): its conversations with unread badges, the
// thread of the open one kept current by events, a box to send text, and files attached through
// api.pickFile(). A conversation is marked read (blue ticks on the contact's phone) only once the person in front
// of the window has done something in it: a link to chat.html?client=&chat= opens the conversation, unread.

import { api } from './api.js';
import { t } from './i18n.js';
import { $, busy, chatNumber, debounce, el, formatPhone, formatSize, param, showError } from './dom.js';
import { showPage, startPage } from './session.js';
import { displayName } from './card.js';
import { bubble, fromEvent, messageKey, messageTime, preview } from './bubble.js';
import { readUntil } from './sync.js';
import { READ_CHANNEL } from './chat-read.js';

const CLIENT = param('client');

let client = null; // ClientInfo
let chats = []; // Chat items, most recent first
let current = param('chat'); // the open conversation's chat id
let cursor = null; // for older messages of the open conversation
const thread = new Map(); // messageKey -> message record
// Set by the first key, click, touch or wheel of a person in this window (never by a script or a link); until
// then nothing is marked read.
let acted = false;
const nodes = new Map(); // messageKey -> <li>
const names = new Map(); // chat id -> the contact's name, when WhatsApp told it
let attachment = null; // {data, mimetype, filename, size} chosen to go with the next send

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
  client = await api.getClient(CLIENT);
  showClient();
}

// -- the conversations ---------------------------------------------------------------------------------------

function chatName(chatId) {
  return names.get(chatId) || formatPhone(chatId);
}

function rememberName(message) {
  if (message?.direction === 'in' && message.notifyName) names.set(message.chatId, message.notifyName);
}

function renderChats() {
  const list = $('#chats');
  $('#no-chats').hidden = chats.length > 0;
  list.replaceChildren(...chats.map((chat) => {
    rememberName(chat.lastMessage);
    const name = chatName(chat.chatId);
    const count = chat.chatId === current && acted ? 0 : chat.unreadCount;
    const badge = count > 0
      ? el('span', { class: 'unread', dataset: { count: String(count) }, 'aria-label': t('chat.unread', { count }) },
           String(count))
      : null;
    const button = el('button', { type: 'button', class: 'chat-item', dataset: { chatId: chat.chatId },
                                  'aria-current': chat.chatId === current ? 'true' : 'false' },
      el('span', { class: 'chat-name' }, name), badge || el('span'),
      el('span', { class: 'chat-preview' }, preview(chat.lastMessage)));
    button.addEventListener('click', () => openChat(chat.chatId));
    return el('li', {}, button);
  }));
  if (current) $('#thread-heading').textContent = t('chat.thread', { name: chatName(current) }); // a name learnt
}

async function loadChats() {
  const page = await api.listChats(CLIENT);
  chats = page.items;
  renderChats();
  return chats;
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

function renderThread() {
  const list = $('#thread');
  const keys = [...thread.keys()].sort((a, b) => messageTime(thread.get(a)) - messageTime(thread.get(b)));
  keys.forEach((key, index) => {
    const message = thread.get(key);
    let node = nodes.get(key);
    const stale = node && (node.dataset.status !== message.status || node.dataset.version !== message.updatedAt);
    if (!node || stale) {
      const fresh = bubble(message);
      fresh.dataset.version = message.updatedAt || '';
      if (node) node.replaceWith(fresh);
      node = fresh;
      nodes.set(key, node);
    }
    if (list.children[index] !== node) list.insertBefore(node, list.children[index] || null);
  });
  $('#thread-empty').hidden = thread.size > 0;
  $('#older').hidden = !cursor;
  list.lastElementChild?.scrollIntoView({ block: 'end' });
}

async function loadThread() {
  if (!current) return null;
  const first = thread.size === 0;
  const page = await api.chatMessages(CLIENT, current);
  // Pages come newest first; taken oldest first, messages logged in the same instant (a catch-up's batch) keep
  // the order they came in, as the thread's sort by time is stable.
  for (const message of [...page.items].reverse()) upsert(message);
  if (first) cursor = page.nextCursor; // later reads are of the newest page: the older ones stay loaded
  renderThread();
  return page;
}

function showConversation() {
  const open = Boolean(current);
  $('#thread-heading').textContent = open ? t('chat.thread', { name: chatName(current) }) : t('chat.pick');
  $('#thread-log').hidden = !open;
  $('#composer').hidden = !open;
  showClient();
}

function onPersonActs(event) {
  if (acted || !event.isTrusted) return;
  acted = true;
  markRead().then(() => loadChats()).catch(() => {});
}

async function markRead() {
  if (!current || !acted || document.visibilityState !== 'visible') return;
  try {
    const result = await api.markChatRead(CLIENT, current);
    if (result.marked > 0) READ_CHANNEL?.postMessage({ clientId: CLIENT, chatId: current });
  } catch (error) {
    console.warn('[ZapPool]', error);
  }
}

async function openChat(chatId) {
  if (chatId !== current) {
    current = chatId;
    cursor = null;
    thread.clear();
    nodes.clear();
    $('#thread').replaceChildren();
    const url = new URL(location.href);
    url.searchParams.set('chat', chatId);
    history.replaceState(null, '', url);
  }
  showConversation();
  renderChats();
  try {
    await loadThread();
    renderChats(); // a contact's name learnt from the thread shows at once, not after the read and the list
    await markRead();
    await loadChats();
  } catch (error) {
    showError(error);
  }
  $('#message').focus();
}

// -- sending ------------------------------------------------------------------------------------------------

function showAttachment() {
  $('#attachment').hidden = !attachment;
  $('#attachment-name').textContent = attachment
    ? t('chat.attachment', { name: attachment.filename, size: formatSize(attachment.size) }) : '';
  $('#message').placeholder = t(attachment ? 'chat.captionPlaceholder' : 'chat.messagePlaceholder');
}

async function send() {
  const box = $('#message');
  const text = box.value.trim();
  if (!current || (!text && !attachment)) return;
  const to = chatNumber(current);
  try {
    const record = attachment
      ? await api.sendMedia(CLIENT, to, { ...attachment, caption: text || undefined })
      : await api.sendText(CLIENT, to, text);
    box.value = '';
    attachment = null;
    showAttachment();
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
    case 'client_removed':
      client = { ...(client || { clientId: CLIENT }), status: 'disconnected' };
      showClient();
      return;
    default:
  }
}

async function start() {
  await startPage();
  api.subscribe(onEvent, { clientId: CLIENT });
  $('#new-chat').addEventListener('submit', (event) => {
    event.preventDefault();
    const digits = $('#new-number').value.replace(/\D/g, '');
    if (!digits) return;
    $('#new-number').value = '';
    openChat(`${digits}@c.us`);
  });
  $('#composer').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('#send'), send);
  });
  $('#message').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      busy($('#send'), send);
    }
  });
  $('#attach').addEventListener('click', async () => {
    try {
      const picked = await api.pickFile();
      if (picked) {
        attachment = picked;
        showAttachment();
        $('#message').focus();
      }
    } catch (error) {
      showError(error);
    }
  });
  $('#remove-attachment').addEventListener('click', () => {
    attachment = null;
    showAttachment();
    $('#attach').focus();
  });
  $('#older').addEventListener('click', (event) => busy(event.currentTarget, async () => {
    try {
      const page = await api.chatMessages(CLIENT, current, cursor);
      for (const message of [...page.items].reverse()) upsert(message);
      cursor = page.nextCursor;
      renderThread();
    } catch (error) {
      showError(error);
    }
  }));
  for (const type of ['pointerdown', 'keydown', 'wheel', 'touchstart']) {
    document.addEventListener(type, onPersonActs, { capture: true, passive: true });
  }
  document.addEventListener('visibilitychange', () => markRead().then(() => loadChats()).catch(() => {}));
  window.addEventListener('zapool:language', () => {
    nodes.clear();
    $('#thread').replaceChildren();
    showConversation();
    renderChats();
    renderThread();
    showAttachment();
  });
  await loadClient();
  await loadChats();
  if (current) await openChat(current);
  else showConversation();
}

start().finally(showPage).catch((error) => {
  console.warn('[ZapPool]', error);
  if (error?.code) showError(error);
});
