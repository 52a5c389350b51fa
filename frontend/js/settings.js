// The small settings area of the main screen: language, notifications, the browser WhatsApp Web runs in and
// the logs folder, sealed data (sealing-state.js), API keys (listed, created and shown once, revoked).

import { api } from './api.js';
import { setLanguage, t } from './i18n.js';
import { $, busy, confirmDialog, el, formatDate, showError, toast } from './dom.js';
import { fillLanguagePicker } from './language-picker.js';
import { browserCanNotify, rememberNotifications } from './notify.js';
import { startPoolSettings } from './pool-settings.js';
import { showSealing } from './sealing-state.js';

function showPermission() {
  const canAsk = browserCanNotify() && $('#notifications').checked;
  $('#allow-notifications').hidden = !(canAsk && Notification.permission === 'default');
  $('#notifications-blocked').hidden = !(canAsk && Notification.permission === 'denied');
}

async function save(changes) {
  try {
    await api.setPreferences(changes);
    toast(t('settings.saved'), 'ok');
  } catch (error) {
    showError(error);
  }
}

function keyItem(key) {
  const state = key.active ? t('keys.active') : t('keys.revoked', { date: formatDate(key.revokedAt) });
  const meta = t('keys.meta', { created: formatDate(key.createdAt),
                                used: key.lastUsedAt ? formatDate(key.lastUsedAt) : t('keys.never') });
  const revoke = key.active
    ? el('button', { type: 'button', class: 'button button-small',
                     'aria-label': `${t('keys.revoke')}: ${key.name}` }, t('keys.revoke'))
    : null;
  revoke?.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: t('keys.revokeTitle'), body: t('keys.revokeBody', { name: key.name }),
                                     confirm: t('keys.revoke') });
    if (!ok) return;
    try {
      await api.revokeApiKey(key.id);
      await loadKeys();
    } catch (error) {
      showError(error);
    }
  });
  return el('li', { class: 'key', dataset: { keyId: key.id } },
    el('span', { class: 'key-name' }, key.name),
    el('code', {}, `${key.prefix}…`),
    el('span', { class: 'grow hint' }, `${state} · ${meta}`),
    revoke);
}

async function loadKeys() {
  const list = $('#keys');
  try {
    const keys = await api.listApiKeys();
    list.replaceChildren(...(keys.length ? keys.map(keyItem) : [el('li', { class: 'hint' }, t('keys.none'))]));
  } catch (error) {
    showError(error);
  }
}

function showNewKey(name, key) {
  const box = $('#new-key');
  const copy = el('button', { type: 'button', class: 'button button-small' }, t('keys.copy'));
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(key);
      toast(t('keys.copied'), 'ok');
    } catch {
      window.getSelection().selectAllChildren(box.querySelector('.secret'));
    }
  });
  box.replaceChildren(el('p', {}, t('keys.createdOnce', { name })), el('code', { class: 'secret' }, key), copy);
  box.hidden = false;
  copy.focus();
}

function startSystem(prefs) {
  const input = $('#browser-path');
  input.value = prefs.browserPath || '';
  if (api.mode !== 'desktop') {
    // The server refuses it here: a path named through the REST API would be a program ZapPool runs.
    input.readOnly = true;
    $('#browser-save').hidden = true;
    $('#browser-help').dataset.i18n = 'system.browserDesktopOnly';
    $('#browser-help').textContent = t('system.browserDesktopOnly');
  }
  $('#browser-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('#browser-save'), async () => {
      try {
        const saved = await api.setPreferences({ browserPath: input.value.trim() || null });
        input.value = saved.browserPath || '';
        toast(t('settings.saved'), 'ok');
      } catch (error) {
        showError(error);
        input.focus();
      }
    });
  });
  $('#open-logs').addEventListener('click', (event) => busy(event.currentTarget, async () => {
    try {
      const { path } = await api.openLogsFolder();
      $('#logs-path').textContent = t('system.logsAt', { path }); // said either way: it may be another computer's
    } catch (error) {
      showError(error);
    }
  }));
}

export function startSettings(prefs) {
  startSystem(prefs);
  startPoolSettings(prefs);
  fillLanguagePicker($('#language'), (lang) => {
    setLanguage(lang);
    save({ language: lang });
  });
  const toggle = $('#notifications');
  toggle.checked = prefs.notifications;
  toggle.addEventListener('change', () => {
    rememberNotifications(toggle.checked);
    save({ notifications: toggle.checked });
    showPermission();
  });
  $('#allow-notifications').addEventListener('click', async () => {
    await Notification.requestPermission();
    showPermission();
  });
  showPermission();

  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('#key-name');
    const name = input.value.trim();
    if (!name) {
      input.focus();
      return;
    }
    busy($('#key-create'), async () => {
      try {
        const created = await api.createApiKey(name);
        input.value = '';
        showNewKey(name, created.key);
        await loadKeys();
      } catch (error) {
        showError(error);
      }
    });
  });
  window.addEventListener('zapool:language', () => { loadKeys(); showPermission(); });
  loadKeys();
  showSealing();
}
