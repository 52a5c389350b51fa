// The chat window's contact picker for a new conversation: typing a name shows the number's contacts from
// WhatsApp that match (GET /clients/{id}/contacts?search=), typing digits shows the numbers that contain them;
// Enter on digits alone opens that number, as before. Contact names are other people's text: text only.

import { api } from './api.js';
import { t } from './i18n.js';
import { $, debounce, el, formatPhone } from './dom.js';
import { avatar } from './avatar.js';

const MAX_SHOWN = 20;

/** Wire the picker to the new-chat field; `onPick(chatId)` opens a conversation. */
export function contactPicker(clientId, onPick) {
  const input = $('#new-number');
  const list = $('#contact-matches');
  let asked = 0;

  function close() {
    list.replaceChildren();
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
  }

  function show(items) {
    list.replaceChildren(...items.slice(0, MAX_SHOWN).map((contact) => {
      const option = el('li', { role: 'option', class: 'contact-option', tabindex: '-1', dataset: { id: contact.id } },
        avatar(clientId, contact.id, contact.displayName), el('span', { class: 'chat-name' }, contact.displayName),
        el('span', { class: 'chat-preview' }, contact.number ? formatPhone(contact.number) : contact.id),
        contact.isBusiness ? el('span', { class: 'chat-mark' }, t('chat.business')) : null);
      option.addEventListener('click', () => { close(); input.value = ''; onPick(contact.id); });
      return option;
    }));
    if (!items.length) list.append(el('li', { class: 'hint' }, t('chat.noContacts')));
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  }

  const search = debounce(async () => {
    const text = input.value.trim();
    const mine = ++asked;
    if (!text) { close(); return; }
    try {
      const found = await api.listContacts(clientId, text);
      if (mine === asked) show(found.items);
    } catch (error) {
      if (mine === asked) close(); // not ready, say: the field still opens a number typed in full
      console.warn('[ZapPool]', error);
    }
  }, 200);

  input.addEventListener('input', search);
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
    if (event.key === 'ArrowDown' && !list.hidden) list.querySelector('[role="option"]')?.focus();
  });
  list.addEventListener('keydown', (event) => {
    const option = event.target.closest('[role="option"]');
    if (!option) return;
    if (event.key === 'Enter') { event.preventDefault(); option.click(); }
    if (event.key === 'ArrowDown') option.nextElementSibling?.focus();
    if (event.key === 'ArrowUp') (option.previousElementSibling || input).focus();
    if (event.key === 'Escape') { close(); input.focus(); }
  });
  return { close };
}
