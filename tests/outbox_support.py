"""The crash test's child process (tests/test_outbox.py starts it and kills it with SIGKILL mid-burst)::

    python -m tests.outbox_support --sim URL --data DIR --count 200 --to 5511988887777

It opens a WhatsAppPool on DIR as the app does, restores the numbers `a` and `b` from the sessions file and
their linked profiles (no scan), then enqueues the burst through the pool's outbox with no pacing
(i % 3: 0 -> a, 1 -> b, 2 -> any ready number), writes each accepted id on its own line of stdout, then
`ACCEPTED`, and keeps sending until killed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from backend.assembly import build_pool
from backend.config import Settings
from backend.engine import EngineRuntime

BURST_CLIENTS = ("a", "b")


def _write_line(text: str) -> None:
    """One line to the parent test, at once."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    """The crash test's child: restore a and b, enqueue the burst, send until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--sim", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--to", default="5511988887777")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = Settings(data_dir=args.data, whatsapp_url=args.sim, load_timeout_s=30, call_timeout_s=30,
                        send_interval_s=0, send_jitter_s=0)
    pool = build_pool(settings, EngineRuntime(settings))  # its own engine, as in app.py
    pool.start()
    restored = pool.restore_persisted_sessions()
    if pool.get_ready_clients() != list(BURST_CLIENTS):
        raise SystemExit(f"a and b did not come back ready: {restored}, {pool.get_all_clients_info()}")
    _write_line("READY")
    routes = [BURST_CLIENTS[0], BURST_CLIENTS[1], None]
    for i in range(args.count):
        _write_line(pool.outbox.enqueue_text(routes[i % 3], args.to, f"burst {i:03d}"))
    _write_line("ACCEPTED")
    time.sleep(600)  # the parent kills us


if __name__ == "__main__":
    main()
