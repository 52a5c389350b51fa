"""CPU and wall time of one small SQLite commit in WAL mode with synchronous=FULL (fsynced) and NORMAL, side by
side, alternating: what a write not fsynced saves (backend/store/sqlite_db.py, write(durable=False)).

    .venv/bin/python -m bench.fsync_cost --commits 1000 --rounds 3
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path


def one_round(folder: Path, mode: str, commits: int) -> tuple[float, float, float]:
    """(user, system, wall) milliseconds per one-row commit."""
    conn = sqlite3.connect(folder / f"{mode}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {mode}")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(commits):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 100,))
        conn.execute("COMMIT")
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    conn.close()
    return ((after.ru_utime - before.ru_utime) * 1000 / commits, (after.ru_stime - before.ru_stime) * 1000 / commits,
            wall * 1000 / commits)


def main() -> None:
    """Alternate FULL and NORMAL rounds in a folder on the project's disk; print the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, float, float]]] = {"FULL": [], "NORMAL": []}
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parents[1]) as tmp:
        for _ in range(args.rounds):
            for mode in rows:
                rows[mode].append(one_round(Path(tmp), mode, args.commits))
    print("| synchronous | user ms/commit | system ms/commit | wall ms/commit |\n|---|---|---|---|")
    for mode, runs in rows.items():
        user, system, wall = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"| {mode} | {user:.3f} | {system:.3f} | {wall:.3f} |")


if __name__ == "__main__":
    main()
