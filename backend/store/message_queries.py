"""The SQL pieces of MessageStore's reads for the REST API: filters, page sizes, cursors, chat rows."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput
from ..status import Direction
from .message_schema import COLUMNS, ChatSummary, MessageRecord, Page, decode_cursor, encode_cursor

MAX_PAGE = 500
SELECT = f"SELECT {COLUMNS} FROM messages"
PageQuery = tuple[str, list[Any], int]  # SQL with `?` marks, its arguments, the page size asked


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


def messages_page_query(client_id: str | None, chat: str | None, direction: str | None, since: int | None,
                        until: int | None, cursor: str | None, limit: int) -> PageQuery:
    """One page of list_messages, newest first, one row more than the page to tell whether another follows.
    Both message stores run it (PostgreSQL with its own placeholders, `?` → `%s`)."""
    where, args = message_filters(client_id, chat, direction, since, until)
    if cursor:
        moment, seq = decode_cursor(cursor)
        where.append("(created_at, seq) < (?, ?)")
        args += [moment, int_key(seq)]
    limit = check_limit(limit)
    return f"{SELECT} {where_clause(where)} ORDER BY created_at DESC, seq DESC LIMIT ?", [*args, limit + 1], limit


def chats_page_query(client_id: str, cursor: str | None, limit: int) -> PageQuery:
    """One page of list_chats, most recent first, each chat joined with its last message."""
    where, args = ["c.client_id = ?"], [client_id]
    if cursor:
        moment, chat = decode_cursor(cursor)
        where.append("(c.last_at, c.chat) < (?, ?)")
        args += [moment, chat]
    limit = check_limit(limit)
    cols = ", ".join(f"m.{c.strip()}" for c in COLUMNS.split(","))
    sql = (f"SELECT c.client_id AS c_client, c.chat AS c_chat, c.last_at AS c_last_at, c.unread AS c_unread, "
           f"c.total AS c_total, {cols} FROM chats c LEFT JOIN messages m ON m.seq = c.last_seq "
           f"{where_clause(where)} ORDER BY c.last_at DESC, c.chat DESC LIMIT ?")
    return sql, [*args, limit + 1], limit


def messages_page(rows: list[Any], limit: int) -> Page:
    """The rows of messages_page_query as a page, with the cursor of the next one when there is more."""
    items = [MessageRecord.from_row(r) for r in rows[:limit]]
    return Page(items, encode_cursor(items[-1].created_at, items[-1].seq) if len(rows) > limit else None)


def chats_page(rows: list[Any], limit: int) -> Page:
    """The rows of chats_page_query as a page, with the cursor of the next one when there is more."""
    items = [chat_summary(r) for r in rows[:limit]]
    return Page(items, encode_cursor(items[-1].last_at, items[-1].chat) if len(rows) > limit else None)
