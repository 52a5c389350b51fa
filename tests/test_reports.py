"""Reports (issue 18) from a constructed history: every figure worked out by hand (docs/REPORTS.md's examples),
written through the real MessageStore at chosen times, read through ReportService over the real report tables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.csv_cells import csv_cell
from backend.errors import InvalidInput
from backend.reports import ReportService
from backend.store.message_schema import MIGRATIONS
from backend.store.messages import MessageStore
from backend.store.reports import ReportStore
from backend.store.pg_db import PgDatabase
from backend.store.pg_messages import PgMessageStore
from backend.store.pg_reports import PgReportStore
from backend.store.sqlite_db import Database
from tests.report_support import CUSTOMER, GROUP, OTHER, History, ms

DAY = {"from": "2026-11-30", "to": "2026-11-30"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def history(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[History]:
    """An empty log with the clock in our hands: messages.db, or the cluster's log on PostgreSQL (issue 20)."""
    pg = PgDatabase(request.getfixturevalue("pg_url")).open() if request.param == "postgres" else None
    h = History(tmp_path, pg)
    yield h
    h.store.close()
    if pg is not None:
        pg.close()


def docs_example(h: History) -> None:
    """docs/REPORTS.md's response-time example, Monday 30 Nov 2026 (UTC)."""
    h.customer("2026-11-30T10:00")
    h.customer("2026-11-30T10:01")
    h.customer("2026-11-30T10:04")
    h.business("2026-11-30T10:10")
    h.business("2026-11-30T10:11")
    h.customer("2026-11-30T10:30")
    h.business("2026-11-30T10:32")


def test_several_customer_messages_then_one_reply_is_one_wait(history: History) -> None:
    docs_example(history)
    times = history.reports.response_times(DAY)
    assert times["all"] == {"median": 120.0, "p90": 600.0, "mean": 360.0, "count": 2}
    assert times["first"] == {"median": 600.0, "p90": 600.0, "mean": 600.0, "count": 1}
    summary = history.reports.summary(DAY)
    assert {k: summary[k] for k in ("conversations", "customerConversations", "incoming", "outgoing",
                                    "responseRate")} == {"conversations": 1, "customerConversations": 1,
                                                         "incoming": 4, "outgoing": 3, "responseRate": 1.0}
    assert summary["firstResponseTime"] == {"median": 600.0, "p90": 600.0, "mean": 600.0}


def test_a_reply_before_any_customer_message_answers_nothing(history: History) -> None:
    greeting = history.business("2026-11-30T09:00")
    history.customer("2026-11-30T09:30")
    history.business("2026-11-30T09:35")
    summary = history.reports.summary(DAY)
    assert summary["conversations"] == 1 and summary["customerConversations"] == 0
    assert summary["responseRate"] is None and summary["firstResponseTime"]["median"] is None
    assert history.reports.response_times(DAY)["all"]["median"] == 300.0
    assert summary["funnel"] == {"sent": 2, "delivered": 0, "read": 0, "replied": 1}  # the greeting was replied
    assert greeting


def test_response_rate_counts_customer_started_conversations_and_the_target(history: History) -> None:
    for chat, reply in ((CUSTOMER, "10:02"), (OTHER, "10:08"), ("5511999990003@c.us", "13:00"),
                        ("5511999990004@c.us", None)):
        history.customer("2026-11-30T10:00", chat=chat)
        if reply:
            history.business(f"2026-11-30T{reply}", chat=chat)
    assert history.reports.summary(DAY)["responseRate"] == 0.75
    history.reports.set_settings({"responseTargetMinutes": 10})
    assert history.reports.summary(DAY)["responseRate"] == 0.5


def test_a_conversation_across_midnight_counts_on_its_local_day(history: History) -> None:
    history.customer("2026-11-30T23:50")
    history.business("2026-12-01T00:20")
    both = {"from": "2026-11-30", "to": "2026-12-01"}
    assert history.reports.summary(both)["firstResponseTime"]["median"] == 1800.0
    # The wait is asked on Monday: Tuesday alone has its reply but no wait.
    tuesday = history.reports.summary({"from": "2026-12-01", "to": "2026-12-01"})
    assert tuesday["customerConversations"] == 0 and tuesday["outgoing"] == 1
    # In São Paulo (UTC-3) both are on Monday evening.
    volume = history.reports.volume({**both, "tz": "America/Sao_Paulo"})
    assert [(r["date"], r["incoming"], r["outgoing"]) for r in volume["rows"]] == [("2026-11-30", 1, 1)]
    heat = {(c["weekday"], c["hour"]): c["incoming"] for c in
            history.reports.heatmap({**both, "tz": "America/Sao_Paulo"})["rows"]}
    assert heat[(0, 20)] == 1 and sum(heat.values()) == 1


def test_business_hours_count_only_the_open_seconds(history: History) -> None:
    history.reports.set_settings({"businessHours": {str(d): ["08:00", "18:00"] for d in range(5)}})
    history.customer("2026-12-04T17:50")  # Friday
    history.business("2026-12-07T08:10")  # Monday
    week = {"from": "2026-12-04", "to": "2026-12-07"}
    assert history.reports.summary(week)["firstResponseTime"]["median"] == 62 * 3600 + 1200.0
    assert history.reports.summary({**week, "businessHours": "true"})["firstResponseTime"]["median"] == 1200.0


def test_a_new_conversation_after_the_gap_leaves_the_old_wait_unanswered(history: History) -> None:
    history.customer("2026-11-30T10:00")
    history.customer("2026-12-02T10:00")  # 48 h later, nobody answered: a second conversation
    history.business("2026-12-02T10:05")
    week = {"from": "2026-11-30", "to": "2026-12-06"}
    times = history.reports.response_times(week)
    assert times["first"]["count"] == 1 and times["unanswered"] == {"first": 1, "all": 1}
    assert history.reports.summary(week)["responseRate"] == 0.5
    history.reports.set_settings({"conversationGapHours": 72})  # now one conversation, answered after 48 h
    assert history.reports.response_times(week)["first"]["median"] == 48 * 3600 + 300.0
    assert history.reports.summary(week)["conversations"] == 1


def test_groups_are_kept_apart(history: History) -> None:
    history.customer("2026-11-30T10:00", chat=GROUP, author="5511999990009@c.us")
    history.business("2026-11-30T10:01", chat=GROUP)
    history.customer("2026-11-30T11:00")
    assert history.reports.summary(DAY)["incoming"] == 1
    assert history.reports.summary({**DAY, "groups": "only"})["incoming"] == 1
    assert history.reports.summary({**DAY, "groups": "only"})["firstResponseTime"]["median"] == 60.0
    assert history.reports.summary({**DAY, "groups": "include"})["incoming"] == 2
    row = history.reports.volume({**DAY, "groups": "include"})["rows"][0]
    assert (row["incoming"], row["groupIncoming"], row["groupOutgoing"]) == (1, 1, 1)
    assert history.reports.volume(DAY)["rows"][0]["groupIncoming"] == 0


def test_funnel_by_number_and_failures_by_reason(history: History) -> None:
    a = history.business("2026-11-30T09:00")
    b = history.business("2026-11-30T09:00", chat=OTHER)
    history.business("2026-11-30T09:00", client="n2")
    history.ack("2026-11-30T09:01", a, 2)
    history.ack("2026-11-30T09:02", a, 3)
    history.ack("2026-11-30T09:03", b, 3)  # read with no delivery ack first: delivered too
    history.customer("2026-11-30T12:00")  # replies to a
    history.failure("2026-11-30T13:00", "number_not_on_whatsapp")
    funnel = history.reports.funnel(DAY)
    assert funnel["rows"] == [{"clientId": "n1", "sent": 2, "delivered": 2, "read": 2, "replied": 1, "failed": 1},
                              {"clientId": "n2", "sent": 1, "delivered": 0, "read": 0, "replied": 0, "failed": 0}]
    assert funnel["total"]["sent"] == 3
    assert funnel["failures"] == [{"clientId": "n1", "code": "number_not_on_whatsapp", "count": 1}]
    assert history.reports.funnel({**DAY, "clientId": "n2"})["total"]["sent"] == 1
    assert history.reports.funnel({**DAY, "campaignId": "campaign-1"})["total"]["sent"] == 0  # the campaigns' seam


def test_a_deleted_message_leaves_the_figures(history: History) -> None:
    first = history.customer("2026-11-30T10:00")
    history.business("2026-11-30T10:10")
    history.customer("2026-11-30T11:00", chat=OTHER)
    answer = history.business("2026-11-30T11:01", chat=OTHER)
    history.delete(first)
    history.delete(answer)
    summary = history.reports.summary(DAY)
    assert (summary["incoming"], summary["outgoing"], summary["customerConversations"]) == (1, 1, 0)
    assert history.reports.response_times(DAY)["all"]["count"] == 0


def test_the_previous_period_is_beside_each_figure(history: History) -> None:
    history.customer("2026-11-29T10:00")
    history.customer("2026-11-30T10:00", chat=OTHER)
    history.customer("2026-11-30T11:00", chat=GROUP)
    summary = history.reports.summary(DAY)
    assert summary["incoming"] == 1 and summary["previous"]["incoming"] == 1
    assert summary["previous"]["customerConversations"] == 1


def test_the_triggers_and_the_rebuild_agree(history: History) -> None:
    docs_example(history)
    history.customer("2026-12-02T10:00")
    history.business("2026-12-02T10:05", chat=GROUP)
    history.customer("2026-12-02T11:00", chat=GROUP, author="5511999990009@c.us")
    history.business("2026-12-03T09:00", chat=OTHER)
    history.customer("2026-12-03T09:30", chat=OTHER)
    history.customer("2026-12-05T09:30", chat=OTHER)
    history.failure("2026-12-05T10:00", "blocked")
    live = history.tables()
    history.reports._store.rebuild()
    assert history.tables() == live


def test_a_log_from_before_reports_is_counted_when_first_opened(tmp_path: Path) -> None:
    old = Database(tmp_path / "messages.db", MIGRATIONS[:3])
    with old.write() as conn:
        conn.execute("INSERT INTO messages (id, direction, client_id, chat, type, status, created_at, updated_at) "
                     "VALUES ('a', 'in', 'n1', ?, 'chat', 'read', ?, ?)", (CUSTOMER, ms("2026-11-30T10:00"),
                                                                            ms("2026-11-30T10:00")))
        conn.execute("INSERT INTO messages (id, direction, client_id, chat, type, status, created_at, updated_at, "
                     "sent_at) VALUES ('b', 'out', 'n1', ?, 'chat', 'sent', ?, ?, ?)",
                     (CUSTOMER, ms("2026-11-30T10:03"), ms("2026-11-30T10:03"), ms("2026-11-30T10:04")))
    old.close()
    store = MessageStore(tmp_path / "messages.db")
    reports = ReportService(ReportStore(store.database))
    summary = reports.summary(DAY)
    assert summary["firstResponseTime"]["median"] == 240.0 and summary["outgoing"] == 1
    binned = ReportService(ReportStore(store.database), exact_waits=0).response_times(
        {"from": "2026-11-29", "to": "2026-12-01"})  # 30 Nov is a whole day inside: read from report_wait_days
    assert binned["all"]["count"] == 1 and binned["all"]["mean"] == 240.0
    store.close()


@pytest.mark.postgres
def test_a_cluster_log_written_before_its_report_tables_is_counted_when_they_are_made(pg_db: PgDatabase) -> None:
    """Issue 20: a cluster whose shared log predates the report tables (a node of an older version wrote it)
    has them built from the log by their migration."""
    clock = [ms("2026-11-30T10:00") / 1000]
    log = PgMessageStore(pg_db, clock=lambda: clock[0])
    log.add_incoming([("n1", "a", {"from": CUSTOMER, "id": f"false_{CUSTOMER}_A", "body": "oi", "t": 1})])
    clock[0] += 180
    log.add_outgoing("b", client_id="n1", to_number=CUSTOMER[:13], chat=CUSTOMER, type="chat", body="olá")
    log.claim("b", "n1")
    clock[0] += 60
    log.mark_sent("b", wa_id="wab", chat=CUSTOMER, ack=1)
    assert pg_db.one("SELECT to_regclass('report_hours')") == (None,)

    summary = ReportService(PgReportStore(pg_db), clock=lambda: clock[0]).summary(DAY)

    assert summary["firstResponseTime"]["median"] == 240.0 and summary["outgoing"] == 1


@pytest.mark.parametrize("params, field", [({"tz": "Mars/Olympus"}, "tz"), ({"tz": "../etc/passwd"}, "tz"),
                                           ({"groups": "some"}, "groups"), ({"from": "2026-12-02", "to": "2026-12-01"},
                                                                            "from"),
                                           ({"from": "yesterday"}, "from"), ({"clientId": "a b"}, "clientId"),
                                           ({"from": "2024-01-01", "to": "2026-01-01"}, "from"),
                                           ({"businessHours": "maybe"}, "businessHours")])
def test_a_bad_query_names_its_field(history: History, params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        history.reports.summary(params)
    assert caught.value.details["field"] == field


def test_response_times_fall_in_their_buckets(history: History) -> None:
    for chat, (asked, answered) in enumerate((("10:00", "10:00:30"), ("10:00", "10:01"), ("10:00", "10:04"),
                                              ("10:00", "12:00"), ("10:00", "15:00"))):
        history.customer(f"2026-11-30T{asked}", chat=f"55119999900{chat:02d}@c.us")
        history.business(f"2026-11-30T{answered}", chat=f"55119999900{chat:02d}@c.us")
    rows = {r["bucket"]: r["first"] for r in history.reports.response_times(DAY)["rows"]}
    assert rows == {"<1m": 2, "1-5m": 1, "5-15m": 0, "15-60m": 0, "1-4h": 1, "4-24h": 1, ">24h": 0}


def test_lifetime_histograms_and_funnel_for_prometheus(history: History) -> None:
    docs_example(history)  # waits of 600 s (first) and 120 s
    history.customer("2026-12-01T10:00", chat=OTHER)
    late = history.business("2026-12-01T16:00", chat=OTHER)  # 6 h: the 4-24 h bucket
    lifetime, bounds = history.reports.lifetime()
    assert bounds == (60, 300, 900, 3600, 14_400, 86_400)
    n1 = lifetime["n1"]
    assert n1["funnel"] == {"sent": 4, "delivered": 0, "read": 0, "replied": 2}
    assert n1["all"] == {"buckets": [0, 1, 1, 0, 0, 1, 0], "sum": 120.0 + 600.0 + 21600.0}
    assert n1["first"] == {"buckets": [0, 0, 1, 0, 0, 1, 0], "sum": 600.0 + 21600.0}
    history.delete(late)
    assert history.reports.lifetime()[0]["n1"]["all"]["buckets"] == [0, 1, 1, 0, 0, 0, 0]


def test_csv_cells_never_run_as_spreadsheet_formulas() -> None:
    from backend.reports.tables import to_csv
    text = to_csv([{"clientId": "=HYPERLINK(\"http://x\")", "n": 3, "none": None}], ("clientId", "n", "none"))
    assert text == "clientId,n,none\r\n\"'=HYPERLINK(\"\"http://x\"\")\",3,\r\n"


def test_history_fetched_from_whatsapp_counts_in_volumes_but_opens_no_wait(tmp_path: Path) -> None:
    """messages.db only: in a cluster the fetched history stays with the node that drives the number
    (docs/CLUSTER.md), and the shared log's reports count live traffic."""
    history = History(tmp_path)
    from backend.store.history import HistoryLog
    history.customer("2026-11-30T10:00")
    older = [{"id": f"false_{CUSTOMER}_OLD{i}", "from": CUSTOMER, "body": "antes", "t": ms(f"2026-11-30T0{i}:00") // 1000}
             for i in (7, 8)] + [{"id": f"true_{CUSTOMER}_OLD9", "fromMe": True, "ack": 3, "body": "resposta",
                                  "t": ms("2026-11-30T09:00") // 1000}]
    HistoryLog(history.store.database).add("n1", CUSTOMER, older)
    summary = history.reports.summary(DAY)
    assert (summary["incoming"], summary["customerConversations"], summary["outgoing"]) == (3, 1, 0)
    history.business("2026-11-30T10:05")
    assert history.reports.summary(DAY)["firstResponseTime"]["median"] == 300.0  # the live wait, untouched
    history.store.close()


def test_the_reports_strings_exist_in_both_languages() -> None:
    import re
    source = (Path(__file__).resolve().parents[1] / "frontend" / "js" / "i18n_reports.js").read_text(encoding="utf-8")
    portuguese, english = source.split("\n  en: {", 1)
    keys = [set(re.findall(r"'((?:reports|main)\.[A-Za-z.]+)':", part)) for part in (portuguese, english)]
    assert keys[0] == keys[1] and len(keys[0]) > 40


def test_every_export_quotes_what_a_spreadsheet_would_run() -> None:
    """The one guard both exports use (reports' tables, a campaign's per-recipient CSV): each formula start,
    and a contact name that tries a DDE payload, come out as text; numbers and plain text unchanged."""
    hostile = ["=1+1", "+55 11", "-2", "@SUM(A1)", "\tx", "\rx", "=cmd|' /C calc'!A0"]
    assert [csv_cell(v) for v in hostile] == ["'" + v for v in hostile]
    assert [csv_cell(v) for v in ("Maria", "5511999990000", 3, 0.5, None)] == ["Maria", "5511999990000", 3, 0.5, ""]


def test_a_long_period_read_from_the_day_histogram_stays_within_five_percent(history: History) -> None:
    """Past EXACT_WAITS waits, response times come from report_wait_days (whole UTC days) and the period's
    ragged ends (São Paulo's midnight is 03:00 UTC); here the same history read both ways: the counts, the
    buckets and the mean are the same, median and p90 within 5%."""
    lengths = ["00:00:07", "00:00:45", "00:03:10", "00:20:00", "02:00:00", "00:01:30", "00:09:59"]
    for day in range(1, 6):
        for n, length in enumerate(lengths[: day + 2]):
            chat = f"5511999{day}{n:05d}@c.us"
            hours, minutes, seconds = (int(x) for x in length.split(":"))
            history.customer(f"2026-12-0{day}T{n + 1:02d}:00:00", chat=chat)
            history.business(f"2026-12-0{day}T{n + 1 + hours:02d}:{minutes:02d}:{seconds:02d}", chat=chat)
    history.customer("2026-12-05T23:00", chat="5511999800001@c.us")  # never answered
    period = {"from": "2026-12-01", "to": "2026-12-05", "tz": "America/Sao_Paulo"}
    exact = history.reports.response_times(period)
    binned = ReportService(history.reports._store, clock=lambda: history.now,
                           exact_waits=0).response_times(period)
    assert binned["all"]["count"] == exact["all"]["count"] == 23  # 2 asked before São Paulo's 1 Dec
    assert binned["unanswered"] == exact["unanswered"] and binned["rows"] == exact["rows"]
    assert binned["all"]["mean"] == exact["all"]["mean"]
    for figure in ("median", "p90"):
        assert abs(binned["all"][figure] - exact["all"][figure]) <= 0.05 * exact["all"][figure], figure
