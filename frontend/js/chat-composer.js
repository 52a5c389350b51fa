// The chat window's compose bar (split from chat.js): Enter sends, "/" quick replies, "@" mentions in a group,
// the ⏰ button schedules what is typed, and a file is attached or removed; the attachment waits here for the
// next send.

import { api } from './api.js';
import { t } from './i18n.js';
import { $, busy, formatSize, showError } from './dom.js';
import { quickReplies } from './quick-replies.js';
import { mentionPicker } from './mention-picker.js';

let attachment = null; // {data, mimetype, filename, size} chosen to go with the next send

export function currentAttachment() {
  return attachment;
}

export function showAttachment() {
  $('#attachment').hidden = !attachment;
  $('#attachment-name').textContent = attachment
    ? t('chat.attachment', { name: attachment.filename, size: formatSize(attachment.size) }) : '';
  $('#message').placeholder = t(attachment ? 'chat.captionPlaceholder' : 'chat.messagePlaceholder');
}

export function clearAttachment() {
  attachment = null;
  showAttachment();
}

async function attach() {
  try {
    const picked = await api.pickFile();
    if (picked) {
      attachment = picked;
      showAttachment();
      $('#message').focus();
    }
  } catch (error) {
    showError(error);
  }
}

/** `send()` sends what is typed (and attached); `chatId()` is the open conversation; `me()`, `nameOf(id)` and
 *  `contactName()` name people for the mention and quick-reply pickers. */
export function wireComposer({ send, clientId, chatId, me, nameOf, contactName }) {
  $('#composer').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('#send'), send);
  });
  $('#message').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      busy($('#send'), send);
    }
  });
  quickReplies($('#message'), $('#quick-replies'), contactName); // issue 17 §1
  $('#schedule').addEventListener('click', () => import('./schedule-dialog.js').then((m) => m.scheduleTyped( // §3
    { clientId, chatId: chatId(), textarea: $('#message'), hasAttachment: attachment !== null }))
    .catch(showError)); // loaded on the first click: the window's first paint does not wait for it
  mentionPicker($('#message'), $('#mentions'), { clientId, chatId, me, nameOf });
  $('#attach').addEventListener('click', attach);
  $('#remove-attachment').addEventListener('click', () => {
    clearAttachment();
    $('#attach').focus();
  });
}
