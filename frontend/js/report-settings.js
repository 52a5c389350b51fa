// The Reports window's settings form (issue 18): the conversation gap, the response target and business hours
// per weekday, as /reports/settings (ReportService.settings) holds them. Saving sends only what the form shows;
// the server checks every value and a refusal is shown by its code, in the window's language.

import { reports } from './api-reports.js';
import { t } from './i18n.js';
import { $, busy, el, showError, toast } from './dom.js';

const DAYS = [0, 1, 2, 3, 4, 5, 6]; // Monday = 0, as docs/REPORTS.md and the API count them

function dayRow(day, hours) {
  const name = t('reports.weekdays').split(',')[day];
  const open = el('input', { type: 'checkbox', id: `day-${day}-open`, checked: Boolean(hours) });
  const from = el('input', { type: 'time', id: `day-${day}-from`, value: hours ? hours[0] : '08:00',
                             'aria-label': `${name} ${t('reports.opens')}` });
  const to = el('input', { type: 'time', id: `day-${day}-to`, value: hours ? hours[1].replace('24:00', '23:59') : '18:00',
                           'aria-label': `${name} ${t('reports.closes')}` });
  return [el('label', { class: 'check', for: open.id }, open, ' ', name), from, el('span', { text: '–' }), to];
}

function fill(settings) {
  $('#setting-gap').value = settings.conversationGapHours;
  $('#setting-target').value = settings.responseTargetMinutes ?? '';
  const hours = settings.businessHours || {};
  $('#setting-days').replaceChildren(...DAYS.flatMap((day) => dayRow(day, hours[String(day)])));
}

function read() {
  const businessHours = {};
  for (const day of DAYS) {
    const to = $(`#day-${day}-to`).value; // a time input stops at 23:59: that is the day's end, 24:00
    if ($(`#day-${day}-open`).checked) businessHours[String(day)] = [$(`#day-${day}-from`).value, to === '23:59' ? '24:00' : to];
  }
  const target = $('#setting-target').value.trim();
  return { conversationGapHours: Number($('#setting-gap').value),
           responseTargetMinutes: target === '' ? null : Number(target),
           businessHours: Object.keys(businessHours).length ? businessHours : null };
}

/** Fill the form from the server and save it on submit; `changed` runs after a save (the window reloads). */
export async function startSettings(changed) {
  fill(await reports.getReportSettings());
  $('#settings-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('#settings-save'), async () => {
      fill(await reports.setReportSettings(read()));
      toast(t('reports.settingsSaved'));
      await changed();
    }).catch(showError);
  });
}
