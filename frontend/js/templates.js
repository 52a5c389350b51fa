// The Templates window (templates.html, issue 17 §1): the list of message templates, a form to create or edit
// one with a live preview rendered by ZapPool from sample values (one field per variable, filled with its
// default), and delete after a confirmation. Names and texts are put in as text, never as HTML.

import { api } from './api.js';
import { t } from './i18n.js';
import { $, busy, confirmDialog, debounce, el, showError, toast } from './dom.js';
import { showPage, startPage } from './session.js';
import { errorText } from './errors.js';

let templates = [];
let editing = null; // the template being edited, or null for a new one
const samples = new Map(); // variable -> sample value typed in this window

function renderList() {
  $('#templates').replaceChildren(...templates.map((template) => el('li', { class: 'template-item' },
    el('button', { type: 'button', class: 'button button-small', dataset: { templateId: template.id },
                   on: { click: () => edit(template) } }, template.name),
    ' ', el('span', { class: 'hint', text: template.text }))));
  $('#templates-empty').hidden = templates.length > 0;
}

async function load() {
  templates = await api.listTemplates();
  renderList();
}

function edit(template) {
  editing = template;
  $('#form-heading').textContent = template ? t('templates.editing', { name: template.name }) : t('templates.create');
  $('#template-name').value = template?.name || '';
  $('#template-text').value = template?.text || '';
  $('#delete-template').hidden = !template;
  preview();
  $('#template-name').focus();
}

function sampleFields(variables, defaults) {
  const fields = variables.map((name) => {
    const input = el('input', { type: 'text', id: `sample-${name}`, placeholder: defaults[name] || '',
                                on: { input: (e) => { samples.set(name, e.target.value); previewSoon(); } } });
    input.value = samples.get(name) || '';
    return el('div', { class: 'field' }, el('label', { for: `sample-${name}`, text: t('templates.sample', { name }) }),
              input);
  });
  const box = $('#samples');
  if (box.dataset.names !== variables.join(',')) {
    box.replaceChildren(...fields);
    box.dataset.names = variables.join(',');
  }
}

let previewSeq = 0; // only the latest preview's answer is shown (an older one may come back after it)

async function preview() {
  const seq = ++previewSeq;
  const text = $('#template-text').value;
  $('#preview-error').hidden = true;
  if (!text.trim()) {
    $('#preview').textContent = '';
    return;
  }
  try {
    const values = Object.fromEntries([...samples].filter(([, v]) => v));
    const shown = await api.previewTemplateText(text, values);
    if (seq !== previewSeq) return;
    sampleFields(shown.variables, {});
    $('#preview').textContent = shown.text;
  } catch (error) {
    if (seq !== previewSeq) return;
    $('#preview').textContent = '';
    const line = Number.isInteger(error.details?.line) ? ` ${t('templates.line', { line: error.details.line })}` : '';
    $('#preview-error').textContent = errorText(error) + line;
    $('#preview-error').hidden = false;
  }
}
const previewSoon = debounce(preview, 200);

async function save() {
  const fields = { name: $('#template-name').value, text: $('#template-text').value };
  const saved = editing ? await api.updateTemplate(editing.id, fields) : await api.createTemplate(fields);
  toast(t('templates.saved', { name: saved.name }));
  await load();
  edit(templates.find((x) => x.id === saved.id) || null);
}

async function remove() {
  if (!editing) return;
  const yes = await confirmDialog({ title: t('templates.deleteTitle', { name: editing.name }),
                                    body: t('templates.deleteBody'), confirm: t('templates.delete') });
  if (!yes) return;
  await api.deleteTemplate(editing.id);
  await load();
  edit(null);
}

async function start() {
  await startPage();
  $('#new-template').addEventListener('click', () => edit(null));
  $('#template-text').addEventListener('input', previewSoon);
  $('#template-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('#save-template'), () => save().catch(showError));
  });
  $('#delete-template').addEventListener('click', () => remove().catch(showError));
  await load();
  edit(null);
}

start().finally(showPage).catch((error) => {
  console.warn('[ZapPool]', error);
  if (error?.code) showError(error);
});
