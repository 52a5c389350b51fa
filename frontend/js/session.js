// What every page but the login page does first: make sure someone is logged in (and has changed the
// first-run password), take the saved language, start notifications, and show whether events are live.

import { api } from './api.js';
import { setLanguage, translate, t } from './i18n.js';
import { rememberNotifications, startNotifications } from './notify.js';
import { $ } from './dom.js';

function showLive(kind) {
  const live = $('#live');
  if (!live) return;
  const up = kind === 'open';
  live.dataset.state = up ? 'up' : 'down';
  live.textContent = t(up ? 'common.live' : 'common.offline');
}

/** Show the page: its controls are wired up now (pages start hidden, see data-boot in app.css). */
export function showPage() {
  document.getElementById('main')?.removeAttribute('data-boot');
}

/** Resolves to {me, prefs}; a page without a valid login goes to the login page instead. */
export async function startPage() {
  translate();
  // Asked beside the login check, not after its answer: one round trip less before a window paints (the chat
  // window's first paint waited for it: docs/PERFORMANCE.md). Without a valid login both are refused.
  const asked = api.getPreferences();
  asked.catch(() => {}); // a refusal is the login check's to report
  const me = await api.me(); // without a login api.js has already sent the page to the login page
  if (me.mustChangePassword) {
    location.assign('/');
    throw new Error('password change required');
  }
  const prefs = await asked;
  setLanguage(prefs.language);
  rememberNotifications(prefs.notifications);
  startNotifications();
  window.addEventListener('zapool:stream', (e) => {
    if (e.detail === 'open' || e.detail === 'down') showLive(e.detail);
  });
  window.addEventListener('zapool:language', () => {
    const live = $('#live');
    if (live?.dataset.state) showLive(live.dataset.state === 'up' ? 'open' : 'down');
  });
  if (api.mode === 'desktop') {
    showLive('open'); // the bridge pushes events: nothing to connect to
    // Each desktop window is its own: links that would turn this one into another page are for browsers.
    for (const node of document.querySelectorAll('[data-browser-only]')) node.hidden = true;
  }
  for (const button of document.querySelectorAll('[data-action="logout"]')) {
    button.addEventListener('click', async () => {
      try {
        await api.logout();
      } finally {
        location.assign('/');
      }
    });
  }
  return { me, prefs };
}
