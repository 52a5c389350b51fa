"""Campaigns on real pieces (issue 17 §4): three numbers linked on the simulator in real Chromium, the audience
imported from CSV, a template, the outbox and the campaign driver as the app builds them (build_service), the
campaign's clock injected so a test can move to tomorrow or into the quiet hours. What a recipient received is
checked at the simulator, the other side of WhatsApp."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.campaigns.spec import Spec
from backend.drafts import text_draft
from backend.outbox.outbox import StoredLimits
from backend.service import ZapPoolService
from tests.api_support import Stack, api_stack
from tests.conftest import connect, wait_until

SP = ZoneInfo("America/Sao_Paulo")
PHONES = {"a": "5511999990001", "b": "5511999990002", "c": "5511999990003"}
ALL_DAY = {"from": "00:00", "to": "24:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
TEXT = "{Olá|Oi} {{nome}}, seu pedido {{pedido}} saiu."
SENT_TEXT = re.compile(r"^(Olá|Oi) (?P<nome>.+), seu pedido (?P<pedido>\d+) saiu\.$")


class Clock:
    """The campaign's clock, moved by the test (the outbox keeps the real one)."""

    def __init__(self, at: datetime):
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta).total_seconds()


def customer(n: int) -> str:
    """The n-th customer's phone."""
    return f"55119{n:08d}"


@pytest.fixture
def stack(runtime, settings) -> Iterator[Stack]:
    """The API stack as app.py builds it, pacing off."""
    with api_stack(runtime, settings) as made:
        yield made


def service_of(stack: Stack) -> ZapPoolService:
    """The service behind the stack's API (the same object the REST views call)."""
    return stack.server.app.extensions["zapool.service"]


def prepared(stack: Stack, sim, count: int, numbers: tuple[str, ...], *, opted: int = 0, missing: int = 0,
             at: datetime = datetime(2026, 12, 8, 10, 0, tzinfo=SP)) -> tuple[ZapPoolService, Clock, str]:
    """`numbers` linked, `count` customers tagged "clientes" imported (the first `opted` opted out, the next
    `missing` not on WhatsApp), a template; the campaign clock at `at` (a Tuesday morning in São Paulo)."""
    for client_id in numbers:
        connect(stack.pool, sim, client_id, PHONES[client_id])
    service = service_of(stack)
    rows = "".join(f"Cliente {n};{customer(n)};{1000 + n}\n" for n in range(count))
    report = service.audience.import_csv(f"Nome;Telefone;pedido\n{rows}".encode(), ["clientes"])
    assert report["imported"] == count, report
    for n in range(opted):
        service.audience.opt_out(customer(n))
    sim.control.set_numbers([customer(n) for n in range(opted + missing, count)])
    template = service.templates.create({"name": "pedido", "text": TEXT})
    clock = Clock(at)
    service.campaigns.clock = clock
    service.campaigns.runner.draw = lambda low, high: low
    return service, clock, template["id"]


def received(sim, numbers: tuple[str, ...]) -> Counter[tuple[str, str]]:
    """(recipient, text) of every message the numbers sent, as the simulator saw them, counted."""
    return Counter((m["to"], m["text"]) for c in numbers for m in sim.control.sent(PHONES[c]))


def by_number(sim, numbers: tuple[str, ...]) -> dict[str, int]:
    """How many messages each number sent."""
    return {c: len(sim.control.sent(PHONES[c])) for c in numbers}


def counts(service: ZapPoolService, campaign_id: str) -> dict:
    """The campaign's live counts."""
    return service.campaigns.get(campaign_id)["counts"]


def test_two_hundred_to_three_numbers_once_each_within_the_cap_then_the_next_day(stack, sim) -> None:
    numbers = ("a", "b", "c")
    service, clock, template_id = prepared(stack, sim, 205, numbers, opted=3, missing=2)
    made = service.campaigns.create({"name": "Black Friday", "templateId": template_id,
                                     "audience": {"tags": ["clientes"]}, "window": ALL_DAY,
                                     "delay": {"min": 0, "max": 0}, "dailyCap": 50, "warmup": False})
    assert made["counts"]["total"] == 205 and made["counts"]["skipped"]["optedOut"] == 3

    wait_until(lambda: counts(service, made["id"])["sent"] == 150, 90, what="150 sent on the first day")
    wait_until(lambda: counts(service, made["id"])["skipped"]["notOnWhatsApp"] == 2, 10, what="2 not on WhatsApp")
    assert by_number(sim, numbers) == {"a": 50, "b": 50, "c": 50}  # the cap, and fair across the numbers
    first_day = service.campaigns.get(made["id"])
    assert first_day["status"] == "running" and first_day["counts"]["pending"] == 50
    assert first_day["expectedEndAt"] > "2026-12-09T02:59"  # tomorrow in São Paulo: the caps are full today

    clock.move(days=1)  # the next day: the caps start again
    service.campaigns.driver.kick()
    wait_until(lambda: service.campaigns.get(made["id"])["status"] == "finished", 60, what="finished")
    got = received(sim, numbers)
    assert sum(got.values()) == 200 and max(got.values()) == 1  # each rendered message exactly once
    reached = {to for to, _text in got}
    assert reached == {customer(n) for n in range(5, 205)}  # never the opted-out, never those not on WhatsApp
    for to, text in got:
        match = SENT_TEXT.match(text)
        assert match and match["nome"] == f"Cliente {int(to[-8:])}" and match["pedido"] == str(1000 + int(to[-8:]))
    final = counts(service, made["id"])
    assert (final["sent"], final["failed"], final["pending"], final["queued"]) == (200, 0, 0, 0)
    assert final["skipped"] == {"optedOut": 3, "notOnWhatsApp": 2, "missingVariable": 0}
    # the second day's 50 shared by the three (one message in flight per number: a faster one takes more)
    assert all(60 <= n <= 75 for n in by_number(sim, numbers).values()), by_number(sim, numbers)


def test_quiet_hours_hold_until_the_window_opens(stack, sim) -> None:
    numbers = ("a",)
    evening = datetime(2026, 12, 8, 20, 30, tzinfo=SP)  # a Tuesday, after 20:00
    service, clock, template_id = prepared(stack, sim, 5, numbers, at=evening)
    made = service.campaigns.create({"name": "Noite", "templateId": template_id, "audience": "all",
                                     "window": {"from": "08:00", "to": "20:00", "days": ["mon", "tue", "wed"]},
                                     "delay": {"min": 0, "max": 0}, "warmup": False})
    assert made["expectedEndAt"].startswith("2026-12-09T11:00")  # 08:00 tomorrow in São Paulo
    wait_until(lambda: service.campaigns.get(made["id"])["status"] == "running", 10, what="started")
    for hours in (0, 3, 8):  # 20:30, 23:30, 04:30 the next day: all quiet
        clock.move(hours=hours)
        service.campaigns.driver.kick()
        time.sleep(1.5)  # the driver steps at least once a second
        assert by_number(sim, numbers) == {"a": 0}
    service.audience.opt_out(customer(2))  # opted out after the campaign was made: still never sent to
    clock.move(hours=3, minutes=30)  # 08:00 on Wednesday
    service.campaigns.driver.kick()
    wait_until(lambda: service.campaigns.get(made["id"])["status"] == "finished", 30, what="sent at 08:00")
    assert sorted(to for to, _ in received(sim, numbers)) == [customer(n) for n in (0, 1, 3, 4)]
    assert counts(service, made["id"])["skipped"]["optedOut"] == 1


def test_a_crash_between_claim_enqueue_and_mark_neither_loses_nor_repeats(stack, sim) -> None:
    """The states a kill -9 can leave between the writes, made by hand on the real stores: recipient 1 claimed
    but never enqueued (back to pending, sent once), recipient 2 enqueued but never marked (marked, not enqueued
    again: sent once), recipient 3's message given back by a number that went away but the recipient not yet
    handed over (handed over: sent once, by another number, under its next id)."""
    numbers = ("a",)
    service, clock, template_id = prepared(stack, sim, 4, numbers)
    made = service.campaigns.create({"name": "Queda", "templateId": template_id, "audience": "all",
                                     "window": ALL_DAY, "delay": {"min": 0, "max": 0}, "warmup": False,
                                     "startAt": "2026-12-09T10:00:00-03:00"})  # tomorrow: nothing moves yet
    store, runner = service.campaigns.store, service.campaigns.runner
    now_ms = int(clock() * 1000)
    assert store.claim(made["id"], 1, "a", now_ms) is not None  # killed after the claim
    second = store.claim(made["id"], 2, "a", now_ms)  # killed after the enqueue
    recipient = store.page(made["id"], 1, 1)[0]
    fields = runner.render(Spec.from_json(store.get(made["id"]).spec), recipient)
    stack.pool.outbox._accept(text_draft("a", recipient.phone, fields["text"]), second)
    wait_until(lambda: len(sim.control.sent(PHONES["a"])) == 1, 20, what="the enqueued one sent by the outbox")
    third = store.claim(made["id"], 3, "gone", now_ms)  # a number that is no more: its lane never sends
    stack.pool.outbox._accept(text_draft("gone", customer(2), "nunca enviada"), third)
    assert service.campaigns.log.hand_back(third)  # killed here, before the recipient was handed over

    clock.move(days=1)
    service.campaigns.driver.kick()
    wait_until(lambda: service.campaigns.get(made["id"])["status"] == "finished", 30, what="finished")
    got = received(sim, numbers)
    assert sorted(to for to, _ in got) == [customer(n) for n in range(4)] and max(got.values()) == 1
    moved = service.campaigns.recipients(made["id"])["items"][2]
    assert (moved["clientId"], moved["messageId"]) == ("a", third + ".1")
    assert moved["status"] in ("sent", "delivered", "read")
    assert counts(service, made["id"])["failed"] == 0  # the message given back is not a failure


def test_a_number_that_disconnects_hands_its_share_to_the_others(stack, sim) -> None:
    numbers = ("a", "b")
    service, _clock, template_id = prepared(stack, sim, 30, numbers)
    service.campaigns.clock = time.time  # real pauses between messages: the real clock
    service.campaigns.runner.draw = lambda low, high: 0.15
    stack.pool.outbox.set_limits("b", StoredLimits(daily_cap=3))  # b's own cap holds its 4th message, queued
    made = service.campaigns.create({"name": "Queda de um", "templateId": template_id, "audience": "all",
                                     "window": ALL_DAY, "delay": {"min": 0.15, "max": 0.15}, "warmup": False})
    held = wait_until(lambda: next((r for r in service.campaigns.recipients(made["id"], limit=200)["items"]
                                    if r["clientId"] == "b" and r["status"] == "queued"), None)
                      if len(sim.control.sent(PHONES["b"])) == 3 else None, 30, what="b holding its 4th message")
    stack.pool.disconnect("b")
    b_before = len(sim.control.sent(PHONES["b"]))
    # everyone else goes through a, the message b held (never tried) too: the campaign ends without b
    wait_until(lambda: service.campaigns.get(made["id"])["status"] == "finished", 60, what="finished without b")
    got = received(sim, numbers)
    assert sorted(to for to, _ in got) == [customer(n) for n in range(30)] and max(got.values()) == 1
    assert len(sim.control.sent(PHONES["b"])) == b_before
    final = counts(service, made["id"])
    assert (final["sent"], final["failed"], final["queued"]) == (30, 0, 0)
    moved = next(r for r in service.campaigns.recipients(made["id"], limit=200)["items"] if r["phone"] == held["phone"])
    assert moved["clientId"] == "a" and moved["messageId"] == held["messageId"] + ".1"  # its next id, from a
    stack.pool.reconnect("b")  # back: nothing of the campaign left for it to send
    wait_until(lambda: stack.pool.get("b").get_info()["status"] == "ready", 30, what="b ready again")
    time.sleep(1.5)
    assert len(sim.control.sent(PHONES["b"])) == b_before and max(received(sim, numbers).values()) == 1
