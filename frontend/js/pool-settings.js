// The pool's limits in the settings area: most numbers at once, the health check's interval, the first
// reconnection delay, reconnecting by itself, and an on-demand number's quiet period. Saved as preferences
// (PUT /preferences or the bridge), which the server checks all together: a bad value saves nothing and its
// message shows under its field. Empty: the app's default (or the one given on the command line).

import { api } from './api.js';
import { t } from './i18n.js';
import { $, busy, showError, toast } from './dom.js';

const NUMBERS = ['maxClients', 'healthCheckInterval', 'reconnectDelay', 'onDemandIdle'];

function input(key) {
  return $(`#pool-${key}`);
}

function fill(prefs) {
  for (const key of NUMBERS) input(key).value = prefs[key] ?? '';
  input('autoReconnect').checked = prefs.autoReconnect ?? true;
}

/** Show (or clear) the message under one field; the field says it is invalid to assistive technology. */
function mark(key, message) {
  const box = $(`#pool-${key}-error`);
  box.textContent = message || '';
  box.hidden = !message;
  if (message) input(key).setAttribute('aria-invalid', 'true');
  else input(key).removeAttribute('aria-invalid');
}

function changes() {
  const values = { autoReconnect: input('autoReconnect').checked };
  for (const key of NUMBERS) {
    const raw = input(key).value.trim();
    // A typed value the number field cannot read (e.g. "abc") goes as text: the server names the field.
    values[key] = raw === '' ? (input(key).validity.badInput ? input(key).value : null) : Number(raw);
  }
  return values;
}

async function save() {
  NUMBERS.forEach((key) => mark(key, ''));
  try {
    fill(await api.setPreferences(changes()));
    toast(t('settings.saved'), 'ok');
  } catch (error) {
    const key = error.details?.field;
    if (error.code === 'invalid_input' && NUMBERS.includes(key)) {
      mark(key, t(`poolLimits.invalid.${key}`));
      input(key).focus();
    } else {
      showError(error);
    }
  }
}

export function startPoolSettings(prefs) {
  fill(prefs);
  $('#pool-limits-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('#pool-limits-save'), save);
  });
}
