// WhatsApp Web simulator, messages: WPP.chat and WPP.contact (WA-JS 4.6.0 names and shapes).
// Loaded after wpp.js, whose internals it shares through window.__wasim.
(() => {
  'use strict';
  const { st, api, emit, afterSync, handlers, requireAuth, whenOnline, toWid, newMsgId, Wid, MsgKey, WPPError } = window.__wasim;

  const userWid = (digits) => new Wid(`${digits}@c.us`);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const MEDIA = ['image', 'document', 'audio', 'video', 'sticker'];
  // WA-JS's defaultSendMessageOptions, plus createChat (false unless asked).
  const DEFAULTS = { createChat: false, detectMentioned: true, linkPreview: true, markIsRead: true, waitForAck: true, delay: 0 };

  // The server speaks digits; the page hands out Wid and MsgKey objects like WhatsApp's models.
  function model(w, extra = {}) {
    const peer = w.fromMe ? w.to : w.from;
    const msg = {
      id: new MsgKey({ fromMe: w.fromMe, remote: userWid(peer), id: w.id }),
      from: userWid(w.from), to: userWid(w.to), body: w.body ?? '', type: w.type, t: w.t,
      notifyName: w.notifyName || '', isNewMsg: false,
    };
    for (const k of ['ack', 'caption', 'filename', 'mimetype', 'size', 'filehash']) if (w[k] != null) msg[k] = w[k];
    return Object.assign(msg, extra);
  }

  function chatModel(c) {
    return { id: userWid(c.id), name: c.name, unreadCount: c.unreadCount, t: c.t, isGroup: false,
      archive: Boolean(c.archive), pin: c.pin || 0, muteExpiration: c.muteExpiration || 0,
      lastMessage: c.lastMessage ? model(c.lastMessage) : undefined };
  }

  handlers.message = (ev) => afterSync(() => emit('chat.new_message', model(ev.msg, { isNewMsg: true })));
  handlers.ack = (ev) => afterSync(() => {
    const ids = ev.ids.map((k) => new MsgKey({ fromMe: k.fromMe, remote: userWid(k.remote), id: k.id }));
    emit('chat.msg_ack_change', { ack: ev.ack, chat: userWid(ev.chat), ids });
  });
  handlers.unread = (ev) => afterSync(() => {
    emit('chat.unread_count_changed', { chat: chatModel(ev.chat), unreadCount: ev.unreadCount,
      previousUnreadCount: ev.previousUnreadCount });
  });

  // ---- sending ----
  let uploads = Promise.resolve(); // one at a time and in order, like WhatsApp's send queue

  function userChat(chatId) {
    const wid = toWid(chatId);
    if (!wid.isUser()) throw new WPPError('chat_not_found', `Chat not found for ${wid}`, { id: wid });
    return wid;
  }

  // MsgKey.fromString: "<fromMe>_<chat>_<id>".
  function parseKey(value) {
    if (value instanceof MsgKey) return value;
    const text = value && typeof value === 'object' ? value._serialized : value;
    const m = typeof text === 'string' ? /^(true|false)_(.+)_([0-9A-Za-z]+)$/.exec(text) : null;
    if (!m) throw new WPPError('invalid_message_key', `Invalid message key ${text}`, { id: text });
    return new MsgKey({ fromMe: m[1] === 'true', remote: toWid(m[2]), id: m[3] });
  }

  // options.messageId, checked as WA-JS checks it: a key of ours, to this very chat.
  function messageId(option, to) {
    if (!option) return newMsgId();
    const key = parseKey(option);
    if (!key.fromMe) throw new WPPError('message_key_is_not_from_me', 'Message key is not from me', { messageId: key.toString() });
    if (key.remote._serialized !== to._serialized) {
      throw new WPPError('message_key_remote_id_is_not_same_of_chat', 'Message key remote ID is not same of chat',
        { messageId: key.toString() });
    }
    return key.id;
  }
  const ownMessages = new Map(); // what this page sent, like WhatsApp's MsgStore (ack 0 until the server has it)

  // Upload when online (the clock icon otherwise); the server's OK is ack 1 (sent).
  function transmit(key, meta, data, msg) {
    const job = uploads.then(async () => {
      for (;;) {
        await whenOnline();
        try {
          return await api.upload(meta, data);
        } catch (err) {
          if (err.code !== 'offline') throw err;
          await sleep(50); // the network event is on its way; whenOnline() holds us next time
        }
      }
    });
    uploads = job.catch(() => null);
    return job.then((res) => {
      msg.ack = 1;
      emit('chat.msg_ack_change', { ack: 1, chat: key.remote, ids: [key] });
      return res;
    });
  }

  async function send(chatId, meta, data, options) {
    const opts = { ...DEFAULTS, ...(options || {}) };
    requireAuth();
    const to = userChat(chatId);
    if (opts.delay > 0) await sleep(opts.delay);
    await api.post('prepare', { to: to.user, createChat: opts.createChat === true, markIsRead: opts.markIsRead !== false });
    const key = new MsgKey({ fromMe: true, remote: to, id: messageId(opts.messageId, to) });
    const wire = { ...meta, id: key.id, fromMe: true, from: st.phone, to: to.user, t: Math.floor(Date.now() / 1000),
      ack: 0, size: meta.type === 'chat' ? undefined : data.size };
    const msg = model(wire, { isNewMsg: true });
    ownMessages.set(key._serialized, msg);
    emit('chat.new_message', msg); // WhatsApp adds our own message to the chat before it is sent
    const sent = transmit(key, { ...meta, id: key.id, to: to.user, body: undefined }, data, msg);
    const base = { id: key._serialized, from: `${st.phone}@c.us`, to: to._serialized };
    if (!opts.waitForAck) {
      sent.catch((err) => console.warn('send failed', err));
      return { ...base, ack: msg.ack, sendMsgResult: null };
    }
    const res = await sent;
    return { ...base, ack: msg.ack, sendMsgResult: { messageSendResult: 'OK', t: res.t } };
  }

  async function sendTextMessage(chatId, content, options = {}) {
    const text = String(content ?? '');
    return send(chatId, { type: 'chat', body: text }, new Blob([text]), options);
  }

  async function toBlob(content) {
    if (content instanceof Blob) return content;
    if (typeof content === 'string' && /^(data:|https?:|blob:)/.test(content)) {
      const response = await fetch(content);
      if (!response.ok) throw new WPPError('invalid_file', `Could not fetch the file (${response.status})`);
      return response.blob();
    }
    throw new WPPError('invalid_file', 'File content must be a data URL, an http(s) URL, a Blob or a File');
  }

  function mediaType(requested, mimetype, isPtt) {
    let type = requested || 'auto-detect';
    if (type === 'auto-detect') {
      const family = mimetype.split('/')[0];
      type = ['image', 'video', 'audio'].includes(family) ? family : 'document';
    }
    if (!MEDIA.includes(type)) throw new WPPError('invalid_file_type', `Unsupported file type: ${type}`);
    return type === 'audio' && isPtt ? 'ptt' : type; // a voice note is its own message type
  }

  async function sendFileMessage(chatId, content, options = {}) {
    requireAuth();
    const blob = await toBlob(content);
    const mimetype = options.mimetype || blob.type || 'application/octet-stream';
    const type = mediaType(options.type, mimetype, options.isPtt);
    const filename = options.filename ?? (typeof File !== 'undefined' && blob instanceof File ? blob.name : null);
    const meta = { type, body: '', caption: options.caption ?? null, filename, mimetype };
    return send(chatId, meta, blob, options);
  }

  // ---- reading ----
  const FILTERS = ['onlyUsers', 'onlyGroups', 'onlyCommunities', 'onlyNewsletter', 'onlyWithUnreadMessage',
    'onlyArchived', 'withLabels'];

  // WA-JS 4.6.0's list(): WhatsApp's order (pinned first, then the most recent), the filters, then `count` chats
  // from the chat `id` (direction 'after', the default: it and those below it; 'before': the `count` above it).
  async function list(options = {}) {
    requireAuth();
    const count = options.count == null ? Infinity : options.count;
    // WhatsApp keeps its chats in the page; here they come from the server, which cuts a plain first page itself.
    const plain = options.id == null && !FILTERS.some((k) => options[k]) && Number.isInteger(count) && count >= 0;
    // Group entries take their ChatModel from wpp_group.js (groupMetadata, author-keyed last message).
    const groupModel = window.__wasim.groupChatModel;
    const all = (await api.get('chats', plain ? { count } : {}))
      .map((c) => (c.isGroup && groupModel ? groupModel(c) : chatModel(c)));
    let chats = all;
    if (options.onlyUsers) chats = chats.filter((c) => !c.isGroup);
    if (options.onlyGroups) chats = chats.filter((c) => c.isGroup);
    if (options.onlyCommunities || options.onlyNewsletter) chats = [];
    if (options.onlyWithUnreadMessage) chats = chats.filter((c) => c.unreadCount > 0);
    if (options.onlyArchived) chats = chats.filter((c) => c.archive);
    if (options.withLabels) chats = []; // no chat of the simulator carries a label
    const wanted = options.id == null ? null : toWid(options.id)._serialized;
    const anchor = wanted && all.find((c) => c.id._serialized === wanted); // ChatStore.get: filtered out gives -1
    const at = anchor ? chats.indexOf(anchor) : 0;
    if (options.direction !== 'before') return chats.slice(at, at + count);
    const start = Math.max(at - count, 0);
    return chats.slice(start, start + count >= at ? at : start + count);
  }

  async function getMessages(chatId, options = {}) {
    requireAuth();
    const wid = userChat(chatId);
    const count = Number.isInteger(options.count) ? options.count : 20;
    const unread = options.onlyUnread === true ? { unread: '1' } : {};
    // direction 'before' with a message id: the page of older messages (WA-JS: loadEarlierMsgs up to it).
    const before = options.direction === 'before' && options.id ? { before: parseKey(options.id).id } : {};
    return (await api.get('messages', { chat: wid.user, count, ...unread, ...before })).map((w) => model(w));
  }

  // A message by key: this page's own first (one still waiting to go out has ack 0), then the chat's history.
  async function getMessageById(id) {
    requireAuth();
    if (Array.isArray(id)) return Promise.all(id.map(getMessageById));
    const key = parseKey(id);
    const own = ownMessages.get(key._serialized);
    if (own && own.ack < 1) return own;
    if (!(await api.get('chats')).some((c) => c.id === key.remote.user)) {
      throw new WPPError('chat_not_found', `Chat not found for ${key.remote}`, { id: key.remote._serialized });
    }
    const history = await api.get('messages', { chat: key.remote.user, count: -1 });
    const found = history.find((w) => w.id === key.id && Boolean(w.fromMe) === key.fromMe);
    if (!found) throw new WPPError('msg_not_found', `Message ${key} not found`, { id: key.toString() });
    return model(found);
  }

  async function markIsRead(chatId) {
    requireAuth();
    const res = await api.post('read', { chat: userChat(chatId).user });
    return { wid: userWid(res.wid), unreadCount: res.unreadCount };
  }

  // ---- contacts ----
  async function queryExists(contactId) {
    requireAuth();
    const wid = toWid(contactId);
    if (!wid.isUser()) return null;
    await whenOnline(); // the lookup goes to WhatsApp's servers
    const res = await api.get('exists', { id: wid.user });
    return res.wid ? { wid: userWid(res.wid), biz: false } : null;
  }

  Object.assign(window.WPP, {
    chat: { sendTextMessage, sendFileMessage, list, getMessages, getMessageById, markIsRead },
    contact: { queryExists, queryWidExists: queryExists },
  });
})();
