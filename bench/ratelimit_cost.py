"""CPU per API-key request spent in the rate limiter: `limits`' own MemoryStorage against ZapPool's
SweepingMemoryStorage (backend/api/ratelimit.py), side by side, alternating rounds, in this one process.

Each round makes a hit and a window read (what KeyRateLimiter.hit does per request) every `--gap` seconds, the
rate of a busy integration (90 requests/s by default), and reads this process's CPU (every thread: the timer
threads MemoryStorage starts count) from /proc/self/stat before and after. A round that only sleeps gives the
loop's own cost, subtracted from neither: read the difference between the two storages.

    .venv/bin/python -m bench.ratelimit_cost --rounds 6 --seconds 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from backend.api.ratelimit import SweepingMemoryStorage
from bench.send_cost import cpu_s


def one_round(storage: MemoryStorage | None, seconds: float, gap: float) -> float:
    """Microseconds of CPU per request for `seconds` of requests every `gap` s (storage None: the bare loop)."""
    limiter = MovingWindowRateLimiter(storage) if storage is not None else None
    item = RateLimitItemPerMinute(100_000)
    before, requests, end = cpu_s(os.getpid()), 0, time.monotonic() + seconds
    while time.monotonic() < end:
        if limiter is not None:
            limiter.hit(item, "key", "k")
            limiter.get_window_stats(item, "key", "k")
        requests += 1
        time.sleep(gap)
    return (cpu_s(os.getpid()) - before) * 1e6 / requests


def main() -> None:
    """Alternate the three variants; print each round and the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--gap", type=float, default=0.011, help="seconds between requests")
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    variants = {"limits' MemoryStorage": MemoryStorage, "SweepingMemoryStorage": SweepingMemoryStorage,
                "loop only (no limiter)": None}
    rows: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        order = list(variants.items()) if r % 2 == 0 else list(reversed(variants.items()))
        for name, kind in order:
            rows[name].append(one_round(kind() if kind else None, args.seconds, args.gap))
        print(f"round {r}: " + ", ".join(f"{n} {v[-1]:.0f} us" for n, v in rows.items()), flush=True)
    print(f"\n| storage | CPU per request (median of {args.rounds}) |\n|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {statistics.median(values):.0f} us |")


if __name__ == "__main__":
    main()
