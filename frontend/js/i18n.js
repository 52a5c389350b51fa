// Every string the windows show, in Portuguese (Brazil, the seed's language and the default) and English.
//
// The chosen language is the `language` preference; it is also kept in localStorage so the login page, which
// runs before anyone may read preferences, already speaks it. HTML names its strings with data-i18n
// attributes (textContent) and data-i18n-<attribute> (aria-label, placeholder, title, alt); scripts call t().

import { CHAT_STRINGS } from './i18n_chat.js';
import { ERROR_STRINGS } from './i18n_errors.js';
import { MAIN_STRINGS } from './i18n_main.js';
import { POOL_STRINGS } from './i18n_pool.js';

const STRINGS = {
  'pt-BR': {
    'app.tagline': 'Múltiplas conexões WhatsApp',
    'common.cancel': 'Cancelar',
    'common.back': '← Início',
    'common.logout': 'Sair',
    'common.loading': 'Carregando...',
    'common.live': 'Atualizado em tempo real',
    'common.offline': 'Reconectando aos eventos...',
    'common.language': 'Idioma',
    'common.skip': 'Pular para o conteúdo',

    'status.idle': 'Ocioso',
    'status.initializing': 'Inicializando...',
    'status.qr_ready': 'Aguardando QR',
    'status.authenticated': 'Autenticado',
    'status.ready': 'Conectado',
    'status.disconnected': 'Desconectado',
    'status.error': 'Erro',
    'status.sleeping': 'Dormindo 💤',
    'reason.sleeping': 'dormindo até haver mensagem para enviar',
    'card.onDemand': 'Sob demanda (só envio)',
    'card.onDemandOn': '{name}: sob demanda. Dorme após o tempo sem envio; acorda quando houver mensagem.',
    'card.onDemandOff': '{name}: sempre conectado.',
    'card.sleepingHint': 'Sob demanda: o navegador abre quando houver mensagem para enviar. Mensagens recebidas chegam quando ele conectar de novo.',
    'pool.onDemand': 'Sob demanda (só envio)',
    'pool.onDemandHelp': 'Sob demanda: o navegador do número só abre quando há mensagem para enviar e fecha depois de um tempo sem envios (Configurações). Mensagens recebidas chegam quando ele conectar de novo.',

    'reason.manual': 'desconectado por você',
    'reason.logged_out': 'aparelho desvinculado no celular',
    'reason.network': 'sem conexão com a internet',
    'reason.browser_closed': 'navegador fechado',
    'reason.browser_crashed': 'o navegador travou',
    'reason.qr_timeout': 'QR não escaneado a tempo',
    'reason.load_failed': 'o WhatsApp Web não carregou',
    'reason.browser_not_found': 'nenhum navegador encontrado',
    'reason.shutdown': 'ZapPool encerrado',
    'reason.snapshot_unreadable': 'o instantâneo selado do perfil não abriu (guardado à parte): escaneie o QR de novo',
    'reason.handed_off': 'passou para outro nó do cluster',
    'reason.driven_elsewhere': 'outro nó do cluster conduz este número',

    'login.title': 'Entrar — ZapPool',
    'login.heading': 'Entrar no ZapPool',
    'login.username': 'Usuário',
    'login.password': 'Senha',
    'login.submit': 'Entrar',
    'login.firstRun': 'Primeiro acesso: usuário admin, senha admin.',
    'login.throttled': 'Muitas tentativas erradas. Tente de novo em {seconds} s.',
    'login.canRetry': 'Já pode tentar de novo.',
    'password.heading': 'Troque a senha do administrador',
    'password.intro': 'Por segurança, defina uma nova senha antes de continuar.',
    'password.current': 'Senha atual',
    'password.new': 'Nova senha',
    'password.confirm': 'Repita a nova senha',
    'password.rules': 'Pelo menos 8 caracteres; não pode ser “admin” nem igual à atual.',
    'password.submit': 'Salvar nova senha',
    'password.mismatch': 'As duas senhas novas não são iguais.',
    'password.done': 'Senha alterada.',

    'notify.disconnected': '{name} desconectou',
    'notify.message': 'Nova mensagem em {name}',
  },

  en: {
    'app.tagline': 'Many WhatsApp connections',
    'common.cancel': 'Cancel',
    'common.back': '← Home',
    'common.logout': 'Log out',
    'common.loading': 'Loading...',
    'common.live': 'Updated live',
    'common.offline': 'Reconnecting to events...',
    'common.language': 'Language',
    'common.skip': 'Skip to content',

    'status.idle': 'Idle',
    'status.initializing': 'Starting...',
    'status.qr_ready': 'Waiting for QR scan',
    'status.authenticated': 'Authenticated',
    'status.ready': 'Connected',
    'status.disconnected': 'Disconnected',
    'status.error': 'Error',
    'status.sleeping': 'Sleeping 💤',
    'reason.sleeping': 'asleep until there is a message to send',
    'card.onDemand': 'On demand (send only)',
    'card.onDemandOn': '{name}: on demand. It sleeps after a while without sending and wakes when there is a message.',
    'card.onDemandOff': '{name}: always connected.',
    'card.sleepingHint': 'On demand: the browser opens when there is a message to send. Incoming messages arrive when it connects again.',
    'pool.onDemand': 'On demand (send only)',
    'pool.onDemandHelp': 'On demand: the number\'s browser opens only when there is a message to send and closes after a while without sending (Settings). Incoming messages arrive when it connects again.',

    'reason.manual': 'disconnected by you',
    'reason.logged_out': 'unlinked from the phone',
    'reason.network': 'no internet connection',
    'reason.browser_closed': 'browser closed',
    'reason.browser_crashed': 'the browser crashed',
    'reason.qr_timeout': 'QR code not scanned in time',
    'reason.load_failed': 'WhatsApp Web did not load',
    'reason.browser_not_found': 'no browser found',
    'reason.shutdown': 'ZapPool stopped',
    'reason.snapshot_unreadable': 'the sealed profile snapshot did not open (set aside): scan the QR code again',
    'reason.handed_off': 'moved to another node of the cluster',
    'reason.driven_elsewhere': 'another node of the cluster drives this number',

    'login.title': 'Log in — ZapPool',
    'login.heading': 'Log in to ZapPool',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.submit': 'Log in',
    'login.firstRun': 'First time: username admin, password admin.',
    'login.throttled': 'Too many wrong attempts. Try again in {seconds} s.',
    'login.canRetry': 'You can try again now.',
    'password.heading': 'Change the admin password',
    'password.intro': 'For safety, choose a new password before going on.',
    'password.current': 'Current password',
    'password.new': 'New password',
    'password.confirm': 'New password again',
    'password.rules': 'At least 8 characters; not “admin”, not the current one.',
    'password.submit': 'Save new password',
    'password.mismatch': 'The two new passwords differ.',
    'password.done': 'Password changed.',

    'notify.disconnected': '{name} disconnected',
    'notify.message': 'New message on {name}',
  },
};

// The texts of the shared parts above; each window's in a module of its own (i18n_main, i18n_pool, i18n_chat),
// all merged here so every window has every one of them; then the error sentences.
for (const area of [MAIN_STRINGS, POOL_STRINGS, CHAT_STRINGS, ERROR_STRINGS]) addStrings(area);

/** More strings, from a window's own module (i18n_audience.js: the Contacts window and its main-screen button),
 * so a window that does not show them never loads them. Call before the page is translated. */
export function addStrings(extra) {
  for (const [lang, strings] of Object.entries(extra)) Object.assign(STRINGS[lang], strings);
}

export const LANGUAGES = [['pt-BR', 'Português (Brasil)'], ['en', 'English']];
export const DEFAULT_LANGUAGE = 'pt-BR';
const STORAGE_KEY = 'zapool.language';
const ATTRIBUTES = ['aria-label', 'placeholder', 'title', 'alt'];

function stored() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage can be disabled; the preference from the server still applies after login
  }
}

let current = STRINGS[stored()] ? stored() : DEFAULT_LANGUAGE;

/** The language in use now ("pt-BR" or "en"). */
export function language() {
  return current;
}

/** The string `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** True when `key` has a string (for optional texts such as error codes). */
export function has(key) {
  return key in STRINGS[DEFAULT_LANGUAGE];
}

/** Fill every data-i18n element and attribute under `root`. */
export function translate(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) {
    node.textContent = t(node.dataset.i18n);
  }
  for (const attr of ATTRIBUTES) {
    for (const node of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      node.setAttribute(attr, t(node.getAttribute(`data-i18n-${attr}`)));
    }
  }
  const title = document.documentElement.dataset.i18nTitle;
  if (title) document.title = t(title);
  document.documentElement.lang = current;
}

/** Switch language: remember it on this computer, re-translate the page, tell the page's scripts. */
export function setLanguage(lang) {
  if (!STRINGS[lang]) return;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered locally; the server's preference still is
  }
  if (lang === current) return;
  current = lang;
  translate();
  window.dispatchEvent(new CustomEvent('zapool:language', { detail: lang }));
}

// Another window of the app changed the language: follow it.
window.addEventListener('storage', (event) => {
  if (event.key === STORAGE_KEY && event.newValue) setLanguage(event.newValue);
});
