// WhatsApp Web simulator, media: WPP.chat.downloadMedia (WA-JS 4.6.0, dist/chat/functions/downloadMedia.d.ts:
// `downloadMedia(id: string): Promise<Blob>`). Loaded after wpp_chat.js, whose getMessageById it uses.
(() => {
  'use strict';
  const { st, requireAuth, whenOnline, WPPError } = window.__wasim;
  const MEDIA = ['image', 'document', 'audio', 'ptt', 'video', 'sticker'];

  // As WA-JS does: the message by id (msg_not_found / chat_not_found), WPPError message_not_contains_media for a
  // message without media, and a plain {error, code: 'media_not_found'} object (not an Error: WA-JS throws
  // that literal) when the media server no longer has the file.
  async function downloadMedia(id) {
    requireAuth();
    const msg = await window.WPP.chat.getMessageById(id);
    if (!MEDIA.includes(msg.type)) {
      throw new WPPError('message_not_contains_media', `Message ${id} not contains media`, { id });
    }
    await whenOnline(); // the bytes come from WhatsApp's media servers
    const query = new URLSearchParams({ sid: st.sid, id: msg.id.id });
    const response = await fetch(`/_sim/api/media?${query}`);
    if (!response.ok) throw { error: true, code: 'media_not_found', message: 'Media not found' };
    const bytes = await response.arrayBuffer();
    return new Blob([bytes], { type: msg.mimetype || 'application/octet-stream' });
  }

  window.WPP.chat.downloadMedia = downloadMedia;
})();
