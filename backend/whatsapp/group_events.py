"""WA-JS's group events turned into ZapPool's: who joined, left, was promoted or demoted in a group, and the
group's subject, description or picture changed (WhatsApp tells that with a `gp2` notification message in the group's
chat, which is news about the group, not a message someone wrote: it never becomes a `message` event).

Functions of the ClientSession (its `_emit` and `metadata`), called from page_events' handlers. Everything in a
payload came from a web page: ids are checked, lists and texts are bounded.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

GROUP_ID_RE = re.compile(r"^\d{10,30}(-\d{1,20})?@g\.us$")
USER_ID_RE = re.compile(r"^\d{5,20}@(c\.us|lid)$")
MAX_PARTICIPANTS = 1024  # WhatsApp's group size limit: no event names more
MAX_TEXT = 2048
# WA-JS's group.participant_changed actions -> ZapPool's words.
ACTIONS = {"add": "added", "remove": "removed", "promote": "promoted", "demote": "demoted", "join": "joined",
           "leaver": "left"}
NOTICES = {"subject": "subject", "description": "description", "picture": "picture"}  # gp2 subtype -> field


class _Session(Protocol):
    def _emit(self, name: str, **data: Any) -> None: ...


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def on_participants(session: _Session, payload: Any, my_id: str | None) -> None:
    """`group.participant_changed`: `group_participants` always; `group_joined`/`group_left` when our own number is
    among the participants (added or joined by link; removed or left)."""
    if not isinstance(payload, dict) or not GROUP_ID_RE.match(str(payload.get("groupId"))):
        return
    action = ACTIONS.get(str(payload.get("action")))
    raw = payload.get("participants")
    if action is None or not isinstance(raw, list):
        return
    participants = [p for p in raw[:MAX_PARTICIPANTS] if isinstance(p, str) and USER_ID_RE.match(p)]
    author = payload.get("author") if isinstance(payload.get("author"), str) and USER_ID_RE.match(payload["author"]) else None
    data = {"groupId": payload["groupId"], "action": action, "participants": participants, "author": author,
            "authorName": _text(payload.get("authorPushName"))}
    session._emit("group_participants", **data)
    if my_id is not None and my_id in participants:
        if action in ("added", "joined"):
            session._emit("group_joined", groupId=data["groupId"], author=author)
        elif action in ("removed", "left"):
            session._emit("group_left", groupId=data["groupId"], author=author, removed=action == "removed")


def on_notice(session: _Session, msg: dict[str, Any]) -> None:
    """A `gp2` notification: the subject, the description or the picture changed -> `group_updated` with the new
    text, or `picture: true` (the picture itself is GET .../groups/{id}/picture); other kinds are dropped:
    participant changes come as group.participant_changed."""
    field = NOTICES.get(str(msg.get("subtype")))
    group_id = next((g for g in (msg.get("from"), msg.get("to")) if isinstance(g, str) and GROUP_ID_RE.match(g)), None)
    if field is None or group_id is None:
        return
    author = msg.get("author") if isinstance(msg.get("author"), str) and USER_ID_RE.match(msg["author"]) else None
    value = True if field == "picture" else _text(msg.get("notice"))
    session._emit("group_updated", groupId=group_id, author=author, **{field: value})
