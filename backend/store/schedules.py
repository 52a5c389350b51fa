"""ScheduleStore: dados/schedules.db, the scheduled and recurring messages (issue 17 §3) and what each occurrence
came to.

schedules   one row per schedule: to whom, what (text, or a template and its variables, as JSON), when (the first
            occurrence in epoch ms, the IANA zone its recurrence keeps the wall clock in, the RRULE or NULL for a
            one-off), the missed policy, its status (active, finished, cancelled) and the next occurrence due
runs        one row per occurrence handled: queued (in the outbox under its message id), skipped (missed while
            ZapPool was closed) or failed (could not be made: a template gone, a number removed)

Its own file, as templates.db: the owner's plans must not share the fate of the message log. Times are epoch
milliseconds. `advance` is the one write that moves a schedule on: the run and the next occurrence in one
transaction, and only if the schedule is still where the caller saw it (a cancel or an edit meanwhile wins).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .sqlite_db import Database
from .sqlite_engine import sqlite3

SCHEMA_V1 = """
CREATE TABLE schedules (
    id         TEXT PRIMARY KEY,
    client_id  TEXT,
    to_number  TEXT NOT NULL,
    message    TEXT NOT NULL,        -- JSON {"text"} or {"templateId", "variables"}
    first_at   INTEGER NOT NULL,
    tz         TEXT NOT NULL,
    rrule      TEXT,
    missed     TEXT NOT NULL,
    grace_s    INTEGER NOT NULL,
    status     TEXT NOT NULL,        -- active, finished, cancelled
    next_at    INTEGER,              -- the next occurrence due; NULL once finished or cancelled
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX schedules_due ON schedules(next_at) WHERE status = 'active';
CREATE TABLE runs (
    schedule_id TEXT NOT NULL,
    occurrence  INTEGER NOT NULL,
    outcome     TEXT NOT NULL,       -- queued, skipped, failed
    message_id  TEXT,
    reason      TEXT,
    at          INTEGER NOT NULL,
    PRIMARY KEY (schedule_id, occurrence)
) WITHOUT ROWID;
"""
MIGRATIONS = [SCHEMA_V1]
COLUMNS = ("rowid, id, client_id, to_number, message, first_at, tz, rrule, missed, grace_s, status, next_at, "
           "created_at, updated_at")


@dataclass(frozen=True)
class StoredSchedule:
    """One schedule as stored (`seq`: its rowid, the list's order and cursor)."""

    id: str
    client_id: str | None
    to_number: str
    message: dict[str, Any]
    first_at: int
    tz: str
    rrule: str | None
    missed: str
    grace_s: int
    status: str = "active"
    next_at: int | None = None
    created_at: int = 0
    updated_at: int = 0
    seq: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredSchedule:
        """A row read with COLUMNS."""
        return cls(row["id"], row["client_id"], row["to_number"], json.loads(row["message"]), row["first_at"],
                   row["tz"], row["rrule"], row["missed"], row["grace_s"], row["status"], row["next_at"],
                   row["created_at"], row["updated_at"], row["rowid"])


@dataclass(frozen=True)
class Run:
    """What one occurrence came to."""

    occurrence: int
    outcome: str
    message_id: str | None = None
    reason: str | None = None
    at: int = 0


class ScheduleStore:
    """Reads and writes `schedules` and `runs`; safe from any thread (Database's locking)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time):
        self.path = path
        self._clock = clock
        self._db = Database(path, MIGRATIONS, cache_kib=2_000)
        self._guard = threading.Lock()

    def close(self) -> None:
        """Close the database; later calls raise StoreClosed."""
        self._db.close()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """The lock a schedule's firing and its edits share, so a cancel and a firing never cross (one process
        holds this file; the cluster's store locks across nodes: pg_schedules.py)."""
        with self._guard:
            yield

    def _now(self) -> int:
        return int(self._clock() * 1000)

    def insert(self, schedule: StoredSchedule) -> StoredSchedule:
        """A new schedule (its times set now)."""
        now = self._now()
        (row,) = self._db.write_one(
            f"INSERT INTO schedules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}",
            (schedule.id, schedule.client_id, schedule.to_number, json.dumps(schedule.message, ensure_ascii=False),
             schedule.first_at, schedule.tz, schedule.rrule, schedule.missed, schedule.grace_s, schedule.status,
             schedule.next_at, now, now))
        return StoredSchedule.from_row(row)

    def get(self, schedule_id: str) -> StoredSchedule | None:
        """One schedule, or None."""
        row = self._db.read().execute(f"SELECT {COLUMNS} FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        return StoredSchedule.from_row(row) if row else None

    def page(self, *, client_id: str | None, status: str | None, after: int, limit: int) -> list[StoredSchedule]:
        """Schedules in the order they were made, after the rowid `after`, filtered by number and status."""
        rows = self._db.read().execute(
            f"SELECT {COLUMNS} FROM schedules WHERE rowid > ? AND (? IS NULL OR client_id = ?) "
            "AND (? IS NULL OR status = ?) ORDER BY rowid LIMIT ?",
            (after, client_id, client_id, status, status, limit)).fetchall()
        return [StoredSchedule.from_row(row) for row in rows]

    def due(self, now_ms: int, limit: int, clients: Collection[str] | None = None) -> list[StoredSchedule]:
        """Active schedules whose next occurrence has come, the earliest first; with `clients`, only those of
        these numbers and of none in particular."""
        share, args = _share(clients)
        rows = self._db.read().execute(
            f"SELECT {COLUMNS} FROM schedules WHERE status = 'active' AND next_at <= ? AND {share} "
            "ORDER BY next_at LIMIT ?", (now_ms, *args, limit)).fetchall()
        return [StoredSchedule.from_row(row) for row in rows]

    def next_due(self, clients: Collection[str] | None = None) -> int | None:
        """The earliest next occurrence of an active schedule (of `clients`' share when given), or None."""
        share, args = _share(clients)
        row = self._db.read().execute(f"SELECT min(next_at) FROM schedules WHERE status = 'active' AND {share}",
                                      args).fetchone()
        return row[0]

    def change(self, schedule: StoredSchedule) -> StoredSchedule | None:
        """Replace an active schedule's fields (its status and next occurrence included); None if it is no longer
        active (finished or cancelled meanwhile) or does not exist."""
        rows = self._db.write_one(
            "UPDATE schedules SET client_id = ?, to_number = ?, message = ?, first_at = ?, tz = ?, rrule = ?, "
            "missed = ?, grace_s = ?, status = ?, next_at = ?, updated_at = ? WHERE id = ? AND status = 'active' "
            f"RETURNING {COLUMNS}",
            (schedule.client_id, schedule.to_number, json.dumps(schedule.message, ensure_ascii=False),
             schedule.first_at, schedule.tz, schedule.rrule, schedule.missed, schedule.grace_s, schedule.status,
             schedule.next_at, self._now(), schedule.id))
        return StoredSchedule.from_row(rows[0]) if rows else None

    def cancel(self, schedule_id: str) -> StoredSchedule | None:
        """An active schedule cancelled (nothing more is sent); None if it was not active."""
        rows = self._db.write_one(f"UPDATE schedules SET status = 'cancelled', next_at = NULL, updated_at = ? "
                                  f"WHERE id = ? AND status = 'active' RETURNING {COLUMNS}",
                                  (self._now(), schedule_id))
        return StoredSchedule.from_row(rows[0]) if rows else None

    def advance(self, schedule: StoredSchedule, runs: list[Run], next_at: int | None) -> bool:
        """Record what the occurrences came to and move the schedule to `next_at` (None: finished), in one
        transaction, only if it is still active at the occurrence the caller handled; False otherwise (and
        nothing is written). A run already recorded for an occurrence is kept as it was."""
        now = self._now()
        with self._db.write() as conn:
            moved = conn.execute("UPDATE schedules SET next_at = ?, status = ?, updated_at = ? WHERE id = ? AND "
                                 "status = 'active' AND next_at = ?",
                                 (next_at, "active" if next_at is not None else "finished", now, schedule.id,
                                  schedule.next_at)).rowcount
            if moved:
                conn.executemany("INSERT OR IGNORE INTO runs VALUES (?, ?, ?, ?, ?, ?)",
                                 [(schedule.id, r.occurrence, r.outcome, r.message_id, r.reason, r.at or now)
                                  for r in runs])
        return bool(moved)

    def runs(self, schedule_id: str, limit: int) -> list[Run]:
        """A schedule's latest runs, the newest occurrence first."""
        rows = self._db.read().execute(
            "SELECT occurrence, outcome, message_id, reason, at FROM runs WHERE schedule_id = ? "
            "ORDER BY occurrence DESC LIMIT ?", (schedule_id, limit)).fetchall()
        return [Run(row["occurrence"], row["outcome"], row["message_id"], row["reason"], row["at"]) for row in rows]

    def run_count(self, schedule_id: str) -> dict[str, int]:
        """How many occurrences came to each outcome."""
        rows = self._db.read().execute("SELECT outcome, count(*) FROM runs WHERE schedule_id = ? GROUP BY outcome",
                                       (schedule_id,)).fetchall()
        return {row[0]: row[1] for row in rows}


def _share(clients: Collection[str] | None) -> tuple[str, tuple[str, ...]]:
    """The condition for `clients`' share (every schedule when None) and its arguments."""
    if clients is None:
        return "1", ()
    names = tuple(clients)
    return f"(client_id IS NULL OR client_id IN ({', '.join('?' * len(names)) or 'NULL'}))", names


__all__ = ["Run", "ScheduleStore", "StoredSchedule", "replace"]
