"""A report's period and time zone, read from the query (`from`, `to`, `tz`), and the local day and hour of the
report tables' UTC hours.

Dates are local: `from=2026-12-01&to=2026-12-07` is the seven days from the 1st's midnight to the 8th's, in `tz`.
A date and time (`2026-12-01T08:00`) is that instant (local unless it carries an offset). Without `from`, the
period is the last seven local days up to now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidInput

MAX_DAYS = 400
HOUR_MS = 3_600_000
EPOCH = date(1970, 1, 1)
TZ_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")


@dataclass(frozen=True)
class Period:
    """[start_ms, end_ms) in epoch ms, read in `tz`."""

    start_ms: int
    end_ms: int
    tz: ZoneInfo

    @property
    def previous(self) -> Period:
        """The period of the same length just before this one (the headline figures' comparison)."""
        return Period(2 * self.start_ms - self.end_ms, self.start_ms, self.tz)

    def local(self, ms: int) -> datetime:
        """An epoch-ms instant in the report's zone."""
        return datetime.fromtimestamp(ms / 1000, self.tz)

    def days(self) -> list[str]:
        """Every local date the period touches, oldest first (ISO)."""
        first, last = self.local(self.start_ms).date(), self.local(self.end_ms - 1).date()
        return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]

    def offsets(self) -> list[tuple[int, int]]:
        """(first UTC hour, minutes ahead of UTC) of each stretch of the period with one offset, for SQL to cut
        the report tables' UTC hours into local days and hours."""
        stretches: list[tuple[int, int]] = []
        for hour in range(self.start_ms // HOUR_MS, -(-self.end_ms // HOUR_MS)):
            offset = datetime.fromtimestamp(hour * 3600, self.tz).utcoffset()
            minutes = int(offset.total_seconds() // 60) if offset else 0
            if not stretches or stretches[-1][1] != minutes:
                stretches.append((hour, minutes))
        return stretches

    def iso(self, ms: int) -> str:
        """An instant as ISO 8601 with the zone's offset."""
        return self.local(ms).isoformat(timespec="seconds")


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone named (UTC when none); InvalidInput for anything else."""
    name = name or "UTC"
    if len(name) > 64 or not TZ_NAME.fullmatch(name):
        raise InvalidInput("tz is an IANA time zone name, such as America/Sao_Paulo", details={"field": "tz"})
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Unknown time zone '{name}'", details={"field": "tz"}) from None


def _moment(value: str, field: str, tz: ZoneInfo, *, end: bool) -> int:
    """A date (its local midnight; the next one for `to`) or a date and time, as epoch ms."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            moment = datetime(day.year, day.month, day.day, tzinfo=tz)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            moment = moment if moment.tzinfo else moment.replace(tzinfo=tz)
    except (ValueError, OverflowError):
        raise InvalidInput(f"'{field}' is a date (2026-12-01) or a date and time (2026-12-01T08:00)",
                           details={"field": field}) from None
    return int(moment.timestamp() * 1000)


def read_period(start: str | None, end: str | None, tz_name: str | None, now_ms: int) -> Period:
    """The period a query asks for; InvalidInput when it is backwards, empty or longer than MAX_DAYS."""
    tz = zone(tz_name)
    end_ms = _moment(end, "to", tz, end=True) if end else now_ms
    if start:
        start_ms = _moment(start, "from", tz, end=False)
    else:
        today = datetime.fromtimestamp(end_ms / 1000, tz).date() - timedelta(days=6)
        start_ms = int(datetime(today.year, today.month, today.day, tzinfo=tz).timestamp() * 1000)
    if start_ms >= end_ms:
        raise InvalidInput("'from' must come before 'to'", details={"field": "from"})
    if end_ms - start_ms > MAX_DAYS * 86_400_000:
        raise InvalidInput(f"A report covers at most {MAX_DAYS} days", details={"field": "from"})
    return Period(start_ms, end_ms, tz)


def day_iso(day: int) -> str:
    """A day number (days since 1970-01-01, local) as an ISO date."""
    return (EPOCH + timedelta(days=day)).isoformat()


def utc_iso(ms: int) -> str:
    """An instant in UTC, ISO 8601 with a Z."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
