"""The arithmetic of the figures (docs/REPORTS.md): nearest-rank percentiles, a spread of response times, and
the seconds of a wait that fall inside business hours. It runs on the waits of a period (one row per run of
customer messages, a few thousand a day at most), never on the message log.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import InvalidInput

CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")


def nearest_rank(ordered: list[float], q: float) -> float | None:
    """The q-th percentile (0 < q <= 100) of sorted values by nearest rank; None when there are none."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def spread(seconds: list[float]) -> dict[str, Any]:
    """Median, p90 and mean of response times in seconds (None each when there are none), and how many
    (`seconds` sorted already: ReportService sorts each period's waits once)."""
    ordered = seconds
    mean = sum(ordered) / len(ordered) if ordered else None
    return {"median": _round(nearest_rank(ordered, 50)), "p90": _round(nearest_rank(ordered, 90)),
            "mean": _round(mean), "count": len(ordered)}


def histogram_spread(counts: list[int], bounds_ms: tuple[int, ...], total_ms: int) -> dict[str, Any]:
    """Median, p90 and mean from lengths binned by upper bound (`counts[i]`: lengths in (bounds[i-1],
    bounds[i]] ms, the last entry longer than every bound). The rank's value is placed by linear interpolation
    inside its bucket, so it is within one bucket's width (5% with LENGTH_BOUNDS_MS) of the exact one; the mean
    is exact (the summed lengths are kept)."""
    answered = sum(counts)

    def rank(q: float) -> float | None:
        if not answered:
            return None
        wanted, seen = max(1, math.ceil(q / 100 * answered)), 0
        for i, n in enumerate(counts):
            if n and seen + n >= wanted:
                low = bounds_ms[i - 1] if i else 0
                high = bounds_ms[i] if i < len(bounds_ms) else low
                return (low + (high - low) * (wanted - seen - 0.5) / n) / 1000
            seen += n
        return None

    return {"median": _round(rank(50)), "p90": _round(rank(90)),
            "mean": _round(total_ms / answered / 1000 if answered else None), "count": answered}


def _round(value: float | None) -> float | None:
    """Seconds to the millisecond the log keeps."""
    return None if value is None else round(value, 3)


def _minutes(text: Any, field: str) -> int:
    """'HH:MM' (or '24:00') as minutes after midnight."""
    if not isinstance(text, str) or not CLOCK.fullmatch(text):
        raise InvalidInput(f"'{field}' holds times as HH:MM", details={"field": field})
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True)
class BusinessHours:
    """Opening and closing minutes per weekday (Monday = 0); a day without hours is closed."""

    days: dict[int, tuple[int, int]]

    @classmethod
    def read(cls, value: Any) -> BusinessHours:
        """From {"0": ["08:00", "18:00"], ...}; InvalidInput naming what is wrong."""
        if not isinstance(value, dict) or not value:
            raise InvalidInput("'businessHours' maps weekdays 0-6 (Monday = 0) to [open, close]",
                               details={"field": "businessHours"})
        days: dict[int, tuple[int, int]] = {}
        for key, hours in value.items():
            if str(key) not in "0123456" or len(str(key)) != 1 or not isinstance(hours, list) or len(hours) != 2:
                raise InvalidInput("'businessHours' maps weekdays 0-6 (Monday = 0) to [open, close]",
                                   details={"field": "businessHours"})
            opens, closes = (_minutes(h, "businessHours") for h in hours)
            if opens >= closes:
                raise InvalidInput("A day's business hours open before they close", details={"field": "businessHours"})
            days[int(key)] = (opens, closes)
        return cls(days)

    def to_dict(self) -> dict[str, list[str]]:
        """The stored and shown shape."""
        return {str(d): [f"{o // 60:02d}:{o % 60:02d}", f"{c // 60:02d}:{c % 60:02d}"]
                for d, (o, c) in sorted(self.days.items())}

    def seconds(self, start_ms: int, end_ms: int, tz: ZoneInfo) -> float:
        """The seconds of [start, end) inside business hours, day by local day."""
        start, end = datetime.fromtimestamp(start_ms / 1000, tz), datetime.fromtimestamp(end_ms / 1000, tz)
        total, day = 0.0, start.date()
        while day <= end.date():
            hours = self.days.get(day.weekday())
            if hours:
                midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
                opens, closes = (midnight + timedelta(minutes=m) for m in hours)
                overlap = (min(end, closes) - max(start, opens)).total_seconds()
                total += max(0.0, overlap)
            day += timedelta(days=1)
        return total
