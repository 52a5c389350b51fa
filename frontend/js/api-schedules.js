// The scheduled messages' operations (issue 17 §3: the chat window's ⏰ button, schedules.html), in both modes like
// api.js's: the bridge's ScheduleOperations in the desktop, /schedules in a browser.

import { bridge, mode, rest } from './api.js';
import './i18n_schedules.js'; // the strings of whatever shows these operations

const enc = encodeURIComponent;

function query(params) {
  const parts = Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${enc(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

const desktop = {
  listSchedules: ({ clientId = null, status = null, cursor = null } = {}) =>
    bridge('list_schedules', clientId, status, cursor, 50),
  createSchedule: (fields) => bridge('create_schedule', fields),
  updateSchedule: (id, fields) => bridge('update_schedule', id, fields),
  cancelSchedule: (id) => bridge('cancel_schedule', id),
  openSchedulesWindow: () => bridge('open_schedules_window'),
};

const browser = {
  listSchedules: ({ clientId = null, status = null, cursor = null } = {}) =>
    rest('GET', `/schedules${query({ clientId, status, cursor })}`),
  createSchedule: (fields) => rest('POST', '/schedules', fields),
  updateSchedule: (id, fields) => rest('PATCH', `/schedules/${enc(id)}`, fields),
  cancelSchedule: (id) => rest('DELETE', `/schedules/${enc(id)}`),
  openSchedulesWindow: () => {
    const opened = window.open('/ui/schedules.html', 'zapool-schedules');
    if (opened) opened.focus();
    return Promise.resolve();
  },
};

export const schedules = mode === 'desktop' ? desktop : browser;
export default schedules;
