"""When a schedule fires: `at` read, the zone checked, the repeat rule checked and its occurrences computed.

The recurrence is python-dateutil's RFC 5545 RRULE (`rrulestr`), computed from the first occurrence as a wall-clock
time in the schedule's zone (zoneinfo): a daily 09:00 stays 09:00 local across a DST change. Hostile rules are
refused before dateutil sees them, because dateutil looks for a rule's next occurrence until the year 9999: a rule
that never matches (30 February, every other month in February only) costs it seconds of CPU. So only a subset is
taken, one that always matches again within a few years:

- FREQ HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY (never SECONDLY or MINUTELY); INTERVAL 1-1000; COUNT 1-10,000;
  UNTIL in UTC (…Z), not with COUNT; BYDAY (an ordinal -5..5 only with MONTHLY or YEARLY), BYMONTHDAY, BYMONTH, BYHOUR, BYMINUTE,
  WKST. Not BYSECOND, BYSETPOS, BYYEARDAY, BYWEEKNO, nor BYDAY together with BYMONTHDAY.
- INTERVAL above 1 only with BYHOUR and BYMINUTE (and BYDAY with WEEKLY, MONTHLY or YEARLY): an interval's phase
  against a date filter can miss it forever.
- BYMONTHDAY must exist in one of the months (BYMONTH=2;BYMONTHDAY=30 never happens).
- At most one message an hour: no two occurrences less than 60 minutes apart (checked over the first two years,
  and again whenever the schedule moves on).
"""

from __future__ import annotations

import functools
import itertools
import re
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tzlocal
from dateutil.rrule import rrule, rrulestr

from .errors import ScheduleBadRule, ScheduleBadTime, ScheduleTooFrequent, ScheduleUnknownTimezone

MIN_GAP_S = 3600  # a schedule fires at most once an hour
ON_TIME_S = 60  # an occurrence handled within this is on time; later, it was missed (ZapPool closed, asleep)
PAST_TOLERANCE_S = 60  # a one-off may name the current minute
MAX_AHEAD = timedelta(days=3660)  # ten years
CHECK_SPAN = timedelta(days=731)  # the gap check looks this far
CHECK_COUNT = 1000
MAX_RULE_CHARS = 300
MAX_COUNT = 10_000
MAX_INTERVAL = 1000
PRESETS = {"daily": "FREQ=DAILY", "weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY"}
FREQS = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYHOUR", "BYMINUTE", "WKST"}
RULE_TEXT = re.compile(r"[A-Za-z0-9=;,+-]+")  # one RRULE line: no DTSTART, RDATE or EXDATE beside it
DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_at(raw: Any) -> datetime:
    """`at`: ISO 8601 with its offset (or Z); a time without one could be any of 38 zones' and is refused."""
    if not isinstance(raw, str) or len(raw) > 64:
        raise ScheduleBadTime("'at' must be an ISO 8601 time with its offset, e.g. 2026-12-24T09:00:00-03:00",
                              details={"field": "at", "reason": "unparsable"})
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ScheduleBadTime(f"'at' is not an ISO 8601 time: {raw[:64]!r}",
                              details={"field": "at", "reason": "unparsable"}) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ScheduleBadTime("'at' needs its offset (e.g. -03:00 or Z): without one the time is ambiguous",
                              details={"field": "at", "reason": "no_offset"})
    return moment.astimezone(timezone.utc)


def zone(name: Any) -> ZoneInfo:
    """An IANA zone this machine knows."""
    if not isinstance(name, str) or not 0 < len(name) <= 64 or ".." in name or name.startswith("/"):
        raise ScheduleUnknownTimezone("'tz' must be an IANA time zone, e.g. America/Sao_Paulo",
                                      details={"field": "tz"})
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleUnknownTimezone(f"Unknown time zone {name[:64]!r}: use an IANA name, e.g. America/Sao_Paulo",
                                      details={"field": "tz"}) from None


def machine_zone() -> str:
    """This machine's IANA zone (tzlocal: /etc/localtime, TZ, Windows' registry), UTC when it cannot be named."""
    try:
        name = tzlocal.get_localzone_name()
    except Exception:  # noqa: BLE001 - a machine without a zone name: UTC, said in the API's answers
        return "UTC"
    try:
        return zone(name).key if name else "UTC"
    except ScheduleUnknownTimezone:
        return "UTC"


def normal_rule(raw: Any) -> str | None:
    """The repeat rule as stored: None (a one-off), a preset (daily, weekly, monthly) spelt out, or an RRULE
    (with or without its "RRULE:" prefix) checked against the subset above."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_RULE_CHARS:
        raise _bad(f"'rrule' must be daily, weekly, monthly or an RRULE of at most {MAX_RULE_CHARS} characters",
                   "unparsable")
    text = PRESETS.get(raw.strip().lower(), raw.strip())
    text = text[len("RRULE:"):] if text.upper().startswith("RRULE:") else text
    if not RULE_TEXT.fullmatch(text):
        raise _bad("An RRULE is one line of NAME=VALUE parts separated by ';'", "unparsable")
    parts: dict[str, str] = {}
    for part in text.upper().split(";"):
        name, sep, value = part.partition("=")
        if not sep or not value or name in parts:
            raise _bad(f"'{part[:40]}' is not NAME=VALUE (once each)", "unparsable")
        parts[name] = value
    _check_parts(parts)
    return ";".join(f"{k}={v}" for k, v in parts.items())


def _check_parts(parts: dict[str, str]) -> None:
    """The subset of RFC 5545 ZapPool runs (see the module's doc)."""
    unknown = sorted(set(parts) - PARTS)
    if unknown:
        raise _bad(f"{unknown[0]} is not taken here", f"unsupported_{unknown[0].lower()}")
    freq = parts.get("FREQ")
    if freq not in FREQS:
        raise (ScheduleTooFrequent("A schedule fires at most once an hour: FREQ must be HOURLY or slower",
                                   details={"field": "rrule", "minGapS": MIN_GAP_S})
               if freq in ("SECONDLY", "MINUTELY") else _bad("FREQ must be HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY",
                                                             "bad_freq"))
    interval = _number(parts.get("INTERVAL", "1"), 1, MAX_INTERVAL, "INTERVAL")
    _number(parts.get("COUNT", "1"), 1, MAX_COUNT, "COUNT")
    if "COUNT" in parts and "UNTIL" in parts:
        raise _bad("COUNT and UNTIL may not both be given (RFC 5545)", "count_with_until")
    days = parts.get("BYDAY", "")
    if days and "BYMONTHDAY" in parts:
        raise _bad("BYDAY and BYMONTHDAY together are not taken here", "byday_with_bymonthday")
    if any(ch.isdigit() for ch in days) and (freq not in ("MONTHLY", "YEARLY") or not _ordinals_ok(days)):
        raise _bad("An ordinal weekday (e.g. 2MO) needs MONTHLY or YEARLY and -5..5", "bad_ordinal")
    filters = set(parts) & {"BYMONTH", "BYMONTHDAY"} | ({"BYDAY"} if days and freq in ("HOURLY", "DAILY") else set())
    if interval > 1 and filters:
        raise _bad("INTERVAL above 1 cannot be combined with " + ", ".join(sorted(filters)), "interval_with_filter")
    if "BYMONTHDAY" in parts:
        _monthdays_exist(parts["BYMONTHDAY"], parts.get("BYMONTH"))


def _number(text: str, low: int, high: int, name: str) -> int:
    """A whole number in [low, high] from the rule's text."""
    if not text.isdigit() or not low <= int(text) <= high:
        raise _bad(f"{name} must be {low} to {high}", f"bad_{name.lower()}")
    return int(text)


def _ordinals_ok(days: str) -> bool:
    """Every BYDAY ordinal (+2MO, -1FR) is within -5..5 and not 0."""
    for day in days.split(","):
        ordinal = day[:-2]
        if ordinal and (not ordinal.lstrip("+-").isdigit() or not 1 <= abs(int(ordinal)) <= 5):
            return False
    return True


def _monthdays_exist(monthdays: str, months: str | None) -> None:
    """Some BYMONTHDAY exists in some BYMONTH (29 February counts: leap years come)."""
    try:
        days = [int(d) for d in monthdays.split(",")]
        chosen = [int(m) for m in months.split(",")] if months else list(range(1, 13))
    except ValueError:
        raise _bad("BYMONTHDAY and BYMONTH are lists of numbers", "unparsable") from None
    if not all(1 <= m <= 12 for m in chosen) or not all(d and abs(d) <= 31 for d in days):
        raise _bad("BYMONTH is 1-12 and BYMONTHDAY ±1-31", "unparsable")
    if not any(abs(d) <= DAYS_IN_MONTH[m - 1] for d in days for m in chosen):
        raise _bad("That day never occurs in those months", "never")


def _bad(message: str, reason: str) -> ScheduleBadRule:
    """The 422 naming what is wrong with the rule."""
    return ScheduleBadRule(message, details={"field": "rrule", "reason": reason})


@functools.lru_cache(maxsize=512)
def _rule(text: str, first_ms: int, tz: str) -> rrule:
    """The rule from its first occurrence as a wall-clock time in `tz`; its occurrences are cached by dateutil
    (a schedule asks for the next one again and again)."""
    start = datetime.fromtimestamp(first_ms / 1000, ZoneInfo(tz))
    try:
        return rrulestr(text, dtstart=start, cache=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _bad(f"The rule does not parse: {str(exc)[:120]}", "unparsable") from None


def check_rule(text: str, first_ms: int, tz: str) -> None:
    """dateutil takes the rule, and no two of its first occurrences (two years or 1,000) are under an hour
    apart."""
    rule = _rule(text, first_ms, tz)
    start = datetime.fromtimestamp(first_ms / 1000, timezone.utc)
    first = list(itertools.islice(itertools.takewhile(lambda dt: dt <= start + CHECK_SPAN, rule), CHECK_COUNT))
    for a, b in itertools.pairwise(first):
        if (b - a).total_seconds() < MIN_GAP_S:
            raise ScheduleTooFrequent(f"Two occurrences are {int((b - a).total_seconds() // 60)} min apart: a "
                                      "schedule fires at most once an hour",
                                      details={"field": "rrule", "minGapS": MIN_GAP_S})


def next_at(first_ms: int, tz: str, text: str | None, after_ms: int, *, inclusive: bool) -> int | None:
    """The first occurrence at or after `after_ms` (after it, when not inclusive), in epoch ms; None: no more
    (a one-off already past, a rule's COUNT or UNTIL reached)."""
    if text is None:
        return first_ms if first_ms > after_ms or (inclusive and first_ms == after_ms) else None
    moment = _rule(text, first_ms, tz).after(datetime.fromtimestamp(after_ms / 1000, timezone.utc), inc=inclusive)
    return int(moment.timestamp() * 1000) if moment is not None else None


def following(first_ms: int, tz: str, text: str | None, occurrence_ms: int) -> int | None:
    """The occurrence after `occurrence_ms`, never less than an hour after it (the backstop of the gap rule)."""
    return next_at(first_ms, tz, text, occurrence_ms + MIN_GAP_S * 1000, inclusive=True) if text else None


def between(first_ms: int, tz: str, text: str | None, start_ms: int, end_ms: int, limit: int) -> list[int]:
    """Occurrences from `start_ms` up to `end_ms` (both included), at most `limit`, each an hour after the last."""
    found: list[int] = []
    moment = next_at(first_ms, tz, text, start_ms, inclusive=True)
    while moment is not None and moment <= end_ms and len(found) < limit:
        found.append(moment)
        moment = following(first_ms, tz, text, moment)
    return found
