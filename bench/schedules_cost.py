"""Benchmark: ZapPool's own bookkeeping per scheduled occurrence (issue 17 §3), everything but the browser's send:
the worker reading what is due, drafting the message, the outbox accepting it under the occurrence's id (a look-up,
then the row, fsynced) and the schedule moving on (the run and the next occurrence, one fsynced transaction). Real
stores in a temporary folder, an outbox that is not started (nothing is sent), an injected clock.

    .venv/bin/python -m bench.schedules_cost [--schedules 500] [--rounds 5]

Wall time includes the two fsyncs (the outbox's row, the schedule's advance); CPU time is the process's own.
Two cases: `--schedules` one-offs all due at once (the worker's batches), and one daily schedule stepped through a
year (365 occurrences, the rule's next occurrence computed each time).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from backend.assembly import build_pool
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.schedules import ScheduleService
from backend.store.schedules import ScheduleStore
from backend.store.templates import TemplateStore
from backend.templates import TemplatesService

START = datetime(2027, 1, 1, 12, 0, tzinfo=timezone.utc)


class Clock:
    """Now, as the benchmark sets it."""

    def __init__(self) -> None:
        self.now = START - timedelta(days=1)

    def __call__(self) -> datetime:
        return self.now


def _service(folder: Path, clock: Clock) -> tuple[ScheduleService, object]:
    """A schedule service over fresh stores in `folder`, and its pool (never started)."""
    settings = Settings(data_dir=folder, send_interval_s=0, send_jitter_s=0)
    pool = build_pool(settings, EngineRuntime(settings))
    templates = TemplatesService(TemplateStore(folder / "templates.db"))
    return ScheduleService(ScheduleStore(folder / "schedules.db"), pool.outbox, pool, templates,
                           default_tz="America/Sao_Paulo", clock=clock), pool


def one_offs(count: int) -> tuple[float, float]:
    """Milliseconds per occurrence (wall, CPU) with `count` one-offs due at the same moment."""
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        service, pool = _service(Path(tmp), clock)
        for n in range(count):
            service.create({"to": "5511988887777", "text": f"lembrete {n}", "at": START.isoformat()})
        clock.now = START + timedelta(seconds=1)
        began, cpu = time.perf_counter(), time.process_time()
        while service.runner.step() == 0:
            pass
        took, used = time.perf_counter() - began, time.process_time() - cpu
        assert pool.outbox.totals().pending == count
        service.stop()
        pool.outbox.store.close()
    return took / count * 1000, used / count * 1000


def daily_year() -> tuple[float, float]:
    """Milliseconds per occurrence (wall, CPU) of one daily schedule stepped through a year."""
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        service, pool = _service(Path(tmp), clock)
        service.create({"to": "5511988887777", "text": "bom dia", "at": START.isoformat(), "rrule": "daily"})
        began, cpu = time.perf_counter(), time.process_time()
        for day in range(365):
            clock.now = START + timedelta(days=day, seconds=1)
            while service.runner.step() == 0:
                pass
        took, used = time.perf_counter() - began, time.process_time() - cpu
        assert pool.outbox.totals().pending == 365
        service.stop()
        pool.outbox.store.close()
    return took / 365 * 1000, used / 365 * 1000


def main() -> None:
    """Both cases, `--rounds` times each, side by side; medians and the load average."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"load average at the start: {os.getloadavg()[0]:.2f}")
    burst, year = [], []
    for _ in range(args.rounds):
        burst.append(one_offs(args.schedules))
        year.append(daily_year())
    for name, runs in ((f"{args.schedules} one-offs due at once", burst), ("one daily schedule through a year", year)):
        wall, cpu = [w for w, _ in runs], [c for _, c in runs]
        print(f"{name}: median {statistics.median(wall):.2f} ms wall, {statistics.median(cpu):.2f} ms CPU per "
              f"occurrence (wall by round: {', '.join(f'{v:.2f}' for v in wall)})")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
