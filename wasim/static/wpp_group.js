// WhatsApp Web simulator, groups: WPP.group (WA-JS 4.6.0 names and shapes, dist/group/**/*.d.ts), the
// `group.participant_changed` event, group messages in `chat.new_message`, and sending to `...@g.us` through
// WPP.chat's own send functions. Loaded after wpp_chat.js; the rules live on the server (wasim/groups.py).
(() => {
  'use strict';
  const { st, api, emit, afterSync, handlers, requireAuth, whenOnline, toWid, newMsgId, Wid, MsgKey, WPPError } = window.__wasim;

  const userWid = (digits) => new Wid(`${digits}@c.us`);
  const base = { ...window.WPP.chat }; // the person-to-person functions this file extends to groups

  // A group message as WhatsApp's MsgModel: from the group, `author` the member who wrote it; the key carries
  // the participant, as WhatsApp's does for group messages ("false_<group>_<id>_<author>").
  function groupMsg(w, extra = {}) {
    const mine = w.author === st.phone;
    const gid = new Wid(w.group);
    const id = new MsgKey({ fromMe: mine, remote: gid, id: w.id });
    if (!mine) id._serialized += `_${w.author}@c.us`;
    const msg = {
      id, from: mine ? userWid(st.phone) : gid, to: mine ? gid : userWid(st.phone), author: userWid(w.author),
      body: w.body ?? '', type: w.type, subtype: w.subtype ?? null, t: w.t, notifyName: w.notifyName || '',
      mentionedJidList: (w.mentions || []).map(userWid), isNewMsg: false,
    };
    for (const k of ['ack', 'caption', 'filename', 'mimetype', 'size']) if (w[k] != null) msg[k] = w[k];
    return Object.assign(msg, extra);
  }

  // A participant list like WhatsApp's ParticipantCollection (getModelsArray) that also iterates.
  function participants(list) {
    const models = list.map((p) => ({ id: userWid(p.id), isAdmin: p.isAdmin, isSuperAdmin: p.isSuperAdmin }));
    return Object.assign(models, { getModelsArray: () => models.slice(), iAmAdmin: () => models.some((m) => m.isAdmin && m.id.user === st.phone) });
  }

  // A group's ChatModel: id, name, and its groupMetadata (subject, desc, owner, participants, restrict, announce).
  function groupChat(g) {
    const meta = { id: new Wid(g.id), subject: g.subject, desc: g.desc, owner: userWid(g.owner), creation: g.creation,
      restrict: g.restrict, announce: g.announce, size: g.size, participants: participants(g.participants) };
    return { id: new Wid(g.id), name: g.subject, formattedTitle: g.subject, isGroup: true, groupMetadata: meta };
  }

  // A group's entry of WPP.chat.list: its ChatModel with this member's unread count and the last message.
  window.__wasim.groupChatModel = (c) => ({ ...groupChat(c.group), unreadCount: c.unreadCount, t: c.t,
    archive: Boolean(c.archive), pin: c.pin || 0, muteExpiration: c.muteExpiration || 0,
    lastMessage: c.lastMessage ? groupMsg(c.lastMessage) : undefined });

  handlers.group = (ev) => afterSync(() => emit('group.participant_changed', {
    ...ev.event, author: `${ev.event.author}@c.us`, participants: ev.event.participants.map((p) => `${p}@c.us`),
  }));
  handlers.group_message = (ev) => afterSync(() => emit('chat.new_message', groupMsg(ev.msg, { isNewMsg: true })));
  handlers.group_ack = (ev) => afterSync(() => {
    emit('chat.msg_ack_change', { ack: ev.ack, chat: new Wid(ev.chat), ids: [new MsgKey({ fromMe: true, remote: new Wid(ev.chat), id: ev.id })] });
  });

  async function act(action, body = {}) {
    requireAuth();
    await whenOnline(); // group actions go to WhatsApp's servers
    return api.post('group', { action, ...body });
  }
  const gid = (groupId) => {
    const wid = toWid(groupId);
    if (!wid.isGroup()) throw new WPPError('not_a_group', `Chat ${wid} is not a group`);
    return wid._serialized;
  };
  const ids = (value) => (Array.isArray(value) ? value : [value]).map((v) => toWid(v).user);
  const INVITE = /^(https?:\/\/)?(chat\.whatsapp\.com\/)?(invite\/)?/;

  const group = {
    async getAllGroups() { return (await act('list')).map(groupChat); },
    async getParticipants(groupId) {
      const g = (await act('list')).find((x) => x.id === gid(groupId));
      if (!g) throw new WPPError('group_not_exist', `GroupId ${groupId} not exists`);
      return participants(g.participants).getModelsArray();
    },
    async iAmAdmin(groupId) { return (await group.getParticipants(groupId)).some((p) => p.isAdmin && p.id.user === st.phone); },
    async getGroupSizeLimit() { return 1024; },
    async create(groupName, participantsIds, parentGroup) {
      const res = await act('create', { subject: groupName, participants: ids(participantsIds) });
      return { gid: new Wid(res.gid), participants: res.participants };
    },
    async addParticipants(groupId, participantsIds) { return act('add', { groupId: gid(groupId), participants: ids(participantsIds) }); },
    async removeParticipants(groupId, participantsIds) { await act('remove', { groupId: gid(groupId), participants: ids(participantsIds) }); },
    async promoteParticipants(groupId, participantsIds) { await act('promote', { groupId: gid(groupId), participants: ids(participantsIds) }); },
    async demoteParticipants(groupId, participantsIds) { await act('demote', { groupId: gid(groupId), participants: ids(participantsIds) }); },
    async setSubject(groupId, subject) { return act('subject', { groupId: gid(groupId), value: subject }); },
    async setDescription(groupId, description) { return act('description', { groupId: gid(groupId), value: description }); },
    async getInviteCode(groupId) { return act('invite', { groupId: gid(groupId) }); },
    async revokeInviteCode(groupId) { return act('revoke', { groupId: gid(groupId) }); },
    async join(inviteCode) { return act('join', { code: String(inviteCode).replace(INVITE, '') }); },
    async leave(groupId) { await act('leave', { groupId: gid(groupId) }); },
  };

  // ---- WPP.chat on a group: send (detectMentioned: "@<number>" in the text mentions that member), find, read ----
  const sent = new Map(); // our group messages by serialized key

  async function sendToGroup(to, meta, options) {
    const opts = { detectMentioned: true, waitForAck: true, ...(options || {}) };
    let id = newMsgId();
    if (opts.messageId) {
      const text = String(opts.messageId._serialized || opts.messageId);
      if (!text.startsWith(`true_${to._serialized}_`)) {
        throw new WPPError('message_key_remote_id_is_not_same_of_chat', 'Message key remote ID is not same of chat', { messageId: text });
      }
      id = text.slice(`true_${to._serialized}_`.length);
    }
    const res = await act('send', { groupId: to._serialized, id, detectMentioned: opts.detectMentioned !== false, ...meta });
    const key = new MsgKey({ fromMe: true, remote: to, id: res.id });
    const msg = groupMsg({ ...meta, id: res.id, group: to._serialized, author: st.phone, t: res.t, ack: 1, body: meta.text });
    sent.set(key._serialized, msg);
    emit('chat.new_message', { ...msg, isNewMsg: true });
    emit('chat.msg_ack_change', { ack: 1, chat: to, ids: [key] });
    return { id: key._serialized, from: `${st.phone}@c.us`, to: to._serialized, ack: 1,
      sendMsgResult: opts.waitForAck ? { messageSendResult: 'OK', t: res.t } : null };
  }

  const isGroup = (chatId) => { try { return toWid(chatId).isGroup(); } catch (err) { return false; } };

  async function sendTextMessage(chatId, content, options = {}) {
    if (!isGroup(chatId)) return base.sendTextMessage(chatId, content, options);
    return sendToGroup(toWid(chatId), { type: 'chat', text: String(content ?? '') }, options);
  }

  async function sendFileMessage(chatId, content, options = {}) {
    if (!isGroup(chatId)) return base.sendFileMessage(chatId, content, options);
    const blob = content instanceof Blob ? content : await (await fetch(content)).blob();
    const mimetype = options.mimetype || blob.type || 'application/octet-stream';
    const family = mimetype.split('/')[0];
    const type = options.type && options.type !== 'auto-detect' ? options.type
      : ['image', 'video', 'audio'].includes(family) ? family : 'document';
    return sendToGroup(toWid(chatId), { type: type === 'audio' && options.isPtt ? 'ptt' : type, mimetype, size: blob.size,
      caption: options.caption ?? null, filename: options.filename ?? null, text: '' }, options);
  }

  async function getMessageById(id) {
    const text = String((id && id._serialized) || id);
    const m = /^true_(\d+@g\.us)_([0-9A-Za-z]+)$/.exec(text);
    if (!m) return base.getMessageById(id);
    requireAuth();
    if (sent.has(text)) return sent.get(text);
    const found = await act('find', { groupId: m[1], id: m[2] });
    if (found.msg) return groupMsg(found.msg);
    throw new WPPError('msg_not_found', `Message ${text} not found`, { id: text });
  }

  async function markIsRead(chatId) {
    if (!isGroup(chatId)) return base.markIsRead(chatId);
    const res = await act('read', { groupId: gid(chatId) });
    return { wid: new Wid(res.wid), unreadCount: res.unreadCount };
  }

  // A group message's key: "<fromMe>_<group>_<id>" (ours) or with "_<author>@c.us" after it (a member's).
  const GROUP_KEY = /^(true|false)_(\d+@g\.us)_([0-9A-Za-z]+)(_\d+@c\.us)?$/;

  // A group's history, read from what the device holds (no network needed): oldest first, paging backwards.
  async function getMessages(chatId, options = {}) {
    if (!isGroup(chatId)) return base.getMessages(chatId, options);
    requireAuth();
    const body = { action: 'messages', groupId: gid(chatId), count: Number.isInteger(options.count) ? options.count : 20,
      unread: options.onlyUnread === true };
    if (options.direction === 'before' && options.id) {
      const m = GROUP_KEY.exec(String(options.id._serialized || options.id));
      if (!m) throw new WPPError('invalid_message_key', `Invalid message key ${options.id}`, { id: String(options.id) });
      body.before = m[3];
    }
    return (await api.post('group', body)).map((w) => groupMsg(w));
  }

  Object.assign(window.WPP.chat, { sendTextMessage, sendFileMessage, getMessageById, markIsRead, getMessages });
  window.WPP.group = group;
})();
