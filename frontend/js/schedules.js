// The Scheduled messages window (schedules.html, issue 17 §3): the schedules by status, each with its next send in
// its own zone and its last run; change one (text, time, repeat, zone) in the same dialog as the chat window's ⏰
// button, or cancel it after a confirmation. Numbers and texts are put in as text, never as HTML.

import { schedules } from './api-schedules.js';
import { t } from './i18n.js';
import { $, busy, confirmDialog, el, formatPhone, showError, toast } from './dom.js';
import { showPage, startPage } from './session.js';
import { scheduleDialog } from './schedule-dialog.js';

let shown = []; // the schedules on screen, in the order they were made
let cursor = null;

const local = (iso) => (iso ? iso.slice(0, 16).replace('T', ' ') : '—'); // the time as the schedule's zone reads it

function repeatText(rrule) {
  const preset = { 'FREQ=DAILY': 'daily', 'FREQ=WEEKLY': 'weekly', 'FREQ=MONTHLY': 'monthly' }[rrule];
  if (!rrule) return t('schedule.repeat.once');
  return preset ? t(`schedule.repeat.${preset}`) : t('schedule.repeat.custom', { rule: rrule });
}

function item(s) {
  const last = s.lastRuns[0];
  const to = s.to.endsWith('@g.us') ? s.to : formatPhone(s.to);
  const actions = s.status !== 'active' ? [] : [
    el('button', { type: 'button', class: 'button button-small', dataset: { edit: s.id },
                   on: { click: () => edit(s) } }, t('schedules.edit')),
    el('button', { type: 'button', class: 'button button-small button-danger', dataset: { cancel: s.id },
                   on: { click: (e) => busy(e.currentTarget, () => cancel(s)) } }, t('schedules.cancel'))];
  return el('li', { class: 'template-item stack', dataset: { scheduleId: s.id, status: s.status } },
    el('strong', { text: t('schedules.to', { to }) + (s.clientId ? ` — ${t('schedules.from', { clientId: s.clientId })}` : '') }),
    el('p', { class: 'schedule-text', text: s.text ?? t('schedules.template', { templateId: s.templateId }) }),
    el('p', { class: 'hint', text: `${t(`schedules.badge.${s.status}`)} · ${repeatText(s.rrule)} · `
      + (s.nextAt ? t('schedules.next', { when: local(s.nextAt), tz: s.tz }) : t('schedules.ended')) }),
    last && el('p', { class: 'hint', text: t('schedules.last', { when: local(last.occurrence),
                                                                  outcome: t(`schedules.outcome.${last.outcome}`) }) }),
    actions.length ? el('div', { class: 'row' }, ...actions) : null);
}

function render() {
  $('#schedules').replaceChildren(...shown.map(item));
  $('#schedules-empty').hidden = shown.length > 0;
  $('#more').hidden = !cursor;
}

async function load(more = false) {
  const page = await schedules.listSchedules({ status: $('#status-filter').value || null, cursor: more ? cursor : null });
  shown = more ? [...shown, ...page.items] : page.items;
  cursor = page.nextCursor;
  render();
}

async function edit(s) {
  const changed = await scheduleDialog({
    title: t('schedule.editTitle'), confirm: t('schedule.saveChanges'), text: s.text ?? null, at: s.at, tz: s.tz,
    rrule: s.rrule, save: (values) => schedules.updateSchedule(s.id, values),
  });
  if (changed) {
    toast(t('schedules.saved'));
    await load();
  }
}

async function cancel(s) {
  const sure = await confirmDialog({ title: t('schedules.cancel'), body: t('schedules.cancelConfirm'),
                                     confirm: t('schedules.cancel') });
  if (!sure) return;
  try {
    await schedules.cancelSchedule(s.id);
    toast(t('schedules.cancelled'));
  } catch (error) {
    showError(error);
  }
  await load();
}

async function start() {
  await startPage();
  $('#status-filter').addEventListener('change', () => load().catch(showError));
  $('#more').addEventListener('click', (e) => busy(e.currentTarget, () => load(true).catch(showError)));
  window.addEventListener('zapool:language', render);
  await load();
}

start().finally(showPage).catch((error) => {
  console.warn('[ZapPool]', error);
  if (error?.code) showError(error);
});
