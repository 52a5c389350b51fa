// Quick replies (issue 17 §1), as WhatsApp Business has them: "/" at the start of the compose box lists the
// templates, filtered by what follows as it is typed; arrows and Enter (or Tab), or the mouse, choose one, Escape
// closes. The chosen template is rendered by ZapPool (api.previewTemplate: alternatives picked, defaults used):
// `nome` comes from the contact's name when WhatsApp told it, any other variable without a default is asked for
// in the list's place. Template names and texts are the owner's, contact names a stranger's: all go in as text.

import { api } from './api.js';
import { t } from './i18n.js';
import { el, listKey, showError } from './dom.js';

const MAX_SHOWN = 8;

/** Quick replies on the compose `box`, listed in `panel`; `contactName()` names the open chat's contact. */
export function quickReplies(box, panel, contactName) {
  const state = { templates: null, shown: [], active: 0, asking: null };
  const close = () => { panel.hidden = true; panel.replaceChildren(); state.shown = []; state.asking = null; };

  const typed = () => /^\/([^\n]*)$/.exec(box.value)?.[1].toLowerCase(); // what follows the "/", if any

  async function refresh() {
    if (typed() === undefined) return close();
    if (state.asking) return;
    if (!state.templates || box.value === '/') state.templates = await api.listTemplates();
    // Read again after the wait: keys typed meanwhile, or a template chosen, decide what shows.
    const query = typed();
    if (query === undefined || state.asking) return;
    state.shown = state.templates.filter((x) => x.name.toLowerCase().includes(query)).slice(0, MAX_SHOWN);
    state.active = Math.min(state.active, Math.max(0, state.shown.length - 1));
    draw();
  }

  function draw() {
    const items = state.shown.map((template, i) => el('li', {
      role: 'option', id: `quick-reply-${i}`, class: 'quick-reply', 'aria-selected': String(i === state.active),
      on: { mousedown: (event) => { event.preventDefault(); choose(template); } },
    }, el('strong', { text: `/${template.name}` }), ' ', el('span', { class: 'hint', text: template.text })));
    panel.replaceChildren(...(items.length ? items : [el('li', { class: 'hint', text: t('quick.none') })]));
    panel.hidden = false;
    box.setAttribute('aria-activedescendant', items.length ? `quick-reply-${state.active}` : '');
  }

  async function choose(template) {
    const values = {};
    const name = contactName();
    if (name && template.variables.includes('nome')) values.nome = name;
    const missing = template.required.filter((v) => !(v in values));
    if (missing.length) return ask(template, values, missing);
    await fill(template, values);
  }

  function ask(template, values, missing) {
    const inputs = missing.map((v) => el('input', { type: 'text', 'aria-label': v, placeholder: v, required: true,
                                                    dataset: { variable: v } }));
    const form = el('form', { class: 'quick-vars', on: { submit: (event) => {
      event.preventDefault();
      for (const input of inputs) values[input.dataset.variable] = input.value;
      fill(template, values);
    } } }, el('span', { text: t('quick.fill', { name: template.name }) }), ...inputs,
    el('button', { type: 'submit', class: 'button button-small', text: t('quick.insert') }));
    state.asking = template;
    panel.replaceChildren(el('li', {}, form));
    panel.hidden = false;
    inputs[0].focus();
  }

  async function fill(template, values) {
    try {
      const { text } = await api.previewTemplate(template.id, values);
      close();
      box.value = text;
      box.dispatchEvent(new Event('input'));
      box.focus();
    } catch (error) {
      showError(error);
    }
  }

  function onKey(event) {
    if (panel.hidden || state.asking || event.target !== box) {
      if (event.key === 'Escape' && !panel.hidden) close();
      return;
    }
    listKey(event, state, { draw, choose, close });
  }

  box.addEventListener('input', () => refresh().catch(showError));
  box.form.addEventListener('keydown', onKey, { capture: true });
  box.addEventListener('blur', () => setTimeout(() => { if (!panel.contains(document.activeElement)) close(); }, 150));
}
