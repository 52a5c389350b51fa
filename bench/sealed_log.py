"""Benchmark (issue 19 step 5): the message log at a million rows, sealed (SQLCipher, raw key) against plain,
side by side in one run.

One messages.db is filled as bench.message_log fills it (10 numbers, 2,000 chats each, the store's schema and
triggers), copied, and the copy sealed in place the way `app.py seal convert` does it (sqlcipher_export into a
sealed copy, fsync, rename: that time is printed too). Then, round after round, alternating plain and sealed:
the file opened through MessageStore (quick_check included), the REST API's and the outbox's reads and the
report queries (bench.message_reports), p50 per query over --samples; the table gives the medians of the rounds.

    .venv/bin/python -m bench.sealed_log --rows 1000000 --samples 100 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from backend.sealing import KeyFile
from backend.store.atomic import write_atomic
from backend.store.messages import MessageStore
from backend.store.reports import ReportStore
from backend.store.sqlite_engine import seal_folder, seal_in_place
from bench import message_reports
from bench.message_log import CLIENTS, DAY_MS, fill, pct, reads, timed


def build(tmp: Path, rows: int) -> tuple[Path, Path, int, float]:
    """The plain folder and its sealed copy; the log's end time and the conversion's seconds."""
    plain, sealed = tmp / "plain", tmp / "sealed"
    plain.mkdir()
    sealed.mkdir()
    MessageStore(plain / "messages.db").close()
    end_ms = int(time.time() * 1000)
    fill(plain / "messages.db", rows, end_ms - 90 * DAY_MS, random.Random(7))
    shutil.copy(plain / "messages.db", sealed / "messages.db")
    sealer = KeyFile(sealed, write_atomic).create("frase do benchmark", use_keyring=False)
    seal_folder(sealed, sealer)
    started = time.perf_counter()
    seal_in_place(sealed / "messages.db", sealer.database_keys("messages.db"))
    return plain, sealed, end_ms, time.perf_counter() - started


def one_round(folder: Path, end_ms: int, samples: int) -> dict[str, float]:
    """Open, then every read and report query `samples` times: ms (p50 per query; the open in s)."""
    started = time.perf_counter()
    store = MessageStore(folder / "messages.db")
    out = {"open (s)": time.perf_counter() - started}
    try:
        rows = reads(store, random.Random(11), samples, end_ms)
        rows += message_reports.report_reads(ReportStore(store.database), end_ms, samples, CLIENTS[0], timed)
    finally:
        store.close()
    out.update({name: pct(values, 50) for name, values in rows})
    return out


def main() -> None:
    """Build both, alternate the rounds, print one Markdown table of medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain, sealed, end_ms, convert_s = build(Path(tmp), args.rows)
        size = (sealed / "messages.db").stat().st_size / 1e6
        print(f"load average before: {os.getloadavg()}; sealing the {size:,.0f} MB file took {convert_s:.1f} s",
              flush=True)
        runs: dict[str, list[dict[str, float]]] = {"plain": [], "sealed": []}
        for _ in range(args.rounds):
            for kind, folder in (("plain", plain), ("sealed", sealed)):
                runs[kind].append(one_round(folder, end_ms, args.samples))
                print(kind, f"open {runs[kind][-1]['open (s)']:.2f} s", flush=True)
        print(f"load average after: {os.getloadavg()}")
    print(f"\n| {args.rows:,} rows, p50 per query, median of {args.rounds} rounds | plain | sealed | sealed/plain |")
    print("|---|---|---|---|")
    for name in runs["plain"][0]:
        p, s = (statistics.median(r[name] for r in runs[k]) for k in ("plain", "sealed"))
        unit = "s" if name.endswith("(s)") else "ms"
        print(f"| {name.removesuffix(' (s)')} | {p:.2f} {unit} | {s:.2f} {unit} | {s / p:.2f}x |")


if __name__ == "__main__":
    main()
