// One number's groups in a dialog of the pool manager (issue 16, section 4): the list (subject, members,
// whether this number is admin), a new group, a group's participants (add, remove, make or unmake admin) and
// its invite link to copy. Names and subjects come from WhatsApp: always text (el()), never HTML.

import { api } from './api.js';
import { t } from './i18n.js';
import { el, errorText, formatPhone, showModal, toast } from './dom.js';

const GROUP_EVENTS = ['group_joined', 'group_left', 'group_participants', 'group_updated'];

/** Numbers typed by a person, one per line or separated by commas or semicolons. */
function numbers(text) {
  return text.split(/[\n,;]+/).map((s) => s.trim()).filter(Boolean);
}

/** The dialog of `id`'s groups; resolves once it is closed. */
export function openGroups(id, name) {
  const state = { groups: [], open: null };
  const error = el('p', { class: 'field-error', role: 'alert', id: 'groups-error', hidden: true });
  const list = el('ul', { class: 'groups-list', 'aria-labelledby': 'groups-title' });
  const detail = el('section', { class: 'group-detail', 'aria-live': 'polite' });
  const close = el('button', { type: 'button', class: 'button' }, t('common.close'));
  const dialog = el('dialog', { class: 'dialog dialog-wide', 'aria-labelledby': 'groups-title' },
    el('h2', { id: 'groups-title' }, t('groups.title', { name })), error, list, detail, createForm(), el('div',
      { class: 'dialog-actions' }, close));
  close.addEventListener('click', () => dialog.close());

  function fail(err) {
    error.textContent = errorText(err);
    error.hidden = false;
  }

  async function run(work) {
    error.hidden = true;
    try {
      return await work();
    } catch (err) {
      fail(err);
      return null;
    }
  }

  async function reload() {
    const groups = await run(() => api.listGroups(id));
    if (!groups) return;
    state.groups = groups;
    list.replaceChildren(...(groups.length ? groups.map(groupRow) : [el('li', { class: 'empty' }, t('groups.none'))]));
    const open = groups.find((g) => g.id === state.open);
    detail.replaceChildren(...(open ? participants(open) : []));
  }

  function groupRow(group) {
    const manage = el('button', { type: 'button', class: 'button button-small' }, t('groups.manage'));
    manage.addEventListener('click', () => { state.open = group.id; reload(); });
    const copy = el('button', { type: 'button', class: 'button button-small', hidden: !group.iAmAdmin },
                    t('groups.copyInvite'));
    copy.addEventListener('click', async () => {
      const invite = await run(() => api.getGroupInvite(id, group.id));
      if (!invite) return;
      await navigator.clipboard?.writeText(invite.link).catch(() => null);
      copy.dataset.link = invite.link;
      toast(t('groups.copied', { link: invite.link }), 'ok');
    });
    return el('li', { class: 'group-row', dataset: { groupId: group.id } },
      el('strong', {}, group.subject),
      el('span', { class: 'hint' }, t('groups.members', { count: group.size })),
      group.iAmAdmin ? el('span', { class: 'badge' }, t('groups.admin')) : null, manage, copy);
  }

  function participants(group) {
    const rows = group.participants.map((p) => {
      const role = el('button', { type: 'button', class: 'button button-small', hidden: !group.iAmAdmin },
                      t(p.isAdmin ? 'groups.demote' : 'groups.promote'));
      role.addEventListener('click', async () => {
        const done = await run(() => (p.isAdmin ? api.demoteGroupParticipant(id, group.id, p.number)
          : api.promoteGroupParticipants(id, group.id, [p.number])));
        if (done) reload();
      });
      const remove = el('button', { type: 'button', class: 'button button-small button-remove',
                                    hidden: !group.iAmAdmin }, t('groups.remove'));
      remove.addEventListener('click', async () => {
        if (await run(() => api.removeGroupParticipants(id, group.id, [p.number]))) reload();
      });
      return el('li', { dataset: { number: p.number } }, formatPhone(p.number),
                p.isAdmin ? el('span', { class: 'badge' }, t('groups.admin')) : null, role, remove);
    });
    const input = el('input', { id: 'group-add', autocomplete: 'off' });
    const add = el('button', { type: 'submit', class: 'button button-small' }, t('groups.add'));
    const form = el('form', { class: 'row', hidden: !group.iAmAdmin },
                    el('label', { for: 'group-add' }, t('groups.addLabel')), input, add);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const answer = await run(() => api.addGroupParticipants(id, group.id, numbers(input.value)));
      if (answer) reload();
    });
    return [el('h3', {}, t('groups.participantsOf', { subject: group.subject })),
            el('ul', { class: 'participants' }, ...rows), form];
  }

  function createForm() {
    const subject = el('input', { id: 'group-subject', maxlength: '100', required: '', autocomplete: 'off' });
    const people = el('textarea', { id: 'group-people', rows: '2', required: '' });
    const form = el('form', { class: 'stack' }, el('h3', {}, t('groups.new')),
      el('label', { for: 'group-subject' }, t('groups.subject')), subject,
      el('label', { for: 'group-people' }, t('groups.people')), people,
      el('button', { type: 'submit', class: 'button button-primary' }, t('groups.create')));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const made = await run(() => api.createGroup(id, subject.value, numbers(people.value)));
      if (!made) return;
      subject.value = people.value = '';
      state.open = made.id;
      toast(t('groups.created', { subject: made.subject }), 'ok');
      reload();
    });
    return form;
  }

  // What others do in the number's groups (someone adds it, removes it, renames a group) shows while open.
  const stop = api.subscribe(() => reload(), { clientId: id, types: GROUP_EVENTS });
  dialog.addEventListener('close', stop);
  reload();
  return showModal(dialog, close, () => null);
}
