// The reports' operations (issue 18: reports.html), in both modes like api.js's: the bridge's ReportOperations in
// the desktop, /reports and below in a browser. `query` is the REST query: {clientId, from, to, tz, groups,
// businessHours}; a report's CSV comes back as text either way, for the window to save as a file.

import { ApiError, bridge, mode, rest } from './api.js';
import './i18n_reports.js'; // the strings of whatever shows these operations

const enc = encodeURIComponent;

function search(query, extra = {}) {
  const parts = Object.entries({ ...query, ...extra }).filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${enc(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

async function restText(path) {
  let response;
  try {
    response = await fetch(path, { credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError('network', String(err?.message || err));
  }
  if (response.ok) return response.text();
  const envelope = (await response.json().catch(() => null))?.error
    || { code: `http_${response.status}`, message: response.statusText, details: {} };
  throw new ApiError(envelope.code, envelope.message, envelope.details, response.status);
}

const desktop = {
  report: (name, query = {}) => bridge('report', name, query),
  reportCsv: (name, query = {}) => bridge('report_csv', name, query),
  saveReportCsv: (name, query = {}) => bridge('save_report_csv', name, query), // a native save dialog
  getReportSettings: () => bridge('get_report_settings'),
  setReportSettings: (changes) => bridge('set_report_settings', changes),
  openReportsWindow: () => bridge('open_reports_window'),
};

const browser = {
  report: (name, query = {}) => rest('GET', `/reports/${enc(name)}${search(query)}`),
  reportCsv: (name, query = {}) => restText(`/reports/${enc(name)}${search(query, { format: 'csv' })}`),
  saveReportCsv: null, // a browser downloads the text itself (reports.js)
  getReportSettings: () => rest('GET', '/reports/settings'),
  setReportSettings: (changes) => rest('PUT', '/reports/settings', changes),
  openReportsWindow: () => {
    const opened = window.open('/ui/reports.html', 'zapool-reports');
    if (opened) opened.focus();
    return Promise.resolve();
  },
};

export const reports = mode === 'desktop' ? desktop : browser;
export default reports;
