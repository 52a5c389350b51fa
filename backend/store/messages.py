"""MessageStore: dados/messages.db, the durable outbox and the log of every message in and out.

The outbox writes through the methods in the first half (each one short transaction, fsynced on commit);
the REST API and the pool read through the second half. Schema and records: message_schema.py.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..status import Routing
from .message_queries import SELECT, chats_page, chats_page_query, messages_page, messages_page_query
from .message_schema import (ACK_STATUS, COLUMNS, MIGRATIONS, SENT_STATUSES, MessageCounts, MessageRecord, Page,
                             INCOMING_COLUMNS, incoming_row, tally_counts, total_counts)
from .limits import LimitStore
from .sqlite_db import Database

log = logging.getLogger(__name__)
# A message that may be out already stays with the number that may have sent it, which alone can look for it,
# for this long while that number is down; then it goes back to routing like any other (it may arrive twice).
HOLD_FOR_CHECK_MS = 10 * 60 * 1000
# Auto-routed rows a number is holding for that check: release_auto leaves them with it until the hold ends.
HELD = "possible_duplicate = 1 AND key_id IS NOT NULL AND updated_at > ?"


def new_key_id() -> str:
    """A message id in WhatsApp Web's own form: 3EB0 and 16 upper-case hex digits."""
    return "3EB0" + secrets.token_hex(8).upper()


class MessageStore:
    """Messages in SQLite (WAL, synchronous=FULL); safe to call from any thread."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time):
        self.path = path
        self._clock = clock
        self._db = Database(path, MIGRATIONS)
        self._counts: tuple[int, dict[str, MessageCounts]] = (-1, {})  # (write generation, counts) last read

    @property
    def set_aside_as(self) -> Path | None:
        """Where a damaged messages.db found at start was moved, if it was."""
        return self._db.set_aside_as

    @property
    def database(self) -> Database:
        """The open messages.db, for the stores that keep their small tables in it (limits.py)."""
        return self._db

    def limit_store(self) -> LimitStore:
        """The per-number send limits, kept in this same file (they count its rows)."""
        return LimitStore(self._db)

    def close(self) -> None:
        """Close the database; later calls raise."""
        self._db.close()

    def _now(self) -> int:
        """The clock in epoch milliseconds."""
        return int(self._clock() * 1000)

    def _one(self, sql: str, args: Iterable[Any] = ()) -> MessageRecord | None:
        """The first row of a read as a record."""
        row = self._db.read().execute(sql, tuple(args)).fetchone()
        return MessageRecord.from_row(row) if row else None

    # -- the outbox's writes -----------------------------------------------------------------------------

    def add_outgoing(self, message_id: str, *, client_id: str | None, to_number: str, chat: str, type: str,
                     body: str | None, media: dict[str, Any] | None = None,
                     tag: str | None = None) -> MessageRecord:
        """Accept a message: it is on disk, queued, when this returns. client_id None: any ready number; `tag`:
        the campaign that sent it (the reports' funnel by campaign)."""
        now = self._now()
        (row,) = self._db.write_one(
            "INSERT INTO messages (id, direction, client_id, routing, chat, to_number, type, body, media, status,"
            f" created_at, updated_at, tag) VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) RETURNING {COLUMNS}",
            (message_id, client_id, Routing.AUTO if client_id is None else Routing.PINNED, chat, to_number, type,
             body, json.dumps(media) if media else None, now, now, tag))
        return MessageRecord.from_row(row)

    def assign(self, message_id: str, client_id: str) -> bool:
        """Give a waiting auto-routed message to a number; False if it is no longer waiting for one. Not fsynced:
        lost in a power cut, the message waits for a number again (the number's claim fsyncs it first)."""
        return bool(self._db.write_one("UPDATE messages SET client_id = ?, updated_at = ? WHERE id = ? AND "
                                       "status = 'queued' AND routing = 'auto' AND client_id IS NULL RETURNING id",
                                       (client_id, self._now(), message_id), durable=False))

    def release_auto(self, client_id: str) -> int:
        """Take back the auto-routed messages given to a number that stopped being ready (but not, for a while,
        one it may have sent already: see HOLD_FOR_CHECK_MS)."""
        now = self._now()
        with self._db.write() as conn:
            return conn.execute(f"UPDATE messages SET client_id = NULL, updated_at = ? WHERE client_id = ? AND "
                                f"status = 'queued' AND routing = 'auto' AND NOT ({HELD})",
                                (now, client_id, now - HOLD_FOR_CHECK_MS)).rowcount

    def claim(self, message_id: str, client_id: str) -> MessageRecord | None:
        """queued -> sending, by this number, counting an attempt: the row as claimed, None if it was not
        queued. The first claim chooses the message's WhatsApp id (key_id), on disk before anything reaches
        the page."""
        rows = self._db.write_one("UPDATE messages SET status = 'sending', client_id = ?, attempts = attempts + 1, "
                                  "key_id = coalesce(key_id, ?), updated_at = ? WHERE id = ? AND status = 'queued' "
                                  f"RETURNING {COLUMNS}", (client_id, new_key_id(), self._now(), message_id))
        return MessageRecord.from_row(rows[0]) if rows else None

    def claim_next(self, client_id: str, now_ms: int) -> MessageRecord | None:
        """claim() of a number's oldest queued message if its retry time has come, in one statement; None when
        there is none or it is not due (the caller then reads why)."""
        rows = self._db.write_one(
            "UPDATE messages SET status = 'sending', attempts = attempts + 1, key_id = coalesce(key_id, ?), "
            "updated_at = ? WHERE id = (SELECT id FROM messages WHERE status = 'queued' AND client_id = ? "
            f"ORDER BY seq LIMIT 1) AND next_attempt_at <= ? RETURNING {COLUMNS}",
            (new_key_id(), self._now(), client_id, now_ms))
        return MessageRecord.from_row(rows[0]) if rows else None

    def claim_auto(self, client_id: str, now_ms: int, accepted_before: int) -> MessageRecord | None:
        """claim() of the older of this number's next queued message and the oldest due auto-routed message no
        number holds yet, accepted before `accepted_before` (epoch ms), in one statement (fsynced as claim: the
        key_id on disk before the page sees it); None when that one is not due. A number without pacing works
        through a backlog this way, with no router hand-off; one the router gave it meanwhile is older, so it
        still goes first. (`+created_at`: the queue's index in seq order, not the time index and a sort of the
        whole backlog on every claim, which grew with the backlog: 1.2 ms per claim at 3,000 waiting.)"""
        rows = self._db.write_one(
            "UPDATE messages SET status = 'sending', client_id = ?, attempts = attempts + 1, "
            "key_id = coalesce(key_id, ?), updated_at = ? WHERE id = (SELECT id FROM ("
            "SELECT * FROM (SELECT id, seq FROM messages WHERE status = 'queued' AND client_id = ? "
            "ORDER BY seq LIMIT 1) UNION ALL SELECT * FROM (SELECT id, seq FROM messages WHERE status = 'queued' "
            "AND client_id IS NULL AND next_attempt_at <= ? AND +created_at < ? ORDER BY seq LIMIT 1)) ORDER BY seq "
            f"LIMIT 1) AND next_attempt_at <= ? RETURNING {COLUMNS}",
            (client_id, new_key_id(), self._now(), client_id, now_ms, accepted_before, now_ms))
        return MessageRecord.from_row(rows[0]) if rows else None

    def mark_sent(self, message_id: str, *, wa_id: str | None, chat: str | None,
                  ack: int | None) -> MessageRecord | None:
        """sending -> sent with WhatsApp's id and the chat id WhatsApp used (ninth digit and all); the row as
        sent, None if it was not sending. Not fsynced: lost in a power cut, it is 'sending' again and the restart
        finds it on WhatsApp by key_id, not resending."""
        now = self._now()
        rows = self._db.write_one("UPDATE messages SET status = 'sent', wa_id = ?, chat = coalesce(?, chat), "
                                  "ack = max(coalesce(?, 1), 1), sent_at = ?, updated_at = ?, error_code = NULL, "
                                  f"reason = NULL WHERE id = ? AND status = 'sending' RETURNING {COLUMNS}",
                                  (wa_id, chat, ack, now, now, message_id), durable=False)
        return MessageRecord.from_row(rows[0]) if rows else None

    def mark_failed(self, message_id: str, code: str, reason: str) -> bool:
        """A message that will not be sent: failed with why; False if it already finished."""
        now = self._now()
        with self._db.write() as conn:
            cur = conn.execute("UPDATE messages SET status = 'failed', error_code = ?, reason = ?, failed_at = ?,"
                               " updated_at = ? WHERE id = ? AND status IN ('queued', 'sending')",
                               (code, reason, now, now, message_id))
            return cur.rowcount == 1

    def cancel_queued(self, message_id: str, code: str, reason: str) -> bool:
        """Give up on a message nobody has tried to send yet; False if it is already being sent or done."""
        now = self._now()
        with self._db.write() as conn:
            cur = conn.execute("UPDATE messages SET status = 'failed', error_code = ?, reason = ?, failed_at = ?,"
                               " updated_at = ? WHERE id = ? AND status = 'queued'",
                               (code, reason, now, now, message_id))
            return cur.rowcount == 1

    def fail_queued_for(self, client_id: str, code: str, reason: str) -> list[MessageRecord]:
        """A number is gone: fail the messages queued for it, give its auto-routed ones back to routing."""
        now = self._now()
        pinned = "status = 'queued' AND client_id = ? AND routing = 'pinned'"
        with self._db.write() as conn:
            ids = [row[0] for row in conn.execute(f"SELECT id FROM messages WHERE {pinned}", (client_id,))]
            conn.execute(f"UPDATE messages SET status = 'failed', error_code = ?, reason = ?, failed_at = ?, "
                         f"updated_at = ? WHERE {pinned}", (code, reason, now, now, client_id))
            conn.execute("UPDATE messages SET client_id = NULL, updated_at = ? WHERE status = 'queued' AND "
                         "client_id = ? AND routing = 'auto'", (now, client_id))
        return [r for r in (self.get(i) for i in ids) if r is not None]

    def retry_later(self, message_id: str, *, next_attempt_at: int, code: str, reason: str,
                    uncount: bool = False, possible_duplicate: bool = False, release: bool = False) -> None:
        """sending -> queued after a transient error; `release` gives an auto-routed one back to routing (the
        caller does not release one that may be out already: only its number can look for it)."""
        with self._db.write() as conn:
            conn.execute(
                "UPDATE messages SET status = 'queued', next_attempt_at = ?, error_code = ?, reason = ?, "
                "attempts = attempts - ?, possible_duplicate = possible_duplicate OR ?, updated_at = ?, "
                "client_id = CASE WHEN ? AND routing = 'auto' THEN NULL ELSE client_id END "
                "WHERE id = ? AND status = 'sending'",
                (next_attempt_at, code, reason, int(uncount), int(possible_duplicate), self._now(),
                 int(release), message_id))

    def recover_in_flight(self) -> list[MessageRecord]:
        """After a crash: rows left `sending` may be out already; queue them again, flagged possible_duplicate,
        with the number that was sending them (it looks for each on WhatsApp before sending it again)."""
        with self._db.write() as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM messages WHERE status = 'sending'")]
            # Routing decisions were only good for the numbers that were ready before the restart.
            conn.execute("UPDATE messages SET client_id = NULL WHERE status = 'queued' AND routing = 'auto' "
                         "AND client_id IS NOT NULL")
            conn.execute("UPDATE messages SET status = 'queued', possible_duplicate = 1, next_attempt_at = 0, "
                         "updated_at = ? WHERE status = 'sending'", (self._now(),))
        return [r for r in (self.get(i) for i in ids) if r is not None]

    def apply_acks(self, acks: list[tuple[str, str, int]], *,
                   advanced: list[str] | None = None) -> list[tuple[str, str, int]]:
        """Apply (client_id, wa_id, ack) forward only (2 delivered, 3 read); returns those with no row yet.
        `advanced`, when given, receives the ids of the messages an ack moved forward. Not fsynced: a power cut
        may lose the newest acks (the message shows an earlier step)."""
        unmatched = []
        now = self._now()
        with self._db.write(durable=False) as conn:
            for client_id, wa_id, ack in acks:
                moved = self._advance(conn, client_id, wa_id, ack, now) if ack in ACK_STATUS else None
                if moved is not None:
                    if advanced is not None:
                        advanced.append(moved)
                elif conn.execute("SELECT 1 FROM messages WHERE client_id = ? AND wa_id = ?",
                                  (client_id, wa_id)).fetchone() is None:
                    unmatched.append((client_id, wa_id, ack))
        return unmatched

    @staticmethod
    def _advance(conn: Any, client_id: str, wa_id: str, ack: int, now: int) -> str | None:
        """Move a sent row to the status of a higher ack, stamping the times it skipped; its id, None if there is
        no such sent row or the ack is not higher (one statement: the common case needs no read first)."""
        row = conn.execute("UPDATE messages SET ack = ?, status = ?, updated_at = ?, "
                           "delivered_at = CASE WHEN ? >= 2 THEN coalesce(delivered_at, ?) END, "
                           "read_at = CASE WHEN ? >= 3 THEN coalesce(read_at, ?) END "
                           "WHERE client_id = ? AND wa_id = ? AND status IN (?, ?, ?) AND coalesce(ack, 0) < ? "
                           "RETURNING id",
                           (ack, ACK_STATUS[ack], now, ack, now, ack, now, client_id, wa_id, *SENT_STATUSES,
                            ack)).fetchone()
        return row[0] if row else None

    def add_incoming(self, items: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Log (client_id, message id, WhatsApp message dict) as received; repeats are ignored. Returns added."""
        now, added = self._now(), 0
        values = "?, 'in', " + ", ".join(["?"] * 6) + ", 'received', " + ", ".join(["?"] * 5)
        with self._db.write() as conn:
            for client_id, message_id, msg in items:
                cur = conn.execute(f"INSERT INTO messages ({INCOMING_COLUMNS}) VALUES ({values}) "
                                   "ON CONFLICT (client_id, wa_id) WHERE wa_id IS NOT NULL DO NOTHING",
                                   incoming_row(client_id, message_id, msg, now))
                added += cur.rowcount
        return added

    def known_incoming(self, client_id: str, wa_ids: list[str]) -> set[str]:
        """Of these WhatsApp ids, those a number's log already has (the catch-up at connect logs the rest)."""
        chunks = [wa_ids[i:i + 500] for i in range(0, len(wa_ids), 500)]  # under SQLite's variable limit
        sql = "SELECT wa_id FROM messages WHERE client_id = ? AND wa_id IN ({})"
        return {row[0] for chunk in chunks
                for row in self._db.read().execute(sql.format(",".join("?" * len(chunk))), (client_id, *chunk))}

    def mark_chat_read(self, client_id: str, chat: str) -> int:
        """Mark the incoming messages of a chat read; returns how many were unread."""
        now = self._now()
        with self._db.write() as conn:
            return conn.execute("UPDATE messages SET status = 'read', read_at = ?, updated_at = ? WHERE chat = ? "
                                "AND client_id = ? AND direction = 'in' AND status = 'received'",
                                (now, now, chat, client_id)).rowcount

    # -- the outbox's reads --------------------------------------------------------------------------------

    def next_for_client(self, client_id: str) -> MessageRecord | None:
        """The oldest queued message of a number (its own and auto-routed ones given to it)."""
        return self._one(f"{SELECT} WHERE status = 'queued' AND client_id = ? ORDER BY seq LIMIT 1", (client_id,))

    def next_auto(self, now_ms: int) -> tuple[str | None, frozenset[str]]:
        """For the router, in one read: the id of the oldest auto-routed message waiting for a number whose retry
        time has come (None: none), and the numbers holding an auto-routed message they have not started."""
        row = self._db.read().execute(
            "SELECT (SELECT id FROM messages WHERE status = 'queued' AND client_id IS NULL AND next_attempt_at <= ?"
            " ORDER BY seq LIMIT 1), (SELECT json_group_array(DISTINCT client_id) FROM messages WHERE"
            " status = 'queued' AND routing = 'auto' AND client_id IS NOT NULL)", (now_ms,)).fetchone()
        return row[0], frozenset(json.loads(row[1]))

    def auto_due_at(self) -> int | None:
        """When the next auto-routed message waiting for a number may be tried (epoch ms), None if none waits."""
        row = self._db.read().execute("SELECT min(next_attempt_at) FROM messages "
                                      "WHERE status = 'queued' AND client_id IS NULL").fetchone()
        return row[0]

    def pending_clients(self) -> list[str]:
        """Numbers with messages queued for them."""
        rows = self._db.read().execute("SELECT DISTINCT client_id FROM messages WHERE status = 'queued' "
                                       "AND client_id IS NOT NULL").fetchall()
        return [row[0] for row in rows]

    def auto_holders(self) -> set[str]:
        """Numbers holding an auto-routed message they have not started sending."""
        rows = self._db.read().execute("SELECT DISTINCT client_id FROM messages WHERE status = 'queued' "
                                       "AND routing = 'auto' AND client_id IS NOT NULL").fetchall()
        return {row[0] for row in rows}

    def pending_ids(self) -> set[str]:
        """Ids of every message not finished yet (their media files must stay)."""
        rows = self._db.read().execute("SELECT id FROM messages WHERE status = 'queued' UNION ALL "
                                       "SELECT id FROM messages WHERE status = 'sending'").fetchall()
        return {row[0] for row in rows}

    # -- reads for the API ----------------------------------------------------------------------------------

    def get(self, message_id: str) -> MessageRecord | None:
        """One message by ZapPool's id."""
        return self._one(f"{SELECT} WHERE id = ?", (message_id,))

    def received(self, client_id: str, wa_id: str) -> MessageRecord | None:
        """A message this number received, by WhatsApp's id (the log's unique (client_id, wa_id) index)."""
        return self._one(f"{SELECT} WHERE client_id = ? AND wa_id = ? AND direction = 'in'", (client_id, wa_id))

    def get_many(self, message_ids: list[str]) -> list[MessageRecord]:
        """Messages by ZapPool's ids, in one read (those that exist, in no particular order)."""
        if not message_ids:
            return []
        marks = ", ".join("?" * len(message_ids))
        rows = self._db.read().execute(f"{SELECT} WHERE id IN ({marks})", message_ids).fetchall()
        return [MessageRecord.from_row(row) for row in rows]

    def list_messages(self, *, client_id: str | None = None, chat: str | None = None, direction: str | None = None,
                      since: int | None = None, until: int | None = None, cursor: str | None = None,
                      limit: int = 50) -> Page:
        """Messages newest first, filtered; since/until are epoch ms (until exclusive)."""
        sql, args, limit = messages_page_query(client_id, chat, direction, since, until, cursor, limit)
        return messages_page(self._db.read().execute(sql, args).fetchall(), limit)

    def chat_messages(self, client_id: str, chat: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """The messages of one conversation of one number, newest first."""
        return self.list_messages(client_id=client_id, chat=chat, cursor=cursor, limit=limit)

    def list_chats(self, client_id: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """A number's conversations, most recent first, each with its last message and unread count."""
        sql, args, limit = chats_page_query(client_id, cursor, limit)
        return chats_page(self._db.read().execute(sql, args).fetchall(), limit)

    def counts(self) -> dict[str, MessageCounts]:
        """Per number: sent, received, pending, failed ('' holds auto-routed messages not yet given one).

        Read again only after a write: GET /stats and /metrics ask on every request, and a query releases the
        GIL, which under load costs a request thread far more than the query's few microseconds."""
        generation, counts = self._counts
        if generation == self._db.generation:
            return dict(counts)
        generation = self._db.generation  # read before the query: a write during it makes the next call re-read
        rows = self._db.read().execute("SELECT client_id, direction, status, n FROM message_counts "
                                       "WHERE n > 0").fetchall()
        counts = tally_counts(rows)
        self._counts = (generation, counts)
        return dict(counts)

    def totals(self) -> MessageCounts:
        """All numbers together (totalMessages is `sent`)."""
        return total_counts(self.counts())
