"""Time: UTC now (injectable where a test needs another clock), ISO 8601 with Z, and the one backoff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone


def utc_now() -> datetime:
    """The current time in UTC (injectable for tests)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and Z, as the seed's JSON shows."""
    return None if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_or_none(text: object) -> float | None:
    """Epoch seconds of an iso() text (read back from another node's view); None for anything else."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


EQUAL_JITTER = (0.5, 1.0)  # half of each step fixed, half random: never sooner than half the step


def backoff_s(failures: int, base_s: float, cap_s: float, draw: Callable[[], float],
              spread: tuple[float, float] = EQUAL_JITTER) -> float:
    """Seconds to wait after the `failures`-th failure in a row: base * 2^(failures-1), capped at `cap_s`,
    times a factor drawn uniformly in `spread` (`draw()` in [0, 1)), so retries from many senders spread out.
    The outbox's retries, the webhook deliveries and the numbers' reconnections all wait this way."""
    step = min(cap_s, base_s * 2 ** max(0, failures - 1))
    low, high = spread
    return step * (low + (high - low) * draw())
