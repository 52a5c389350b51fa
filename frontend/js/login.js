// The login page: log in; on first run change the admin password before anything else (the server refuses
// everything else until then); after too many wrong tries, say how long to wait, counting down.

import { api } from './api.js';
import { language, setLanguage, t, translate } from './i18n.js';
import { $, errorText } from './dom.js';
import { fillLanguagePicker } from './language-picker.js';

const MAIN_PAGE = '/ui/main.html';
let typedPassword = null; // the password just used to log in: the "current password" of the change form
let pickedHere = false; // the language was chosen on this page: it becomes the saved preference
let countdown = null;

function show(form) {
  $('#login-loading').hidden = true;
  $('#login-form').hidden = form !== 'login';
  $('#password-form').hidden = form !== 'password';
  const first = form === 'login' ? $('#username')
    : (typedPassword === null ? $('#current-password') : $('#new-password'));
  first.focus();
}

function showPasswordForm() {
  $('#current-row').hidden = typedPassword !== null;
  show('password');
}

async function enter() {
  // The saved language wins unless the person picked one here, before logging in.
  try {
    if (pickedHere) await api.setPreferences({ language: language() });
    else setLanguage((await api.getPreferences()).language);
  } catch {
    // preferences are not worth stopping for
  }
  location.replace(MAIN_PAGE);
}

/** Too many wrong tries: count the wait down, and refuse to send until it is over. */
function wait(seconds) {
  const message = $('#login-error');
  const submit = $('#login-submit');
  clearInterval(countdown);
  let left = Math.max(1, Math.ceil(seconds));
  const tick = () => {
    if (left <= 0) {
      clearInterval(countdown);
      submit.removeAttribute('aria-disabled');
      message.textContent = t('login.canRetry');
      return;
    }
    message.textContent = t('login.throttled', { seconds: left });
    left -= 1;
  };
  submit.setAttribute('aria-disabled', 'true');
  tick();
  countdown = setInterval(tick, 1000);
}

async function onLogin(event) {
  event.preventDefault();
  const submit = $('#login-submit');
  if (submit.getAttribute('aria-disabled') === 'true') return;
  const message = $('#login-error');
  const username = $('#username').value.trim();
  const password = $('#password').value;
  message.textContent = '';
  submit.setAttribute('aria-disabled', 'true');
  let session;
  try {
    session = await api.login(username, password);
  } catch (error) {
    submit.removeAttribute('aria-disabled');
    if (error.code === 'too_many_attempts') {
      wait(error.details.retryAfter || 1);
    } else {
      message.textContent = errorText(error);
    }
    $('#password').select();
    return;
  }
  submit.removeAttribute('aria-disabled');
  if (session.mustChangePassword) {
    typedPassword = password;
    showPasswordForm();
  } else {
    await enter();
  }
}

async function onChangePassword(event) {
  event.preventDefault();
  const submit = $('#password-submit');
  if (submit.getAttribute('aria-disabled') === 'true') return;
  const message = $('#password-error');
  const current = typedPassword ?? $('#current-password').value;
  const fresh = $('#new-password').value;
  message.textContent = '';
  if (fresh !== $('#confirm-password').value) {
    message.textContent = t('password.mismatch');
    $('#confirm-password').focus();
    return;
  }
  submit.setAttribute('aria-disabled', 'true');
  try {
    await api.changePassword(current, fresh);
  } catch (error) {
    submit.removeAttribute('aria-disabled');
    if (error.code === 'wrong_password') {
      typedPassword = null; // ask for it after all
      $('#current-row').hidden = false;
      $('#current-password').focus();
    } else if (error.code === 'unauthorized') {
      show('login');
    }
    message.textContent = errorText(error);
    return;
  }
  message.textContent = t('password.done');
  await enter();
}

async function start() {
  translate();
  fillLanguagePicker($('#language'), (lang) => {
    pickedHere = true;
    setLanguage(lang);
  });
  $('#login-form').addEventListener('submit', onLogin);
  $('#password-form').addEventListener('submit', onChangePassword);
  let me = null;
  try {
    me = await api.me();
  } catch (error) {
    if (error.code !== 'unauthorized') $('#login-error').textContent = errorText(error);
    show('login');
    return;
  }
  if (me.mustChangePassword) showPasswordForm();
  else await enter();
}

start();
