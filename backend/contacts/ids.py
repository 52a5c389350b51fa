"""Ids that come from callers (a URL path, a query) checked before they reach a WhatsApp page: contacts, chats,
and the WhatsApp message id a history page starts before."""

from __future__ import annotations

import re

from ..errors import InvalidInput
from ..validation import GROUP_ID_RE

CONTACT_RE = re.compile(r"^(\d{5,20})(@c\.us)?$")
CHAT_RE = re.compile(r"^(\d{5,20}@c\.us|\d{5,20}(-\d{1,20})?@g\.us|\d{5,20}@lid)$")
# A serialized MsgKey: fromMe, the chat, the id (and a group message's author).
KEY_RE = re.compile(r"^(true|false)_([0-9-]{5,42}@(?:c\.us|g\.us|lid))_([0-9A-Za-z]{4,64})(_[0-9]{5,20}@(?:c\.us|lid))?$")
LATEST = "now"  # ?before=now: the chat's newest messages


def contact_id(raw: str) -> str:
    """A contact as WhatsApp names it (digits@c.us), from digits or that form; else invalid_input."""
    match = CONTACT_RE.match(raw or "")
    if not match:
        raise InvalidInput("A contact id is a phone number with its country code (digits), or digits@c.us",
                           details={"field": "contactId"})
    return f"{match.group(1)}@c.us"


def picture_id(raw: str) -> str:
    """Whose picture: a contact (as contact_id takes it) or a group (…@g.us); else invalid_input."""
    if GROUP_ID_RE.fullmatch(raw or ""):
        return raw
    match = CONTACT_RE.match(raw or "")
    if not match:
        raise InvalidInput("A picture is a contact's (digits with country code, or digits@c.us) or a group's "
                           "(…@g.us)", details={"field": "contactId"})
    return f"{match.group(1)}@c.us"


def chat_id(raw: str) -> str:
    """A chat id: digits@c.us, a group's ...@g.us, or digits@lid; bare digits mean digits@c.us."""
    value = f"{raw}@c.us" if (raw or "").isdigit() else raw or ""
    if not CHAT_RE.match(value):
        raise InvalidInput("A chat id looks like 5511999990001@c.us (or a group's ...@g.us)",
                           details={"field": "chatId"})
    return value


def before_key(raw: str, chat: str) -> str | None:
    """?before=: a WhatsApp message id of this chat (a message's waMessageId), or `now` (None: the newest)."""
    if raw == LATEST:
        return None
    match = KEY_RE.match(raw)
    if not match or match.group(2) != chat:
        raise InvalidInput("'before' is the waMessageId of a message of this chat, or 'now'",
                           details={"field": "before"})
    return raw
