// The pool manager's cards (issue 18): each number's response rate and median first response time today, from
// GET /reports/summary (one small read per number), refreshed when messages come and go and every minute.
// Kept apart from pool.js and card.js: it only adds a line to each card it finds.

import { api } from './api.js';
import { reports } from './api-reports.js';
import { t } from './i18n.js';
import { debounce, el } from './dom.js';
import { duration } from './report-format.js';

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const EVERY_MS = 60_000;

function today() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

function lineOf(card) {
  let line = card.querySelector('.card-report');
  if (!line) {
    line = el('p', { class: 'card-report hint', dataset: { role: 'report' } });
    card.querySelector('.facts')?.after(line);
  }
  return line;
}

async function refreshCard(card) {
  const day = today();
  const summary = await reports.report('summary', { clientId: card.dataset.clientId, from: day, to: day,
                                                   tz: ZONE });
  const line = lineOf(card);
  line.dataset.rate = summary.responseRate ?? '';
  line.textContent = summary.customerConversations
    ? t('reports.cardToday', { rate: `${Math.round((summary.responseRate ?? 0) * 100)}%`,
                               first: duration(summary.firstResponseTime.median) })
    : t('reports.cardNone');
}

async function refresh() {
  const cards = [...document.querySelectorAll('#cards li.card[data-client-id]')];
  await Promise.all(cards.map((card) => refreshCard(card).catch((error) => console.warn('[ZapPool]', error))));
}

const soon = debounce(refresh, 1500);
new MutationObserver(soon).observe(document.getElementById('cards'), { childList: true });
api.subscribe(soon, { types: ['message', 'message_status', 'client_added'] });
setInterval(refresh, EVERY_MS);
