// campaigns.html (issue 17 §4): make a campaign (a template, an audience by tags, the allowed hours and days, the
// random pause, the daily limit, warm-up, number checks) after a preview of its first messages and its expected
// duration; follow each campaign live (campaign.* events), pause, resume, cancel it, read its report and save
// its CSV. Names and rendered texts came from files and people: they go in with textContent (dom.el), never HTML.

import { api } from './api.js';
import { campaigns } from './api-campaigns.js';
import { t } from './i18n.js';
import { $, busy, confirmDialog, debounce, el, formatDate, formatPhone, showError, toast } from './dom.js';
import { showPage, startPage } from './session.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const WORKDAYS = new Set(['mon', 'tue', 'wed', 'thu', 'fri', 'sat']);

function body() {
  const tags = $('#campaign-tags').value.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    name: $('#campaign-name').value.trim(),
    templateId: $('#campaign-template').value,
    audience: tags.length ? { tags } : 'all',
    window: { from: $('#window-from').value, to: $('#window-to').value === '00:00' ? '24:00' : $('#window-to').value,
              days: DAYS.filter((d) => $(`#day-${d}`).checked) },
    delay: { min: Number($('#delay-min').value), max: Number($('#delay-max').value) },
    dailyCap: Number($('#daily-cap').value),
    warmup: $('#warmup').checked,
    checkNumbers: $('#check-numbers').checked,
  };
}

function duration(seconds) {
  if (seconds < 90) return `${seconds} s`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.round((seconds % 3600) / 60);
  return hours ? `${hours} h ${minutes} min` : `${minutes} min`;
}

async function preview() {
  try {
    const shown = await campaigns.previewCampaign(body());
    $('#preview-messages').replaceChildren(...shown.messages.map((m) => el('li', { class: 'campaign-message' },
      el('strong', {}, `${m.name || formatPhone(m.phone)}: `), m.text ?? '')));
    $('#preview-reach').textContent = t('campaigns.reach', {
      reachable: shown.reachable, audience: shown.audience, optedOut: shown.skipped.optedOut,
      missing: shown.skipped.missingVariable });
    $('#preview-duration').textContent = shown.expectedEndAt
      ? t('campaigns.duration', { duration: duration(shown.expectedDurationS), end: formatDate(shown.expectedEndAt) })
      : t('campaigns.noNumbers');
    $('#preview').hidden = false;
  } catch (error) {
    showError(error);
  }
}

async function create(event) {
  event.preventDefault();
  await busy($('#create-button'), async () => {
    try {
      await campaigns.createCampaign(body());
      toast(t('campaigns.created'));
      await loadList();
    } catch (error) {
      showError(error);
    }
  });
}

function control(label, work, campaign) {
  return el('button', { type: 'button', class: 'button button-small', dataset: { action: label },
                        on: { click: (e) => busy(e.currentTarget, async () => {
                          try {
                            await work(campaign.id);
                            await loadList();
                          } catch (error) {
                            showError(error);
                          }
                        }) } }, t(`campaigns.${label}`));
}

async function cancel(id) {
  const sure = await confirmDialog({ title: t('campaigns.cancelTitle'), body: t('campaigns.cancelBody'),
                                     confirm: t('campaigns.cancel') });
  if (sure) await campaigns.cancelCampaign(id);
}

async function showReport(campaign, box) {
  const report = await campaigns.campaignReport(campaign.id);
  const csv = el('button', { type: 'button', class: 'button button-small', on: { click: () => download(campaign) } },
                 t('campaigns.csv'));
  box.replaceChildren(...report.perNumber.map((n) => el('p', { class: 'hint' }, t('campaigns.perNumber', n))), csv);
}

async function download(campaign) {
  try {
    const text = await campaigns.campaignReportCsv(campaign.id);
    const link = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv' })),
                           download: `${campaign.id}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
  } catch (error) {
    showError(error);
  }
}

function item(c) {
  const n = c.counts;
  const skipped = n.skipped.optedOut + n.skipped.notOnWhatsApp + n.skipped.missingVariable;
  const report = el('div', { class: 'campaign-report' });
  const buttons = [
    ['scheduled', 'running'].includes(c.status) && control('pause', campaigns.pauseCampaign, c),
    c.status === 'paused' && control('resume', campaigns.resumeCampaign, c),
    !['finished', 'cancelled'].includes(c.status) && control('cancel', cancel, c),
    el('button', { type: 'button', class: 'button button-small', dataset: { action: 'report' },
                   on: { click: () => showReport(c, report).catch(showError) } }, t('campaigns.report')),
  ];
  return el('li', { class: 'campaign-item panel', dataset: { id: c.id, status: c.status } },
    el('p', {}, el('strong', {}, c.name), ' — ', el('span', { class: 'campaign-status' },
                                                   t(`campaigns.status.${c.status}`))),
    el('p', { class: 'campaign-progress' }, t('campaigns.progress', { ...n, skipped })),
    c.expectedEndAt && !['finished', 'cancelled'].includes(c.status)
      ? el('p', { class: 'hint' }, t('campaigns.endAt', { end: formatDate(c.expectedEndAt) })) : null,
    el('div', { class: 'row' }, ...buttons), report);
}

async function loadList() {
  const list = await campaigns.listCampaigns();
  $('#campaigns').replaceChildren(...list.map(item));
  $('#campaigns-empty').hidden = list.length > 0;
}

async function loadTemplates() {
  const templates = await api.listTemplates();
  $('#campaign-template').replaceChildren(...templates.map((tpl) => el('option', { value: tpl.id }, tpl.name)));
  if (!templates.length) toast(t('campaigns.noTemplates'));
}

function dayBoxes() {
  $('#days').replaceChildren(...DAYS.map((d) => el('label', {},
    el('input', { type: 'checkbox', id: `day-${d}`, checked: WORKDAYS.has(d) }), ` ${t(`campaigns.day.${d}`)}`)));
}

async function start() {
  await startPage();
  dayBoxes();
  $('#campaign-form').addEventListener('submit', create);
  $('#preview-button').addEventListener('click', (e) => busy(e.currentTarget, preview));
  const refresh = debounce(() => loadList().catch(showError), 300);
  api.subscribe(refresh, { types: ['campaign.started', 'campaign.progress', 'campaign.paused', 'campaign.finished'] });
  await Promise.all([loadList(), loadTemplates()]);
}

start().catch((error) => console.warn('[ZapPool]', error)).finally(showPage);
