// reports.html (issue 18): filters (number, period, groups, business hours), the headline figures with their
// change from the previous period, charts (daily volumes, response-time distribution, funnel, heatmap) and a
// CSV export of every table. Figures come from ReportService (docs/REPORTS.md); numbers' ids and failure codes
// are put in as text, never as HTML.

import { api } from './api.js';
import { reports } from './api-reports.js';
import { t } from './i18n.js';
import { $, $$, busy, debounce, el, showError, toast } from './dom.js';
import { showPage, startPage } from './session.js';
import { barChart, dailyChart, heatmapTable, resizeCharts } from './report-charts.js';
import { duration } from './report-format.js';
import { startSettings } from './report-settings.js';
import { campaigns } from './api-campaigns.js';

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

function query() {
  return { clientId: $('#report-client').value, from: $('#report-from').value, to: $('#report-to').value,
           tz: ZONE, groups: $('#report-groups').value, businessHours: $('#report-business').checked ? 'true' : '',
           campaignId: $('#report-campaign').value };
}

const percent = (rate) => (rate === null || rate === undefined ? t('reports.none') : `${Math.round(rate * 100)}%`);

function change(now, before, { lowerIsBetter = false } = {}) {
  if (now === null || now === undefined || before === null || before === undefined || (before === 0 && now)) {
    return el('dd', { class: 'change', text: t('reports.noPrevious') });
  }
  if (now === before) return el('dd', { class: 'change', text: t('reports.noChange') });
  const delta = Math.round(((now - before) / before) * 100);
  const better = lowerIsBetter ? now < before : now > before;
  return el('dd', { class: `change ${better ? 'up' : 'down'}`,
                    text: t('reports.change', { change: `${delta > 0 ? '+' : ''}${delta}%` }) });
}

function renderHeadline(summary) {
  const before = summary.previous;
  const items = [
    ['conversations', summary.conversations, before.conversations, String(summary.conversations)],
    ['incoming', summary.incoming, before.incoming, String(summary.incoming)],
    ['outgoing', summary.outgoing, before.outgoing, String(summary.outgoing)],
    ['responseRate', summary.responseRate, before.responseRate, percent(summary.responseRate)],
    ['firstResponse', summary.firstResponseTime.median, before.firstResponseTime.median,
     duration(summary.firstResponseTime.median), true],
    ['failed', summary.failed, before.failed, String(summary.failed), true],
  ];
  $('#headline').replaceChildren(...items.map(([key, now, was, shown, lowerIsBetter]) => el('div', {
    class: 'stat', dataset: { figure: key } }, el('dt', { text: t(`reports.${key}`) }), el('dd', { text: shown }),
    change(now, was, { lowerIsBetter }))));
}

function renderVolume(volume) {
  const byDay = new Map(volume.days.map((d) => [d, { incoming: 0, outgoing: 0 }]));
  for (const row of volume.rows) {
    const day = byDay.get(row.date);
    if (!day) continue;
    day.incoming += row.incoming + row.groupIncoming;
    day.outgoing += row.outgoing + row.groupOutgoing;
  }
  const days = [...byDay.values()];
  dailyChart('chart-volume', volume.days, [
    { label: t('reports.incoming'), values: days.map((d) => d.incoming) },
    { label: t('reports.outgoing'), values: days.map((d) => d.outgoing) }]);
}

function renderTimes(times) {
  const all = times.all;
  $('#times-spread').textContent = t('reports.spread', { median: duration(all.median), p90: duration(all.p90),
                                                         mean: duration(all.mean), count: all.count });
  barChart('chart-times', times.buckets, [
    { label: t('reports.allResponses'), values: times.rows.map((r) => r.all) },
    { label: t('reports.firstResponses'), values: times.rows.map((r) => r.first) }]);
}

function renderFunnel(funnel) {
  const stages = ['sent', 'delivered', 'read', 'replied'];
  barChart('chart-funnel', stages.map((s) => t(`reports.funnel${s[0].toUpperCase()}${s.slice(1)}`)),
           [{ label: t('reports.funnel'), values: stages.map((s) => funnel.total[s]) }]);
  $('#failures').replaceChildren(...funnel.failures.slice(0, 20).map((f) => el('li', {
    text: t('reports.failure', { clientId: f.clientId || '—', count: f.count, code: f.code }) })));
}

async function load() {
  const ask = query();
  const [summary, times, funnel, volume, heat] = await Promise.all(
    ['summary', 'response-times', 'funnel', 'volume', 'heatmap'].map((name) => reports.report(name, ask)));
  renderHeadline(summary);
  renderVolume(volume);
  renderTimes(times);
  renderFunnel(funnel);
  heatmapTable('chart-heatmap', heat.rows);
  document.body.dataset.loaded = String(Date.now()); // for whoever waits for a load to finish (the tests)
}

async function exportCsv(button) {
  const name = button.dataset.csv;
  if (reports.saveReportCsv) { // the desktop windows do not download: ZapPool asks where to save it
    const saved = await reports.saveReportCsv(name, query());
    if (saved.saved) toast(t('reports.csvSaved', { file: saved.path }));
    return;
  }
  const text = await reports.reportCsv(name, query());
  const file = `zapool-${name}-${$('#report-from').value}-${$('#report-to').value}.csv`;
  const link = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv' })), download: file });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  toast(t('reports.csvSaved', { file }));
}

async function fillNumbers() {
  const clients = await api.listAllClientsInfo();
  $('#report-client').append(...clients.map((c) => el('option', { value: c.clientId, text: c.name || c.clientId })));
  const sent = await campaigns.listCampaigns(); // the funnel of one campaign: its messages carry its id
  $('#report-campaign').append(...sent.map((c) => el('option', { value: c.id, text: c.name })));
}

async function start() {
  await startPage();
  const today = new Date();
  $('#report-to').value = isoDay(today);
  $('#report-from').value = isoDay(new Date(today.getTime() - 6 * 86_400_000));
  $('#filters').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('#report-apply'), load).catch(showError);
  });
  for (const button of $$('[data-csv]')) {
    button.addEventListener('click', () => busy(button, () => exportCsv(button)).catch(showError));
  }
  window.addEventListener('resize', debounce(resizeCharts, 150));
  showPage();
  await fillNumbers().catch(showError);
  await startSettings(load).catch(showError);
  await load();
}

start().catch(showError);
