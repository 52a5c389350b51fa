// The schedule dialog (issue 17 §3): a native date-time picker, the repeat and the time zone (Brazil's by default),
// shared by the chat window's ⏰ button and the Scheduled messages window's "Change". The picker gives a wall-clock
// time; it is sent as ISO 8601 with the offset that time has in the chosen zone, which the API requires.

import { t } from './i18n.js';
import { el, showModal, toast } from './dom.js';
import { errorText } from './errors.js';
import { schedules } from './api-schedules.js';

export const DEFAULT_TZ = 'America/Sao_Paulo';
const PRESETS = { 'FREQ=DAILY': 'daily', 'FREQ=WEEKLY': 'weekly', 'FREQ=MONTHLY': 'monthly' };
const pad = (n) => String(n).padStart(2, '0');

/** Wall-clock fields of an instant in a zone. */
function fields(ms, tz) {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric',
                                                     month: '2-digit', day: '2-digit', hour: '2-digit',
                                                     minute: '2-digit', second: '2-digit' });
  const parts = Object.fromEntries(format.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return { y: +parts.year, mo: +parts.month, d: +parts.day, h: +parts.hour % 24, mi: +parts.minute, s: +parts.second };
}

/** The zone's offset from UTC at an instant, in minutes. */
function offsetAt(ms, tz) {
  const f = fields(ms, tz);
  return Math.round((Date.UTC(f.y, f.mo - 1, f.d, f.h, f.mi, f.s) - Math.floor(ms / 1000) * 1000) / 60000);
}

/** "2026-12-24T09:00" (a datetime-local value) in `tz` as "2026-12-24T09:00:00-03:00". */
export function zonedIso(local, tz) {
  const [date, time] = local.split('T');
  const [y, mo, d] = date.split('-').map(Number);
  const [h, mi] = time.split(':').map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  let offset = offsetAt(wall, tz);
  offset = offsetAt(wall - offset * 60000, tz); // the offset at the instant itself, across a change of offset
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${date}T${pad(h)}:${pad(mi)}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** An instant as a datetime-local value in `tz`. */
export function wallTime(ms, tz) {
  const f = fields(ms, tz);
  return `${f.y}-${pad(f.mo)}-${pad(f.d)}T${pad(f.h)}:${pad(f.mi)}`;
}

function zones(chosen) {
  const all = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [DEFAULT_TZ, 'UTC'];
  return [...new Set([chosen, DEFAULT_TZ, ...all])].sort();
}

function repeatSelect(rrule) {
  const select = el('select', { id: 'schedule-repeat' },
    ...['once', 'daily', 'weekly', 'monthly'].map((k) => el('option', { value: k === 'once' ? '' : k },
                                                             t(`schedule.repeat.${k}`))));
  if (rrule && !PRESETS[rrule]) select.append(el('option', { value: rrule }, t('schedule.repeat.custom', { rule: rrule })));
  select.value = rrule ? (PRESETS[rrule] || rrule) : '';
  return select;
}

function field(id, label, input) {
  return el('div', { class: 'field' }, el('label', { for: id, text: label }), input);
}

/**
 * Ask when (and, with `text` not null, what): resolves with what `save` answered, or null when cancelled. `save`
 * gets {at, tz, rrule, text?}; a refusal is shown in the dialog, which stays open to fix it.
 */
export function scheduleDialog({ title, confirm, text = null, at = null, tz = DEFAULT_TZ, rrule = null, save }) {
  const when = el('input', { id: 'schedule-at', type: 'datetime-local', required: true });
  when.value = at ? at.slice(0, 16) : wallTime(Date.now() + 3600_000, tz);
  const zone = el('select', { id: 'schedule-tz' }, ...zones(tz).map((z) => el('option', { value: z }, z)));
  zone.value = tz;
  const repeat = repeatSelect(rrule);
  const message = text === null ? null : el('textarea', { id: 'schedule-text', rows: 4 });
  if (message) message.value = text;
  const problem = el('p', { id: 'schedule-error', class: 'field-error', role: 'alert', hidden: true });
  const cancel = el('button', { type: 'button', class: 'button' }, t('common.cancel'));
  const ok = el('button', { type: 'submit', id: 'schedule-save', class: 'button button-primary' }, confirm);
  const form = el('form', { class: 'stack', novalidate: true },
    message && field('schedule-text', t('schedule.text'), message), field('schedule-at', t('schedule.at'), when),
    field('schedule-repeat', t('schedule.repeat'), repeat), field('schedule-tz', t('schedule.tz'), zone), problem,
    el('div', { class: 'dialog-actions' }, cancel, ok));
  const dialog = el('dialog', { class: 'dialog', id: 'schedule-dialog', 'aria-labelledby': 'schedule-title' },
                    el('h2', { id: 'schedule-title' }, title), form);
  let answer = null;
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.hidden = true;
    if (!when.value) {
      Object.assign(problem, { textContent: t('schedule.pickTime'), hidden: false });
      return;
    }
    const values = { at: zonedIso(when.value, zone.value), tz: zone.value, rrule: repeat.value || null,
                     ...(message ? { text: message.value } : {}) };
    ok.disabled = true;
    try {
      answer = await save(values);
      dialog.close();
    } catch (error) {
      Object.assign(problem, { textContent: errorText(error), hidden: false });
    } finally {
      ok.disabled = false;
    }
  });
  return showModal(dialog, when, () => answer);
}

/** The chat window's ⏰ button: schedules the text typed for the open conversation, from this window's number. */
export async function scheduleTyped({ clientId, chatId, textarea, hasAttachment }) {
  const text = textarea.value;
  const problem = !chatId ? 'schedule.noChat' : hasAttachment ? 'schedule.noAttachment'
    : !text.trim() ? 'schedule.empty' : null;
  if (problem) {
    toast(t(problem), 'error');
    return;
  }
  const made = await scheduleDialog({
    title: t('schedule.title'), confirm: t('schedule.save'),
    save: (values) => schedules.createSchedule({ clientId, to: chatId, text, ...values }),
  });
  if (made) {
    textarea.value = '';
    toast(t('schedule.done', { when: `${made.nextAt.slice(0, 16).replace('T', ' ')} (${made.tz})` }));
    textarea.focus();
  }
}
