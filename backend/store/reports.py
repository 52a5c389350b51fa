"""ReportStore: the report tables of messages.db (report_schema.py) read for a period, and their settings.

Every read is an index range over small rows: `report_hours` per number and hour (a year of ten numbers is
under 200,000 rows; 90 days of one number about 2,200), `report_waits` per number and time. What needs Python
(percentiles, business hours, local days) gets those rows, never the message log.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .report_schema import BUCKET_BOUNDS_S, LENGTH_BOUNDS_MS, REBUILD, UNANSWERED
from .sqlite_db import Database

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
GROUPS = ("exclude", "include", "only")
HOUR_FIELDS = ("incoming", "sent", "delivered", "read", "replied", "failed", "conv_in", "conv_out")


@dataclass(frozen=True)
class ReportQuery:
    """What a report covers: numbers (None: every number), [start_ms, end_ms), groups in or out, a tag."""

    start_ms: int
    end_ms: int
    client_ids: tuple[str, ...] | None = None
    groups: str = "exclude"
    tag: str | None = None  # the campaigns' seam: a funnel of the messages sent with this tag


@dataclass(frozen=True)
class StoredReportSettings:
    """The report settings row: the conversation gap, the response target (None: any answer), business hours
    as {weekday: [open "HH:MM", close "HH:MM"]} (None: every hour counts)."""

    gap_ms: int = 86_400_000
    target_s: int | None = None
    business_hours: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class LocalRow:
    """One number's (or all numbers', client_id '') messages in one local day (days since 1970-01-01 in the
    report's zone) and local hour (0 when by day), group chats or not."""

    client_id: str
    day: int
    hour: int
    grp: int
    incoming: int
    sent: int
    failed: int


@dataclass(frozen=True)
class LengthHistogram:
    """A period's waits by length: answered ones per LENGTH_BOUNDS_MS bucket (an extra last one: longer than
    every bound), their summed length, and how many are not answered."""

    counts: list[int]
    total_ms: int
    unanswered: int

    @property
    def answered(self) -> int:
        """How many waits were answered."""
        return sum(self.counts)


class ReportStore:
    """Reads the report tables and keeps their settings. Safe from any thread."""

    def __init__(self, db: Database):
        self._db = db

    def clients(self) -> list[str]:
        """Every number the log has counted (message_counts is a few rows per number)."""
        rows = self._db.read().execute("SELECT DISTINCT client_id FROM message_counts WHERE client_id <> ''")
        return sorted(row[0] for row in rows)

    def _where(self, query: ReportQuery, time_column: str, start: int, end: int,
               tagged: bool = False) -> tuple[str, list[Any]]:
        """The WHERE clause for a query over a table keyed (client_id, time, ..., grp): numbers first, so
        each is one index range."""
        clients = query.client_ids if query.client_ids is not None else tuple(self.clients())
        terms = [f"client_id IN ({', '.join('?' * len(clients))})" if clients else "1 = 0",
                 f"{time_column} >= ?", f"{time_column} < ?"]
        args: list[Any] = [*clients, start, end]
        if query.groups == "exclude":
            terms.append("grp = 0")
        elif query.groups == "only":
            terms.append("grp = 1")
        if tagged and query.tag is not None:
            terms.append("tag = ?")
            args.append(query.tag)
        return " AND ".join(terms), args

    def local(self, query: ReportQuery, offsets: list[tuple[int, int]], *, hourly: bool,
              by_client: bool) -> list[LocalRow]:
        """The period's incoming, sent and failed per local day (and local hour when `hourly`), per number (or
        '' for all), one aggregate in SQL. `offsets`: (first UTC hour, minutes the zone is ahead of UTC) for each
        stretch of the period with one offset (a zone that changes it, for summer time, has several)."""
        where, args = self._where(query, "hour", query.start_ms // HOUR_MS, -(-query.end_ms // HOUR_MS),
                                  tagged=True)
        shift = " ".join(f"WHEN hour >= {int(h)} THEN {int(m)}" for h, m in sorted(offsets, reverse=True))
        minutes = f"(hour * 60 + CASE {shift} ELSE 0 END)" if offsets else "(hour * 60)"
        key = "client_id" if by_client else "''"
        clock = f"{minutes} % 1440 / 60" if hourly else "0"
        rows = self._db.read().execute(
            f"SELECT {key}, {minutes} / 1440 AS day, {clock} AS at, grp, sum(incoming), sum(sent), sum(failed) "
            f"FROM report_hours WHERE {where} GROUP BY 1, 2, 3, 4 ORDER BY 2, 1", args).fetchall()
        return [LocalRow(*row) for row in rows]

    def totals(self, query: ReportQuery, *, by_client: bool = False) -> dict[str, dict[str, int]]:
        """The period's sums per number (or {'': all of them}), one aggregate in SQL."""
        where, args = self._where(query, "hour", query.start_ms // HOUR_MS, -(-query.end_ms // HOUR_MS),
                                  tagged=True)
        key = "client_id" if by_client else "''"
        sums = ", ".join(f"coalesce(sum({f}), 0)" for f in HOUR_FIELDS)
        rows = self._db.read().execute(f"SELECT {key}, {sums} FROM report_hours WHERE {where} GROUP BY 1",
                                       args).fetchall()
        found = {row[0]: dict(zip(HOUR_FIELDS, row[1:])) for row in rows}
        if not found and not by_client:
            return {"": dict.fromkeys(HOUR_FIELDS, 0)}
        return found

    def failures(self, query: ReportQuery) -> list[tuple[str, str, int]]:
        """(number, error code, messages) that failed in the period, most first."""
        clients = query.client_ids if query.client_ids is not None else (*self.clients(), "")
        marks = ", ".join("?" * len(clients)) or "NULL"
        rows = self._db.read().execute(
            f"SELECT client_id, code, sum(n) FROM report_failures WHERE client_id IN ({marks}) AND hour >= ? "
            "AND hour < ? GROUP BY 1, 2 HAVING sum(n) > 0 ORDER BY 3 DESC, 1, 2",
            (*clients, query.start_ms // HOUR_MS, -(-query.end_ms // HOUR_MS))).fetchall()
        return [(row[0], row[1], row[2]) for row in rows]

    def waits(self, query: ReportQuery, *, first_only: bool) -> list[Any]:
        """(asked_at, answered_at or None) of the waits asked in the period; `first_only`: those that opened a
        customer-started conversation. Read from the covering index alone."""
        where, args = self._where(query, "asked_at", query.start_ms, query.end_ms)
        where += " AND opens = 1" if first_only else " AND opens IN (0, 1)"  # the index's second column
        return self._db.read().execute(f"SELECT asked_at, answered_at FROM report_waits WHERE {where}",
                                       args).fetchall()

    def durations(self, query: ReportQuery, *, first_only: bool) -> list[int | None]:
        """The waits' lengths on the clock (ms; None: not answered), computed in SQL: one small value per wait
        crosses to Python instead of a pair."""
        where, args = self._where(query, "asked_at", query.start_ms, query.end_ms)
        where += " AND opens = 1" if first_only else " AND opens IN (0, 1)"
        rows = self._db.read().execute(f"SELECT answered_at - asked_at FROM report_waits WHERE {where}", args)
        return [row[0] for row in rows]

    def length_histogram(self, query: ReportQuery) -> LengthHistogram:
        """Every wait of the period (first or not) by length: the whole UTC days inside it from
        `report_wait_days` (a few hundred rows per number and day, whatever the traffic), the ragged ends (less
        than a day each, as a zone's midnight is rarely UTC's) from `report_waits` itself."""
        first_day, end_day = -(-query.start_ms // DAY_MS), query.end_ms // DAY_MS
        counts, total, unanswered = [0] * (len(LENGTH_BOUNDS_MS) + 1), 0, 0
        edges = [(query.start_ms, query.end_ms)]
        if first_day < end_day:
            edges = [(query.start_ms, first_day * DAY_MS), (end_day * DAY_MS, query.end_ms)]
            where, args = self._where(query, "day", first_day, end_day)
            for bucket, n, summed in self._db.read().execute(
                    f"SELECT bucket, sum(n), sum(total_ms) FROM report_wait_days WHERE {where} AND opens IN (0, 1) "
                    "GROUP BY bucket", args):
                if bucket == UNANSWERED:
                    unanswered += n
                else:
                    counts[bucket] += n
                total += summed
        for start, end in edges:
            for length in self.durations(replace(query, start_ms=start, end_ms=end), first_only=False):
                if length is None:
                    unanswered += 1
                else:
                    counts[bisect.bisect_left(LENGTH_BOUNDS_MS, length)] += 1
                    total += length
        return LengthHistogram(counts, total, unanswered)

    def lifetime(self) -> dict[str, dict[str, Any]]:
        """Per number, since the log began: the funnel's counts and the response-time histograms ({"first",
        "all"}: per-bucket counts in BUCKET_BOUNDS_S order, +Inf last, and the summed seconds), for Prometheus.
        Both are read from the small tables in key order: no sort, no scan of the waits."""
        read = self._db.read()
        found: dict[str, dict[str, Any]] = {}
        for client_id, *sums in read.execute("SELECT client_id, sum(sent), sum(delivered), sum(read), sum(replied) "
                                             "FROM report_hours WHERE client_id <> '' GROUP BY client_id"):
            found[client_id] = {"funnel": dict(zip(("sent", "delivered", "read", "replied"), sums)),
                                **{k: {"buckets": [0] * (len(BUCKET_BOUNDS_S) + 1), "sum": 0.0}
                                   for k in ("first", "all")}}
        for client_id, opens, bucket, n, total_ms in read.execute("SELECT * FROM report_buckets"):
            entry = found.get(client_id)
            for kind in ("all", "first") if opens else ("all",):
                if entry is not None:
                    entry[kind]["buckets"][bucket] += n
                    entry[kind]["sum"] += total_ms / 1000
        return found

    # -- settings -------------------------------------------------------------------------------------

    def settings(self) -> StoredReportSettings:
        """The stored report settings."""
        row = self._db.read().execute("SELECT gap_ms, target_s, business_hours FROM report_settings").fetchone()
        return StoredReportSettings(row[0], row[1], json.loads(row[2]) if row[2] else None)

    def put_settings(self, settings: StoredReportSettings) -> None:
        """Store the settings; a new conversation gap recomputes every report table from the log (the triggers
        split conversations on the stored gap), in the same transaction."""
        with self._db.write() as conn:
            old_gap = conn.execute("SELECT gap_ms FROM report_settings").fetchone()[0]
            conn.execute("UPDATE report_settings SET gap_ms = ?, target_s = ?, business_hours = ?",
                         (settings.gap_ms, settings.target_s,
                          json.dumps(settings.business_hours) if settings.business_hours else None))
            if old_gap != settings.gap_ms:
                self._rebuild(conn)

    def rebuild(self) -> None:
        """Recompute every report table from the log (what the v4 migration did at first open)."""
        with self._db.write() as conn:
            self._rebuild(conn)

    def _rebuild(self, conn: Any) -> None:
        """REBUILD's statements, one by one in the caller's transaction (executescript would commit it)."""
        for statement in _statements(REBUILD):
            conn.execute(statement)


def _statements(script: str) -> Sequence[str]:
    """The statements of a script without triggers (none has a ';' inside)."""
    return [s.strip() for s in script.split(";") if s.strip()]
