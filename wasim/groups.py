"""Groups of the simulated phones, with WhatsApp's rules: the creator is a super admin; only admins add, remove,
promote and demote, see and revoke the invite link; when the group is `restrict`ed only admins change its subject
and description; a group has a size limit; a number not on WhatsApp cannot be added; an invite code stops working
once revoked. The page (`/_sim/api/group`) and the control API (`/_sim/group`, acting as any phone) go through the
same `act()`, so a test's "someone else" obeys the rules our number does.

Errors carry WA-JS's own codes (from the bundle's WPPError calls), so the page throws what the real site throws.
Groups live in memory only (a restart with `state_dir` keeps chats, not groups).
"""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .model import SimFail, new_msg_id, now_ms, valid_phone

if TYPE_CHECKING:
    from .core import Sim

SIZE_LIMIT = 1024  # WhatsApp's group size limit (WPP.group.getGroupSizeLimit)
MAX_SUBJECT = 100  # characters, as WhatsApp cuts a subject
MAX_DESCRIPTION = 2048
GID_RE = re.compile(r"^\d{10,30}@g\.us$")
MENTION_RE = re.compile(r"@(\d{8,15})\b")
ALL_RE = re.compile(r"(?<![\w@])@all\b")  # case-sensitive, as WA-JS documents it
# addParticipants' per-participant codes, as WhatsApp's server answers them.
ADDED, NOT_ON_WHATSAPP, ALREADY, FULL = 200, 404, 409, 419


@dataclass
class Group:
    """One group: its members by phone, with their role ("superadmin", "admin" or "")."""

    id: str
    subject: str
    owner: str
    creation: int
    invite: str
    participants: dict[str, str]
    desc: str = ""
    restrict: bool = False  # only admins edit the subject and description
    announce: bool = False  # only admins send messages
    size_limit: int = SIZE_LIMIT
    messages: list[dict[str, Any]] = field(default_factory=list)
    unread: dict[str, int] = field(default_factory=dict)  # per member: messages of others not read yet
    seq: int = 0  # the chat list's order, shared with the person-to-person chats (Mailbox.next_seq)
    picture: str | None = None  # the group's picture (its icon) as a URL, hosted by the Phonebook; None: none

    def view(self) -> dict[str, Any]:
        """The group as the page receives it (phones as digits; the page makes Wids)."""
        return {"id": self.id, "subject": self.subject, "desc": self.desc, "owner": self.owner,
                "creation": self.creation, "restrict": self.restrict, "announce": self.announce,
                "size": len(self.participants), "sizeLimit": self.size_limit,
                "participants": [{"id": p, "isAdmin": bool(role), "isSuperAdmin": role == "superadmin"}
                                 for p, role in self.participants.items()]}


class Groups:
    """Every group of the simulator; the Sim's lock guards it."""

    def __init__(self, sim: Sim):
        self.sim = sim
        self._ids = itertools.count(int(now_ms()))
        self.clear()

    def clear(self) -> None:
        """Forget every group (reset)."""
        self.groups: dict[str, Group] = {}

    def dump(self) -> list[dict[str, Any]]:
        """What a restart keeps: every group with its members, settings, messages and unread counts (WhatsApp keeps
        groups on its servers, so a phone's groups outlive the simulator's restarts in the demo too)."""
        return [asdict(group) for group in self.groups.values()]

    def restore(self, saved: list[dict[str, Any]]) -> None:
        """Take back what dump() gave (a malformed entry raises, and the server starts empty: see SimServer)."""
        self.groups = {entry["id"]: Group(**entry) for entry in saved}

    # --- entry points ---------------------------------------------------------------------------------

    def page(self, sid: Any, body: dict[str, Any]) -> Any:
        """A call from a linked page: acts as that page's phone."""
        with self.sim.lock:
            phone = self.sim.linked_session(sid).phone or ""
            return self.act(phone, body)

    def control(self, body: dict[str, Any]) -> Any:
        """A control call: acts as `body.as` (a phone), plus the test-only actions `info` and `configure`."""
        with self.sim.lock:
            action = body.get("action")
            if action == "info":
                return {**self._group(body.get("groupId")).view(), "invite": self._group(body.get("groupId")).invite,
                        "messages": list(self._group(body.get("groupId")).messages)}
            if action == "configure":
                return self._configure(self._group(body.get("groupId")), body)
            return self.act(valid_phone(body.get("as"), "as"), body)

    def act(self, phone: str, body: dict[str, Any]) -> Any:
        """One group action by `phone` (the caller holds the lock)."""
        action = body.get("action")
        if action == "list":
            return [g.view() for g in self.groups.values() if phone in g.participants]
        if action == "create":
            return self.create(phone, body.get("subject"), _phones(body.get("participants")))
        if action == "join":
            return self.join(phone, body.get("code"))
        if action == "messages":  # a read of what the device already holds: nothing changes
            return self._history(phone, self._member_group(phone, body.get("groupId")), body)
        handler = _ACTIONS.get(action) if isinstance(action, str) else None
        if handler is None:
            raise SimFail(400, f"unknown group action {action!r}")
        result = handler(self, phone, self._member_group(phone, body.get("groupId")), body)
        self.sim.changed()
        return {"ok": True} if result is None else result  # WA-JS's void: the page ignores it

    # --- lookups --------------------------------------------------------------------------------------

    def _group(self, gid: Any) -> Group:
        group = self.groups.get(gid) if isinstance(gid, str) else None
        if group is None:
            raise SimFail(404, f"GroupId {gid} not exists", "group_not_exist")
        return group

    def _member_group(self, phone: str, gid: Any) -> Group:
        group = self._group(gid)
        if phone not in group.participants:
            raise SimFail(404, f"Chat not found for {gid}", "chat_not_found")
        return group

    @staticmethod
    def _admin(group: Group, phone: str) -> None:
        if not group.participants.get(phone):
            raise SimFail(403, f"You are not admin in {group.id}", "group_you_are_not_admin")

    @staticmethod
    def _members(group: Group, phones: list[str]) -> None:
        for p in phones:
            if p not in group.participants:
                raise SimFail(404, f"Group {group.id}: Participant '{p}@c.us' not found", "group_participant_not_found")

    def _configure(self, group: Group, body: dict[str, Any]) -> dict[str, Any]:
        """Test switches: sizeLimit, restrict, announce."""
        for key in ("restrict", "announce"):
            if isinstance(body.get(key), bool):
                setattr(group, key, body[key])
        limit = body.get("sizeLimit")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
            group.size_limit = limit
        return group.view()

    # --- actions --------------------------------------------------------------------------------------

    def create(self, phone: str, subject: Any, phones: list[str]) -> dict[str, Any]:
        """WPP.group.create: every participant must be on WhatsApp (participant_not_exists otherwise)."""
        subject = _subject(subject)
        for p in phones:
            if not self.sim.exists(p):
                raise SimFail(404, "Participant not exists", "participant_not_exists")
        gid = f"120363{next(self._ids)}@g.us"
        members = {phone: "superadmin", **{p: "" for p in phones if p != phone}}
        group = Group(gid, subject, phone, now_ms() // 1000, _invite(), members, seq=self.sim.mail.next_seq())
        self.groups[gid] = group
        self._notify(group, "add", "add", [p for p in members if p != phone], phone)
        self.sim.changed()
        return {"gid": gid, "participants": {f"{p}@c.us": _result(p, ADDED) for p in members if p != phone}}

    def _add(self, phone: str, group: Group, body: dict[str, Any]) -> dict[str, Any]:
        self._admin(group, phone)
        out, added = {}, []
        for p in _phones(body.get("participants")):
            if not self.sim.exists(p):
                code = NOT_ON_WHATSAPP
            elif p in group.participants:
                code = ALREADY
            elif len(group.participants) >= group.size_limit:
                code = FULL
            else:
                code, group.participants[p] = ADDED, ""
                added.append(p)
            out[f"{p}@c.us"] = _result(p, code)
        if added:
            self._notify(group, "add", "add", added, phone)
        return out

    def _remove(self, phone: str, group: Group, body: dict[str, Any]) -> None:
        self._admin(group, phone)
        phones = _phones(body.get("participants"))
        self._members(group, phones)
        if group.owner in phones and phone != group.owner:
            raise SimFail(403, "The group's creator cannot be removed", "group_you_are_not_admin")
        self._notify(group, "remove", "remove", phones, phone)  # the removed hear it too
        for p in phones:
            group.participants.pop(p, None)

    def _promote(self, phone: str, group: Group, body: dict[str, Any]) -> None:
        self._admin(group, phone)
        phones = _phones(body.get("participants"))
        self._members(group, phones)
        if any(group.participants[p] for p in phones):
            raise SimFail(409, "Participant is already a group admin", "group_participant_is_already_a_group_admin")
        for p in phones:
            group.participants[p] = "admin"
        self._notify(group, "promote", "promote", phones, phone)

    def _demote(self, phone: str, group: Group, body: dict[str, Any]) -> None:
        self._admin(group, phone)
        phones = _phones(body.get("participants"))
        self._members(group, phones)
        if any(not group.participants[p] for p in phones):
            raise SimFail(409, "Participant is already not a group admin",
                          "group_participant_is_already_not_a_group_admin")
        if group.owner in phones and phone != group.owner:
            raise SimFail(403, "The group's creator cannot be demoted", "group_you_are_not_admin")
        for p in phones:
            group.participants[p] = ""
        self._notify(group, "demote", "demote", phones, phone)

    def _subject(self, phone: str, group: Group, body: dict[str, Any]) -> bool:
        if group.restrict and not group.participants.get(phone):
            raise SimFail(403, f"You are not allowed to set group subject in {group.id}",
                          "you_are_not_allowed_set_group_subject")
        group.subject = _subject(body.get("value"))
        self._notice(group, phone, "subject", group.subject)
        return True

    def _description(self, phone: str, group: Group, body: dict[str, Any]) -> bool:
        if group.restrict and not group.participants.get(phone):
            raise SimFail(403, f"You are not allowed to set group description in {group.id}",
                          "you_are_not_allowed_set_group_description")
        value = body.get("value")
        if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
            raise SimFail(400, f"a description is text of at most {MAX_DESCRIPTION} characters")
        group.desc = value
        self._notice(group, phone, "description", value)
        return True

    def _icon(self, phone: str, group: Group, body: dict[str, Any]) -> bool:
        """WPP.group.setIcon (body.picture true: a new picture hosted here) or removeIcon (null); as the subject."""
        if group.restrict and not group.participants.get(phone):
            raise SimFail(403, f"You are not allowed to set group picture in {group.id}",
                          "you_are_not_allowed_set_group_picture")
        group.picture = self.sim.book.hosted_group_picture(group.id) if body.get("picture") is True else None
        self._notice(group, phone, "picture", "")
        return True

    def _invite(self, phone: str, group: Group, _body: dict[str, Any]) -> str:
        self._admin(group, phone)
        return group.invite

    def _revoke(self, phone: str, group: Group, _body: dict[str, Any]) -> str:
        self._admin(group, phone)
        group.invite = _invite()
        return group.invite

    def join(self, phone: str, code: Any) -> dict[str, Any]:
        """WPP.group.join(inviteCode): a revoked or unknown code is invalid_invite_code."""
        code = code.rsplit("/", 1)[-1] if isinstance(code, str) else code
        group = next((g for g in self.groups.values() if g.invite == code), None)
        if group is None:
            raise SimFail(404, "Invalid Invite Code", "invalid_invite_code")
        if phone not in group.participants:
            if len(group.participants) >= group.size_limit:
                raise SimFail(409, "The group is full", "group_full")
            group.participants[phone] = ""
            group.seq = self.sim.mail.next_seq()
            self._notify(group, "join", "add", [phone], phone)
            self.sim.changed()
        return {"id": group.id, "pendingApproval": False}

    def _leave(self, phone: str, group: Group, _body: dict[str, Any]) -> None:
        self._notify(group, "leaver", "remove", [phone], phone)
        del group.participants[phone]
        if group.participants and not any(group.participants.values()):
            group.participants[next(iter(group.participants))] = "admin"  # WhatsApp names a new admin

    def _send(self, phone: str, group: Group, body: dict[str, Any]) -> dict[str, Any]:
        """A message from `phone` to the group: every other member's tabs receive it."""
        if group.announce and not group.participants.get(phone):
            raise SimFail(403, "Only admins can send messages to this group", "can_not_send_message_to_this_group")
        msg_id = body.get("id") if isinstance(body.get("id"), str) else new_msg_id()
        wire = {"id": msg_id, "group": group.id, "author": phone, "t": now_ms() // 1000,
                "notifyName": body.get("notifyName") if isinstance(body.get("notifyName"), str) else "",
                "type": body.get("type") or "chat", "body": body.get("text") if isinstance(body.get("text"), str) else "",
                "mentions": _mentions(body, group, phone)}
        for key in ("caption", "filename", "mimetype", "size"):
            if body.get(key) is not None:
                wire[key] = body[key]
        group.messages.append(wire)
        group.seq = self.sim.mail.next_seq()
        for member in group.participants:
            if member != phone:
                group.unread[member] = group.unread.get(member, 0) + 1
                self.sim.mail.deliver(member, {"type": "group_message", "msg": wire}, keep=True)
        self._acks(phone, group, msg_id)
        return {"id": msg_id, "t": wire["t"], "ack": 1}

    def _find(self, phone: str, group: Group, body: dict[str, Any]) -> dict[str, Any]:
        """One of our messages in the group by its id (WPP.chat.getMessageById): {msg}, null if WhatsApp has none."""
        return {"msg": next((m for m in group.messages if m["id"] == body.get("id") and m["author"] == phone), None)}

    def _read(self, phone: str, group: Group, _body: dict[str, Any]) -> dict[str, Any]:
        """WPP.chat.markIsRead on a group: this member's unread count back to 0."""
        group.unread[phone] = 0
        return {"wid": group.id, "unreadCount": 0}

    def _history(self, phone: str, group: Group, body: dict[str, Any]) -> list[dict[str, Any]]:
        """WPP.chat.getMessages on a group: the last `count` (-1: all), oldest first; `before` a message id: only
        older ones (msg_not_found if none has it); `unread`: among this member's unread ones only."""
        pool = group.messages
        before = body.get("before")
        if isinstance(before, str):
            index = next((i for i, m in enumerate(pool) if m["id"] == before), None)
            if index is None:
                raise SimFail(404, f"Message {before} not found", "msg_not_found")
            pool = pool[:index]
        if body.get("unread") is True:
            others = [m for m in group.messages if m["author"] != phone]
            unread = group.unread.get(phone, 0)
            pool = others[len(others) - unread:] if unread > 0 else []
        count = body.get("count") if isinstance(body.get("count"), int) else 20
        return list(pool if count < 0 else pool[-count:] if count else [])

    def chat_views(self, phone: str) -> list[tuple[int, dict[str, Any]]]:
        """The phone's groups as entries of its chat list (WPP.chat.list), each with its order (seq): the subject
        as the chat's name, this member's unread count, the last message and the group's metadata."""
        with self.sim.lock:
            return [(g.seq, {"id": g.id, "isGroup": True, "name": g.subject, "unreadCount": g.unread.get(phone, 0),
                             "t": g.messages[-1]["t"] if g.messages else g.creation,
                             "lastMessage": g.messages[-1] if g.messages else None, "archive": False, "pin": 0,
                             "muteExpiration": 0, "group": g.view()})
                    for g in self.groups.values() if phone in g.participants]

    # --- events ---------------------------------------------------------------------------------------

    def _notify(self, group: Group, action: str, operation: str, phones: list[str], author: str) -> None:
        """group.participant_changed for every member (and those just removed)."""
        event = {"groupId": group.id, "action": action, "operation": operation, "author": author,
                 "participants": phones}
        for member in set(group.participants) | set(phones):
            self.sim.mail.deliver(member, {"type": "group", "event": event}, keep=True)

    def _notice(self, group: Group, author: str, subtype: str, text: str) -> None:
        """A gp2 notification message (subject, description or picture changed) in every member's chat."""
        wire = {"id": new_msg_id(), "group": group.id, "author": author, "t": now_ms() // 1000, "notifyName": "",
                "type": "gp2", "subtype": subtype, "body": text, "mentions": []}
        for member in group.participants:
            self.sim.mail.deliver(member, {"type": "group_message", "msg": wire}, keep=True)

    def _acks(self, phone: str, group: Group, msg_id: str) -> None:
        """Delivered and read receipts for our own group message, on the Mailbox's timings."""
        delay = 0
        for ack, step in ((2, self.sim.config.ack_delivered_ms), (3, self.sim.config.ack_read_ms)):
            if step:
                delay += step
                self.sim.scheduler.call_later(delay / 1000, self._ack, phone, group.id, msg_id, ack)

    def _ack(self, phone: str, gid: str, msg_id: str, ack: int) -> None:
        with self.sim.lock:
            if gid in self.groups:
                self.sim.mail.deliver(phone, {"type": "group_ack", "chat": gid, "id": msg_id, "ack": ack}, keep=False)


_ACTIONS = {"add": Groups._add, "remove": Groups._remove, "promote": Groups._promote, "demote": Groups._demote,
            "subject": Groups._subject, "description": Groups._description, "icon": Groups._icon,
            "invite": Groups._invite, "revoke": Groups._revoke, "leave": Groups._leave, "send": Groups._send,
            "find": Groups._find, "read": Groups._read}


def _mentions(body: dict[str, Any], group: Group, author: str) -> list[str]:
    """Who a group text mentions, as WA-JS's detectMentioned (on unless the send turned it off) finds them: each
    "@<number>" of a member, and every other member for the exact lowercase token "@all"."""
    if body.get("detectMentioned") is False:
        return []
    text = body.get("text") or ""
    if ALL_RE.search(text):
        return sorted(p for p in group.participants if p != author)
    return sorted(set(MENTION_RE.findall(text)) & set(group.participants))


def _phones(value: Any) -> list[str]:
    """Participants as digits: "5511...", "5511...@c.us"."""
    items = value if isinstance(value, list) else [value]
    return [valid_phone(v.removesuffix("@c.us") if isinstance(v, str) else v, "participant") for v in items]


def _subject(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SUBJECT:
        raise SimFail(400, f"a subject is 1 to {MAX_SUBJECT} characters")
    return value


def _invite() -> str:
    return secrets.token_urlsafe(16)[:22]


def _result(phone: str, code: int) -> dict[str, Any]:
    """One participant's answer to create/addParticipants, as WA-JS gives it."""
    messages = {ADDED: "OK", NOT_ON_WHATSAPP: "not on WhatsApp", ALREADY: "already a participant",
                FULL: "the group is full"}
    return {"wid": f"{phone}@c.us", "code": code, "message": messages[code], "invite_code": None,
            "invite_code_exp": None}
