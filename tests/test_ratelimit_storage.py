"""The API keys' rate limiter's storage: expired hits are still swept (memory stays bounded), with no thread
started per request (limits' own MemoryStorage starts one 10 ms after each hit; see SweepingMemoryStorage)."""

from __future__ import annotations

import threading
import time

from limits import RateLimitItemPerSecond
from limits.strategies import MovingWindowRateLimiter

from backend.api.ratelimit import SweepingMemoryStorage


def test_hits_start_no_thread_and_expired_hits_are_swept(monkeypatch):
    storage = SweepingMemoryStorage()
    monkeypatch.setattr(SweepingMemoryStorage, "SWEEP_EVERY_S", 0.0)
    limiter, item = MovingWindowRateLimiter(storage), RateLimitItemPerSecond(3)
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self) or real_start(self))
    assert [limiter.hit(item, "key", "k") for _ in range(4)] == [True, True, True, False]
    time.sleep(1.1)  # the three hits leave the 1 s window
    assert limiter.hit(item, "key", "k")
    assert started == [], "a hit started a thread"
    assert len(storage.events[item.key_for("key", "k")]) == 1, "the expired hits were not swept"
