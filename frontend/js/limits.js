// One number's sending limits in a dialog (its settings): pacing (interval + jitter) and the hourly and daily
// caps. A message over a cap waits in the queue for the next hour or day; the dialog says so.

import { t } from './i18n.js';
import { el, showModal } from './dom.js';

const FIELDS = [
  { key: 'intervalS', label: 'limits.interval', step: '0.1', max: 3600 },
  { key: 'jitterS', label: 'limits.jitter', step: '0.1', max: 3600 },
  { key: 'hourlyCap', label: 'limits.hourly', step: '1', max: 1000000 },
  { key: 'dailyCap', label: 'limits.daily', step: '1', max: 1000000 },
];

/** A native <dialog> with the four fields filled from `current`; resolves the changes, or null if cancelled. */
export function editLimits(name, current) {
  const inputs = {};
  const rows = FIELDS.map(({ key, label, step, max }) => {
    const id = `limit-${key}`;
    inputs[key] = el('input', { id, type: 'number', min: '0', max: String(max), step, required: '',
                                value: String(current[key] ?? 0), dataset: { limit: key } });
    return el('div', { class: 'stack' }, el('label', { for: id }, t(label)), inputs[key]);
  });
  const cancel = el('button', { type: 'button', class: 'button' }, t('common.cancel'));
  const save = el('button', { type: 'submit', class: 'button button-primary' }, t('limits.save'));
  const form = el('form', { method: 'dialog' }, ...rows,
                  el('p', { class: 'hint', id: 'limits-help' }, t('limits.help')),
                  el('div', { class: 'dialog-actions' }, cancel, save));
  const dialog = el('dialog', { class: 'dialog', 'aria-labelledby': 'limits-title',
                                'aria-describedby': 'limits-help' },
                    el('h2', { id: 'limits-title' }, t('limits.title', { name })), form);
  let answer = null;
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', () => {
    answer = Object.fromEntries(FIELDS.map(({ key }) => [key, Number(inputs[key].value)]));
  });
  return showModal(dialog, inputs.intervalS, () => answer);
}

/** What a card shows for today: "12 of 250", or "12 (no cap)". */
export function todayText(limits) {
  if (!limits) return '—';
  return limits.dailyCap ? t('card.todayOf', { sent: limits.sentToday, cap: limits.dailyCap })
    : t('card.todayNoCap', { sent: limits.sentToday });
}
