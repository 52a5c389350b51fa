// contacts.html: the business's customer list (issue 17 §2). Import a CSV and read its per-line report, list and
// search the customers, filter by tag, the opt-outs with their removal, the opt-out keywords and reply.
// Every name, tag and variable came from a file or a contact: they go in with textContent (dom.el), never as HTML.

import { api } from './api.js';
import { audience } from './api-audience.js';
import { t } from './i18n.js';
import { $, busy, debounce, el, formatDate, formatPhone, showError, toast } from './dom.js';
import { showPage, startPage } from './session.js';

let nextCursor = null;

function reasonOf(bad) {
  return t(`audience.reason.${bad.reason}`);
}

function showReport(report) {
  $('#import-summary').textContent = t('audience.report', {
    imported: report.imported, merged: report.merged, invalid: report.invalid.length });
  $('#import-invalid').replaceChildren(...report.invalid.slice(0, 500).map((bad) =>
    el('li', { dataset: { line: bad.line } }, t('audience.line', { line: bad.line, reason: reasonOf(bad) }))));
  $('#import-report').hidden = false;
}

async function importFile(event) {
  event.preventDefault();
  const file = $('#csv-file').files[0];
  if (!file) {
    toast(t('audience.chooseFile'), 'error');
    return;
  }
  const tags = $('#import-tags').value.split(',').map((s) => s.trim()).filter(Boolean);
  await busy($('#import-button'), async () => {
    try {
      showReport(await audience.importContacts(file, tags));
      await Promise.all([loadCustomers(), loadTags()]);
    } catch (error) {
      showError(error);
    }
  });
}

function customerRow(c) {
  const status = c.optedOut ? t('audience.optedOut') : t('audience.active');
  return el('tr', { dataset: { id: c.id } },
    el('td', { class: 'customer-name' }, c.name || '—'),
    el('td', {}, formatPhone(c.phone)),
    el('td', {}, c.tags.join(', ')),
    el('td', { class: c.optedOut ? 'opted-out' : '' }, status));
}

async function loadCustomers(more = false) {
  try {
    const page = await audience.listAudience({ q: $('#search').value.trim(), tag: $('#tag-filter').value,
                                               cursor: more ? nextCursor : null });
    const rows = page.items.map(customerRow);
    if (more) $('#customers').append(...rows);
    else $('#customers').replaceChildren(...rows);
    nextCursor = page.nextCursor;
    $('#more').hidden = !nextCursor;
    $('#empty').hidden = $('#customers').children.length > 0;
  } catch (error) {
    showError(error);
  }
}

async function loadTags() {
  const select = $('#tag-filter');
  const chosen = select.value;
  try {
    const tags = await audience.listAudienceTags();
    select.replaceChildren(el('option', { value: '' }, t('audience.allTags')),
      ...tags.map((tag) => el('option', { value: tag.name }, `${tag.name} (${tag.count})`)));
    select.value = tags.some((tag) => tag.name === chosen) ? chosen : '';
  } catch (error) {
    showError(error);
  }
}

function optoutItem(o) {
  const remove = el('button', { type: 'button', class: 'button button-small',
                                'aria-label': t('audience.optoutRemoveLabel', { phone: formatPhone(o.phone) }) },
                    t('audience.optoutRemove'));
  remove.addEventListener('click', () => busy(remove, async () => {
    try {
      await audience.removeOptout(o.phone);
      await Promise.all([loadOptouts(), loadCustomers()]);
    } catch (error) {
      showError(error);
    }
  }));
  return el('li', { dataset: { phone: o.phone } },
    el('span', {}, `${formatPhone(o.phone)} — ${t(`audience.how.${o.how}`)} — ${formatDate(o.at)} `), remove);
}

async function loadOptouts() {
  try {
    const page = await audience.listOptouts();
    $('#optouts').replaceChildren(...page.items.map(optoutItem));
  } catch (error) {
    showError(error);
  }
}

async function addOptout(event) {
  event.preventDefault();
  try {
    await audience.addOptout($('#optout-phone').value.trim());
    $('#optout-phone').value = '';
    await Promise.all([loadOptouts(), loadCustomers()]);
  } catch (error) {
    showError(error);
  }
}

async function loadSettings() {
  const settings = await audience.getOptoutSettings();
  $('#keywords').value = settings.keywords.join(', ');
  $('#reply').value = settings.reply;
}

async function saveSettings(event) {
  event.preventDefault();
  const keywords = $('#keywords').value.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    await audience.setOptoutSettings({ keywords, reply: $('#reply').value });
    toast(t('audience.saved'));
  } catch (error) {
    showError(error);
  }
}

async function start() {
  await startPage();
  $('#import-form').addEventListener('submit', importFile);
  $('#optout-form').addEventListener('submit', addOptout);
  $('#settings-form').addEventListener('submit', saveSettings);
  $('#search').addEventListener('input', debounce(() => loadCustomers(), 250));
  $('#tag-filter').addEventListener('change', () => loadCustomers());
  $('#more').addEventListener('click', () => loadCustomers(true));
  api.subscribe(() => Promise.all([loadOptouts(), loadCustomers()]), { types: ['contact.opted_out'] });
  await Promise.all([loadCustomers(), loadTags(), loadOptouts(), loadSettings().catch(showError)]);
}

start().catch((error) => console.warn('[ZapPool]', error)).finally(showPage);
