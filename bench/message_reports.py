"""The reports part of bench.message_log (issue 18): on the million-row log it built, how long

- the v4 migration's fill takes (ReportStore.rebuild: every report table from the log, set-based),
- each report of 90 days takes through ReportService (all numbers, and one number), p50/p99, and where the time
  goes (the store's SQL reads alone vs. the whole report, Python included),
- the triggers add to one message's writes: the same writes with and without the report triggers, side by side
  in one run (the triggers keep a day's figures current in the message's own transaction).

Run through bench.message_log (it prints these tables after its own):

    .venv/bin/python -m bench.message_log --rows 1000000
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from backend.reports import ReportService
from backend.store.messages import MessageStore
from backend.store.reports import ReportQuery, ReportStore

DAY_MS = 86_400_000


def _iso(ms: int) -> str:
    """Epoch ms as a UTC date and time the report query reads."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def rebuild_seconds(store: MessageStore) -> float:
    """How long recomputing every report table from the log takes (the migration's fill)."""
    started = time.perf_counter()
    ReportStore(store.database).rebuild()
    return time.perf_counter() - started


def report_reads(reports_store: ReportStore, end_ms: int, samples: int, client: str,
                 timed: Callable[[Callable[[], Any], int], list[float]]) -> list[tuple[str, list[float]]]:
    """Each report of the last 90 days, `samples` times, for every number and for one; then the store's reads
    alone (the database's share of a summary). `reports_store`: messages.db's, or the cluster's
    (store/pg_reports.py: bench.pg_message_log)."""
    service = ReportService(reports_store, clock=lambda: end_ms / 1000)
    every = {"from": _iso(end_ms - 90 * DAY_MS), "to": _iso(end_ms), "tz": "America/Sao_Paulo"}
    one = {**every, "clientId": client}
    query = ReportQuery(end_ms - 90 * DAY_MS, end_ms)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("summary, 90 days, all numbers (+ previous 90 days)", lambda: service.summary(every)),
        ("summary, 90 days, one number", lambda: service.summary(one)),
        ("response-times, 90 days, all numbers", lambda: service.response_times(every)),
        ("funnel, 90 days, all numbers", lambda: service.funnel(every)),
        ("volume, 90 days, all numbers", lambda: service.volume(every)),
        ("heatmap, 90 days, all numbers", lambda: service.heatmap(every)),
        ("summary as CSV, 90 days, all numbers", lambda: service.csv("summary", every)),
        ("lifetime figures for GET /metrics (Prometheus scrape)", service.lifetime),
        ("SQL alone: report_hours sums, 90 days", lambda: reports_store.totals(query)),
        ("SQL alone: first waits of 90 days (rows to Python)", lambda: reports_store.waits(query, first_only=True)),
        ("SQL alone: every wait of 90 days (rows to Python)", lambda: reports_store.waits(query, first_only=False)),
    ]
    return [(name, timed(fn, samples)) for name, fn in cases]


def trigger_cost(store: MessageStore, samples: int,
                 writes: Callable[[MessageStore, int], list[tuple[str, list[float]]]]) -> list[tuple[str, list[float]]]:
    """One message's writes with the report triggers, then without them (dropped in this throwaway file), taken
    in alternating rounds so both see the same machine load."""
    schema = {name: sql for name, sql in store.database.read().execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tr_report_%'")}
    rows: dict[str, list[float]] = {}
    rounds = 4
    for _ in range(rounds):
        for label, present in (("with report triggers", True), ("without", False)):
            with store.database.write() as conn:
                for name in schema:
                    conn.execute(f"DROP TRIGGER IF EXISTS {name}")
                if present:
                    for sql in schema.values():
                        conn.execute(sql)
            for name, values in writes(store, max(1, samples // rounds)):
                rows.setdefault(f"{name}, {label}", []).extend(values)
    return sorted(rows.items())


def summary_line(rows: list[tuple[str, list[float]]]) -> str:
    """The medians of the life of a message with and without the triggers."""
    life = {label: sum(statistics.median(v) for k, v in rows if k.endswith(label))
            for label in ("with report triggers", "without")}
    return (f"one message's writes (accept, claim, sent, 2 acks, one incoming) at p50: "
            f"{life['with report triggers']:.2f} ms with the report triggers, {life['without']:.2f} ms without")
