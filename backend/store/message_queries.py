"""The SQL pieces of MessageStore's reads for the REST API: filters, page sizes, cursors, chat rows."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from ..status import Direction
from .message_schema import COLUMNS, ChatSummary, MessageRecord

MAX_PAGE = 500


def message_filters(client_id: str | None, chat: str | None, direction: str | None, since: int | None,
                    until: int | None) -> tuple[list[str], list[Any]]:
    """WHERE terms and their arguments for list_messages."""
    where: list[str] = []
    args: list[Any] = []
    if direction not in (None, Direction.IN, Direction.OUT):
        raise InvalidInput("direction is 'in' or 'out'", details={"direction": direction})
    for term, value in (("client_id = ?", client_id), ("chat = ?", chat), ("direction = ?", direction),
                        ("created_at >= ?", since), ("created_at < ?", until)):
        if value is not None:
            where.append(term)
            args.append(value)
    return where, args


def where_clause(terms: list[str]) -> str:
    """A WHERE clause, or nothing."""
    return "WHERE " + " AND ".join(terms) if terms else ""


def check_limit(limit: int) -> int:
    """A page size from 1 to MAX_PAGE."""
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit is a whole number from 1 to {MAX_PAGE}", details={"limit": limit})
    return limit


def int_key(key: str) -> int:
    """The seq part of a message cursor."""
    try:
        return int(key)
    except ValueError:
        raise InvalidInput("The cursor is not one this server gave out") from None


def chat_summary(row: Any) -> ChatSummary:
    """A chats row joined with its last message."""
    values = dict(row)
    last = None
    if values["id"] is not None:  # LEFT JOIN: a chat whose last message was deleted has none
        last = MessageRecord.from_row({k: values[k] for k in COLUMNS.replace(" ", "").split(",")})
    return ChatSummary(values["c_client"], values["c_chat"], values["c_last_at"], values["c_unread"],
                       values["c_total"], last)
