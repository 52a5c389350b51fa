"""WebhookStore: dados/webhooks.db, the webhook subscriptions and the durable queue of their deliveries.

A delivery row holds the exact JSON body that is signed and sent, so a retry (or a restart) sends the same
bytes. Statuses: pending -> delivering -> delivered, or back to pending with a later `next_attempt_at`, or
failed. A "lane" is (webhook_id, client_id): only its oldest open row may be sent, and only when nothing of
that lane is in flight, so one number's events reach a receiver in the order they happened.
Times are epoch milliseconds. The file is SQLite in WAL mode through `Database` (fsync on commit; a damaged
file is set aside with a timestamp and a new one started).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .sqlite_db import Database

SCHEMA_V1 = """
CREATE TABLE webhooks (
    id         TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,              -- JSON list: event names, or ["*"] for the default set
    secret     TEXT NOT NULL,              -- HMAC key; shown to the caller only when created
    created_at INTEGER NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1  -- 0: kept but not sent to (room for a pause without a migration)
);
CREATE TABLE deliveries (
    seq              INTEGER PRIMARY KEY,  -- insertion order: the order inside a lane and of every listing
    id               TEXT NOT NULL UNIQUE,
    webhook_id       TEXT NOT NULL,        -- webhooks.id; delete_webhook() removes its rows with it
    event            TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    payload          TEXT NOT NULL,        -- the exact body sent (ASCII JSON)
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivering', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
);
CREATE INDEX ix_deliveries_webhook ON deliveries (webhook_id, seq);
-- Only open rows: finding each lane's head never walks the delivered history.
CREATE INDEX ix_deliveries_open ON deliveries (webhook_id, client_id, seq)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX ix_deliveries_finished ON deliveries (created_at) WHERE status IN ('delivered', 'failed');
"""
MIGRATIONS = [SCHEMA_V1]

# The oldest open row of every lane, with where to send it.
HEADS = """
SELECT d.*, w.url AS url, w.secret AS secret FROM deliveries d
JOIN (SELECT MIN(seq) AS seq FROM deliveries WHERE status IN ('pending', 'delivering')
      GROUP BY webhook_id, client_id) h ON d.seq = h.seq
JOIN webhooks w ON w.id = d.webhook_id AND w.active = 1
WHERE d.status = 'pending'
"""
DELIVERY_COLUMNS = ("id, webhook_id, event, client_id, payload, status, attempts, next_attempt_at, "
                    "last_status_code, last_error, created_at, delivered_at, seq")


@dataclass(frozen=True)
class WebhookRecord:
    """One subscription as stored."""

    id: str
    url: str
    events: list[str]
    secret: str
    created_at: int
    active: bool

    @classmethod
    def from_row(cls, row: Any) -> WebhookRecord:
        """Build from a sqlite3.Row."""
        return cls(row["id"], row["url"], json.loads(row["events"]), row["secret"], row["created_at"],
                   bool(row["active"]))


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery as stored; `url` and `secret` are filled only for rows picked for sending."""

    id: str
    webhook_id: str
    event: str
    client_id: str
    payload: str
    status: str
    attempts: int
    next_attempt_at: int
    last_status_code: int | None
    last_error: str | None
    created_at: int
    delivered_at: int | None
    seq: int
    url: str = ""
    secret: str = ""

    @classmethod
    def from_row(cls, row: Any) -> DeliveryRecord:
        """Build from a sqlite3.Row (with url and secret when the query joined them)."""
        keys = row.keys()
        return cls(row["id"], row["webhook_id"], row["event"], row["client_id"], row["payload"], row["status"],
                   row["attempts"], row["next_attempt_at"], row["last_status_code"], row["last_error"],
                   row["created_at"], row["delivered_at"], row["seq"],
                   row["url"] if "url" in keys else "", row["secret"] if "secret" in keys else "")


@dataclass(frozen=True)
class NewDelivery:
    """A row to enqueue: the body is built (and its id chosen) by the caller."""

    id: str
    webhook_id: str
    event: str
    client_id: str
    payload: str


class WebhookStore:
    """Subscriptions and deliveries in SQLite; safe to call from any thread."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time):
        self.path = path
        self._clock = clock
        self._db = Database(path, MIGRATIONS, cache_kib=4_000)

    @property
    def set_aside_as(self) -> Path | None:
        """Where a damaged webhooks.db found at start was moved, if it was."""
        return self._db.set_aside_as

    def close(self) -> None:
        """Close the database; later calls raise."""
        self._db.close()

    def now_ms(self) -> int:
        """The clock in epoch milliseconds."""
        return int(self._clock() * 1000)

    # -- subscriptions ---------------------------------------------------------------------------------

    def add_webhook(self, webhook_id: str, url: str, events: list[str], secret: str) -> WebhookRecord:
        """Store a new subscription and return it."""
        record = WebhookRecord(webhook_id, url, list(events), secret, self.now_ms(), True)
        with self._db.write() as conn:
            conn.execute("INSERT INTO webhooks (id, url, events, secret, created_at, active) "
                         "VALUES (?, ?, ?, ?, ?, 1)", (webhook_id, url, json.dumps(events), secret, record.created_at))
        return record

    def webhooks(self) -> list[WebhookRecord]:
        """Every subscription, oldest first."""
        rows = self._db.read().execute("SELECT * FROM webhooks ORDER BY created_at, id").fetchall()
        return [WebhookRecord.from_row(row) for row in rows]

    def get_webhook(self, webhook_id: str) -> WebhookRecord | None:
        """One subscription, or None."""
        row = self._db.read().execute("SELECT * FROM webhooks WHERE id = ?", (webhook_id,)).fetchone()
        return WebhookRecord.from_row(row) if row else None

    def delete_webhook(self, webhook_id: str) -> bool:
        """Forget a subscription and its deliveries (the secret goes with it); False if there was none."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM deliveries WHERE webhook_id = ?", (webhook_id,))
            return conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,)).rowcount == 1

    def mirror(self, records: list[WebhookRecord]) -> tuple[list[str], list[str]]:
        """Cluster mode: make the subscriptions exactly `records` (the cluster's list), in one transaction; the
        ids added and the ids removed (their deliveries with them)."""
        wanted = {record.id: record for record in records}
        with self._db.write() as conn:
            have = {row[0] for row in conn.execute("SELECT id FROM webhooks")}
            added = [r for r in records if r.id not in have]
            gone = sorted(have - set(wanted))
            conn.executemany("INSERT INTO webhooks (id, url, events, secret, created_at, active) "
                             "VALUES (?, ?, ?, ?, ?, ?)", [(r.id, r.url, json.dumps(r.events), r.secret,
                                                            r.created_at, int(r.active)) for r in added])
            for webhook_id in gone:
                conn.execute("DELETE FROM deliveries WHERE webhook_id = ?", (webhook_id,))
                conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))
        return [r.id for r in added], gone

    # -- the queue: writes -----------------------------------------------------------------------------

    def enqueue(self, rows: Iterable[NewDelivery]) -> None:
        """Queue deliveries, due now, in one transaction (one fsync however many subscriptions match)."""
        now = self.now_ms()
        with self._db.write() as conn:
            conn.executemany(
                "INSERT INTO deliveries (id, webhook_id, event, client_id, payload, status, next_attempt_at, "
                "created_at) SELECT ?, ?, ?, ?, ?, 'pending', ?, ? WHERE EXISTS "
                "(SELECT 1 FROM webhooks WHERE id = ?)",  # a webhook removed a moment ago gets nothing
                [(r.id, r.webhook_id, r.event, r.client_id, r.payload, now, now, r.webhook_id) for r in rows])

    def recover_in_flight(self) -> int:
        """Rows left `delivering` by a stop or a crash go back to pending, due now."""
        with self._db.write() as conn:
            return conn.execute("UPDATE deliveries SET status = 'pending', next_attempt_at = ? "
                                "WHERE status = 'delivering'", (self.now_ms(),)).rowcount

    def claim(self, delivery_id: str) -> bool:
        """pending -> delivering, counting an attempt; False if the row is no longer pending."""
        with self._db.write() as conn:
            return conn.execute("UPDATE deliveries SET status = 'delivering', attempts = attempts + 1 "
                                "WHERE id = ? AND status = 'pending'", (delivery_id,)).rowcount == 1

    def release(self, delivery_id: str) -> None:
        """delivering -> pending for a row picked but never sent: its attempt is not counted."""
        with self._db.write() as conn:
            conn.execute("UPDATE deliveries SET status = 'pending', attempts = max(attempts - 1, 0) "
                         "WHERE id = ? AND status = 'delivering'", (delivery_id,))

    def mark_delivered(self, delivery_id: str, status_code: int) -> None:
        """delivering -> delivered."""
        with self._db.write() as conn:
            conn.execute("UPDATE deliveries SET status = 'delivered', last_status_code = ?, last_error = NULL, "
                         "delivered_at = ? WHERE id = ? AND status = 'delivering'",
                         (status_code, self.now_ms(), delivery_id))

    def mark_retry(self, delivery_id: str, status_code: int | None, error: str, next_attempt_at: int) -> None:
        """delivering -> pending, to be tried again at `next_attempt_at`."""
        with self._db.write() as conn:
            conn.execute("UPDATE deliveries SET status = 'pending', last_status_code = ?, last_error = ?, "
                         "next_attempt_at = ? WHERE id = ? AND status = 'delivering'",
                         (status_code, error, next_attempt_at, delivery_id))

    def mark_failed(self, delivery_id: str, status_code: int | None, error: str) -> None:
        """delivering -> failed: no more attempts."""
        with self._db.write() as conn:
            conn.execute("UPDATE deliveries SET status = 'failed', last_status_code = ?, last_error = ? "
                         "WHERE id = ? AND status = 'delivering'", (status_code, error, delivery_id))

    def prune(self, before_ms: int) -> int:
        """Delete delivered and failed rows created before `before_ms`; open rows are never pruned."""
        with self._db.write() as conn:
            return conn.execute("DELETE FROM deliveries WHERE status IN ('delivered', 'failed') "
                                "AND created_at < ?", (before_ms,)).rowcount

    # -- the queue: reads ------------------------------------------------------------------------------

    def due_heads(self, now_ms: int, limit: int) -> list[DeliveryRecord]:
        """Lane heads that are due now, oldest due first, with their webhook's url and secret."""
        rows = self._db.read().execute(f"{HEADS} AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.seq "
                                       "LIMIT ?", (now_ms, limit)).fetchall()
        return [DeliveryRecord.from_row(row) for row in rows]

    def next_due_after(self, now_ms: int) -> int | None:
        """When the next lane head that is not yet due becomes due (None: none waiting)."""
        row = self._db.read().execute(f"SELECT MIN(next_attempt_at) FROM ({HEADS} AND d.next_attempt_at > ?)",
                                      (now_ms,)).fetchone()
        return row[0] if row and row[0] is not None else None

    def deliveries(self, webhook_id: str, *, limit: int, before_seq: int | None = None) -> list[DeliveryRecord]:
        """A webhook's deliveries, newest first, older than `before_seq` when given."""
        sql = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE webhook_id = ?"
        args: list[Any] = [webhook_id]
        if before_seq is not None:
            sql += " AND seq < ?"
            args.append(before_seq)
        rows = self._db.read().execute(sql + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
        return [DeliveryRecord.from_row(row) for row in rows]

    def delivery_counts(self) -> dict[tuple[str, str], int]:
        """How many deliveries each webhook has in each status: {(webhook_id, status): n}."""
        rows = self._db.read().execute("SELECT webhook_id, status, COUNT(*) FROM deliveries "
                                       "GROUP BY webhook_id, status").fetchall()
        return {(row[0], row[1]): row[2] for row in rows}

    def get_delivery(self, delivery_id: str) -> DeliveryRecord | None:
        """One delivery, or None."""
        row = self._db.read().execute(f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id = ?",
                                      (delivery_id,)).fetchone()
        return DeliveryRecord.from_row(row) if row else None
