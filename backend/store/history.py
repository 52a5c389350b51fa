"""A chat's earlier messages, fetched from WhatsApp (WPP.chat.getMessages, paging backwards), kept in the
message log so that a second look at them is local.

They are rows of the same `messages` table, deduplicated by WhatsApp's id (the log's unique (client_id, wa_id)
index: a message the number received or sent through ZapPool is not written twice), stamped with WhatsApp's
own time so they sort into the conversation where they belong. They are the past, not traffic: incoming ones
are written read and outgoing ones as WhatsApp's ack says, and the same transaction takes them out of the
per-number counts (GET /stats counts what ZapPool sent and received) and leaves the chat's unread count and
last message as they were (the log's triggers would count a history row as a new arrival).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from .message_schema import ACK_STATUS, COLUMNS, MessageRecord
from .sqlite_db import Database

MAX_BATCH = 500  # rows per call: one history page is far smaller


class HistoryLog:
    """Writes WhatsApp's history pages into the message log, and reads them back as log records."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time):
        self._db = db
        self._clock = clock

    def add(self, client_id: str, chat: str, messages: list[dict[str, Any]]) -> list[MessageRecord]:
        """Keep these WhatsApp messages (bridge.js's message shape plus `ack`) of one chat; those already in
        the log stay as they are. Returns every one of them as the log holds it, newest first."""
        rows = [_row(client_id, chat, m) for m in messages[:MAX_BATCH] if isinstance(m.get("id"), str)]
        if not rows:
            return []
        now = int(self._clock() * 1000)
        with self._db.write() as conn:
            before = conn.execute("SELECT last_seq, last_at, unread, total FROM chats WHERE client_id = ? AND chat = ?",
                                  (client_id, chat)).fetchone()
            added: Counter[tuple[str, str]] = Counter()
            newest: tuple[int, int] | None = None
            for row in rows:
                cur = conn.execute(
                    "INSERT INTO messages (id, direction, client_id, chat, to_number, sender, type, body, media, "
                    "status, ack, wa_id, notify_name, wa_t, created_at, updated_at, read_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (client_id, wa_id) WHERE wa_id IS NOT NULL DO NOTHING RETURNING seq",
                    (*row, now, now if row[1] == "in" else None))
                seq = cur.fetchone()
                if seq is not None:
                    added[(row[1], row[9])] += 1
                    newest = max(newest or (0, 0), (row[14], seq[0]))
            if added:
                _undo_counts(conn, client_id, added)
                _keep_chat(conn, client_id, chat, before, newest, sum(added.values()))
        return self._read(client_id, [row[11] for row in rows])

    def _read(self, client_id: str, wa_ids: list[str]) -> list[MessageRecord]:
        """The log's rows of these WhatsApp ids, newest first."""
        marks = ", ".join("?" * len(wa_ids))
        rows = self._db.read().execute(f"SELECT {COLUMNS} FROM messages WHERE client_id = ? AND wa_id IN ({marks}) "
                                       "ORDER BY created_at DESC, seq DESC", (client_id, *wa_ids)).fetchall()
        return [MessageRecord.from_row(r) for r in rows]


def _row(client_id: str, chat: str, msg: dict[str, Any]) -> tuple[Any, ...]:
    """The INSERT values of one history message (without updated_at and read_at)."""
    mine = bool(msg.get("fromMe"))
    ack = msg.get("ack") if isinstance(msg.get("ack"), int) and not isinstance(msg.get("ack"), bool) else None
    status = ACK_STATUS.get(ack or 1, ACK_STATUS[1]).value if mine else "read"
    t = msg.get("t") if isinstance(msg.get("t"), int) and not isinstance(msg.get("t"), bool) else None
    body = msg.get("body") if msg.get("body") is not None else msg.get("caption")
    media = None
    if msg.get("mimetype"):
        media = json.dumps({k: msg.get(k) for k in ("mimetype", "filename", "size")})
    return (uuid.uuid4().hex, "out" if mine else "in", client_id, chat, chat.split("@")[0] if mine else None,
            None if mine else msg.get("author") or msg.get("from"), str(msg.get("type") or "chat")[:40], body, media, status,
            ack if mine else None, msg["id"], msg.get("notifyName") or None, t,
            t * 1000 if t is not None else int(time.time() * 1000))


def _undo_counts(conn: Any, client_id: str, added: Counter[tuple[str, str]]) -> None:
    """History is not traffic: take its rows back out of the per-number counts the insert trigger raised."""
    for (direction, status), n in added.items():
        conn.execute("UPDATE message_counts SET n = n - ? WHERE client_id = ? AND direction = ? AND status = ?",
                     (n, client_id, direction, status))


def _keep_chat(conn: Any, client_id: str, chat: str, before: Any, newest: tuple[int, int] | None,
               added: int) -> None:
    """The chat's row as it was, with the history counted in its total; a chat the log had not seen gets its
    newest history message as its last one, nothing unread."""
    if before is not None:
        last_at, last_seq = max((before[1], before[0]), newest or (0, 0))
        conn.execute("UPDATE chats SET last_seq = ?, last_at = ?, unread = ?, total = ? WHERE client_id = ? AND "
                     "chat = ?", (last_seq, last_at, before[2], before[3] + added, client_id, chat))
    elif newest is not None:
        conn.execute("INSERT INTO chats VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT DO UPDATE SET last_seq = excluded.last_seq,"
                     " last_at = excluded.last_at, unread = 0, total = excluded.total",
                     (client_id, chat, newest[1], newest[0], added))
