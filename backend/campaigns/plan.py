"""A campaign's clock arithmetic: its window (quiet hours), its day (for the daily cap), each number's allowance
for the day (the cap, lowered by the warm-up while the number is new) and the expected end given all of them.

Pure functions of epoch seconds, so the driver and the tests move time by handing another `now`.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .spec import Spec, Window

DAY_S = 86_400.0
SEND_ESTIMATE_S = 1.0  # what one send takes on a page besides the delay (the simulator: ~0.1 s; WhatsApp: ~1 s)
MAX_DAYS = 3_650  # the expected end is not looked for further than ten years


def local(window: Window, now: float) -> datetime:
    """`now` in the window's time zone."""
    return datetime.fromtimestamp(now, ZoneInfo(window.timezone))


def allowed(window: Window, now: float) -> bool:
    """True when a message may go at `now` (its day listed, its minute inside [start, end))."""
    moment = local(window, now)
    minute = moment.hour * 60 + moment.minute
    return moment.weekday() in window.days and window.start <= minute < window.end


def day_start(window: Window, now: float) -> float:
    """Midnight before `now` in the window's time zone: the day the daily cap counts in."""
    return local(window, now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def next_day(window: Window, now: float) -> float:
    """The local midnight after `now` (wall-clock arithmetic: a DST day is 23 or 25 hours long)."""
    midnight = local(window, now).replace(hour=0, minute=0, second=0, microsecond=0)
    return _at(midnight, 24 * 60).timestamp()


def next_open(window: Window, now: float) -> float:
    """`now` when allowed; else when the window opens next (None never: a window has at least one day)."""
    if allowed(window, now):
        return now
    moment = local(window, now)
    for ahead in range(8):
        day = (moment + timedelta(days=ahead)).replace(hour=0, minute=0, second=0, microsecond=0)
        opens = _at(day, window.start)
        if day.weekday() in window.days and opens.timestamp() > now:
            return opens.timestamp()
    raise AssertionError("a window has at least one day")


def closes(window: Window, now: float) -> float:
    """When the window open at `now` closes."""
    return _at(local(window, now).replace(hour=0, minute=0, second=0, microsecond=0), window.end).timestamp()


def _at(midnight: datetime, minutes: int) -> datetime:
    """`minutes` after a local midnight (1440: the next midnight), wall-clock time in its zone."""
    naive = midnight.replace(tzinfo=None) + timedelta(minutes=minutes)
    return naive.replace(tzinfo=midnight.tzinfo)


def allowance(spec: Spec, linked_at: float | None, now: float) -> int:
    """How many campaign messages a number may be given on the day of `now`: the daily cap, or less while the
    warm-up ramp (spec.py) is below it: start * growth ** (whole days since the number was linked)."""
    if not spec.warmup.enabled or linked_at is None:
        return spec.daily_cap
    days = max(0, round((day_start(spec.window, now) - day_start(spec.window, linked_at)) / DAY_S))
    ramp = spec.warmup.start * spec.warmup.growth ** min(days, 60)
    return min(spec.daily_cap, int(ramp))


def expected_end(spec: Spec, now: float, remaining: int, numbers: dict[str, tuple[float | None, int]]) -> float | None:
    """When the last of `remaining` messages should go, given the window, each number's allowance (numbers:
    client id -> (linked at, given today)) and the mean delay; None when no number can send."""
    if remaining <= 0:
        return now
    if not numbers:
        return None
    per_message = max((spec.delay_min + spec.delay_max) / 2, SEND_ESTIMATE_S)
    moment, given = next_open(spec.window, now), {c: g for c, (_, g) in numbers.items()}
    for _ in range(MAX_DAYS):
        seconds = max(0.0, closes(spec.window, moment) - moment)
        per_number = [max(0, min(allowance(spec, linked, moment) - given[c], math.floor(seconds / per_message)))
                      for c, (linked, _) in numbers.items()]
        if sum(per_number) >= remaining:
            senders = sum(1 for n in per_number if n > 0)
            return moment + math.ceil(remaining / senders) * per_message
        remaining -= sum(per_number)
        given = dict.fromkeys(given, 0)
        moment = next_open(spec.window, next_day(spec.window, moment))
    return None
