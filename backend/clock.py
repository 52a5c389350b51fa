"""Time as ZapPool writes it: UTC now (injectable where a test needs another clock) and ISO 8601 with Z."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    """The current time in UTC (injectable for tests)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and Z, as the seed's JSON shows."""
    return None if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
