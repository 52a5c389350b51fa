"""ReportService (`service.reports`): the report endpoints' figures (docs/REPORTS.md) from the report tables.

Each method reads the query the REST API and the windows share (`clientId`, `from`, `to`, `tz`, `groups`,
`businessHours`, and `tag` for the funnel), asks store/reports.py for the period's small rows, and shapes them.
Where the time goes: `report_hours` sums and `report_waits` ranges in SQLite; in Python only the percentiles
(sorting a period's waits) and, when asked, each wait's business-hours seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..errors import InvalidInput
from ..store.report_schema import BUCKET_BOUNDS_S, LENGTH_BOUNDS_MS
from ..store.reports import GROUPS, ReportQuery, ReportStore, StoredReportSettings
from ..validation import CLIENT_ID_RE
from .figures import BusinessHours, histogram_spread, spread
from .period import Period, read_period
from .tables import BUCKETS, bucket_rows, heatmap_rows, histogram_counts, sorted_counts, to_csv, volume_rows

MAX_CLIENTS = 100
# Up to this many waits in a period, response times are exact (each wait's length read and sorted); past it,
# on the clock, they come from the per-day length histogram (docs/REPORTS.md: within 5%, the mean exact).
EXACT_WAITS = 20_000


@dataclass(frozen=True)
class Ask:
    """A report request read and checked: the store query, its period, and how waits are measured."""

    query: ReportQuery
    period: Period
    hours: BusinessHours | None  # business hours to count in, when asked for and set
    target_s: int | None


def _text(params: Mapping[str, Any], name: str) -> str | None:
    """One query value (the first, if repeated), or None."""
    value = params.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"'{name}' is text", details={"field": name})
    return value or None


def _clients(params: Mapping[str, Any]) -> tuple[str, ...] | None:
    """clientId, repeated or comma-separated; None: every number."""
    value = params.get("clientId")
    values = value if isinstance(value, (list, tuple)) else [value] if value else []
    ids = tuple(dict.fromkeys(i.strip() for v in values for i in str(v).split(",") if i.strip()))
    if len(ids) > MAX_CLIENTS or any(not CLIENT_ID_RE.fullmatch(i) for i in ids):
        raise InvalidInput("'clientId' names numbers by their ids", details={"field": "clientId"})
    return ids or None


def _flag(params: Mapping[str, Any], name: str) -> bool:
    """A true/false query flag (absent: false)."""
    value = _text(params, name)
    if value not in (None, "true", "false"):
        raise InvalidInput(f"'{name}' is true or false", details={"field": name})
    return value == "true"


class ReportService:
    """Reports over one message log."""

    def __init__(self, store: ReportStore, *, clock: Callable[[], float] = time.time,
                 exact_waits: int = EXACT_WAITS):
        self._store = store
        self._clock = clock
        self._exact_waits = exact_waits

    def ask(self, params: Mapping[str, Any]) -> Ask:
        """Read a report query; InvalidInput naming the field that is wrong."""
        groups = _text(params, "groups") or "exclude"
        if groups not in GROUPS:
            raise InvalidInput("'groups' is exclude, include or only", details={"field": "groups"})
        period = read_period(_text(params, "from"), _text(params, "to"), _text(params, "tz"),
                             int(self._clock() * 1000))
        tag = _text(params, "campaignId")
        if tag is not None and len(tag) > 100:
            raise InvalidInput("'campaignId' is at most 100 characters", details={"field": "campaignId"})
        stored = self._store.settings()
        hours = None
        if _flag(params, "businessHours") and stored.business_hours:
            hours = BusinessHours.read(stored.business_hours)
        query = ReportQuery(period.start_ms, period.end_ms, _clients(params), groups, tag)
        return Ask(query, period, hours, stored.target_s)

    def _times(self, ask: Ask, *, first_only: bool) -> tuple[list[float], int]:
        """The answered waits' lengths in seconds (on the clock, or in business hours when asked for) and how
        many waits there were in all; sorted once here (the percentiles and the buckets need them sorted)."""
        if ask.hours is None:
            lengths = self._store.durations(ask.query, first_only=first_only)
            return sorted(ms / 1000 for ms in lengths if ms is not None), len(lengths)
        hours, tz = ask.hours, ask.period.tz
        waits = self._store.waits(ask.query, first_only=first_only)
        return sorted(hours.seconds(a, b, tz) for a, b in waits if b is not None), len(waits)

    def _headline(self, ask: Ask) -> dict[str, Any]:
        """The summary's figures for one period."""
        totals = self._store.totals(ask.query)[""]
        times, waits = self._times(ask, first_only=True)
        in_target = [t for t in times if ask.target_s is None or t <= ask.target_s]
        return {"conversations": totals["conv_in"] + totals["conv_out"], "customerConversations": waits,
                "incoming": totals["incoming"], "outgoing": totals["sent"],
                "responseRate": round(len(in_target) / waits, 4) if waits else None,
                "firstResponseTime": {k: v for k, v in spread(times).items() if k != "count"},
                "funnel": {k: totals[k] for k in ("sent", "delivered", "read", "replied")},
                "failed": totals["failed"]}

    def _frame(self, ask: Ask) -> dict[str, Any]:
        """What every report says about its query."""
        return {"from": ask.period.iso(ask.query.start_ms), "to": ask.period.iso(ask.query.end_ms),
                "tz": str(ask.period.tz), "clientIds": list(ask.query.client_ids or []), "groups": ask.query.groups,
                "businessHours": ask.hours is not None}

    def summary(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The headline figures, and the same for the period just before (the change shown beside each)."""
        ask = self.ask(params)
        before = replace(ask, query=replace(ask.query, start_ms=ask.period.previous.start_ms,
                                            end_ms=ask.query.start_ms))
        return {**self._frame(ask), **self._headline(ask), "previous": self._headline(before)}

    def response_times(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """First response and response times: spread and distribution (rows: one per bucket)."""
        ask = self.ask(params)
        first, first_n = self._times(ask, first_only=True)
        every, every_counts, every_n = self._every(ask)
        return {**self._frame(ask), "first": spread(first), "all": every,
                "unanswered": {"first": first_n - len(first), "all": every_n - every["count"]},
                "waitingAnswered": round(every["count"] / every_n, 4) if every_n else None,
                "rows": bucket_rows(sorted_counts(first), every_counts), "buckets": [label for label, _ in BUCKETS]}

    def _every(self, ask: Ask) -> tuple[dict[str, Any], list[int], int]:
        """Every wait's response time: the spread, the counts per bucket of BUCKETS, and how many waits there
        were. Exact for business hours and for periods of up to EXACT_WAITS waits; from the per-day length
        histogram past that (a year of a busy number is a few hundred thousand waits: reading each would be a
        scan per view)."""
        if ask.hours is None:
            histogram = self._store.length_histogram(ask.query)
            if histogram.answered + histogram.unanswered > self._exact_waits:
                return (histogram_spread(histogram.counts, LENGTH_BOUNDS_MS, histogram.total_ms),
                        histogram_counts(histogram.counts, LENGTH_BOUNDS_MS),
                        histogram.answered + histogram.unanswered)
        times, waits = self._times(ask, first_only=False)
        return spread(times), sorted_counts(times), waits

    def funnel(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """sent -> delivered -> read -> replied per number (rows), their total, and failures by reason."""
        ask = self.ask(params)
        fields = ("sent", "delivered", "read", "replied", "failed")
        per = self._store.totals(ask.query, by_client=True)
        rows = [{"clientId": c, **{f: t[f] for f in fields}} for c, t in sorted(per.items()) if c]
        total = {f: sum(r[f] for r in rows) for f in fields}
        failures = [{"clientId": c, "code": code, "count": n} for c, code, n in self._store.failures(ask.query)]
        return {**self._frame(ask), "campaignId": ask.query.tag, "total": total, "rows": rows, "failures": failures}

    def volume(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Incoming and outgoing per number per local day (rows), group chats apart."""
        ask = self.ask(params)
        rows = volume_rows(self._store.local(ask.query, ask.period.offsets(), hourly=False, by_client=True))
        return {**self._frame(ask), "days": ask.period.days(), "rows": rows}

    def heatmap(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Incoming messages per local weekday (Monday = 0) and hour: 168 rows."""
        ask = self.ask(params)
        rows = self._store.local(ask.query, ask.period.offsets(), hourly=True, by_client=False)
        return {**self._frame(ask), "rows": heatmap_rows(rows)}

    def csv(self, name: str, params: Mapping[str, Any]) -> str:
        """A report's table as CSV: the summary's figures (with the previous period's) or the report's rows."""
        if name not in REPORTS:
            raise InvalidInput(f"No report '{name}'", details={"field": "report"})
        report = getattr(self, REPORTS[name])(params)
        if name != "summary":
            return to_csv(report["rows"], COLUMNS[name])
        flat, before = _flatten(report), _flatten(report["previous"])
        return to_csv([{"metric": k, "value": v, "previous": before.get(k)} for k, v in flat.items()
                       if k not in ("previous", "clientIds")])

    def lifetime(self) -> tuple[dict[str, dict[str, Any]], tuple[int, ...]]:
        """For Prometheus: per number since the log began, the funnel's counts and the response-time histograms
        (per-bucket counts and summed seconds), and the buckets' upper bounds in seconds."""
        return self._store.lifetime(), BUCKET_BOUNDS_S

    # -- settings -------------------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The report settings as the API shows them."""
        stored = self._store.settings()
        return {"conversationGapHours": stored.gap_ms / 3_600_000,
                "responseTargetMinutes": None if stored.target_s is None else stored.target_s / 60,
                "businessHours": stored.business_hours}

    def set_settings(self, changes: Any) -> dict[str, Any]:
        """Change some settings ({conversationGapHours, responseTargetMinutes, businessHours}; null clears the
        last two). A new gap recomputes the report tables from the log."""
        if not isinstance(changes, dict) or set(changes) - {"conversationGapHours", "responseTargetMinutes",
                                                            "businessHours"}:
            raise InvalidInput("Report settings are conversationGapHours, responseTargetMinutes, businessHours",
                               details={"field": "settings"})
        stored = self._store.settings()
        gap = changes.get("conversationGapHours")  # null: left as it is (required, it cannot be cleared)
        gap = _number(stored.gap_ms / 3_600_000 if gap is None else gap, "conversationGapHours", 1 / 60, 24 * 30)
        target = changes.get("responseTargetMinutes", None if stored.target_s is None else stored.target_s / 60)
        target = None if target is None else _number(target, "responseTargetMinutes", 1, 60 * 24 * 30)
        hours = changes.get("businessHours", stored.business_hours)
        hours = None if hours is None else BusinessHours.read(hours).to_dict()
        self._store.put_settings(StoredReportSettings(int(gap * 3_600_000), None if target is None
                                                      else int(target * 60), hours))
        return self.settings()


REPORTS = {"summary": "summary", "response-times": "response_times", "funnel": "funnel", "volume": "volume",
           "heatmap": "heatmap"}


# Each table's columns, so an empty period still downloads its header.
COLUMNS = {"response-times": ("bucket", "upToSeconds", "first", "all"),
           "funnel": ("clientId", "sent", "delivered", "read", "replied", "failed"),
           "volume": ("date", "clientId", "incoming", "outgoing", "groupIncoming", "groupOutgoing", "failed"),
           "heatmap": ("weekday", "hour", "incoming")}


def _flatten(report: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested figures as dotted names (firstResponseTime.median), for a two-column table."""
    flat: dict[str, Any] = {}
    for key, value in report.items():
        if isinstance(value, dict) and key != "previous":
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _number(value: Any, field: str, least: float, most: float) -> float:
    """A number in [least, most]; InvalidInput otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not least <= value <= most:
        raise InvalidInput(f"'{field}' is a number from {least:g} to {most:g}", details={"field": field})
    return float(value)
