// The pool's numbers as the seed shows them: clients, connected, messages (the main screen and the manager).

import { el } from './dom.js';
import { t } from './i18n.js';

/** Fill a <dl> with the three counts of GET /stats. */
export function renderStats(list, stats) {
  const item = (key, value, extra) => el('div', { class: 'stat', dataset: { stat: key } },
    el('dt', {}, t(`stats.${key}`)),
    el('dd', {}, String(value), extra ? el('span', { class: 'of' }, extra) : null));
  list.replaceChildren(
    item('clients', stats.currentClients, t('stats.ofMax', { max: stats.maxClients })),
    item('connected', stats.readyClients),
    item('messages', stats.totalMessages),
  );
}

/** One chip per status with clients in it ("Conectado: 2"). */
export function renderByStatus(list, stats) {
  const entries = Object.entries(stats.clientsByStatus || {}).filter(([, n]) => n > 0);
  if (!entries.length) {
    list.replaceChildren(el('li', { class: 'hint' }, t('main.none')));
    return;
  }
  list.replaceChildren(...entries.map(([status, n]) =>
    el('li', { class: `badge status-${status}` }, `${t(`status.${status}`)}: ${n}`)));
}
