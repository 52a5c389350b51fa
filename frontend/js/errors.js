// An API error in the window's language, built from its stable `code` and `details` only. The server's English
// `message` is for integrations and logs: it never goes inside a translated sentence (a pt-BR person would read
// half a sentence in English); showError() puts it in the console, where whoever debugs looks.

import { t, has } from './i18n.js';

const MB = 1024 * 1024;
const RETRY_CODES = new Set(['too_many_attempts', 'rate_limited', 'too_many_streams', 'unavailable']);

/** A field's translated name; a field the windows do not know is named by the generic sentence instead. */
function fieldSentence(field) {
  if (has(`error.field.${field}`)) return t(`error.field.${field}`);
  if (has(`field.${field}`)) return t('error.invalid_field', { field: t(`field.${field}`) });
  return t('error.invalid_input');
}

/** invalid_input: a rule of the new password, or the field that was refused. */
function invalidInput(details) {
  if (details.field === 'newPassword') {
    const key = `error.password.${details.rule}`;
    return has(key) ? t(key, details) : t('error.password.other');
  }
  return details.field ? fieldSentence(details.field) : t('error.invalid_input');
}

/** invalid_media: too big (with the limit in MB), of another type than said, unreadable, or plainly refused. */
function invalidMedia(details) {
  if (details.limit) return t('error.media.too_big', { limit: Math.floor(details.limit / MB) });
  if (details.detected) return t('error.media.wrong_type', { mimetype: details.mimetype });
  if (details.filename) return t('error.media.unreadable', { filename: details.filename });
  return t('error.invalid_media');
}

/** The readable text of an API error, entirely in the page's language. */
export function errorText(error) {
  if (!error) return '';
  const code = error.code;
  const details = error.details || {};
  if (code === 'invalid_input') return invalidInput(details);
  if (code === 'invalid_media') return invalidMedia(details);
  if (code === 'invalid_text' && details.limit) return t('error.text.too_long', details);
  if (code === 'pool_full' && details.maxClients) return t('error.pool_full.limit', details);
  if (RETRY_CODES.has(code) && details.retryAfter !== undefined) return t(`error.${code}.retry`, details);
  if (code && has(`error.${code}`)) return t(`error.${code}`, details);
  // A code this window does not know yet (a newer server): the code is language-neutral, the message is not.
  return t('error.generic', { code: code || 'internal' });
}
