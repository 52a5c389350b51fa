"""The schedule crash test's child process (tests/test_schedules_crash.py starts it; it kills itself)::

    python -m tests.schedules_support --sim URL --data DIR --to 5511988887777 --kill after_send|at_once

It opens a WhatsAppPool on DIR as the app does, restores the number `a` from the sessions file and its linked
profile (no scan), makes a one-off schedule from `a` two seconds ahead and starts the schedules' worker on the
real schedules.db and outbox. The only thing changed is the store's `advance` (the schedule moving on, after the
occurrence went into the outbox): before it writes anything, the process SIGKILLs itself, right away
(`at_once`) or once the message is out on the simulator (`after_send`, the worst case: sent, not recorded).
Lines on stdout: READY, SCHEDULED <id>, QUEUED <message id>.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from backend.assembly import build_pool
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.schedules import ScheduleService
from backend.store.schedules import Run, ScheduleStore, StoredSchedule
from backend.store.templates import TemplateStore
from backend.templates import TemplatesService
from backend.whatsapp.pool import WhatsAppPool

SENT = ("sent", "delivered", "read")


def _write_line(text: str) -> None:
    """One line to the parent test, at once."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class KillingStore(ScheduleStore):
    """schedules.db, but the process dies where a crash hurts most: the message queued, the schedule not moved."""

    def __init__(self, path: Path, pool: WhatsAppPool, when: str):
        super().__init__(path)
        self._pool, self._when = pool, when

    def advance(self, schedule: StoredSchedule, runs: list[Run], next_at: int | None) -> bool:
        message_id = runs[0].message_id
        _write_line(f"QUEUED {message_id}")
        if self._when == "after_send":
            deadline = time.monotonic() + 30
            while self._pool.outbox.get(message_id).status not in SENT and time.monotonic() < deadline:
                time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> None:
    """The child: restore a, schedule, let the worker fire, die in advance()."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sim", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--to", default="5511988887777")
    parser.add_argument("--kill", choices=("after_send", "at_once"), required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = Settings(data_dir=args.data, whatsapp_url=args.sim, load_timeout_s=30, call_timeout_s=30,
                        send_interval_s=0, send_jitter_s=0)
    pool = build_pool(settings, EngineRuntime(settings))
    pool.start()
    restored = pool.restore_persisted_sessions()
    if pool.get_ready_clients() != ["a"]:
        raise SystemExit(f"a did not come back ready: {restored}, {pool.get_all_clients_info()}")
    _write_line("READY")
    templates = TemplatesService(TemplateStore(args.data / "templates.db"))
    service = ScheduleService(KillingStore(args.data / "schedules.db", pool, args.kill), pool.outbox, pool,
                              templates)
    at = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    made = service.create({"clientId": "a", "to": args.to, "text": "agendada uma vez", "at": at})
    _write_line(f"SCHEDULED {made['id']}")
    service.start()
    time.sleep(600)  # advance() kills us


if __name__ == "__main__":
    main()
