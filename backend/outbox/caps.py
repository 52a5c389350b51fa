"""Per-number limits: pacing (interval + jitter) and hourly/daily caps, and when a capped number may send again.

A cap never fails a message: the number's lane holds its next message (queued, with the reason on the record)
until the window that is full ends: the next clock hour for the hourly cap, the next local midnight for the
daily one (the day a business counts in). Counts come from messages.db (LimitStore.sent_since), so they
survive restarts. Settings set here persist in messages.db's `client_limits`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..store.limits import LimitStore, StoredLimits

HOUR_S = 3600.0
RATE_LIMITED = "rate_limited"  # the error_code a held message shows while it waits for its window


@dataclass(frozen=True)
class Limits:
    """A number's effective limits; a cap of 0 is no cap."""

    interval_s: float
    jitter_s: float
    hourly_cap: int
    daily_cap: int

    def to_dict(self) -> dict[str, float | int]:
        """The REST shape."""
        return {"intervalS": self.interval_s, "jitterS": self.jitter_s, "hourlyCap": self.hourly_cap,
                "dailyCap": self.daily_cap}


@dataclass(frozen=True)
class Hold:
    """A number at a cap: it may send again at `until` (epoch s); `reason` is what the message record says."""

    cap: str  # "hourly" or "daily"
    limit: int
    until: float
    reason: str


def hour_start(now: float) -> float:
    """The start of the clock hour `now` is in."""
    return now - now % HOUR_S


def day_start(now: float) -> float:
    """Local midnight before `now` (the machine's time zone: the business's day)."""
    local = datetime.fromtimestamp(now).astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def next_day_start(now: float) -> float:
    """The local midnight after `now` (a DST day is 23 or 25 hours long)."""
    local = datetime.fromtimestamp(day_start(now)).astimezone() + timedelta(days=1, hours=3)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


class Caps:
    """Every number's limits (the defaults unless set), stored, and the check a lane makes before a send."""

    def __init__(self, store: LimitStore, defaults: Limits):
        self.store = store
        self.defaults = defaults
        self._lock = threading.Lock()
        self._set: dict[str, StoredLimits] = store.all()

    def limits_for(self, client_id: str) -> Limits:
        """A number's effective limits: what was set for it, the defaults for the rest."""
        with self._lock:
            stored = self._set.get(client_id, StoredLimits())
        d = self.defaults
        return Limits(d.interval_s if stored.interval_s is None else stored.interval_s,
                      d.jitter_s if stored.jitter_s is None else stored.jitter_s,
                      d.hourly_cap if stored.hourly_cap is None else stored.hourly_cap,
                      d.daily_cap if stored.daily_cap is None else stored.daily_cap)

    def set(self, client_id: str, limits: StoredLimits) -> Limits:
        """Store a number's limits (None fields: the default) and return the effective ones."""
        self.store.put(client_id, limits)
        with self._lock:
            self._set[client_id] = limits
        return self.limits_for(client_id)

    def set_pacing(self, client_id: str, interval_s: float, jitter_s: float) -> None:
        """Change only the pacing of a number (Outbox.set_pacing), keeping its caps."""
        with self._lock:
            current = self._set.get(client_id, StoredLimits())
        self.set(client_id, replace(current, interval_s=interval_s, jitter_s=jitter_s))

    def forget(self, client_id: str) -> None:
        """A number was removed."""
        with self._lock:
            self._set.pop(client_id, None)
        self.store.delete(client_id)

    def usage(self, client_id: str, now: float) -> tuple[int, int]:
        """(sent this clock hour, sent today) by this number."""
        return (self.store.sent_since(client_id, int(hour_start(now) * 1000)),
                self.store.sent_since(client_id, int(day_start(now) * 1000)))

    def hold_for(self, client_id: str, now: float) -> Hold | None:
        """None when the number may send now; else the fullest window and when it ends (the later one wins)."""
        limits = self.limits_for(client_id)
        if not limits.hourly_cap and not limits.daily_cap:
            return None
        hour, day = self.usage(client_id, now)
        holds = []
        if limits.daily_cap and day >= limits.daily_cap:
            holds.append(("daily", limits.daily_cap, next_day_start(now)))
        if limits.hourly_cap and hour >= limits.hourly_cap:
            holds.append(("hourly", limits.hourly_cap, hour_start(now) + HOUR_S))
        if not holds:
            return None
        cap, limit, until = max(holds, key=lambda h: h[2])
        when = datetime.fromtimestamp(until).astimezone().isoformat(timespec="minutes")
        return Hold(cap, limit, until, f"{client_id} reached its {cap} cap of {limit} messages: waiting until "
                                       f"{when} to send")
