// The one module that knows where it runs: a pywebview window (the js_api bridge) or a browser (the REST API
// with the login cookie). Every operation of the README's table is here under its api.js name and returns a
// promise of the result, or rejects with an ApiError {code, message, details} in both modes.

import { listenForEvents, subscribeEvents } from './api-events.js';

export class ApiError extends Error {
  constructor(code, message, details = {}, status = 0) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    this.details = details || {};
    this.status = status; // HTTP status in the browser; 0 in the desktop
  }
}

const LOGIN_PAGES = new Set(['/', '/ui/index.html', '/ui/']);
const BRIDGE_WAIT_MS = 8000;

// pywebview injects window.pywebview after the page has loaded and fires `pywebviewready` once its channel
// works, so a script can run first. Waiting is only worth it where a native host is present (Qt's web
// channel, WebView2, WKWebView/WebKitGTK); a plain browser has none and starts at once.
function nativeHost() {
  return Boolean(window.pywebview || window.qt?.webChannelTransport || window.chrome?.webview
    || window.webkit?.messageHandlers);
}

function bridgeReady() {
  const pv = window.pywebview;
  if (!pv?.api || typeof pv.api.me !== 'function') return false;
  return pv.platform !== 'qtwebengine' || Boolean(pv._QWebChannel);
}

async function detectMode() {
  if (bridgeReady()) return 'desktop';
  if (!nativeHost()) return 'browser';
  return new Promise((resolve) => {
    const done = (mode) => {
      clearInterval(poll);
      clearTimeout(timer);
      window.removeEventListener('pywebviewready', onReady);
      resolve(mode);
    };
    const onReady = () => done('desktop');
    const poll = setInterval(() => bridgeReady() && done('desktop'), 50);
    const timer = setTimeout(() => done(bridgeReady() ? 'desktop' : 'browser'), BRIDGE_WAIT_MS);
    window.addEventListener('pywebviewready', onReady);
  });
}

export const mode = await detectMode();

// -- when the login is gone --------------------------------------------------------------------------------

function onLoginPage() {
  return LOGIN_PAGES.has(location.pathname);
}

/** Not logged in (any more), or the first-run password still has to change: back to the login page. */
function authLost(error) {
  if ((error.code === 'unauthorized' || error.code === 'password_change_required') && !onLoginPage()) {
    location.assign('/');
  }
}

// -- desktop: the js_api bridge ---------------------------------------------------------------------------

export async function bridge(name, ...args) {
  let reply;
  try {
    reply = await window.pywebview.api[name](...args);
  } catch (err) {
    throw new ApiError('bridge_failed', String(err?.message || err));
  }
  if (reply && typeof reply === 'object' && 'error' in reply && reply.error) {
    const { code, message, details } = reply.error;
    const error = new ApiError(code || 'internal', message, details);
    authLost(error);
    throw error;
  }
  return reply && typeof reply === 'object' && 'result' in reply ? reply.result : reply;
}

// -- media: a URL the page can load a message's media from -------------------------------------------------
// The desktop's bridge gives a short-lived link on this server (the bytes never cross the bridge, and a video
// can be sought); a browser fetches the REST route with its login cookie and shows a blob: URL of the bytes.

async function restBlobUrl(path) {
  return URL.createObjectURL(await restBlob(path));
}

async function restBlob(path) {
  let response;
  try {
    response = await fetch(path, { credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError('network', String(err?.message || err));
  }
  if (response.ok) return response.blob();
  const envelope = (await response.json().catch(() => null))?.error
    || { code: `http_${response.status}`, message: response.statusText, details: {} };
  const error = new ApiError(envelope.code, envelope.message, envelope.details, response.status);
  authLost(error);
  throw error;
}

// -- profile pictures: the desktop's signed link of a number, asked once and kept until it is near its age
// (contacts/pictures.py); an <img> appends the contact id. A browser's <img> loads the REST route itself.

const pictureLinks = new Map(); // clientId -> {until, base: Promise<string>}

function pictureLink(id) {
  const kept = pictureLinks.get(id);
  if (kept && kept.until > Date.now()) return kept.base;
  const base = bridge('contact_picture_link', id).then((link) => link.url);
  pictureLinks.set(id, { until: Date.now() + 3600 * 1000, base });
  base.catch(() => pictureLinks.delete(id));
  return base;
}

// -- browser: the REST API --------------------------------------------------------------------------------

export async function rest(method, path, body, headers = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (body instanceof Blob) {
    init.body = body; // a file as it is (api-audience.js: POST /contacts/import); its type is in `headers`
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError('network', String(err?.message || err));
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null; // an answer without JSON: the status alone says what happened
  }
  if (response.ok) return data;
  const envelope = data?.error || { code: `http_${response.status}`, message: response.statusText, details: {} };
  const details = { ...(envelope.details || {}) };
  const retry = Number(response.headers.get('Retry-After'));
  if (retry > 0) details.retryAfter = retry; // the header counts the second being waited in too
  const error = new ApiError(envelope.code, envelope.message, details, response.status);
  authLost(error);
  throw error;
}

const enc = encodeURIComponent;

/** Open (or bring forward) another page of the app: a named window, so a second click reuses it. */
function openWindow(url, name, features) {
  const opened = window.open(url, name, features);
  if (opened) opened.focus();
  return opened;
}

// -- browser: a file picker --------------------------------------------------------------------------------

export function readAsBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// The input is clicked before any await, so the browser sees the person's click and shows its dialog.
function pickFileInBrowser() {
  const input = document.createElement('input');
  input.type = 'file';
  input.accept = 'image/*,video/*,audio/*,application/pdf,application/*,text/*';
  input.hidden = true;
  document.body.append(input);
  const chosen = new Promise((resolve) => {
    input.addEventListener('change', () => resolve(input.files[0] || null), { once: true });
    input.addEventListener('cancel', () => resolve(null), { once: true });
  });
  input.click();
  return chosen.then(async (file) => {
    input.remove();
    if (!file) return null;
    const data = await readAsBase64(file);
    return { data, mimetype: file.type || 'application/octet-stream', filename: file.name, size: file.size };
  });
}

// -- the operations -----------------------------------------------------------------------------------------

const desktop = {
  login: (u, p) => bridge('login', u, p),
  logout: () => bridge('logout'),
  me: () => bridge('me'),
  changePassword: (o, n) => bridge('change_password', o, n),
  listAllClientsInfo: () => bridge('list_all_clients_info'),
  getPoolStats: () => bridge('get_pool_stats'),
  createClient: ({ clientId = null, name = null, onDemand = false } = {}) => bridge('create_client', clientId, name,
                                                                                     onDemand),
  setClientMode: (id, onDemand) => bridge('set_client_mode', id, onDemand),
  getClient: (id) => bridge('get_client', id),
  getClientLimits: (id) => bridge('get_client_limits', id),
  setClientLimits: (id, changes) => bridge('set_client_limits', id, changes),
  disconnectClient: (id) => bridge('disconnect_client', id),
  reconnectClient: (id) => bridge('reconnect_client', id),
  logoutClient: (id) => bridge('logout_client', id),
  removeClient: (id) => bridge('remove_client', id),
  restorePersistedSessions: () => bridge('restore_persisted_sessions'),
  getQr: (id) => bridge('get_qr', id),
  requestPairingCode: (id, phone) => bridge('request_pairing_code', id, phone),
  sendText: (id, to, text) => bridge('send_text', id, to, text),
  sendMedia: (id, to, media) => bridge('send_media', id, to, media),
  listChats: (id, cursor = null, limit = null) =>
    (limit === null ? bridge('list_chats', id, cursor) : bridge('list_chats', id, cursor, limit)),
  chatMessages: (id, chatId, cursor = null) => bridge('chat_messages', id, chatId, cursor),
  chatHistory: (id, chatId, before) => bridge('chat_history', id, chatId, before),
  listContacts: (id, search = null) => bridge('list_contacts', id, search),
  getContact: (id, contactId) => bridge('get_contact', id, contactId),
  contactPictureUrl: (id, contactId) => pictureLink(id).then((base) => base + enc(contactId)),
  markChatRead: (id, chatId) => bridge('mark_chat_read', id, chatId),
  messageMediaUrl: (id, messageId) => bridge('message_media_link', id, messageId).then((link) => link.url),
  getPreferences: () => bridge('get_preferences'),
  setPreferences: (changes) => bridge('set_preferences', changes),
  listApiKeys: () => bridge('list_api_keys'),
  createApiKey: (name) => bridge('create_api_key', name),
  revokeApiKey: (keyId) => bridge('revoke_api_key', keyId),
  openPoolManager: () => bridge('open_pool_manager'),
  openQrWindow: (id) => bridge('open_qr_window', id),
  openChatWindow: (id, chatId = null) => bridge('open_chat_window', id, chatId),
  pickFile: () => bridge('pick_file'),
  openLogsFolder: () => bridge('open_logs_folder'),
  sealingState: () => bridge('sealing_state'),
  requestSealing: (wanted) => bridge('request_sealing', wanted),
  // groups (groups.js; REST: /clients/{id}/groups)
  listGroups: (id) => bridge('list_groups', id),
  createGroup: (id, subject, participants) => bridge('create_group', id, subject, participants),
  addGroupParticipants: (id, groupId, participants) => bridge('add_group_participants', id, groupId, participants),
  removeGroupParticipants: (id, groupId, participants) => bridge('remove_group_participants', id, groupId,
                                                                  participants),
  promoteGroupParticipants: (id, groupId, participants) => bridge('promote_group_participants', id, groupId,
                                                                   participants),
  demoteGroupParticipant: (id, groupId, participant) => bridge('demote_group_participant', id, groupId, participant),
  getGroupInvite: (id, groupId) => bridge('get_group_invite', id, groupId),
  // templates (quick-replies.js; REST: /templates)
  listTemplates: () => bridge('list_templates'),
  previewTemplate: (templateId, variables = {}) => bridge('preview_template', templateId, variables),
  createTemplate: (fields) => bridge('create_template', fields),
  updateTemplate: (templateId, fields) => bridge('update_template', templateId, fields),
  deleteTemplate: (templateId) => bridge('delete_template', templateId),
  previewTemplateText: (text, variables = {}) => bridge('preview_template_text', text, variables),
  openTemplatesWindow: () => bridge('open_templates_window'),
};

/** The token of the link ZapPool printed in its terminal (`/#owner=...`): kept for this tab only, sent with
 * the login; without it a browser cannot make the first login (admin/admin). The fragment never reaches the
 * server in a request line, a log or a Referer, and it is dropped from the address bar once read. */
function ownerToken() {
  const found = /(?:^#|&)owner=([A-Za-z0-9_-]+)/.exec(location.hash);
  try {
    if (found) {
      sessionStorage.setItem('zapool.owner', found[1]);
      history.replaceState(null, '', location.pathname + location.search);
    }
    const token = found ? found[1] : sessionStorage.getItem('zapool.owner');
    return token ? { ownerToken: token } : {};
  } catch {
    return found ? { ownerToken: found[1] } : {}; // storage can be disabled
  }
}

ownerToken(); // read the link's fragment as soon as a page loads, and take it out of the address bar

const cursorQuery = (cursor) => (cursor ? `?cursor=${enc(cursor)}` : '');

const browser = {
  login: (username, password) => rest('POST', '/auth/login', { username, password, ...ownerToken() }),
  logout: () => rest('POST', '/auth/logout'),
  me: () => rest('GET', '/auth/me'),
  changePassword: (oldPassword, newPassword) => rest('POST', '/auth/password', { oldPassword, newPassword }),
  listAllClientsInfo: () => rest('GET', '/clients/all'),
  getPoolStats: () => rest('GET', '/stats'),
  createClient: ({ clientId, name, onDemand } = {}) => {
    const body = {};
    if (clientId) body.clientId = clientId;
    if (name) body.name = name;
    if (onDemand) body.onDemand = true;
    return rest('POST', '/clients', body);
  },
  setClientMode: (id, onDemand) => rest('PATCH', `/clients/${enc(id)}`, { onDemand }),
  getClient: (id) => rest('GET', `/clients/${enc(id)}`),
  getClientLimits: (id) => rest('GET', `/clients/${enc(id)}/limits`),
  setClientLimits: (id, changes) => rest('PUT', `/clients/${enc(id)}/limits`, changes),
  disconnectClient: (id) => rest('POST', `/clients/${enc(id)}/disconnect`),
  reconnectClient: (id) => rest('POST', `/clients/${enc(id)}/reconnect`),
  logoutClient: (id) => rest('POST', `/clients/${enc(id)}/logout`),
  removeClient: (id) => rest('DELETE', `/clients/${enc(id)}`),
  restorePersistedSessions: () => rest('POST', '/sessions/restore'),
  getQr: (id) => rest('GET', `/clients/${enc(id)}/qr`),
  requestPairingCode: (id, phoneNumber) => rest('POST', `/clients/${enc(id)}/pairing-code`, { phoneNumber }),
  sendText: (id, to, text) => rest('POST', `/clients/${enc(id)}/messages`, { to, text }),
  sendMedia: (id, to, { data, mimetype, filename, caption }) => {
    const media = { data, mimetype };
    if (filename) media.filename = filename;
    if (caption) media.caption = caption;
    return rest('POST', `/clients/${enc(id)}/messages`, { to, media });
  },
  listChats: (id, cursor, limit = null) => rest('GET', `/clients/${enc(id)}/chats${cursorQuery(cursor)}`
    + (limit === null ? '' : `${cursor ? '&' : '?'}limit=${enc(limit)}`)),
  chatMessages: (id, chatId, cursor) =>
    rest('GET', `/clients/${enc(id)}/chats/${enc(chatId)}/messages${cursorQuery(cursor)}`),
  chatHistory: (id, chatId, before) =>
    rest('GET', `/clients/${enc(id)}/chats/${enc(chatId)}/messages?before=${enc(before)}`),
  listContacts: (id, search) =>
    rest('GET', `/clients/${enc(id)}/contacts${search ? `?search=${enc(search)}` : ''}`),
  getContact: (id, contactId) => rest('GET', `/clients/${enc(id)}/contacts/${enc(contactId)}`),
  contactPictureUrl: (id, contactId) => Promise.resolve(`/clients/${enc(id)}/contacts/${enc(contactId)}/picture`),
  markChatRead: (id, chatId) => rest('POST', `/clients/${enc(id)}/chats/${enc(chatId)}/read`),
  messageMediaUrl: (id, messageId) => restBlobUrl(`/clients/${enc(id)}/messages/${enc(messageId)}/media`),
  getPreferences: () => rest('GET', '/preferences'),
  setPreferences: (changes) => rest('PUT', '/preferences', changes),
  listApiKeys: () => rest('GET', '/auth/keys'),
  createApiKey: (name) => rest('POST', '/auth/keys', { name }),
  revokeApiKey: (keyId) => rest('DELETE', `/auth/keys/${enc(keyId)}`),
  // window.open runs before the promise is made, inside the person's click: pop-up blockers allow it.
  openPoolManager: () => Promise.resolve(void openWindow('/ui/pool.html', 'zapool-pool')),
  openQrWindow: (id) => Promise.resolve(void openWindow(`/ui/qr.html?client=${enc(id)}`, `zapool-qr-${id}`,
                                                        'popup,width=460,height=720')),
  openChatWindow: (id, chatId) => {
    const chat = chatId ? `&chat=${enc(chatId)}` : '';
    return Promise.resolve(void openWindow(`/ui/chat.html?client=${enc(id)}${chat}`, `zapool-chat-${id}`,
                                           'popup,width=980,height=720'));
  },
  pickFile: () => pickFileInBrowser(),
  openLogsFolder: () => rest('POST', '/logs/open'),
  sealingState: () => rest('GET', '/sealing'),
  requestSealing: (wanted) => rest('PUT', '/sealing', { sealAtNextStart: wanted }),
  // groups (groups.js)
  listGroups: (id) => rest('GET', `/clients/${enc(id)}/groups`),
  createGroup: (id, subject, participants) => rest('POST', `/clients/${enc(id)}/groups`, { subject, participants }),
  addGroupParticipants: (id, groupId, participants) =>
    rest('POST', `/clients/${enc(id)}/groups/${enc(groupId)}/participants`, { participants }),
  removeGroupParticipants: (id, groupId, participants) =>
    rest('DELETE', `/clients/${enc(id)}/groups/${enc(groupId)}/participants`, { participants }),
  promoteGroupParticipants: (id, groupId, participants) =>
    rest('POST', `/clients/${enc(id)}/groups/${enc(groupId)}/admins`, { participants }),
  demoteGroupParticipant: (id, groupId, participant) =>
    rest('DELETE', `/clients/${enc(id)}/groups/${enc(groupId)}/admins/${enc(participant)}`),
  getGroupInvite: (id, groupId) => rest('GET', `/clients/${enc(id)}/groups/${enc(groupId)}/invite`),
  // templates (quick-replies.js)
  listTemplates: () => rest('GET', '/templates'),
  previewTemplate: (templateId, variables = {}) =>
    rest('POST', `/templates/${enc(templateId)}/preview`, { variables }),
  createTemplate: (fields) => rest('POST', '/templates', fields),
  updateTemplate: (templateId, fields) => rest('PATCH', `/templates/${enc(templateId)}`, fields),
  deleteTemplate: (templateId) => rest('DELETE', `/templates/${enc(templateId)}`),
  previewTemplateText: (text, variables = {}) => rest('POST', '/templates/preview', { text, variables }),
  openTemplatesWindow: () => Promise.resolve(void openWindow('/ui/templates.html', 'zapool-templates')),
};

listenForEvents(mode, authLost);

/** Events of the pool (see api-events.js): `handler(event)` for each, filtered by number and type. */
function subscribe(handler, options) {
  return subscribeEvents(handler, options);
}

export const api = { mode, subscribe, ...(mode === 'desktop' ? desktop : browser) };
export default api;
