// WhatsApp Web simulator, the address book: WPP.contact.list, get, getProfilePictureUrl (WA-JS 4.6.0 names and
// ContactModel fields). Loaded after wpp_chat.js, whose WPP.contact it extends.
(() => {
  'use strict';
  const { api, requireAuth, toWid, Wid } = window.__wasim;

  // ContactModel's fields as WA-JS reads them; formattedName is what WhatsApp Web shows.
  function contactModel(c) {
    const id = new Wid(`${c.id}@c.us`);
    return {
      id, name: c.name ?? undefined, shortName: c.name ? c.name.split(' ')[0] : undefined,
      pushname: c.pushname ?? undefined, isBusiness: Boolean(c.isBusiness), isMyContact: Boolean(c.isMyContact),
      isUser: true, isGroup: false, formattedName: c.name || c.pushname || `+${c.id}`,
    };
  }

  async function list(options = {}) {
    requireAuth();
    const mine = options.onlyMyContacts === true ? { mine: '1' } : {};
    return (await api.get('contacts', mine)).map(contactModel);
  }

  async function get(contactId) {
    requireAuth();
    const wid = toWid(contactId);
    if (!wid.isUser()) return undefined;
    const res = await api.get('contact', { id: wid.user });
    return res.contact ? contactModel(res.contact) : undefined;
  }

  // null when there is no picture or the contact's privacy settings hide it, as WhatsApp answers. A group's id
  // gives the group's picture (WA-JS asks WhatsApp's ProfilePicThumb store, which holds both).
  async function getProfilePictureUrl(contactId) {
    requireAuth();
    const wid = toWid(contactId);
    if (!wid.isUser() && !wid.isGroup()) return undefined;
    const url = (await api.get('picture', { id: wid.user, server: wid.server })).url ?? null;
    // A picture the simulator hosts is a path on its own origin, as WhatsApp's are on its CDN's: made absolute.
    if (url === null) return null;
    try {
      return new URL(url, window.location.origin).href;
    } catch {
      return url; // not an address at all: given as it is, for ZapPool to refuse
    }
  }

  Object.assign(window.WPP.contact, { list, get, getProfilePictureUrl });
})();
