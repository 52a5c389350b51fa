// @mentions while writing in a group (issue 16 §3-4), as WhatsApp Web offers them: "@" at the start of a word in
// the compose box lists the group's members (and @all, everyone), filtered by name or number as it is typed;
// arrows and Enter (or Tab), or the mouse, choose one, Escape closes. The choice goes into the text in WhatsApp's
// wire form, "@<number>" (or "@all"), which WA-JS's detectMentioned (on by default) turns into a mention when it
// is sent; the thread shows it as the member's name (group-thread.js). Names come from other people's phones:
// text only.

import { api } from './api.js';
import { t } from './i18n.js';
import { el, formatPhone, listKey, showError } from './dom.js';
import { isGroupChat } from './group-thread.js';

const MAX_SHOWN = 8;
const TYPING = /(^|\s)@([^\s@]*)$/; // an "@word" ending where the caret is

/** Mentions on the compose `box`, listed in `panel`, for the chat `chatId()` of number `clientId`, whose own
 * phone is `me()` (not offered); `nameOf(id)` names a member (group-thread.js's memberNames). */
export function mentionPicker(box, panel, { clientId, chatId, me, nameOf }) {
  const state = { group: null, members: [], shown: [], active: 0 };
  const close = () => { panel.hidden = true; panel.replaceChildren(); state.shown = []; };

  function typed() {
    const match = TYPING.exec(box.value.slice(0, box.selectionStart));
    return match ? { query: match[2].toLowerCase(), start: box.selectionStart - match[2].length - 1 } : null;
  }

  async function members() {
    if (state.group !== chatId()) {
      const group = (await api.listGroups(clientId)).find((g) => g.id === chatId());
      state.group = chatId();
      state.members = (group?.participants || []).filter((p) => /^\d{8,15}$/.test(p.number || '') && p.number !== me());
    }
    return state.members;
  }

  async function refresh() {
    if (!isGroupChat(chatId()) || !typed()) return close();
    const everyone = await members();
    const at = typed(); // again after the wait: what is typed now decides
    if (!at) return close();
    const options = [{ mention: 'all', label: t('mention.all') },
      ...everyone.map((p) => ({ mention: p.number, label: nameOf(p.number), number: p.number }))];
    state.shown = options.filter((o) => o.mention.includes(at.query) || o.label.toLowerCase().includes(at.query))
      .slice(0, MAX_SHOWN);
    state.active = Math.min(state.active, Math.max(0, state.shown.length - 1));
    draw();
  }

  function draw() {
    if (!state.shown.length) return close();
    const items = state.shown.map((option, i) => el('li', {
      role: 'option', id: `mention-${i}`, class: 'quick-reply', 'aria-selected': String(i === state.active),
      dataset: { mention: option.mention },
      on: { mousedown: (event) => { event.preventDefault(); choose(option); } },
    }, el('strong', { text: option.label }), ' ',
    el('span', { class: 'hint', text: option.number ? formatPhone(option.number) : '@all' })));
    panel.replaceChildren(...items);
    panel.hidden = false;
    box.setAttribute('aria-activedescendant', `mention-${state.active}`);
  }

  function choose(option) {
    const at = typed();
    if (!at) return close();
    const before = `${box.value.slice(0, at.start)}@${option.mention} `;
    box.value = before + box.value.slice(box.selectionStart);
    box.setSelectionRange(before.length, before.length);
    close();
    box.dispatchEvent(new Event('input'));
    box.focus();
  }

  function onKey(event) {
    if (panel.hidden || event.target !== box) return;
    listKey(event, state, { draw, choose, close });
  }

  box.addEventListener('input', () => refresh().catch(showError));
  box.form.addEventListener('keydown', onKey, { capture: true });
  // Closed once the person has left the box (a click elsewhere), not for a blur the window itself undoes.
  box.addEventListener('blur', () => setTimeout(() => {
    if (document.activeElement !== box && !panel.contains(document.activeElement)) close();
  }, 150));
}
