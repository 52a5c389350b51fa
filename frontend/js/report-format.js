// How the report figures are written (issue 18): a duration in seconds as seconds, minutes or hours; shared by
// the Reports window and the pool manager's cards.

import { t } from './i18n.js';
import './i18n_reports.js';

/** Seconds as a short duration: "45 s", "10 min", "2.5 h"; "—" for none. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return t('reports.none');
  if (seconds < 90) return t('reports.seconds', { n: Math.round(seconds) });
  if (seconds < 90 * 60) return t('reports.minutes', { n: Math.round(seconds / 60) });
  return t('reports.hours', { n: (seconds / 3600).toFixed(1) });
}
