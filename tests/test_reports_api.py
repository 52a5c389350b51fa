"""GET /reports/* on a real waitress server (issue 18 §4): a history written at chosen times into the data folder
before ZapPool opens it, then read through the API as JSON and as CSV, every answer checked against
/openapi.json (tests/api_support.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.config import Settings
from tests.api_support import Stack, api_stack
from tests.test_api_events import COMMENT, SAMPLE
from tests.report_support import GROUP, OTHER, History

DAY = "from=2026-11-30&to=2026-11-30"


def seed(folder: Path) -> None:
    """docs/REPORTS.md's example on number n1, a group, a second number's message, a failure."""
    h = History(folder)
    h.customer("2026-11-30T10:00")
    h.customer("2026-11-30T10:01")
    h.customer("2026-11-30T10:04")
    first = h.business("2026-11-30T10:10")
    h.ack("2026-11-30T10:11", first, 3)
    h.business("2026-11-30T10:11")
    h.customer("2026-11-30T10:30")
    h.business("2026-11-30T10:32")
    h.customer("2026-11-30T11:00", chat=GROUP, author="5511999990009@c.us")
    h.customer("2026-11-30T12:00", chat=OTHER, client="n2")
    h.failure("2026-11-30T13:00", "number_not_on_whatsapp")
    h.store.close()


@pytest.fixture
def reports(runtime, settings: Settings) -> Iterator[Stack]:
    """The API over a data folder that already holds the seeded history."""
    seed(settings.data_dir)
    with api_stack(runtime, settings) as made:
        yield made


def test_summary_answers_the_issues_shape_with_exact_figures(reports: Stack) -> None:
    reply = reports.api.call("GET", f"/reports/summary?{DAY}&clientId=n1")
    assert reply.status == 200, reply.body
    body = reply.json
    assert {k: body[k] for k in ("conversations", "incoming", "outgoing", "responseRate")} == {
        "conversations": 1, "incoming": 4, "outgoing": 3, "responseRate": 1.0}
    assert body["firstResponseTime"] == {"median": 600.0, "p90": 600.0, "mean": 600.0}
    assert body["funnel"] == {"sent": 3, "delivered": 1, "read": 1, "replied": 2}
    everyone = reports.api.call("GET", f"/reports/summary?{DAY}").json
    assert (everyone["incoming"], everyone["conversations"], everyone["responseRate"]) == (5, 2, 0.5)
    groups = reports.api.call("GET", f"/reports/summary?{DAY}&groups=only").json
    assert groups["incoming"] == 1


def test_each_report_and_its_csv(reports: Stack) -> None:
    api = reports.api
    times = api.call("GET", f"/reports/response-times?{DAY}").json
    assert times["all"] == {"median": 120.0, "p90": 600.0, "mean": 360.0, "count": 2}
    assert times["unanswered"] == {"first": 1, "all": 1}
    funnel = api.call("GET", f"/reports/funnel?{DAY}").json
    assert funnel["failures"] == [{"clientId": "n1", "code": "number_not_on_whatsapp", "count": 1}]
    volume = api.call("GET", f"/reports/volume?{DAY}&tz=America/Sao_Paulo&groups=include").json
    assert [(r["clientId"], r["incoming"], r["outgoing"], r["groupIncoming"]) for r in volume["rows"]] == [
        ("n1", 4, 3, 1), ("n2", 1, 0, 0)]
    heat = api.call("GET", f"/reports/heatmap?{DAY}&tz=America/Sao_Paulo").json["rows"]
    assert {(c["weekday"], c["hour"]): c["incoming"] for c in heat if c["incoming"]} == {(0, 7): 4, (0, 9): 1}

    download = api.call("GET", f"/reports/summary?{DAY}&clientId=n1&format=csv")
    assert download.status == 200 and download.headers["Content-Type"].startswith("text/csv")
    assert download.headers["Content-Disposition"] == 'attachment; filename="zapool-summary.csv"'
    rows = {r["metric"]: r for r in csv.DictReader(io.StringIO(download.body.decode()))}
    assert rows["firstResponseTime.median"]["value"] == "600.0" and rows["incoming"]["value"] == "4"
    table = list(csv.reader(io.StringIO(api.call("GET", f"/reports/volume?{DAY}&format=csv").body.decode())))
    assert table[0] == ["date", "clientId", "incoming", "outgoing", "groupIncoming", "groupOutgoing", "failed"]
    assert table[1][:4] == ["2026-11-30", "n1", "4", "3"]


def test_settings_change_the_rate_and_bad_queries_are_refused(reports: Stack) -> None:
    api = reports.api
    changed = api.call("PUT", "/reports/settings", {"responseTargetMinutes": 5})
    assert changed.status == 200 and changed.json["responseTargetMinutes"] == 5
    assert api.call("GET", f"/reports/summary?{DAY}&clientId=n1").json["responseRate"] == 0.0  # 10 min > 5
    for query, field in (("groups=some", "groups"), ("tz=Nowhere/Land", "tz"), ("form=2026-11-30", "form"),
                         ("format=xml", "format"), ("from=2026-12-02&to=2026-12-01", "from")):
        refused = api.call("GET", f"/reports/funnel?{query}")
        assert (refused.status, refused.json["error"]["code"], refused.json["error"]["details"]["field"]) == (
            422, "invalid_input", field)
    bad_hours = api.call("PUT", "/reports/settings", {"businessHours": {"0": ["18:00", "08:00"]}})
    assert bad_hours.status == 422
    assert api.call("GET", "/reports/summary", key=None).status == 401


def test_prometheus_has_the_funnel_counters_and_response_time_histograms(reports: Stack) -> None:
    text = reports.api.call("GET", "/metrics").body.decode()
    bad = [line for line in text.splitlines() if not (COMMENT.match(line) or SAMPLE.match(line))]
    assert bad == []
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert samples['zapool_report_funnel_sent_total{client_id="n1"}'] == "3"
    assert samples['zapool_report_funnel_replied_total{client_id="n1"}'] == "2"
    histogram = "zapool_report_response_time_seconds"
    assert [samples[f'{histogram}_bucket{{client_id="n1",le="{le}"}}'] for le in ("60", "300", "900", "+Inf")] == [
        "0", "1", "2", "2"]
    assert samples[f'{histogram}_sum{{client_id="n1"}}'] == "720"
    assert samples['zapool_report_first_response_time_seconds_count{client_id="n1"}'] == "1"
    assert "# TYPE zapool_report_response_time_seconds histogram" in text


def test_the_chart_library_is_served_from_here_and_nothing_else_beside_it(reports: Stack) -> None:
    api = reports.api
    script = api.call("GET", "/ui/vendor/uplot/uPlot.esm.js", key=None)
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    assert b"export { uPlot as default }" in script.body and script.headers["Cache-Control"] == "max-age=86400"
    assert api.call("GET", "/ui/vendor/uplot/uPlot.min.css", key=None).status == 200
    for path in ("/ui/vendor/uplot/package.json", "/ui/vendor/uplot/../package.json",
                 "/ui/vendor/uplot/%2e%2e/%2e%2e/%2e%2e/app.py", "/ui/vendor/uplot/uPlot.iife.js"):
        assert api.call("GET", path, key=None).status == 404, path
