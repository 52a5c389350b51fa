// The customer list's operations (issue 17 §2: contacts.html), in both modes like api.js's: the bridge's
// AudienceOperations in the desktop, /contacts and below in a browser. Kept apart so api.js stays one screenful
// of the pool's own operations; the README's table lists them with the others.

import { bridge, mode, readAsBase64, rest } from './api.js';
import './i18n_audience.js'; // the strings of whatever shows these operations

const enc = encodeURIComponent;

function query(params) {
  const parts = Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${enc(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

const desktop = {
  importContacts: async (file, tags = []) => bridge('import_contacts', await readAsBase64(file), tags),
  listAudience: ({ q = null, tag = null, cursor = null } = {}) => bridge('list_audience', q, tag, cursor, 50),
  listAudienceTags: () => bridge('list_audience_tags'),
  changeAudienceContact: (id, changes) => bridge('change_audience_contact', id, changes),
  listOptouts: (cursor = null) => bridge('list_optouts', cursor, 50),
  addOptout: (phone) => bridge('add_optout', phone),
  removeOptout: (phone) => bridge('remove_optout', phone),
  getOptoutSettings: () => bridge('get_optout_settings'),
  setOptoutSettings: (changes) => bridge('set_optout_settings', changes),
  openContactsWindow: () => bridge('open_contacts_window'),
};

const browser = {
  importContacts: (file, tags = []) => rest('POST', `/contacts/import${query({ tags: tags.join(',') })}`,
                                            file, { 'Content-Type': 'text/csv' }),
  listAudience: ({ q = null, tag = null, cursor = null } = {}) => rest('GET', `/contacts${query({ q, tag, cursor })}`),
  listAudienceTags: () => rest('GET', '/contacts/tags').then((r) => r.items),
  changeAudienceContact: (id, changes) => rest('PATCH', `/contacts/${enc(id)}`, changes),
  listOptouts: (cursor = null) => rest('GET', `/contacts/optouts${query({ cursor })}`),
  addOptout: (phone) => rest('POST', '/contacts/optouts', { phone }),
  removeOptout: (phone) => rest('DELETE', `/contacts/optouts/${enc(phone)}`),
  getOptoutSettings: () => rest('GET', '/contacts/settings'),
  setOptoutSettings: (changes) => rest('PATCH', '/contacts/settings', changes),
  openContactsWindow: () => {
    const opened = window.open('/ui/contacts.html', 'zapool-contacts');
    if (opened) opened.focus();
    return Promise.resolve();
  },
};

export const audience = mode === 'desktop' ? desktop : browser;
export default audience;
