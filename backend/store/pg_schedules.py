"""The cluster's scheduled and recurring messages in its PostgreSQL (issue 20): a schedule made through any node
is listed, changed and cancelled through any other, and fires while any node that drives its number runs (a
node that dies no longer takes its numbers' schedules with it).

ScheduleStore's interface (store/schedules.py) over `cluster_schedules` and `cluster_schedule_runs`, with the
same rules: `advance` moves a schedule only if it is still where the caller saw it, in one transaction with its
runs. Two things only a cluster needs:

- `due` and `next_due` take the numbers this node drives (`clients`): a node fires the schedules of its own
  numbers, and those of no number in particular (round-robin), never another node's, whose outbox it could not
  hand a file to (schedules/runner.py).
- `guard()` is the lock the firing and the edits of a schedule share across the cluster: the node's own lock,
  then a PostgreSQL advisory lock held for the block, so a cancel on one node and a firing on another never
  cross (the firing either sees the cancel, or its message is queued before the cancel is written).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Any

from psycopg.types.json import Jsonb

from .pg_db import PgDatabase
from .schedules import Run, StoredSchedule

SCHEMA_V1 = """
CREATE TABLE cluster_schedules (
    seq        bigserial UNIQUE,
    id         text PRIMARY KEY,
    client_id  text,
    to_number  text NOT NULL,
    message    jsonb NOT NULL,
    first_at   bigint NOT NULL,
    tz         text NOT NULL,
    rrule      text,
    missed     text NOT NULL,
    grace_s    integer NOT NULL,
    status     text NOT NULL,
    next_at    bigint,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE INDEX cluster_schedules_due ON cluster_schedules (next_at) WHERE status = 'active';
CREATE TABLE cluster_schedule_runs (
    schedule_id text NOT NULL,
    occurrence  bigint NOT NULL,
    outcome     text NOT NULL,
    message_id  text,
    reason      text,
    at          bigint NOT NULL,
    PRIMARY KEY (schedule_id, occurrence)
);
"""
MIGRATIONS = [SCHEMA_V1]
COLUMNS = ("seq, id, client_id, to_number, message, first_at, tz, rrule, missed, grace_s, status, next_at, "
           "created_at, updated_at")
GUARD_KEY = 0x5A_5053_4348  # the advisory lock of the schedules' firings and edits ("ZPSCH")
# A node's share (`clients` given): the schedules of its numbers and of no number in particular.
MINE = "(%(all)s OR client_id IS NULL OR client_id = ANY(%(clients)s))"


class PgScheduleStore:
    """Reads and writes the cluster's schedules; safe from any thread (the connection pool)."""

    def __init__(self, db: PgDatabase, *, clock: Callable[[], float] = time.time):
        self._db = db
        self._clock = clock
        self._local = threading.Lock()
        db.migrate("schedules", MIGRATIONS)

    def close(self) -> None:
        """Nothing of its own to close: the cluster's database is closed with the node."""

    def _now(self) -> int:
        return int(self._clock() * 1000)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """This node's lock, then the cluster's (an advisory lock held by a transaction for the block)."""
        with self._local, self._db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (GUARD_KEY,))
            yield

    def insert(self, schedule: StoredSchedule) -> StoredSchedule:
        """A new schedule (its times set now)."""
        now = self._now()
        row = self._db.one(
            "INSERT INTO cluster_schedules (id, client_id, to_number, message, first_at, tz, rrule, missed, grace_s, "
            f"status, next_at, created_at, updated_at) VALUES ({', '.join(['%s'] * 13)}) RETURNING {COLUMNS}",
            (schedule.id, schedule.client_id, schedule.to_number, Jsonb(schedule.message), schedule.first_at,
             schedule.tz, schedule.rrule, schedule.missed, schedule.grace_s, schedule.status, schedule.next_at,
             now, now))
        assert row is not None
        return _schedule(row)

    def get(self, schedule_id: str) -> StoredSchedule | None:
        """One schedule, or None."""
        row = self._db.one(f"SELECT {COLUMNS} FROM cluster_schedules WHERE id = %s", (schedule_id,))
        return _schedule(row) if row else None

    def page(self, *, client_id: str | None, status: str | None, after: int, limit: int) -> list[StoredSchedule]:
        """Schedules in the order they were made, after the sequence number `after`, filtered."""
        rows = self._db.all(
            f"SELECT {COLUMNS} FROM cluster_schedules WHERE seq > %(after)s AND (%(client)s::text IS NULL OR "
            "client_id = %(client)s) AND (%(status)s::text IS NULL OR status = %(status)s) ORDER BY seq "
            "LIMIT %(limit)s", {"after": after, "client": client_id, "status": status, "limit": limit})
        return [_schedule(row) for row in rows]

    def due(self, now_ms: int, limit: int, clients: Collection[str] | None = None) -> list[StoredSchedule]:
        """Active schedules whose next occurrence has come, the earliest first; with `clients`, only those of
        these numbers and of none in particular."""
        rows = self._db.all(
            f"SELECT {COLUMNS} FROM cluster_schedules WHERE status = 'active' AND next_at <= %(now)s AND {MINE} "
            "ORDER BY next_at LIMIT %(limit)s", {"now": now_ms, "limit": limit, **_share(clients)})
        return [_schedule(row) for row in rows]

    def next_due(self, clients: Collection[str] | None = None) -> int | None:
        """The earliest next occurrence of an active schedule (of `clients`' share when given), or None."""
        row = self._db.one(f"SELECT min(next_at) FROM cluster_schedules WHERE status = 'active' AND {MINE}",
                           _share(clients))
        return int(row[0]) if row and row[0] is not None else None

    def change(self, schedule: StoredSchedule) -> StoredSchedule | None:
        """Replace an active schedule's fields; None if it is no longer active or does not exist."""
        row = self._db.one(
            "UPDATE cluster_schedules SET client_id = %s, to_number = %s, message = %s, first_at = %s, tz = %s, "
            "rrule = %s, missed = %s, grace_s = %s, status = %s, next_at = %s, updated_at = %s "
            f"WHERE id = %s AND status = 'active' RETURNING {COLUMNS}",
            (schedule.client_id, schedule.to_number, Jsonb(schedule.message), schedule.first_at, schedule.tz,
             schedule.rrule, schedule.missed, schedule.grace_s, schedule.status, schedule.next_at, self._now(),
             schedule.id))
        return _schedule(row) if row else None

    def cancel(self, schedule_id: str) -> StoredSchedule | None:
        """An active schedule cancelled (nothing more is sent); None if it was not active."""
        row = self._db.one("UPDATE cluster_schedules SET status = 'cancelled', next_at = NULL, updated_at = %s "
                           f"WHERE id = %s AND status = 'active' RETURNING {COLUMNS}", (self._now(), schedule_id))
        return _schedule(row) if row else None

    def advance(self, schedule: StoredSchedule, runs: list[Run], next_at: int | None) -> bool:
        """Record the runs and move the schedule to `next_at` (None: finished), in one transaction, only if it is
        still active at the occurrence the caller handled; False otherwise (nothing written)."""
        now = self._now()
        with self._db.transaction() as conn:
            moved = conn.execute("UPDATE cluster_schedules SET next_at = %s, status = %s, updated_at = %s "
                                 "WHERE id = %s AND status = 'active' AND next_at = %s",
                                 (next_at, "active" if next_at is not None else "finished", now, schedule.id,
                                  schedule.next_at)).rowcount
            if moved:
                conn.cursor().executemany(
                    "INSERT INTO cluster_schedule_runs VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    [(schedule.id, r.occurrence, r.outcome, r.message_id, r.reason, r.at or now) for r in runs])
        return bool(moved)

    def runs(self, schedule_id: str, limit: int) -> list[Run]:
        """A schedule's latest runs, the newest occurrence first."""
        rows = self._db.all("SELECT occurrence, outcome, message_id, reason, at FROM cluster_schedule_runs "
                            "WHERE schedule_id = %s ORDER BY occurrence DESC LIMIT %s", (schedule_id, limit))
        return [Run(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]

    def run_count(self, schedule_id: str) -> dict[str, int]:
        """How many occurrences came to each outcome."""
        rows = self._db.all("SELECT outcome, count(*) FROM cluster_schedule_runs WHERE schedule_id = %s "
                            "GROUP BY outcome", (schedule_id,))
        return {row[0]: int(row[1]) for row in rows}


def _share(clients: Collection[str] | None) -> dict[str, Any]:
    """MINE's parameters: every schedule when `clients` is None."""
    return {"all": clients is None, "clients": list(clients or ())}


def _schedule(row: tuple[Any, ...]) -> StoredSchedule:
    """A row read with COLUMNS (psycopg gives the jsonb message as a dict)."""
    message = row[4] if isinstance(row[4], dict) else json.loads(row[4])
    return StoredSchedule(row[1], row[2], row[3], message, int(row[5]), row[6], row[7], row[8], int(row[9]), row[10],
                          None if row[11] is None else int(row[11]), int(row[12]), int(row[13]), int(row[0]))
