// The main screen: the seed's two buttons, the pool in numbers (kept current by events), and the settings.

import { api } from './api.js';
import { t } from './i18n.js';
import { $, debounce, showError, toast } from './dom.js';
import { showPage, startPage } from './session.js';
import { renderByStatus, renderStats } from './stats.js';
import { addConnection } from './connect.js';
import { startSettings } from './settings.js';
import { audience } from './api-audience.js';
import { schedules } from './api-schedules.js';
import { reports } from './api-reports.js';
import { campaigns } from './api-campaigns.js';

let lastStats = null;

async function loadStats() {
  try {
    lastStats = await api.getPoolStats();
    renderStats($('#stats'), lastStats);
    renderByStatus($('#by-status'), lastStats);
  } catch (error) {
    showError(error);
  }
}

async function start() {
  const { prefs } = await startPage();
  $('#manage').addEventListener('click', () => api.openPoolManager().catch(showError));
  $('#contacts').addEventListener('click', () => audience.openContactsWindow().catch(showError)); // issue 17 §2
  $('#templates').addEventListener('click', () => api.openTemplatesWindow().catch(showError)); // issue 17 §1
  $('#schedules').addEventListener('click', () => schedules.openSchedulesWindow().catch(showError)); // issue 17 §3
  $('#reports').addEventListener('click', () => reports.openReportsWindow().catch(showError)); // issue 18
  $('#campaigns').addEventListener('click', () => campaigns.openCampaignsWindow().catch(showError)); // issue 17 §4
  $('#connect').addEventListener('click', () => {
    const done = addConnection();
    toast(t('main.qrOpened'));
    done.catch(showError);
  });
  const refresh = debounce(loadStats, 150);
  api.subscribe(refresh, { types: ['status', 'client_added', 'client_removed', 'message_status'] });
  window.addEventListener('zapool:language', () => {
    if (lastStats) {
      renderStats($('#stats'), lastStats);
      renderByStatus($('#by-status'), lastStats);
    }
  });
  startSettings(prefs);
  await loadStats();
}

start().catch((error) => console.warn('[ZapPool]', error)).finally(showPage);
