"""Benchmark: the message log on PostgreSQL (cluster mode) beside SQLite (the desktop), same rows, one run.

The same data set as bench/message_log.py (10 numbers, 2,000 chats each, half incoming, half outgoing in their
final states, over 90 days) goes into a fresh messages.db (SQLite, WAL, synchronous=FULL) and into a throw-away
PostgreSQL 15 with its durable defaults (fsync and synchronous commit on: bench/postgres.py, durable=True),
each with its store's schema and triggers (COPY for PostgreSQL, 10,000-row transactions for SQLite), then
ANALYZE (autovacuum would, later). Then, through MessageStore and PgMessageStore themselves, alternating
rounds so both see the same machine load: the reads the API and the outbox make, and one message's writes; and
the reports of 90 days through ReportService over ReportStore and PgReportStore (the cluster's report tables,
made by their migration from the filled log: its time is printed).

    .venv/bin/python -m bench.pg_message_log --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from backend.store.messages import MessageStore
from backend.store.pg_db import PgDatabase
from backend.store.pg_messages import PgMessageStore
from backend.store.pg_reports import PgReportStore
from backend.store.reports import ReportStore
from bench.message_log import CLIENTS, DAY_MS, fake_rows, fill, pct, reads, timed, writes
from bench.message_reports import report_reads
from bench.postgres import PostgresServer

COLUMNS = ("id, direction, client_id, routing, chat, to_number, sender, type, body, status, ack, wa_id, attempts, "
           "created_at, updated_at, sent_at, delivered_at, read_at")


def fill_pg(url: str, rows: int, start_ms: int, rng: random.Random, batch: int = 10_000) -> float:
    """COPY `rows` rows (the same generator as SQLite's fill) in `batch`-row transactions, as SQLite's fill
    (one transaction would update each busy chat's row thousands of times in it: a chain of versions to walk
    on every update, which no real traffic makes), triggers on; returns rows per second."""
    started = time.perf_counter()
    generator = fake_rows(rows, start_ms, rng)
    with psycopg.connect(url, autocommit=True) as conn:
        for done in range(0, rows, batch):
            with conn.transaction(), conn.cursor() as cur, cur.copy(f"COPY messages ({COLUMNS}) FROM STDIN") as copy:
                for _ in range(min(batch, rows - done)):
                    row = next(generator)
                    copy.write_row((*row[:3], "pinned", *row[3:6], "chat", *row[6:]))
    elapsed = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return rows / elapsed


def merged(rounds: list[list[tuple[str, list[float]]]]) -> list[tuple[str, list[float]]]:
    """The samples of several rounds of the same measures, measure by measure."""
    return [(name, [v for r in rounds for v in r[i][1]]) for i, (name, _) in enumerate(rounds[0])]


def side_by_side(title: str, sqlite: list[tuple[str, list[float]]], pg: list[tuple[str, list[float]]]) -> str:
    """A Markdown table: p50/p99 of each measure on both stores, and the ratio of medians."""
    lines = [f"\n{title}\n", "| measure | SQLite p50 / p99 | PostgreSQL p50 / p99 | PG / SQLite (p50) |",
             "|---|---|---|---|"]
    for (name, a), (_, b) in zip(sqlite, pg):
        ratio = statistics.median(b) / max(statistics.median(a), 1e-6)
        lines.append(f"| {name} | {pct(a, 50):.2f} / {pct(a, 99):.2f} ms | {pct(b, 50):.2f} / {pct(b, 99):.2f} ms "
                     f"| {ratio:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    """Fill both, then alternate rounds of reads and writes; print Markdown tables and the load average."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=100, help="per round; two rounds per store")
    args = parser.parse_args()
    end_ms = int(time.time() * 1000)
    server = PostgresServer(durable=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            MessageStore(Path(tmp) / "messages.db").close()  # the schema, then the rows
            lite_rate = fill(Path(tmp) / "messages.db", args.rows, end_ms - 90 * DAY_MS, random.Random(7))
            url = server.create_database()
            PgMessageStore(PgDatabase(url).open()).close()  # the schema, then the rows
            pg_rate = fill_pg(url, args.rows, end_ms - 90 * DAY_MS, random.Random(7))
            lite = MessageStore(Path(tmp) / "messages.db")
            pg_db = PgDatabase(url).open()
            pg = PgMessageStore(pg_db)
            started = time.perf_counter()
            pg_reports = PgReportStore(pg_db)  # the migration: the tables, their triggers, a rebuild from the log
            print(f"PostgreSQL report tables made from the {args.rows:,}-row log in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            lite_reports = ReportStore(lite.database)
            pg.counts()  # the first read folds the fill's count deltas: once, not timed
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM message_count_deltas")  # what autovacuum does next after such a fold
            print(f"rows {args.rows:,}; bulk fill: SQLite {lite_rate:,.0f} rows/s, PostgreSQL {pg_rate:,.0f} rows/s "
                  f"(COPY); load average before: {os.getloadavg()}", flush=True)
            rounds: dict[str, dict[str, list[Any]]] = {k: {"r": [], "w": [], "rep": []} for k in ("lite", "pg")}
            for _ in range(2):
                for key, store, reports in (("lite", lite, lite_reports), ("pg", pg, pg_reports)):
                    rounds[key]["r"].append(reads(store, random.Random(11), args.samples, end_ms))  # type: ignore[arg-type]
                    rounds[key]["w"].append(writes(store, args.samples))  # type: ignore[arg-type]
                    rounds[key]["rep"].append(report_reads(reports, end_ms, max(1, args.samples // 4), CLIENTS[0],
                                                           timed))
            lite.close()
            pg.close()
    finally:
        server.close()
    print(side_by_side(f"Reads at {args.rows:,} rows", merged(rounds["lite"]["r"]), merged(rounds["pg"]["r"])))
    print(side_by_side(f"Per-message writes at {args.rows:,} rows (durable as each store commits them: fsync / "
                       "synchronous commit, but mark_sent and acks on both)",
                       merged(rounds["lite"]["w"]), merged(rounds["pg"]["w"])))
    print(side_by_side("Reports of 90 days (ReportService, zone America/Sao_Paulo)", merged(rounds["lite"]["rep"]),
                       merged(rounds["pg"]["rep"])))
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
