"""GroupsService: one number's groups, through WA-JS's `WPP.group.*` on its page (whatsapp.client.wpp_call).

The REST views (api/groups.py) and the desktop bridge call it through `service.groups`. Input is checked here,
once (group ids, participants as numbers, subject and description lengths, invite codes); WhatsApp's refusals
become errors naming the reason (errors.py). Participants are looked up first (the number look-up cache), so one
not on WhatsApp is refused by name and the id WhatsApp knows (with or without Brazil's ninth digit) is the one
added. Sending to a group is the outbox's: POST /messages with `to` = the group id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import InvalidInput, NumberNotOnWhatsApp, WhatsAppError
from ..validation import group_id, normalize_number
from ..whatsapp.client import WhatsAppClient
from .errors import GroupFull, GroupNotFound, ParticipantNotOnWhatsApp, translated

log = logging.getLogger(__name__)

MAX_SUBJECT = 100  # WhatsApp's limit on a group's subject
MAX_DESCRIPTION = 2048  # ... and on its description
MAX_PARTICIPANTS = 256  # named in one request (WhatsApp's own limit on a group is 1024)
INVITE_BASE = "https://chat.whatsapp.com/"
INVITE_RE = re.compile(r"^(?:https?://)?(?:chat\.whatsapp\.com/)?(?:invite/)?([A-Za-z0-9_-]{10,64})$")
ADDED, ALREADY, NOT_ON_WHATSAPP, FULL = 200, 409, 404, 419  # addParticipants' per-participant codes


class GroupsService:
    """Every group operation of a number: one method per route of /clients/{id}/groups."""

    def __init__(self, client_of: Callable[[str], WhatsAppClient], region: str | None = None):
        self._client_of = client_of  # the pool's get(): NotFound for an unknown number
        self._region = region

    # -- reading ------------------------------------------------------------------------------------------

    def list_groups(self, client_id: str) -> list[dict[str, Any]]:
        """The number's groups: subject, description, participants (admins marked), whether we are admin."""
        client = self._client_of(client_id)
        with _refusals():
            chats = client.wpp_call("group.getAllGroups") or []
        me = _me(client)
        return [_group(c, me) for c in chats if isinstance(c, dict) and isinstance(c.get("id"), str)]

    def get(self, client_id: str, gid: str) -> dict[str, Any]:
        """One group of the number; GroupNotFound when it is not one of its groups."""
        wanted = group_id(gid)
        found = next((g for g in self.list_groups(client_id) if g["id"] == wanted), None)
        if found is None:
            raise GroupNotFound(f"The number is not in a group {wanted}", details={"groupId": wanted})
        return found

    # -- creating, joining, leaving -----------------------------------------------------------------------

    def create(self, client_id: str, subject: Any, participants: Any) -> dict[str, Any]:
        """A new group with these participants; the number is its admin. Returns the group."""
        client = self._client_of(client_id)
        subject = _subject(subject)
        ids = self._on_whatsapp(client, _numbers(participants, self._region, required=True))
        with _refusals():
            made = client.wpp_call("group.create", subject, ids)
        gid = made.get("gid") if isinstance(made, dict) else None
        if not isinstance(gid, str):
            raise WhatsAppError("WhatsApp Web created no group", details={"answer": str(made)[:200]})
        log.info("[Pool] %s: grupo %s criado com %d participantes", client_id, gid, len(ids))
        return self.get(client_id, gid)

    def join(self, client_id: str, invite: Any) -> dict[str, Any]:
        """Join by an invite link or code; InvalidInvite when it is wrong or was revoked."""
        client = self._client_of(client_id)
        code = _invite_code(invite)
        with _refusals():
            joined = client.wpp_call("group.join", code)
        gid = joined.get("id") if isinstance(joined, dict) else None
        if joined.get("pendingApproval") if isinstance(joined, dict) else False:
            return {"id": gid, "pendingApproval": True}
        return {**self.get(client_id, str(gid)), "pendingApproval": False}

    def leave(self, client_id: str, gid: str) -> None:
        """Leave the group (DELETE /groups/{groupId})."""
        wanted = group_id(gid)
        with _refusals(wanted):
            self._client_of(client_id).wpp_call("group.leave", wanted)
        log.info("[Pool] %s: saiu do grupo %s", client_id, wanted)

    # -- changing -----------------------------------------------------------------------------------------

    def update(self, client_id: str, gid: str, subject: Any = None, description: Any = None) -> dict[str, Any]:
        """Set the subject and/or the description; returns the group as it is now."""
        wanted, client = group_id(gid), self._client_of(client_id)
        if subject is None and description is None:
            raise InvalidInput("Give a subject, a description or both", details={"field": "subject"})
        checked_subject = _subject(subject) if subject is not None else None
        checked_description = _description(description) if description is not None else None
        with _refusals(wanted):
            if checked_subject is not None:
                client.wpp_call("group.setSubject", wanted, checked_subject)
            if checked_description is not None:
                client.wpp_call("group.setDescription", wanted, checked_description)
        return self.get(client_id, wanted)

    def add_participants(self, client_id: str, gid: str, participants: Any) -> dict[str, Any]:
        """Add people; each one's outcome in `results`; all refused as full -> GroupFull."""
        wanted, client = group_id(gid), self._client_of(client_id)
        ids = self._on_whatsapp(client, _numbers(participants, self._region, required=True))
        with _refusals(wanted):
            answer = client.wpp_call("group.addParticipants", wanted, ids) or {}
        results = [_outcome(wid, answer.get(wid)) for wid in ids]
        if all(r["status"] == "group_full" for r in results):
            raise GroupFull(f"The group {wanted} is full", details={"groupId": wanted})
        return {"group": self.get(client_id, wanted), "results": results}

    def change_participants(self, client_id: str, gid: str, participants: Any, action: str) -> dict[str, Any]:
        """remove / promote / demote members; returns the group as it is now."""
        wanted, client = group_id(gid), self._client_of(client_id)
        ids = [f"{n}@c.us" for n in _numbers(participants, self._region, required=True)]
        name = {"remove": "group.removeParticipants", "promote": "group.promoteParticipants",
                "demote": "group.demoteParticipants"}[action]
        with _refusals(wanted):
            client.wpp_call(name, wanted, ids)
        return self.get(client_id, wanted)

    def invite(self, client_id: str, gid: str, revoke: bool = False) -> dict[str, str]:
        """The group's invite link (admins only); revoke=True makes a new one and the old stops working."""
        wanted = group_id(gid)
        with _refusals(wanted):
            code = self._client_of(client_id).wpp_call("group.revokeInviteCode" if revoke else "group.getInviteCode",
                                                       wanted)
        if not isinstance(code, str) or not INVITE_RE.match(code):
            raise WhatsAppError("WhatsApp Web gave no invite code", details={"groupId": wanted})
        return {"groupId": wanted, "code": code, "link": INVITE_BASE + code}

    def _on_whatsapp(self, client: WhatsAppClient, numbers: list[str]) -> list[str]:
        """The id WhatsApp knows for each number (cached look-ups); ParticipantNotOnWhatsApp names the first not."""
        ids = []
        for number in numbers:
            found = client.lookups.get(number) or client.check_number(number)
            if not found.get("exists"):
                raise ParticipantNotOnWhatsApp(f"{number} is not on WhatsApp", details={"participant": number})
            ids.append(str(found["id"]))
        return ids


@contextmanager
def _refusals(gid: str | None = None) -> Iterator[None]:
    """WhatsApp's refusals as errors naming the reason."""
    try:
        yield
    except NumberNotOnWhatsApp as exc:
        raise ParticipantNotOnWhatsApp(exc.message, details=exc.details) from None
    except WhatsAppError as exc:
        error = translated(exc, gid)
        if error is exc:
            raise
        raise error from None


def _me(client: WhatsAppClient) -> str | None:
    phone = client.metadata.phone_number
    return f"{phone}@c.us" if phone else None


def _group(chat: dict[str, Any], me: str | None) -> dict[str, Any]:
    """A group as the API shows it (from bridge.js's shape of a ChatModel)."""
    people = [p for p in chat.get("participants") or [] if isinstance(p, dict) and isinstance(p.get("id"), str)]
    participants = [{"id": p["id"], "number": p["id"].split("@", 1)[0], "isAdmin": bool(p.get("isAdmin")),
                     "isSuperAdmin": bool(p.get("isSuperAdmin"))} for p in people]
    mine = next((p for p in participants if p["id"] == me), None)
    return {"id": chat["id"], "subject": chat.get("subject") or "", "description": chat.get("description") or "",
            "owner": chat.get("owner"), "createdAt": chat.get("creation"), "restrict": bool(chat.get("restrict")),
            "announce": bool(chat.get("announce")), "participants": participants, "size": len(participants),
            "iAmAdmin": bool(mine and mine["isAdmin"])}


def _outcome(wid: str, answer: Any) -> dict[str, Any]:
    """One participant's result of addParticipants."""
    code = answer.get("code") if isinstance(answer, dict) else None
    status = {ADDED: "added", ALREADY: "already_participant", NOT_ON_WHATSAPP: "not_on_whatsapp",
              FULL: "group_full", 403: "invite_required", 408: "left_recently"}.get(code, "refused")
    return {"participant": wid, "number": wid.split("@", 1)[0], "status": status, "code": code}


def _numbers(value: Any, region: str | None, required: bool = False) -> list[str]:
    """Participants: a list of phone numbers (each normalized, duplicates dropped)."""
    if not isinstance(value, list) or (required and not value) or len(value) > MAX_PARTICIPANTS:
        raise InvalidInput(f"participants is a list of 1 to {MAX_PARTICIPANTS} phone numbers",
                           details={"field": "participants"})
    return list(dict.fromkeys(normalize_number(v, region) for v in value))


def _subject(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SUBJECT:
        raise InvalidInput(f"A group's subject is 1 to {MAX_SUBJECT} characters", details={"field": "subject"})
    return value.strip()


def _description(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        raise InvalidInput(f"A group's description is text of at most {MAX_DESCRIPTION} characters",
                           details={"field": "description"})
    return value


def _invite_code(value: Any) -> str:
    match = INVITE_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput("An invite is a link https://chat.whatsapp.com/<code> or its code", details={"field": "invite"})
    return match.group(1)

