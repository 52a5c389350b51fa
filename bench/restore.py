"""Benchmark: restoring 10 saved sessions after a restart, against restoring 1, in one run.

Each round builds a new WhatsAppPool on the same dados/ (as a restart does) and times
`restore_persisted_sessions()`, which returns once every restored number is ready (no QR scan: the login comes
back from each Chromium profile). Rounds alternate between the 10-number and the 1-number folders.

    .venv/bin/python -m bench.restore --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.assembly import build_pool
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.whatsapp.pool import WhatsAppPool
from wasim import SimServer


@contextmanager
def open_pool(settings: Settings) -> Iterator[WhatsAppPool]:
    """A started pool with its own engine, built as app.py builds it; shut down, engine stopped, on the way out."""
    engine = EngineRuntime(settings)
    pool = build_pool(settings, engine)
    pool.start()
    try:
        yield pool
    finally:
        pool.shutdown()
        engine.stop()


def link_numbers(sim: SimServer, data_dir: Path, count: int) -> None:
    """Create `count` numbers in a fresh dados/, scan each QR code, wait until all are ready, stop."""
    with open_pool(Settings(data_dir=data_dir, whatsapp_url=sim.url)) as pool:
        for n in range(count):
            pool.create_and_initialize(f"n{n}")
            sim.control.scan(pool.get(f"n{n}").qr.code, f"55119999{n:05d}")
        deadline = time.monotonic() + 120
        while len(pool.get_ready_clients()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(pool.get_ready_clients()) == count


def restore_once(sim: SimServer, data_dir: Path) -> tuple[float, dict[str, int]]:
    """A new pool on `data_dir`: seconds until restore_persisted_sessions() returns, and its result."""
    with open_pool(Settings(data_dir=data_dir, whatsapp_url=sim.url)) as pool:
        start = time.perf_counter()
        result = pool.restore_persisted_sessions()
        elapsed = time.perf_counter() - start
    return elapsed, result


def main() -> None:
    """Alternate 10-number and 1-number restores; print medians and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--numbers", type=int, default=10)
    args = parser.parse_args()
    times: dict[int, list[float]] = {args.numbers: [], 1: []}
    with SimServer(port=0) as sim, tempfile.TemporaryDirectory() as tmp:
        folders = {n: Path(tmp) / f"dados{n}" for n in times}
        for n, folder in folders.items():
            link_numbers(sim, folder, n)
        for _ in range(args.rounds):
            for n, folder in folders.items():
                elapsed, result = restore_once(sim, folder)
                assert result == {"restored": n, "total": n}, result
                times[n].append(elapsed)
    many, one = statistics.median(times[args.numbers]), statistics.median(times[1])
    print("| restore | rounds | median | min | max |\n|---|---|---|---|---|")
    for n, values in times.items():
        print(f"| {n} number(s) until all ready | {len(values)} | {statistics.median(values):.2f} s | "
              f"{min(values):.2f} s | {max(values):.2f} s |")
    print(f"\nratio of medians ({args.numbers} / 1): {many / one:.2f}x")


if __name__ == "__main__":
    main()
