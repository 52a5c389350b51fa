"""Per-number limits: pacing (interval + jitter) and hourly/daily caps, and when a capped number may send again.

A cap never fails a message: the number's lane holds its next message (queued, with the reason on the record)
until the window that is full ends: the next clock hour for the hourly cap, the next local midnight for the
daily one (the day a business counts in). Counts come from messages.db (LimitStore.sent_since), so they
survive restarts. Settings set here persist in messages.db's `client_limits`.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ..errors import InvalidInput
from ..store.limits import StoredLimits
from ..store.message_protocol import SendLimits

HOUR_S = 3600.0
RATE_LIMITED = "rate_limited"  # the error_code a held message shows while it waits for its window
MAX_PACING_S = 3600.0  # an hour between two sends: more is a number switched off, not paced
MAX_CAP = 1_000_000
# REST/window field -> (StoredLimits attribute, number type, most)
FIELDS: dict[str, tuple[str, type, float]] = {"intervalS": ("interval_s", float, MAX_PACING_S),
                                               "jitterS": ("jitter_s", float, MAX_PACING_S),
                                               "hourlyCap": ("hourly_cap", int, MAX_CAP),
                                               "dailyCap": ("daily_cap", int, MAX_CAP)}


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

    def __init__(self, store: SendLimits, defaults: Limits):
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

    def stored(self, client_id: str) -> StoredLimits:
        """What was set for a number (None fields: the default)."""
        with self._lock:
            return self._set.get(client_id, StoredLimits())

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


def read_limits(changes: Any, current: StoredLimits) -> StoredLimits:
    """A limits change as the REST API and the windows send it: the fields given replace the current ones,
    null goes back to the default; anything else (unknown field, wrong type, out of range) is InvalidInput."""
    if not isinstance(changes, dict):
        raise InvalidInput("The limits must be a JSON object", details={"field": "(body)"})
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown field '{unknown[0][:40]}': use {', '.join(FIELDS)}",
                           details={"field": unknown[0][:40]})
    values = {}
    for name, value in changes.items():
        attribute, kind, most = FIELDS[name]
        values[attribute] = None if value is None else _number(name, value, kind, most)
    return replace(current, **values)


def _number(name: str, value: Any, kind: type, most: float) -> float | int:
    """One field: a finite number from 0 to `most` (a whole one for caps)."""
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and 0 <= value <= most and (kind is float or whole))
    if not ok:
        what = "a whole number" if kind is int else "a number of seconds"
        raise InvalidInput(f"'{name}' must be {what} from 0 to {most:g}", details={"field": name})
    return kind(value)
