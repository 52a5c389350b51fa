// The passphrase window (issue 19, backend/desktop/unlock.py): the desktop app on a sealed data folder that
// nothing else opens asks here. A wrong passphrase shows its error by code, in the window's language, and the
// field is ready for another try; the right one closes the window and ZapPool starts.

import './i18n_unlock.js';
import { setLanguage, t, translate } from './i18n.js';
import { errorText } from './errors.js';
import { fillLanguagePicker } from './language-picker.js';

const $ = (selector) => document.querySelector(selector);

/** pywebview's bridge, once it is there (it is injected after the page loads). */
function bridge() {
  if (window.pywebview?.api?.unlock) return Promise.resolve(window.pywebview.api);
  return new Promise((resolve) => {
    window.addEventListener('pywebviewready', () => resolve(window.pywebview.api), { once: true });
  });
}

async function onSubmit(event) {
  event.preventDefault();
  const submit = $('#unlock-submit');
  if (submit.getAttribute('aria-disabled') === 'true') return;
  const field = $('#passphrase');
  const message = $('#unlock-error');
  message.textContent = t('unlock.checking');
  submit.setAttribute('aria-disabled', 'true');
  let answer;
  try {
    answer = await (await bridge()).unlock(field.value);
  } catch {
    answer = { error: { code: 'sealing_error' } };
  }
  submit.removeAttribute('aria-disabled');
  if (answer && answer.ok) return; // the window closes
  message.textContent = errorText(answer?.error); // textContent: never HTML
  field.select();
  field.focus();
}

translate();
fillLanguagePicker($('#language'), setLanguage);
$('#unlock-form').addEventListener('submit', onSubmit);
$('#passphrase').focus();
