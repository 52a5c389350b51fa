"""Scheduled and recurring messages (issue 17 §3), unit-level on the real pieces: schedules.db, the real outbox
over messages.db (never started: what a schedule queues stays in the log to be read), the real templates, and an
injected clock the tests move. The worker's steps are run one by one, except where its thread is the point."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.assembly import build_pool
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.schedules import ScheduleService
from backend.schedules.errors import ScheduleBadRule, ScheduleTooFrequent
from backend.schedules.runner import occurrence_id
from backend.store.pg_db import PgDatabase
from backend.store.pg_schedules import PgScheduleStore
from backend.store.schedules import ScheduleStore
from backend.store.templates import TemplateStore
from backend.templates import TemplatesService
from backend.whatsapp.pool import WhatsAppPool

BRT = ZoneInfo("America/Sao_Paulo")  # no DST since 2019: 09:00 there is always 12:00 UTC
TO = "5511988887777"


class Clock:
    """Now, as the test says."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Parts:
    """A pool that starts nothing, its outbox, the templates, a schedule service, and the clock they share."""

    pool: WhatsAppPool
    templates: TemplatesService
    clock: Clock
    data: Path
    make_store: Callable[[], ScheduleStore]
    service: ScheduleService | None = None

    def open(self) -> ScheduleService:
        """The schedule service on its store (again, after a restart)."""
        self.service = ScheduleService(self.make_store(), self.pool.outbox, self.pool,
                                       self.templates, default_tz="America/Sao_Paulo", clock=self.clock)
        return self.service

    def restart(self) -> ScheduleService:
        """ZapPool closed and opened again: the store closed and reopened from its file."""
        assert self.service is not None
        self.service.stop()
        return self.open()

    def run(self) -> None:
        """The worker's steps until nothing more is due now."""
        assert self.service is not None
        while self.service.runner.step() == 0:
            pass

    def queued(self) -> list:
        """What went into the outbox, oldest first."""
        items, cursor = [], None
        while True:
            page = self.pool.outbox.list_messages(direction="out", limit=200, cursor=cursor)
            items += page.items
            if not (cursor := page.next_cursor):
                return sorted(items, key=lambda m: m.created_at)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def parts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Parts]:
    """On each store: dados/schedules.db, and the cluster's PostgreSQL (issue 20, store/pg_schedules.py)."""
    settings = Settings(data_dir=tmp_path / "dados", send_interval_s=0, send_jitter_s=0)
    pool = build_pool(settings, EngineRuntime(settings))
    databases: list[PgDatabase] = []

    def make_store() -> ScheduleStore:
        if request.param == "sqlite":
            return ScheduleStore(settings.data_dir / "schedules.db")
        databases.append(PgDatabase(request.getfixturevalue("pg_url")).open())
        return PgScheduleStore(databases[-1])  # type: ignore[return-value] - ScheduleStore's interface

    made = Parts(pool, TemplatesService(TemplateStore(settings.data_dir / "templates.db")),
                 Clock(datetime(2026, 12, 31, 12, 0, tzinfo=timezone.utc)), settings.data_dir, make_store)
    made.open()
    yield made
    if made.service is not None:
        made.service.stop()
    pool.outbox.store.close()
    for database in databases:
        database.close()


def test_a_daily_schedule_fires_at_0900_brasilia_every_day_of_a_year_and_across_a_restart(parts):
    service = parts.open()
    made = service.create({"to": TO, "text": "Bom dia!", "at": "2027-01-01T09:00:00-03:00", "rrule": "daily"})
    assert (made["tz"], made["nextAt"], made["rrule"]) == ("America/Sao_Paulo", "2027-01-01T09:00:00-03:00",
                                                          "FREQ=DAILY")
    day = datetime(2027, 1, 1, 9, 0, tzinfo=BRT)
    for n in range(365):
        parts.clock.now = day + timedelta(days=n, seconds=5)
        parts.run()
        if n == 180:  # closed and opened again mid-year, between two occurrences
            parts.clock.move(hours=2)
            service = parts.restart()
            parts.run()

    queued = [m for m in parts.queued()]
    expected = [int((day + timedelta(days=n)).timestamp() * 1000) for n in range(365)]
    assert len(queued) == 365 and {m.id for m in queued} == {occurrence_id(made["id"], ms) for ms in expected}
    assert {datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%H:%M") for ms in expected} == {"12:00"}
    assert {m.body for m in queued} == {"Bom dia!"} and {m.to_number for m in queued} == {TO}
    after = service.get(made["id"])
    assert after["nextAt"] == "2028-01-01T09:00:00-03:00" and after["status"] == "active"
    assert [r["outcome"] for r in after["lastRuns"]] == ["queued"] * 5
    assert after["lastRuns"][0]["occurrence"] == "2027-12-31T09:00:00-03:00"


def test_a_monthly_rule_keeps_the_wall_clock_of_its_zone_where_that_zone_has_dst(parts):
    service = parts.open()
    made = service.create({"to": TO, "text": "fatura", "at": "2027-01-31T09:00:00-05:00",
                           "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=12", "tz": "America/New_York"})
    sent: list[str] = []
    for _ in range(13):
        nxt = service.get(made["id"])["nextAt"]
        if nxt is None:
            break
        sent.append(nxt)
        parts.clock.now = datetime.fromisoformat(nxt) + timedelta(seconds=1)
        parts.run()

    assert sent[:4] == ["2027-01-31T09:00:00-05:00", "2027-02-28T09:00:00-05:00", "2027-03-31T09:00:00-04:00",
                        "2027-04-30T09:00:00-04:00"]
    assert len(sent) == 12 and len(parts.queued()) == 12
    assert service.get(made["id"])["status"] == "finished"


def test_an_occurrence_already_in_the_outbox_is_not_queued_again(parts):
    """What a crash between the enqueue and the schedule's advance leaves: the message is in the outbox under the
    occurrence's id, the schedule still at that occurrence. The next run queues nothing more and moves on."""
    service = parts.open()
    made = service.create({"to": TO, "text": "uma vez", "at": "2027-01-01T09:00:00-03:00"})
    occurrence = int(datetime(2027, 1, 1, 12, 0, tzinfo=timezone.utc).timestamp() * 1000)
    parts.pool.outbox.accept_once(occurrence_id(made["id"], occurrence),
                                  lambda: service.draft_of(parts.service._store.get(made["id"])))
    parts.clock.now = datetime(2027, 1, 1, 12, 0, 10, tzinfo=timezone.utc)

    parts.run()
    parts.run()

    assert [m.body for m in parts.queued()] == ["uma vez"]
    after = service.get(made["id"])
    assert after["status"] == "finished" and [r["outcome"] for r in after["lastRuns"]] == ["queued"]


def test_missed_within_the_grace_window_is_sent_late_and_beyond_it_skipped_and_recorded(parts):
    service = parts.open()
    late = service.create({"to": TO, "text": "atrasada", "at": "2027-01-01T09:00:00-03:00"})
    lost = service.create({"to": TO, "text": "perdida", "at": "2027-01-01T08:00:00-03:00"})
    skip = service.create({"to": TO, "text": "pular", "at": "2027-01-01T09:20:00-03:00", "missed": "skip"})
    service.stop()  # ZapPool closed from 31 Dec until 09:40 on the 1st

    parts.clock.now = datetime(2027, 1, 1, 9, 40, tzinfo=BRT)
    service = parts.open()
    parts.run()

    assert [m.body for m in parts.queued()] == ["atrasada"]
    assert service.get(late["id"])["lastRuns"][0]["reason"] == "sent 2400 s late"
    for made in (lost, skip):
        runs = service.get(made["id"])["lastRuns"]
        assert service.get(made["id"])["status"] == "finished"
        assert [r["outcome"] for r in runs] == ["skipped"] and runs[0]["messageId"] is None
        assert "ZapPool was not running" in runs[0]["reason"]


def test_a_daily_schedule_closed_for_days_skips_each_missed_day_and_sends_todays_within_grace(parts):
    service = parts.open()
    made = service.create({"to": TO, "text": "diária", "at": "2027-01-01T09:00:00-03:00", "rrule": "daily",
                           "graceS": 1800})
    service.stop()

    parts.clock.now = datetime(2027, 1, 4, 9, 10, tzinfo=BRT)
    service = parts.open()
    parts.run()

    runs = service.get(made["id"])["lastRuns"]
    assert [(r["occurrence"][:10], r["outcome"]) for r in runs] == [
        ("2027-01-04", "queued"), ("2027-01-03", "skipped"), ("2027-01-02", "skipped"), ("2027-01-01", "skipped")]
    assert len(parts.queued()) == 1 and service.get(made["id"])["nextAt"] == "2027-01-05T09:00:00-03:00"


def test_cancelled_and_changed_schedules_send_only_what_they_say_now(parts):
    service = parts.open()
    gone = service.create({"to": TO, "text": "cancelada", "at": "2027-01-01T09:00:00-03:00"})
    moved = service.create({"to": TO, "text": "antes", "at": "2027-01-01T09:00:00-03:00"})
    service.cancel(gone["id"])
    changed = service.update(moved["id"], {"text": "depois", "at": "2027-01-01T10:00:00-03:00"})
    assert changed["nextAt"] == "2027-01-01T10:00:00-03:00"

    parts.clock.now = datetime(2027, 1, 1, 9, 0, 30, tzinfo=BRT)
    parts.run()
    assert parts.queued() == []
    parts.clock.now = datetime(2027, 1, 1, 10, 0, 30, tzinfo=BRT)
    parts.run()
    assert [m.body for m in parts.queued()] == ["depois"]


def test_a_template_is_rendered_at_each_occurrence_and_a_deleted_one_is_recorded_as_failed(parts):
    service = parts.open()
    tpl = parts.templates.create({"name": "lembrete", "text": "Oi {{nome}}, lembrete {{n|default(\"1\")}}"})
    made = service.create({"to": TO, "templateId": tpl["id"], "variables": {"nome": "Ana"},
                           "at": "2027-01-01T09:00:00-03:00", "rrule": "daily"})
    parts.clock.now = datetime(2027, 1, 1, 9, 0, 5, tzinfo=BRT)
    parts.run()
    parts.templates.delete(tpl["id"])
    parts.clock.move(days=1)
    parts.run()

    assert [m.body for m in parts.queued()] == ["Oi Ana, lembrete 1"]
    runs = service.get(made["id"])["lastRuns"]
    assert [r["outcome"] for r in runs] == ["failed", "queued"] and runs[0]["reason"].startswith("template_not_found")
    assert service.get(made["id"])["status"] == "active"  # a recurring schedule goes on


@pytest.mark.parametrize("rule, error, reason", [
    ("FREQ=MINUTELY", ScheduleTooFrequent, None),
    ("FREQ=SECONDLY;INTERVAL=3600", ScheduleTooFrequent, None),
    ("FREQ=HOURLY;BYMINUTE=0,30", ScheduleTooFrequent, None),
    ("FREQ=DAILY;BYHOUR=9,10;BYMINUTE=0,59", ScheduleTooFrequent, None),
    ("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30", ScheduleBadRule, "never"),
    ("FREQ=MONTHLY;INTERVAL=2;BYMONTH=2", ScheduleBadRule, "interval_with_filter"),
    ("FREQ=DAILY;BYSETPOS=1", ScheduleBadRule, "unsupported_bysetpos"),
    ("FREQ=DAILY;COUNT=1000000", ScheduleBadRule, "bad_count"),
    ("FREQ=DAILY;UNTIL=20260101T000000Z", ScheduleBadRule, "no_occurrence"),
    ("FREQ=DAILY\nDTSTART:20200101T000000", ScheduleBadRule, "unparsable"),
    ("FREQ=WEEKLY;BYDAY=XX", ScheduleBadRule, "unparsable"),
    ("FREQ=DAILY;COUNT=5;UNTIL=20300101T000000Z", ScheduleBadRule, "count_with_until"),
    ("FREQ=DAILY;INTERVAL=3;BYMONTH=2;BYMONTHDAY=29", ScheduleBadRule, "interval_with_filter"),
    ("FREQ=DAILY;BYDAY=1MO", ScheduleBadRule, "bad_ordinal"),
    ("FREQ=DAILY;BYMONTHDAY=1;BYDAY=MO", ScheduleBadRule, "byday_with_bymonthday"),
])
def test_hostile_rules_are_refused_at_once(parts, rule, error, reason):
    started = time.monotonic()
    with pytest.raises(error) as caught:
        parts.open().create({"to": TO, "text": "x", "at": "2027-01-01T09:00:00-03:00", "rrule": rule})
    assert time.monotonic() - started < 1.0
    assert caught.value.details.get("reason") == reason and caught.value.details["field"] == "rrule"


def test_the_worker_thread_wakes_when_a_schedule_is_made_or_changed(parts):
    service = parts.open()
    service.start()
    first = service.create({"to": TO, "text": "primeira", "at": "2026-12-31T12:10:00Z"})
    time.sleep(0.3)
    assert parts.queued() == []  # not due: the worker sleeps

    parts.clock.move(minutes=11)  # the clock passes the occurrence; a change to another schedule kicks the worker
    service.create({"to": TO, "text": "segunda", "at": "2026-12-31T14:00:00Z"})
    deadline = time.monotonic() + 10
    while service.get(first["id"])["status"] != "finished" and time.monotonic() < deadline:
        time.sleep(0.05)

    assert service.get(first["id"])["status"] == "finished"
    assert [m.body for m in parts.queued()] == ["primeira"]


def test_an_outbox_that_refuses_leaves_the_occurrence_due_for_the_next_try(parts):
    """The outbox stopping (or a full disk) is not the message's fault: nothing is recorded, the schedule stays at
    its occurrence and the next step tries again."""
    service = parts.open()
    made = service.create({"to": TO, "text": "depois da volta", "at": "2027-01-01T09:00:00-03:00"})
    parts.clock.now = datetime(2027, 1, 1, 9, 0, 5, tzinfo=BRT)
    parts.pool.outbox.stop()  # accepts nothing more: 409 Conflict

    with pytest.raises(Exception) as caught:
        service.runner.step()

    assert caught.value.code == "conflict"
    after = service.get(made["id"])
    assert (after["status"], after["lastRuns"], after["nextAt"]) == ("active", [], "2027-01-01T09:00:00-03:00")
