"""Benchmark: what the rate limits cost. The per-key limiter on every API-key request (allowed and refused), and
the per-number cap check before every send on a message log with 100,000 of that number's sends this hour.

    .venv/bin/python -m bench.limits_cost
"""

from __future__ import annotations

import logging
import tempfile
import time
import timeit
from pathlib import Path

from backend.api.ratelimit import KeyRateLimiter, RateLimited
from backend.auth.passwords import ScryptParams
from backend.auth.service import AuthService
from backend.outbox.caps import Caps, Limits
from backend.store.limits import LimitStore
from backend.store.messages import MessageStore


def key_limiter(folder: Path) -> None:
    """Microseconds per allowed and per refused request."""
    auth = AuthService.in_folder(folder, scrypt=ScryptParams(n=2 ** 10, r=8, p=1))
    auth.reset_password("senha-forte-123")
    limiter = KeyRateLimiter(auth)
    busy, _ = auth.create_api_key("busy", rate_per_minute=100_000)
    took = timeit.timeit(lambda: limiter.hit(busy), number=20_000)
    print(f"allowed request: {took / 20_000 * 1e6:.1f} us (20,000 requests, window of up to 100,000)")
    full, _ = auth.create_api_key("full", rate_per_minute=10)

    def refused() -> None:
        try:
            limiter.hit(full)
        except RateLimited:
            pass

    took = timeit.timeit(refused, number=5_000)
    print(f"refused request (429): {took / 5_000 * 1e6:.1f} us")


def cap_check(folder: Path) -> None:
    """Milliseconds per cap check on a log where the number sent 100,000 messages this hour."""
    store = MessageStore(folder / "messages.db")
    now = time.time()
    ms = int(now * 1000)
    with store.database.write() as conn:
        conn.executemany("INSERT INTO messages (id, direction, client_id, chat, type, status, created_at, updated_at,"
                         " sent_at) VALUES (?, 'out', ?, 'x@c.us', 'chat', 'sent', ?, ?, ?)",
                         [(f"m{i}", "a" if i % 2 else "b", ms, ms, ms - i) for i in range(200_000)])
    caps = Caps(LimitStore(store.database), Limits(1, 1, 1_000_000, 1_000_000))
    took = timeit.timeit(lambda: caps.hold_for("a", now), number=200)
    print(f"cap check before a send, 100,000 sends this hour: {took / 200 * 1e3:.2f} ms")
    store.close()


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        key_limiter(Path(tmp))
        cap_check(Path(tmp))
