"""The reports' tables: response-time buckets, daily volumes and the week x hour heatmap in the report's zone,
and any table as CSV (every report's `rows` download as a spreadsheet)."""

from __future__ import annotations

import bisect
import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from ..csv_cells import csv_cell
from ..store.reports import LocalRow
from .period import day_iso

# (label, upper bound in seconds): the distribution of response times.
BUCKETS: list[tuple[str, float]] = [("<1m", 60), ("1-5m", 300), ("5-15m", 900), ("15-60m", 3600),
                                    ("1-4h", 14_400), ("4-24h", 86_400), (">24h", math.inf)]


def sorted_counts(times: list[float]) -> list[int]:
    """How many of the sorted response times (seconds) fall in each of BUCKETS (an upper bound is inside its
    bucket); counted by bisecting, 7 steps instead of a test per wait."""
    edges = [bisect.bisect_right(times, most) for _, most in BUCKETS]
    return [edges[0]] + [edges[i] - edges[i - 1] for i in range(1, len(edges))]


def histogram_counts(counts: list[int], bounds_ms: tuple[int, ...]) -> list[int]:
    """The same from lengths binned by upper bound: BUCKETS' bounds are among `bounds_ms`, so each fine bucket
    lies wholly inside one of BUCKETS and the counts are exact."""
    found = [0] * len(BUCKETS)
    for i, n in enumerate(counts):
        seconds = bounds_ms[i] / 1000 if i < len(bounds_ms) else math.inf
        found[next(k for k, (_, most) in enumerate(BUCKETS) if seconds <= most)] += n
    return found


def bucket_rows(first: list[int], every: list[int]) -> list[dict[str, Any]]:
    """One row per bucket of BUCKETS: how many first responses and responses fell in it."""
    return [{"bucket": label, "upToSeconds": None if math.isinf(most) else most, "first": first[i],
             "all": every[i]} for i, (label, most) in enumerate(BUCKETS)]


def volume_rows(rows: list[LocalRow]) -> list[dict[str, Any]]:
    """Per local day and number: incoming and outgoing (sent) in one-to-one chats and in groups, and failed."""
    days: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        entry = days.setdefault((row.day, row.client_id), {
            "date": day_iso(row.day), "clientId": row.client_id, "incoming": 0, "outgoing": 0, "groupIncoming": 0,
            "groupOutgoing": 0, "failed": 0})
        entry["groupIncoming" if row.grp else "incoming"] += row.incoming
        entry["groupOutgoing" if row.grp else "outgoing"] += row.sent
        entry["failed"] += row.failed
    return [days[key] for key in sorted(days)]


def heatmap_rows(rows: list[LocalRow]) -> list[dict[str, Any]]:
    """Incoming messages per local weekday (Monday = 0; 1970-01-01 was a Thursday) and hour, all 168 cells."""
    cells = [[0] * 24 for _ in range(7)]
    for row in rows:
        cells[(row.day + 3) % 7][row.hour] += row.incoming
    return [{"weekday": d, "hour": h, "incoming": cells[d][h]} for d in range(7) for h in range(24)]


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A table as CSV (header first). Cells that a spreadsheet would run as a formula get a leading quote."""
    names = list(columns or (rows[0].keys() if rows else []))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow([csv_cell(row.get(name)) for name in names])
    return out.getvalue()
