// Small helpers every page uses: building elements (text always as text, never parsed as HTML), a live
// region for short messages, a confirmation dialog, and the formats of dates, sizes and phone numbers.

import { language, t, has } from './i18n.js';
import { errorText } from './errors.js';

export { errorText };

/**
 * An element: el('button', {class: 'x', type: 'button', 'aria-label': '...', dataset: {id}}, 'text', child).
 * Strings become text nodes, so a name or message with HTML in it shows as written.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'hidden') node.hidden = Boolean(value);
    else if (key === 'on') for (const [name, fn] of Object.entries(value)) node.addEventListener(name, fn);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** A short message in the page's live region (read out by screen readers); errors stay longer. */
export function toast(message, kind = 'info') {
  let region = $('#toasts');
  if (!region) {
    region = el('div', { id: 'toasts', class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(region);
  }
  const item = el('p', { class: `toast toast-${kind}` }, message);
  region.append(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
  return item;
}

/** Why a number is disconnected, in words; a reason this page does not know yet is shown as the server says it. */
export function reasonText(reason) {
  if (!reason) return '';
  return has(`reason.${reason}`) ? t(`reason.${reason}`) : String(reason);
}

/** Show an error from an API call. */
export function showError(error) {
  console.warn('[ZapPool]', error?.code, error?.message, error); // the server's own words, for whoever debugs
  return toast(errorText(error), 'error');
}

/**
 * Ask before doing something that cannot be undone. A native <dialog>: focus moves into it, Escape cancels,
 * and the person's previous place gets focus back. Resolves true when confirmed.
 */
export function confirmDialog({ title, body, confirm, danger = true }) {
  const heading = el('h2', { id: 'confirm-title' }, title);
  const text = el('p', { id: 'confirm-body' }, body);
  const cancel = el('button', { type: 'button', class: 'button', value: 'cancel' }, t('common.cancel'));
  const ok = el('button', { type: 'button', class: danger ? 'button button-danger' : 'button button-primary',
                            value: 'ok', dataset: { confirm: '' } }, confirm);
  const dialog = el('dialog', { class: 'dialog', 'aria-labelledby': 'confirm-title',
                                'aria-describedby': 'confirm-body' },
                    heading, text, el('div', { class: 'dialog-actions' }, cancel, ok));
  let answer = false;
  cancel.addEventListener('click', () => dialog.close());
  ok.addEventListener('click', () => { answer = true; dialog.close(); });
  return showModal(dialog, cancel, () => answer); // the safe choice is the default one
}

/**
 * Show a modal <dialog> until it closes; `focus` takes the focus when it opens. On closing it is removed, the
 * person's previous place gets the focus back, and the promise resolves with `answer()` read at that moment.
 */
export function showModal(dialog, focus, answer) {
  return new Promise((resolve) => {
    const previous = document.activeElement;
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (previous && previous.isConnected) previous.focus();
      resolve(answer());
    });
    document.body.append(dialog);
    dialog.showModal();
    focus.focus();
  });
}

/** A date and time in the page's language ("29/11/2026 18:02"); '—' when missing. */
export function formatDate(value) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '—';
  return new Intl.DateTimeFormat(language(), { dateStyle: 'short', timeStyle: 'short' }).format(date);
}

/** A time of day for chat bubbles ("18:02"). */
export function formatTime(value) {
  if (!value) return '';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat(language(), { timeStyle: 'short' }).format(date);
}

/** Bytes as people read them. */
export function formatSize(bytes) {
  if (!Number.isFinite(bytes)) return '';
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${new Intl.NumberFormat(language(), { maximumFractionDigits: digits }).format(value)} ${units[unit]}`;
}

/** "5511999990001" or "5511999990001@c.us" -> "+55 11 99999-0001" (Brazilian numbers), else "+<digits>". */
export function formatPhone(value) {
  if (!value) return '—';
  const digits = String(value).split('@')[0].replace(/\D/g, '');
  if (!digits) return String(value);
  const br = digits.match(/^55(\d{2})(\d{4,5})(\d{4})$/);
  if (br) return `+55 ${br[1]} ${br[2]}-${br[3]}`;
  return `+${digits}`;
}

/** The digits of a chat id ("5511999990001@c.us" -> "5511999990001"). */
export function chatNumber(chatId) {
  return String(chatId || '').split('@')[0];
}

/** Query string parameter of this page. */
export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

/** Run `fn` once after `ms` of quiet, however often it is asked for (events come in bursts). */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/**
 * A button that shows it is busy while `work` runs, and cannot be pressed twice meanwhile. aria-disabled, not
 * disabled: a disabled button loses the keyboard focus, and the person would have to find their place again.
 */
export async function busy(button, work) {
  if (button.getAttribute('aria-busy') === 'true') return undefined;
  button.setAttribute('aria-busy', 'true');
  button.setAttribute('aria-disabled', 'true');
  try {
    return await work();
  } finally {
    button.removeAttribute('aria-disabled');
    button.removeAttribute('aria-busy');
  }
}

/** A key typed in a text box while its suggestion list is open (`state.shown`, `state.active`): arrows move,
 * Enter or Tab chooses, Escape closes. True when the key was the list's: its default and the box's own
 * handling (the compose box's Enter sends) are stopped. */
export function listKey(event, state, { draw, choose, close }) {
  const moves = { ArrowDown: 1, ArrowUp: -1 };
  const count = state.shown.length;
  if (event.key in moves && count) {
    state.active = (state.active + moves[event.key] + count) % count;
    draw();
  } else if ((event.key === 'Enter' || event.key === 'Tab') && count) {
    choose(state.shown[state.active]);
  } else if (event.key === 'Escape') {
    close();
  } else {
    return false;
  }
  event.preventDefault();
  event.stopPropagation();
  return true;
}
