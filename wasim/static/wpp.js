// WhatsApp Web simulator, core: window.WPP (event emitter, loader flags, WPP.conn) over the simulator's
// event stream. Names and shapes follow WA-JS 4.6.0's dist/**/*.d.ts. wpp_chat.js adds chat and contact.
(() => {
  'use strict';

  // ---- event emitter (the EventEmitter2 subset WA-JS users rely on; "ns.*" and "**" wildcards) ----
  const listeners = new Map();
  const matches = (pattern, name) => pattern === name || pattern === '**' ||
    (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1)) && !name.slice(pattern.length - 1).includes('.'));

  function on(name, fn) {
    if (!listeners.has(name)) listeners.set(name, new Set());
    listeners.get(name).add(fn);
    return WPP;
  }
  function off(name, fn) {
    const set = listeners.get(name);
    if (set) set.delete(fn);
    return WPP;
  }
  function once(name, fn) {
    const wrapper = (...args) => { off(name, wrapper); fn(...args); };
    return on(name, wrapper);
  }
  function waitFor(name, timeout = 0) {
    return new Promise((resolve, reject) => {
      let timer = null;
      const fn = (...args) => { if (timer) clearTimeout(timer); off(name, fn); resolve(args); };
      on(name, fn);
      if (timeout > 0) timer = setTimeout(() => { off(name, fn); reject(new Error(`timeout waiting ${name}`)); }, timeout);
    });
  }
  function emit(name, ...args) {
    for (const [pattern, set] of listeners) {
      if (!matches(pattern, name)) continue;
      for (const fn of [...set]) {
        // A failing listener must not stop the others (EventEmitter2 would throw; WA-JS wraps its own).
        try { fn(...args); } catch (err) { console.error(`WPP listener for ${name} failed`, err); }
      }
    }
    return true;
  }

  // ---- WA-JS value types ----
  class WPPError extends Error {
    constructor(code, message, extra = {}) {
      super(message);
      this.name = 'WPPError';
      this.code = code;
      Object.assign(this, extra);
    }
  }

  class Wid {
    constructor(id) {
      const at = id.indexOf('@');
      this.server = id.slice(at + 1);
      this.user = id.slice(0, at);
      this._serialized = id;
    }
    toString() { return this._serialized; }
    toJSON() { return this._serialized; }
    equals(other) { return other != null && String(other._serialized || other) === this._serialized; }
    isUser() { return this.server === 'c.us'; }
    isGroup() { return this.server === 'g.us'; }
    isLid() { return this.server === 'lid'; }
  }

  class MsgKey {
    constructor({ fromMe, remote, id }) {
      this.fromMe = Boolean(fromMe);
      this.remote = remote instanceof Wid ? remote : toWid(remote);
      this.id = id;
      this._serialized = `${this.fromMe}_${this.remote._serialized}_${id}`;
    }
    toString() { return this._serialized; }
  }

  // Like WA-JS's assertWid: "digits@c.us", bare digits, or a Wid-like object.
  function toWid(value) {
    if (value instanceof Wid) return value;
    const text = value && typeof value === 'object' ? value._serialized : value;
    if (typeof text === 'string') {
      if (/^\d{5,20}$/.test(text)) return new Wid(`${text}@c.us`);
      if (/^[\w.:-]+@(c\.us|g\.us|lid|broadcast|newsletter)$/.test(text)) return new Wid(text);
    }
    throw new WPPError('invalid_wid', `Invalid WID value for ${value}`, { id: value });
  }

  const newMsgId = () => '3EB0' + Array.from(crypto.getRandomValues(new Uint8Array(8)),
    (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();

  // ---- page state ----
  const st = {
    sid: null, loadMs: 50, mainReadyOnQr: false, online: true, authenticated: false, mainLoaded: false,
    mainReady: false, synced: false, idle: false, code: null, phone: null, deviceId: null, leaving: false,
  };
  const onlineWaiters = [];
  const whenOnline = () => (st.online ? Promise.resolve() : new Promise((r) => onlineWaiters.push(r)));
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // ---- transport: one WebSocket, as WhatsApp Web keeps to its server (wasim/page_socket.py) ----
  // Requests go as binary frames (u32 id, u32 head length, head JSON {method, path}, body bytes) and are answered
  // by id; the server pushes the session's events on the same socket. Media downloads stay HTTP (wpp_media.js).
  const wire = { socket: null, opened: null, nextId: 1, waiting: new Map() };
  function answer({ status, body }) {
    const data = body ?? {};
    if (status >= 400) throw new WPPError(data.code || 'sim_error', data.error || `HTTP ${status}`);
    return data;
  }
  async function request(method, path, body) {
    await wire.opened;
    const id = wire.nextId++;
    const head = new TextEncoder().encode(JSON.stringify({ method, path: `/_sim/api/${path}` }));
    const sizes = new Uint8Array(8);
    new DataView(sizes.buffer).setUint32(0, id);
    new DataView(sizes.buffer).setUint32(4, head.length);
    const reply = new Promise((resolve, reject) => wire.waiting.set(id, { resolve, reject }));
    if (wire.socket.readyState !== WebSocket.OPEN) throw new TypeError('Failed to fetch: the connection is closed');
    wire.socket.send(new Blob([sizes, head, body ?? new Uint8Array(0)]));
    return answer(await reply);
  }
  const api = {
    async post(path, body = {}) {
      return request('POST', path, new TextEncoder().encode(JSON.stringify({ sid: st.sid, ...body })));
    },
    async get(path, params = {}) {
      return request('GET', `${path}?${new URLSearchParams({ sid: st.sid, ...params })}`);
    },
    async upload(meta, data) {
      const head = new TextEncoder().encode(JSON.stringify(meta));
      const size = new Uint8Array(4);
      new DataView(size.buffer).setUint32(0, head.length);
      return request('POST', `send?sid=${encodeURIComponent(st.sid)}`, new Blob([size, head, data]));
    },
  };

  // ---- login record in IndexedDB: non-extractable CryptoKey + Blob, like WhatsApp's own ----
  const idb = {
    open() {
      return new Promise((resolve, reject) => {
        const req = indexedDB.open('wawc', 1);
        req.onupgradeneeded = () => req.result.createObjectStore('user');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    },
    async run(mode, action) {
      const db = await this.open();
      try {
        return await new Promise((resolve, reject) => {
          const tx = db.transaction('user', mode);
          const req = action(tx.objectStore('user'));
          tx.oncomplete = () => resolve(req.result);
          tx.onerror = () => reject(tx.error);
        });
      } finally { db.close(); }
    },
    get() { return this.run('readonly', (s) => s.get('login')); },
    put(value) { return this.run('readwrite', (s) => s.put(value, 'login')); },
    clear() { return this.run('readwrite', (s) => s.delete('login')); },
  };

  const b64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));
  const unb64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

  // A copy of the profile (storage_state) turns CryptoKey and Blob into {}: such a record is useless.
  async function usableRecord(rec) {
    if (!rec || typeof rec !== 'object' || typeof rec.deviceId !== 'string' || typeof rec.phone !== 'string') return false;
    if (!(rec.key instanceof CryptoKey) || rec.key.extractable !== false || !(rec.blob instanceof Blob)) return false;
    try { return JSON.parse(await rec.blob.text()).deviceId === rec.deviceId; } catch (err) { return false; }
  }

  async function saveLogin(deviceId, phone, secret) {
    const key = await crypto.subtle.importKey('raw', unb64(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const blob = new Blob([JSON.stringify({ deviceId, phone })], { type: 'application/json' });
    await idb.put({ deviceId, phone, key, blob });
  }

  // ---- boot and login ----
  async function restore() {
    let rec;
    try { rec = await idb.get(); } catch (err) { rec = undefined; }
    if (rec === undefined) return false;
    if (await usableRecord(rec)) {
      const sig = b64(await crypto.subtle.sign('HMAC', rec.key, new TextEncoder().encode(st.sid)));
      const res = await api.post('resume', { deviceId: rec.deviceId, sig });
      if (res.ok) {
        Object.assign(st, { authenticated: true, phone: res.phone, deviceId: rec.deviceId });
        return true;
      }
    }
    await idb.clear().catch(() => null);
    return false;
  }

  let booted = null; // settles once the page shows the QR screen or the main screen
  async function start() {
    // The stored login is read while the site boots, so isAuthenticated() is right as soon as isReady is.
    const [restored] = await Promise.all([restore(), sleep(st.loadMs)]);
    WPP.isInjected = WPP.isReady = WPP.isFullReady = true;
    emit('loader.injected');
    emit('loader.ready');
    emit('loader.full_ready');
    if (restored) {
      mainScreen().catch((err) => console.error('main screen failed', err));
      return;
    }
    ui('qr');
    emit('conn.require_auth');
    if (st.mainReadyOnQr) markMainReady();
    await api.post('qr');
  }

  // After a login (resume or link): main screen loads, then becomes ready once online.
  async function mainScreen() {
    ui('syncing');
    await sleep(20);
    st.mainLoaded = true;
    emit('conn.main_loaded');
    await whenOnline();
    await sleep(40);
    if (!st.authenticated) return;
    // Tell the server first, so a control call made right after conn.main_ready finds the tab ready.
    await api.post('ready').catch(() => null);
    markMainReady();
    st.synced = true;
    ui('ready');
    pendingChat.splice(0).forEach((fn) => fn());
  }

  // Chat events the server sends once it counts us ready wait for conn.main_ready on the page.
  const pendingChat = [];
  const afterSync = (fn) => (st.synced ? fn() : pendingChat.push(fn));

  function markMainReady() {
    if (st.mainReady) return; // like WA-JS: conn.main_ready fires once per page load
    st.mainReady = true;
    emit('conn.main_ready');
  }

  async function loggedOut(reason) {
    if (st.leaving) return;
    st.leaving = true;
    Object.assign(st, { authenticated: false, mainLoaded: false, synced: false, phone: null, deviceId: null, code: null });
    emit('conn.logout_reason', reason);
    emit('conn.logout');
    await idb.clear().catch(() => null);
    ui('logout');
    setTimeout(() => location.reload(), 100); // WhatsApp Web reloads to the QR screen
  }

  const handlers = {
    hello(ev) {
      Object.assign(st, { sid: ev.sid, online: ev.network, loadMs: ev.loadMs, mainReadyOnQr: ev.mainReadyOnQr });
      booted = start().catch((err) => console.error('simulator boot failed', err));
    },
    qr(ev) {
      st.idle = Boolean(ev.idle);
      st.code = ev.code || null;
      emit('conn.auth_code_change', st.code ? { ...st.code } : null);
      if (st.idle) emit('conn.qrcode_idle');
      ui(st.idle ? 'idle' : 'qr');
    },
    async linked(ev) {
      Object.assign(st, { code: null, idle: false });
      await saveLogin(ev.deviceId, ev.phone, ev.secret);
      Object.assign(st, { authenticated: true, phone: ev.phone, deviceId: ev.deviceId });
      emit('conn.authenticated');
      // Not awaited: the event chain must go on (a network event may be what main_ready waits for).
      mainScreen().catch((err) => console.error('main screen failed', err));
    },
    unlinked(ev) { return loggedOut(ev.reason || 'user_initiated'); },
    network(ev) {
      if (st.online === ev.up) return;
      st.online = ev.up;
      emit('conn.online', ev.up);
      if (ev.up) onlineWaiters.splice(0).forEach((resolve) => resolve());
      ui();
    },
  };

  // Losing the simulator itself (it stopped) looks like losing the network; reload once it is back.
  function lostServer() {
    const lost = new TypeError('Failed to fetch: the connection to the server was lost');
    wire.waiting.forEach(({ reject }) => reject(lost));
    wire.waiting.clear();
    if (st.leaving) return;
    if (st.online) { st.online = false; emit('conn.online', false); }
    const retry = () => fetch('/_sim/api/ping').then((r) => (r.ok ? location.reload() : setTimeout(retry, 1000)),
      () => setTimeout(retry, 1000));
    setTimeout(retry, 1000);
  }

  function connect() {
    const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/_sim/ws`);
    wire.socket = socket;
    wire.opened = new Promise((resolve) => { socket.onopen = resolve; });
    let chain = Promise.resolve(); // events are handled one after another, in arrival order
    socket.onmessage = (msg) => {
      const frame = JSON.parse(msg.data);
      if (frame.event === undefined) {
        const waiter = wire.waiting.get(frame.id);
        wire.waiting.delete(frame.id);
        if (waiter) waiter.resolve(frame);
        return;
      }
      const ev = frame.event;
      const fn = handlers[ev.type];
      if (fn) chain = chain.then(() => fn(ev)).catch((err) => console.error(`simulator event ${ev.type}`, err));
    };
    socket.onclose = () => lostServer();
    window.addEventListener('pagehide', () => { st.leaving = true; socket.close(); });
  }

  function requireAuth() {
    if (!st.authenticated) throw new WPPError('not_authenticated', 'WhatsApp Web is not logged in');
  }

  // ---- a little visible page, so a person watching the browser sees what WhatsApp would show ----
  function ui(screen) {
    if (screen) ui.screen = screen;
    const el = document.getElementById('sim-status');
    if (!el) return;
    const lines = {
      loading: 'Carregando…', qr: 'Escaneie o QR code com o celular', idle: 'QR expirado: clique para recarregar',
      pairing: 'Digite o código no celular', syncing: `Sincronizando +${st.phone || ''}…`,
      ready: `Conectado como +${st.phone || ''}`, logout: 'Desconectado',
    };
    el.textContent = (lines[ui.screen] || '') + (st.online ? '' : ' (sem conexão)');
    const qr = document.getElementById('sim-qr');
    if (qr) qr.textContent = ui.screen === 'qr' && st.code ? st.code.fullCode : ui.screen === 'pairing' ? st.pairing || '' : '';
  }

  // ---- WPP.conn ----
  const conn = {
    async getAuthCode() { return st.authenticated || !st.code ? null : { ...st.code }; },
    async refreshQR() {
      await booted;
      if (st.authenticated) return null;
      const next = waitFor('conn.auth_code_change');
      await api.post('qr');
      return (await next)[0];
    },
    async genLinkDeviceCodeForPhoneNumber(phone, sendPushNotification = true) {
      if (!phone || typeof phone !== 'string') {
        throw new WPPError('send_the_phone_number_to_connect', "Can't get code for without phone number param");
      }
      await booted; // the code replaces the QR screen, so wait until it is up
      if (st.authenticated) {
        throw new WPPError('cannot_get_code_for_already_authenticated', "Can't get code for already authenticated user");
      }
      const { code } = await api.post('paircode', { phone, sendPushNotification });
      Object.assign(st, { code: null, idle: false, pairing: code });
      ui('pairing');
      return code;
    },
    getMyUserId() { return st.authenticated && st.phone ? new Wid(`${st.phone}@c.us`) : undefined; },
    getMyUserWid() { return conn.getMyUserId(); },
    isAuthenticated() { return st.authenticated; },
    isRegistered() { return st.authenticated; },
    isMainLoaded() { return st.mainLoaded; },
    isMainReady() { return st.mainReady; },
    isMainInit() { return WPP.isReady; },
    isOnline() { return st.online; },
    isIdle() { return st.idle; },
    isMultiDevice() { return true; },
    needsUpdate() { return false; },
    async logout() {
      if (!st.authenticated) return true;
      await api.post('logout');
      await loggedOut('user_initiated');
      return true;
    },
  };

  const WPP = {
    version: '4.6.0', supportedWhatsappWeb: '>=2.3000.1038792969-alpha', license: 'Apache-2.0',
    isInjected: false, isReady: false, isFullReady: false,
    on, off, once, waitFor, emit, removeListener: off, addListener: on,
    conn,
    whatsapp: { Wid, MsgKey },
  };
  window.WPP = WPP;
  // Shared with wpp_chat.js only; not part of WA-JS.
  Object.defineProperty(window, '__wasim', {
    value: { st, api, wire, emit, afterSync, handlers, requireAuth, whenOnline, toWid, newMsgId, Wid, MsgKey, WPPError, ui },
  });
  connect();
})();
