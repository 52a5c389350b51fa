// The settings' "Sealed data" lines (issue 19): whether this data folder is encrypted at rest and, when it is
// not, why (no keyring here, or never turned on), the terminal command that seals it and, where the keyring can
// hold the key, a button that seals it the next time ZapPool opens (sealing/request.py).

import { api } from './api.js';
import './i18n_unlock.js';
import { t } from './i18n.js';
import { $, busy, showError } from './dom.js';

let shown = null; // the last state read, shown again in another language

function stateText(state) {
  if (!state.sealed && state.sealAtNextStart) return t('sealing.requested');
  if (!state.sealed) return t(state.keyringAvailable ? 'sealing.offKeyring' : 'sealing.offNoKeyring');
  if (state.unfinished) return t('sealing.unfinished');
  if (state.keyring && state.passphrase) return t('sealing.both');
  return t(state.keyring ? 'sealing.keyring' : 'sealing.passphrase');
}

function render() {
  if (!shown) return;
  $('#sealing-state').textContent = stateText(shown);
  $('#sealing-command').hidden = shown.sealed && !shown.unfinished;
  $('#sealing-command-text').textContent = shown.command;
  const button = $('#sealing-request');
  button.hidden = shown.sealed || !shown.keyringAvailable;
  button.textContent = t(shown.sealAtNextStart ? 'sealing.cancel' : 'sealing.request');
}

async function toggleRequest(event) {
  await busy(event.currentTarget, async () => {
    try {
      shown = await api.requestSealing(!shown.sealAtNextStart);
      render();
    } catch (error) {
      showError(error);
    }
  });
}

export async function showSealing() {
  try {
    shown = await api.sealingState();
  } catch (error) {
    console.warn('[ZapPool]', error); // the rest of the settings work without it
    return;
  }
  render();
}

window.addEventListener('zapool:language', render);
$('#sealing-request')?.addEventListener('click', toggleRequest);
