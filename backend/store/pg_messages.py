"""PgMessageStore: the outbox and message log on PostgreSQL, shared by every node of a cluster (issue 20).

The same interface as MessageStore (message_protocol.MessageLog), statement for statement where the two
databases allow, so the outbox runs unchanged on either. What differs, and why:

- Claims lock the row they take (`FOR UPDATE`): a number's own queue waits for a row another transaction
  holds, so its messages still leave in order; the shared queue of auto-routed messages is taken with
  `FOR UPDATE SKIP LOCKED`, so nodes competing for it never wait on each other.
- Fencing, when the store is built with `fence` (a node's `lambda client: node.lease(client).token`): a claim
  runs zapool_fence(number, token) in its own transaction and records the token in `claim_token`; marking the
  message sent or queued again checks in SQL that the claim's token is still the number's current lease.
  A stale node's writes are refused by the database (LeaseLost), whatever the node believes.
- recover_in_flight takes back only the claims whose lease is no longer current (a dead or stale node's), not
  the messages other live nodes are sending.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ..status import Routing
from . import pg_cluster
from .message_queries import SELECT, chats_page, chats_page_query, messages_page, messages_page_query
from .message_schema import (ACK_STATUS, COLUMNS, SENT_STATUSES, MessageCounts, MessageRecord, Page,
                             INCOMING_COLUMNS, incoming_row, tally_counts, total_counts)
from .messages import HOLD_FOR_CHECK_MS, new_key_id
from .pg_cluster import stale_lease_refused
from .pg_db import PgDatabase
from .pg_limits import PgLimitStore
from .pg_message_schema import FOLD_COUNTS, FOLD_LOCK, MIGRATIONS

HELD = "possible_duplicate AND key_id IS NOT NULL AND updated_at > %(held_after)s"
# A row's claim must still be its number's current lease (no claim_token: this store does not fence).
CLAIM_CURRENT = "(claim_token IS NULL OR zapool_fence_ok(client_id, claim_token))"
CLAIMED = ("status = 'sending', attempts = attempts + 1, key_id = coalesce(key_id, %(key)s), "
           "updated_at = %(now)s, claim_token = %(token)s")
# A claim's row is locked by whoever picks it: a number's own queue in order, the shared one skipping.
OWN_NEXT = ("SELECT id, seq FROM messages WHERE status = 'queued' AND client_id = %(client)s ORDER BY seq LIMIT 1 "
            "FOR UPDATE")
# Only one older than the number's own next is locked: a row locked and then not taken would be skipped by the
# other numbers meanwhile, and leave after younger ones.
SHARED_NEXT = ("SELECT id, seq FROM messages WHERE status = 'queued' AND client_id IS NULL AND next_attempt_at <= "
               "%(due)s AND created_at < %(before)s AND seq < coalesce((SELECT seq FROM own), 9223372036854775807) "
               "ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED")
LEASE_LIVE = ("EXISTS (SELECT 1 FROM leases l WHERE l.client_id = m.client_id AND l.expires_at > clock_timestamp()"
              " {and_token})")
# A number's claims and the router's hand-offs to it take turns (pg_advisory_xact_lock(NUMBER_TURN, hash)): else
# a claim could skip the row being handed to its own number and send a younger one first.
NUMBER_TURN = 0x5A50
FenceToken = Callable[[str], int]


def _rows(conn: psycopg.Connection[Any], sql: str, args: Any = ()) -> list[dict[str, Any]]:
    """Every row of a statement as a dict (what MessageRecord.from_row reads)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else []


def _record(rows: list[dict[str, Any]]) -> MessageRecord | None:
    """The first row as a record, None without one."""
    return MessageRecord.from_row(rows[0]) if rows else None


class PgMessageStore:
    """Messages in PostgreSQL; safe from any thread and any node."""

    def __init__(self, db: PgDatabase, *, clock: Callable[[], float] = time.time, fence: FenceToken | None = None):
        """`fence(client_id)`: the token of this node's lease on that number (raising LeaseLost without one);
        None: no fencing (one node alone on the database)."""
        self._db = db
        self._clock = clock
        self._fence = fence
        db.migrate("cluster", pg_cluster.MIGRATIONS)  # the leases recover_in_flight and the fences read
        db.migrate("messages", MIGRATIONS)

    @property
    def set_aside_as(self) -> Path | None:
        """Never: PostgreSQL keeps its own files; there is no damaged file to set aside."""
        return None

    def limit_store(self) -> PgLimitStore:
        """The per-number send limits, in the same database."""
        return PgLimitStore(self._db, clock=self._clock)

    def close(self) -> None:
        """Close the pool; later calls raise StoreClosed."""
        self._db.close()

    def _now(self) -> int:
        """The clock in epoch milliseconds."""
        return int(self._clock() * 1000)

    def _write(self, sql: str, args: Any = (), *, durable: bool = True) -> list[dict[str, Any]]:
        """One statement in its own transaction; LeaseLost when a fence in it refuses. `durable=False` where
        MessageStore skips the fsync (a write whose loss a restart repairs): the commit does not wait for the
        WAL flush (synchronous_commit off: a crash may lose it, never corrupt)."""
        with stale_lease_refused(None), self._db.transaction() as conn:
            if not durable:
                conn.execute("SET LOCAL synchronous_commit = off")
            return _rows(conn, sql, args)

    def _claim(self, client_id: str, sql: str, args: dict[str, Any]) -> MessageRecord | None:
        """A claim for a number: fenced by its lease when this store fences, in the claim's own transaction."""
        with stale_lease_refused(client_id), self._db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (NUMBER_TURN, client_id))
            token = None
            if self._fence is not None:
                token = self._fence(client_id)
                conn.execute("SELECT zapool_fence(%s, %s)", (client_id, token))
            return _record(_rows(conn, sql, {**args, "client": client_id, "token": token, "key": new_key_id(),
                                             "now": self._now()}))

    # -- the outbox's writes -----------------------------------------------------------------------------

    def add_outgoing(self, message_id: str, *, client_id: str | None, to_number: str, chat: str, type: str,
                     body: str | None, media: dict[str, Any] | None = None,
                     tag: str | None = None) -> MessageRecord:
        """Accept a message: committed, queued, when this returns. client_id None: any ready number; `tag`:
        the campaign that sent it."""
        now = self._now()
        rows = self._write(
            "INSERT INTO messages (id, direction, client_id, routing, chat, to_number, type, body, media, status,"
            " created_at, updated_at, tag) VALUES (%s, 'out', %s, %s, %s, %s, %s, %s, %s, 'queued', %s, %s, %s) "
            f"RETURNING {COLUMNS}", (message_id, client_id, (Routing.AUTO if client_id is None else Routing.PINNED).value,
                                     chat, to_number, type, body, json.dumps(media) if media else None, now, now, tag))
        return MessageRecord.from_row(rows[0])

    def assign(self, message_id: str, client_id: str) -> bool:
        """Give a waiting auto-routed message to a number; False if it is no longer waiting for one."""
        with self._db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (NUMBER_TURN, client_id))
            conn.execute("SET LOCAL synchronous_commit = off")  # as MessageStore: lost, the message waits again
            return bool(conn.execute("UPDATE messages SET client_id = %s, updated_at = %s WHERE id = %s AND "
                                     "status = 'queued' AND routing = 'auto' AND client_id IS NULL RETURNING id",
                                     (client_id, self._now(), message_id)).fetchone())

    def release_auto(self, client_id: str) -> int:
        """Take back the auto-routed messages given to a number that stopped being ready (not those held for
        the check: see messages.HOLD_FOR_CHECK_MS)."""
        now = self._now()
        return len(self._write(f"UPDATE messages SET client_id = NULL, updated_at = %(now)s WHERE client_id = "
                               f"%(client)s AND status = 'queued' AND routing = 'auto' AND NOT ({HELD}) RETURNING 1",
                               {"now": now, "client": client_id, "held_after": now - HOLD_FOR_CHECK_MS}))

    def claim(self, message_id: str, client_id: str) -> MessageRecord | None:
        """queued -> sending, by this number (under its lease when fencing); None if it was not queued."""
        return self._claim(client_id, f"UPDATE messages SET {CLAIMED}, client_id = %(client)s WHERE id = "
                                      f"(SELECT id FROM messages WHERE id = %(id)s AND status = 'queued' FOR UPDATE)"
                                      f" RETURNING {COLUMNS}", {"id": message_id})

    def claim_next(self, client_id: str, now_ms: int) -> MessageRecord | None:
        """claim() of a number's oldest queued message if its retry time has come; None otherwise."""
        return self._claim(client_id, f"UPDATE messages SET {CLAIMED} WHERE id = (SELECT id FROM ({OWN_NEXT}) o) "
                                      f"AND next_attempt_at <= %(due)s RETURNING {COLUMNS}", {"due": now_ms})

    def claim_auto(self, client_id: str, now_ms: int, accepted_before: int) -> MessageRecord | None:
        """claim() of the older of this number's next queued message and the oldest due auto-routed message no
        number holds (accepted before `accepted_before`); the shared one is skipped while another node locks
        it. None when the older one is not due."""
        return self._claim(client_id,
                           f"WITH own AS ({OWN_NEXT}), shared AS ({SHARED_NEXT}) UPDATE messages SET {CLAIMED}, "
                           "client_id = %(client)s WHERE id = coalesce((SELECT id FROM shared), (SELECT id FROM own))"
                           f" AND next_attempt_at <= %(due)s RETURNING {COLUMNS}",
                           {"due": now_ms, "before": accepted_before})

    def mark_sent(self, message_id: str, *, wa_id: str | None, chat: str | None,
                  ack: int | None) -> MessageRecord | None:
        """sending -> sent with WhatsApp's ids; None if it was not sending; LeaseLost if its claim's lease is
        no longer current."""
        now = self._now()
        return _record(self._write(
            "UPDATE messages SET status = 'sent', wa_id = %s, chat = coalesce(%s, chat), ack = greatest(coalesce("
            "%s, 1), 1), sent_at = %s, updated_at = %s, error_code = NULL, reason = NULL WHERE id = %s AND "
            f"status = 'sending' AND {CLAIM_CURRENT} RETURNING {COLUMNS}", (wa_id, chat, ack, now, now, message_id),
            durable=False))

    def mark_failed(self, message_id: str, code: str, reason: str) -> bool:
        """A message that will not be sent: failed with why; False if it already finished."""
        now = self._now()
        return bool(self._write("UPDATE messages SET status = 'failed', error_code = %s, reason = %s, failed_at = "
                                "%s, updated_at = %s WHERE id = %s AND status IN ('queued', 'sending') RETURNING 1",
                                (code, reason, now, now, message_id)))

    def cancel_queued(self, message_id: str, code: str, reason: str) -> bool:
        """Give up on a message nobody has tried to send yet; False if it is already being sent or done."""
        now = self._now()
        return bool(self._write("UPDATE messages SET status = 'failed', error_code = %s, reason = %s, failed_at = "
                                "%s, updated_at = %s WHERE id = %s AND status = 'queued' RETURNING 1",
                                (code, reason, now, now, message_id)))

    def fail_queued_for(self, client_id: str, code: str, reason: str) -> list[MessageRecord]:
        """A number is gone: fail the messages queued for it, give its auto-routed ones back to routing."""
        now = self._now()
        with self._db.transaction() as conn:
            failed = _rows(conn, "UPDATE messages SET status = 'failed', error_code = %s, reason = %s, failed_at ="
                                 " %s, updated_at = %s WHERE status = 'queued' AND client_id = %s AND routing = "
                                 f"'pinned' RETURNING {COLUMNS}", (code, reason, now, now, client_id))
            conn.execute("UPDATE messages SET client_id = NULL, updated_at = %s WHERE status = 'queued' AND "
                         "client_id = %s AND routing = 'auto'", (now, client_id))
        return [MessageRecord.from_row(row) for row in failed]

    def retry_later(self, message_id: str, *, next_attempt_at: int, code: str, reason: str,
                    uncount: bool = False, possible_duplicate: bool = False, release: bool = False) -> None:
        """sending -> queued after a transient error (under the claim's lease when fencing); `release` gives an
        auto-routed one back to routing."""
        self._write("UPDATE messages SET status = 'queued', next_attempt_at = %s, error_code = %s, reason = %s, "
                    "attempts = attempts - %s, possible_duplicate = possible_duplicate OR %s, updated_at = %s, "
                    "client_id = CASE WHEN %s AND routing = 'auto' THEN NULL ELSE client_id END "
                    f"WHERE id = %s AND status = 'sending' AND {CLAIM_CURRENT}",
                    (next_attempt_at, code, reason, int(uncount), possible_duplicate, self._now(), release,
                     message_id))

    def recover_in_flight(self) -> list[MessageRecord]:
        """Claims made under a lease that is no longer current (a node that died or stalled; every claim when
        this store does not fence) may be out already: queue them again, flagged possible_duplicate, with
        their number (its next owner looks for each on WhatsApp first). Auto-routed messages given to a number
        that no node holds go back to routing."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE messages m SET client_id = NULL WHERE status = 'queued' AND routing = 'auto' AND "
                         f"client_id IS NOT NULL AND NOT {LEASE_LIVE.format(and_token='')}")
            rows = _rows(conn, "UPDATE messages m SET status = 'queued', possible_duplicate = true, "
                               "next_attempt_at = 0, updated_at = %s WHERE status = 'sending' AND (claim_token IS "
                               f"NULL OR NOT {LEASE_LIVE.format(and_token='AND l.token = m.claim_token')}) "
                               f"RETURNING {COLUMNS}", (self._now(),))
        return [MessageRecord.from_row(row) for row in rows]

    def apply_acks(self, acks: list[tuple[str, str, int]], *,
                   advanced: list[str] | None = None) -> list[tuple[str, str, int]]:
        """Apply (client_id, wa_id, ack) forward only; returns those with no row yet (see MessageStore)."""
        unmatched, now = [], self._now()
        with self._db.transaction() as conn:
            conn.execute("SET LOCAL synchronous_commit = off")  # as MessageStore: the newest acks may be lost
            for client_id, wa_id, ack in acks:
                moved = conn.execute(
                    "UPDATE messages SET ack = %(ack)s, status = %(status)s, updated_at = %(now)s, delivered_at = "
                    "CASE WHEN %(ack)s >= 2 THEN coalesce(delivered_at, %(now)s) END, read_at = CASE WHEN "
                    "%(ack)s >= 3 THEN coalesce(read_at, %(now)s) END WHERE client_id = %(client)s AND wa_id = "
                    "%(wa)s AND status = ANY(%(sent)s) AND coalesce(ack, 0) < %(ack)s RETURNING id",
                    {"ack": ack, "status": ACK_STATUS[ack].value if ack in ACK_STATUS else None, "now": now, "client": client_id, "wa": wa_id,
                     "sent": [s.value for s in SENT_STATUSES]}).fetchone() if ack in ACK_STATUS else None
                if moved is not None:
                    if advanced is not None:
                        advanced.append(moved[0])
                elif conn.execute("SELECT 1 FROM messages WHERE client_id = %s AND wa_id = %s",
                                  (client_id, wa_id)).fetchone() is None:
                    unmatched.append((client_id, wa_id, ack))
        return unmatched

    def add_incoming(self, items: list[tuple[str, str, dict[str, Any]]]) -> int:
        """Log (client_id, message id, WhatsApp message dict) as received; repeats are ignored. Returns added."""
        now, added = self._now(), 0
        values = "%s, 'in', " + ", ".join(["%s"] * 6) + ", 'received', " + ", ".join(["%s"] * 5)
        with self._db.transaction() as conn:
            for client_id, message_id, msg in items:
                cur = conn.execute(f"INSERT INTO messages ({INCOMING_COLUMNS}) VALUES ({values}) "
                                   "ON CONFLICT (client_id, wa_id) WHERE wa_id IS NOT NULL DO NOTHING",
                                   incoming_row(client_id, message_id, msg, now))
                added += cur.rowcount
        return added

    def known_incoming(self, client_id: str, wa_ids: list[str]) -> set[str]:
        """Of these WhatsApp ids, those a number's log already has."""
        return {row[0] for row in self._db.all("SELECT wa_id FROM messages WHERE client_id = %s AND "
                                               "wa_id = ANY(%s)", (client_id, wa_ids))}

    def mark_chat_read(self, client_id: str, chat: str) -> int:
        """Mark the incoming messages of a chat read; returns how many were unread."""
        now = self._now()
        return len(self._write("UPDATE messages SET status = 'read', read_at = %s, updated_at = %s WHERE chat = %s"
                               " AND client_id = %s AND direction = 'in' AND status = 'received' RETURNING 1",
                               (now, now, chat, client_id)))

    # -- the outbox's reads --------------------------------------------------------------------------------

    def _one(self, sql: str, args: Any = ()) -> MessageRecord | None:
        """The first row of a read as a record."""
        with self._db.transaction() as conn:
            return _record(_rows(conn, sql, args))

    def next_for_client(self, client_id: str) -> MessageRecord | None:
        """The oldest queued message of a number (its own and auto-routed ones given to it)."""
        return self._one(f"{SELECT} WHERE status = 'queued' AND client_id = %s ORDER BY seq LIMIT 1", (client_id,))

    def next_auto(self, now_ms: int) -> tuple[str | None, frozenset[str]]:
        """For the router: the oldest due auto-routed message waiting for a number, and the numbers holding one
        they have not started."""
        row = self._db.one(
            "SELECT (SELECT id FROM messages WHERE status = 'queued' AND client_id IS NULL AND next_attempt_at <= "
            "%s ORDER BY seq LIMIT 1), (SELECT array_agg(DISTINCT client_id) FROM messages WHERE status = 'queued'"
            " AND routing = 'auto' AND client_id IS NOT NULL)", (now_ms,))
        assert row is not None
        return row[0], frozenset(row[1] or ())

    def auto_due_at(self) -> int | None:
        """When the next auto-routed message waiting for a number may be tried (epoch ms), None if none waits."""
        row = self._db.one("SELECT min(next_attempt_at) FROM messages WHERE status = 'queued' AND client_id IS NULL")
        return row[0] if row else None

    def pending_clients(self) -> list[str]:
        """Numbers with messages queued for them."""
        return [row[0] for row in self._db.all("SELECT DISTINCT client_id FROM messages WHERE status = 'queued' "
                                               "AND client_id IS NOT NULL")]

    def auto_holders(self) -> set[str]:
        """Numbers holding an auto-routed message they have not started sending."""
        return {row[0] for row in self._db.all("SELECT DISTINCT client_id FROM messages WHERE status = 'queued' "
                                               "AND routing = 'auto' AND client_id IS NOT NULL")}

    def pending_ids(self) -> set[str]:
        """Ids of every message not finished yet."""
        return {row[0] for row in self._db.all("SELECT id FROM messages WHERE status IN ('queued', 'sending')")}

    # -- reads for the API ----------------------------------------------------------------------------------

    def get(self, message_id: str) -> MessageRecord | None:
        """One message by ZapPool's id."""
        return self._one(f"{SELECT} WHERE id = %s", (message_id,))

    def received(self, client_id: str, wa_id: str) -> MessageRecord | None:
        """A message this number received, by WhatsApp's id."""
        return self._one(f"{SELECT} WHERE client_id = %s AND wa_id = %s AND direction = 'in'", (client_id, wa_id))

    def get_many(self, message_ids: list[str]) -> list[MessageRecord]:
        """Messages by ZapPool's ids, in one read."""
        with self._db.transaction() as conn:
            return [MessageRecord.from_row(r) for r in _rows(conn, f"{SELECT} WHERE id = ANY(%s)", (message_ids,))]

    def list_messages(self, *, client_id: str | None = None, chat: str | None = None, direction: str | None = None,
                      since: int | None = None, until: int | None = None, cursor: str | None = None,
                      limit: int = 50) -> Page:
        """Messages newest first, filtered; since/until are epoch ms (until exclusive)."""
        sql, args, limit = messages_page_query(client_id, chat, direction, since, until, cursor, limit)
        with self._db.transaction() as conn:
            return messages_page(_rows(conn, sql.replace("?", "%s"), args), limit)

    def chat_messages(self, client_id: str, chat: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """The messages of one conversation of one number, newest first."""
        return self.list_messages(client_id=client_id, chat=chat, cursor=cursor, limit=limit)

    def list_chats(self, client_id: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """A number's conversations, most recent first, each with its last message and unread count."""
        sql, args, limit = chats_page_query(client_id, cursor, limit)
        with self._db.transaction() as conn:
            return chats_page(_rows(conn, sql.replace("?", "%s"), args), limit)

    def counts(self) -> dict[str, MessageCounts]:
        """Per number: sent, received, pending, failed ('' holds auto-routed messages not yet given one). Folds
        the appended deltas first unless another reader is folding them; either way they are counted."""
        with self._db.transaction() as conn:
            if conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (FOLD_LOCK,)).fetchone()[0]:
                conn.execute(FOLD_COUNTS)
            rows = conn.execute("SELECT client_id, direction, status, sum(n)::bigint FROM (SELECT * FROM message_counts "
                                "UNION ALL SELECT * FROM message_count_deltas) c GROUP BY client_id, direction, "
                                "status HAVING sum(n) > 0").fetchall()
        return tally_counts(rows)

    def totals(self) -> MessageCounts:
        """All numbers together (totalMessages is `sent`)."""
        return total_counts(self.counts())
