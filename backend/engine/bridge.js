// ZapPool's side of the WhatsApp Web page, installed as an init script so it survives reloads.
// It forwards WA-JS events to Python through the `__zapEvents` binding, as plain JSON, and runs the
// engine's calls into window.WPP. The event names come from wpp.py (window.__zapEventNames).
(() => {
  if (window.top !== window || window.__zap) return;

  const wid = (w) => (w == null ? null : typeof w === 'string' ? w : w._serialized || String(w));
  const msgKey = (k) => (k == null ? null : typeof k === 'string' ? k : k._serialized || null);

  // WhatsApp's models are large objects with cycles: take only the fields ZapPool uses.
  const message = (m) => ({
    id: msgKey(m.id),
    fromMe: Boolean(m.id && m.id.fromMe),
    from: wid(m.from),
    to: wid(m.to),
    type: m.type || null,
    body: m.type === 'chat' ? m.body ?? '' : null,
    caption: m.caption ?? null,
    filename: m.filename ?? null,
    mimetype: m.mimetype ?? null,
    size: m.size ?? null,
    t: m.t ?? null,
    notifyName: m.notifyName ?? null,
    author: wid(m.author),  // a group message: the member who wrote it (from is the group)
    subtype: m.subtype ?? null,  // gp2 notifications: subject, description, add, remove...
    notice: m.type === 'gp2' ? m.body ?? null : null,  // a gp2 subject/description notification's new text
    mentions: (m.mentionedJidList || []).map(wid),
    filehash: m.filehash ?? null,
  });

  // A group's ChatModel as ZapPool lists it: groupMetadata's subject, description, owner and participants.
  const members = (ps) => (ps && typeof ps.getModelsArray === 'function' ? ps.getModelsArray() : Array.from(ps || []));
  const groupChat = (c) => {
    const g = (c && c.groupMetadata) || {};
    const people = members(g.participants).map((p) => ({
      id: wid(p.id), isAdmin: Boolean(p.isAdmin), isSuperAdmin: Boolean(p.isSuperAdmin) }));
    return { id: wid(c && c.id), subject: g.subject ?? (c && (c.name || c.formattedTitle)) ?? null,
      description: g.desc ?? null, owner: wid(g.owner), creation: g.creation ?? null, restrict: Boolean(g.restrict),
      announce: Boolean(g.announce), participants: people };
  };

  const SERIALIZERS = {
    'conn.auth_code_change': (c) => (c ? { type: c.type, ref: c.ref, fullCode: c.fullCode } : null),
    'chat.new_message': message,
    'chat.msg_ack_change': (e) => ({ ack: e.ack, chat: wid(e.chat), ids: (e.ids || []).map(msgKey) }),
  };

  // Results of the contacts capability's calls, picked field by field: WhatsApp's models keep their fields
  // behind getters on the prototype, which plain() below does not see.
  const chatOf = (c) => ({
    id: wid(c.id), name: c.name ?? c.formattedTitle ?? null, isGroup: Boolean(c.isGroup),
    unreadCount: c.unreadCount ?? 0, t: c.t ?? null, archive: Boolean(c.archive), pin: c.pin || 0,
    muteExpiration: c.muteExpiration || 0, lastMessage: c.lastMessage ? message(c.lastMessage) : null,
  });
  const contactOf = (c) => (c ? {
    id: wid(c.id), name: c.name ?? null, shortName: c.shortName ?? null, pushname: c.pushname ?? null,
    isBusiness: Boolean(c.isBusiness), isMyContact: Boolean(c.isMyContact), formattedName: c.formattedName ?? null,
  } : null);
  // Return values that need a shape of their own: WhatsApp's models are too deep for plain(), and keep their
  // fields behind getters it would not see.
  const RESULTS = {
    'group.getAllGroups': (list) => (list || []).filter(Boolean).map(groupChat),
    'chat.list': (list) => (list || []).map(chatOf),
    'chat.getMessages': (list) => (list || []).map((m) => ({ ...message(m), ack: m.ack ?? null })),
    'contact.list': (list) => (list || []).map(contactOf),
    'contact.get': contactOf,
  };

  // Plain JSON for return values: Wids become their string form, functions and deep nesting are dropped.
  const plain = (v, depth = 0) => {
    if (v == null || typeof v !== 'object') return typeof v === 'function' ? undefined : v;
    if (typeof v._serialized === 'string') return v._serialized;
    if (depth > 3) return undefined;
    if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      const p = plain(x, depth + 1);
      if (p !== undefined) out[k] = p;
    }
    return out;
  };

  const failure = (e) => ({ error: { code: (e && e.code) || 'error', message: String((e && e.message) || e) } });
  const resolve = (path) => {
    const [ns, fn] = path.split('.');
    const f = window.WPP && window.WPP[ns] && window.WPP[ns][fn];
    if (typeof f !== 'function') throw Object.assign(new Error(`WPP.${path} is not available`), { code: 'wpp_missing' });
    return f.bind(window.WPP[ns]);
  };
  const uploads = new Map();
  const blobs = new Map();
  let blobSeq = 0;

  window.__zap = {
    async call(path, args) {
      try { return { ok: (RESULTS[path] || plain)(await resolve(path)(...args)) }; } catch (e) { return failure(e); }
    },
    async callMany(calls) {
      const out = [];
      for (const [path, args] of calls) out.push(await this.call(path, args));
      return out;
    },
    // A message by its key, or null when WhatsApp has none: WA-JS throws msg_not_found (chat_not_found when
    // the chat itself does not exist yet, which means the same here).
    async findMessage(path, key) {
      try {
        const m = await resolve(path)(key);
        return { ok: m ? { ...message(m), ack: m.ack ?? null } : null };
      } catch (e) {
        return e && (e.code === 'msg_not_found' || e.code === 'chat_not_found') ? { ok: null } : failure(e);
      }
    },
    // The incoming messages WhatsApp holds as unread in every chat (WPP.chat.list, then WPP.chat.getMessages;
    // names from wpp.py), shaped as chat.new_message's: the catch-up at connect reads them, for what reached
    // the page before our listener did, or went to a page that was closing.
    async unreadMessages(listPath, messagesPath) {
      try {
        const out = [];
        for (const chat of (await resolve(listPath)({ onlyWithUnreadMessage: true })) || []) {
          const msgs = await resolve(messagesPath)(wid(chat.id), { count: -1, onlyUnread: true });
          for (const m of msgs || []) if (m && !(m.id && m.id.fromMe)) out.push(message(m));
        }
        return { ok: out };
      } catch (e) { return failure(e); }
    },
    // Large media crosses from Python in base64 chunks and is handed to WA-JS as a File.
    upload(id, chunk) {
      const bin = atob(chunk);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      if (!uploads.has(id)) uploads.set(id, []);
      uploads.get(id).push(bytes);
      return bytes.length;
    },
    // Media from WhatsApp (a Blob, WPP.chat.downloadMedia) crosses to Python in base64 chunks it asks for one by
    // one: the Blob stays here, under a handle, until released (no giant string, no page memory kept).
    async blob(path, args) {
      try {
        const b = await resolve(path)(...args);
        if (!(b instanceof Blob)) return failure({ code: 'media_not_found', message: 'No media' });
        const handle = `b${++blobSeq}`;
        blobs.set(handle, b);
        return { ok: { handle, size: b.size, mimetype: b.type || null } };
      } catch (e) { return failure(e); }
    },
    async blobChunk(handle, start, end) {
      const b = blobs.get(handle);
      if (!b) return failure({ code: 'blob_released', message: `No blob ${handle}` });
      const url = await new Promise((ok, fail) => {
        const reader = new FileReader();
        reader.onload = () => ok(String(reader.result));
        reader.onerror = () => fail(reader.error);
        reader.readAsDataURL(b.slice(start, end));
      });
      return { ok: url.slice(url.indexOf(',') + 1) };
    },
    releaseBlob(handle) { return { ok: blobs.delete(handle) }; },
    blobObject(handle) { return blobs.get(handle); }, // for DevTools' IO.resolveBlob (wpp.py reads it with IO.read)
    async sendFile(path, chatId, id, options) {
      const parts = uploads.get(id) || [];
      uploads.delete(id);
      const file = new File(parts, options.filename || 'file', { type: options.mimetype || 'application/octet-stream' });
      return this.call(path, [chatId, file, options]);
    },
  };

  // Events cross to Python through `__zapEvents`, a DevTools binding that answers nothing (Playwright's
  // exposeBinding makes every call a round trip: the reply is one more evaluate in the page), as one JSON
  // string per batch: the events of a short window (window.__zapBatchMs, from wpp.py) go in one call, and
  // whatever is waiting goes before the page unloads. Our own sends' `chat.new_message` stays here (Python
  // keeps only incoming ones). bench/chromium_share.py measures what this costs Chromium.
  // Acks wait longer (window.__zapAckBatchMs): a burst's delivered and read acks then cross a few at a time
  // rather than one or two per call, while an incoming message or a QR code still goes within __zapBatchMs.
  const queue = [];
  let due = Infinity;  // when the pending flush runs (performance.now()), Infinity: none pending
  let timer = null;
  const flush = () => {
    clearTimeout(timer);
    timer = null;
    due = Infinity;
    if (!queue.length) return;
    const batch = JSON.stringify(queue);
    queue.length = 0;
    window.__zapEvents(batch);
  };
  const forward = (name, payload) => {
    queue.push([name, payload]);
    const wait = (name === 'chat.msg_ack_change' ? window.__zapAckBatchMs : window.__zapBatchMs) || 0;
    const at = performance.now() + wait;
    if (at >= due) return;  // an earlier flush takes this one along
    clearTimeout(timer);
    due = at;
    if (wait > 0) timer = setTimeout(flush, wait); else queueMicrotask(flush);
  };
  window.addEventListener('pagehide', flush);
  // Our own messages stay here, but not our own gp2 notifications: a subject we changed is news for Python too.
  const FILTERS = { 'chat.new_message': (m) => !(m && m.id && m.id.fromMe) || (m && m.type === 'gp2') };

  // Listen as soon as WPP can be listened to (WA-JS's emitter exists before isReady), so that no event of the
  // boot goes unheard; say `zap.attached` once WPP is ready to be called as well.
  let listening = false;
  const hook = () => {
    const W = window.WPP;
    if (!W || typeof W.on !== 'function') return false;
    if (!listening) {
      listening = true;
      for (const name of window.__zapEventNames || []) {
        const keep = FILTERS[name];
        const serialize = SERIALIZERS[name] || plain;
        W.on(name, (arg) => { if (!keep || keep(arg)) forward(name, serialize(arg)); });
      }
    }
    if (!W.isReady) return false;
    forward('zap.attached', null);
    return true;
  };
  if (!hook()) {
    const timer = setInterval(() => { if (hook()) clearInterval(timer); }, 20);
  }
})();
//# sourceURL=zapool-bridge.js
