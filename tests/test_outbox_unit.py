"""The outbox's own logic, fast: the real Outbox over a real messages.db and media folder, a FakeSender for the
pool and its browsers, and a clock the test moves. Every rig test runs twice: on the desktop's SQLite store and
on cluster mode's PostgreSQL store (the run's throw-away server), the same outbox over either.

What is ours is tested here: routing, pacing, retries with backoff, ambiguous failures, crash recovery, acks,
stopping. The same behaviours on real Chromium and the simulator stay in tests/test_outbox.py.

The workers sleep in real time for as long as the injected clock says they should wait, so a test that moves
the clock also calls `Outbox.wake()` (the pool's own nudge when a number becomes ready) and they look again
at once. To check that something did *not* happen, `looked()` waits until the worker concerned has finished a
look at the current time (its thread read the clock twice after a wake), not for some arbitrary sleep.
"""

from __future__ import annotations

import base64
import random
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.errors import (ClientNotReady, Conflict, EngineTimeout, NumberNotOnWhatsApp, WhatsAppError,
                            ZapPoolError)
from backend.drafts import MediaFile
from backend.outbox.outbox import MessageRecord, Outbox
from backend.outbox.sender import Attempt
from backend.outbox.event_log import EventLog
from backend.store.media import MediaFiles
from backend.store.limits import StoredLimits
from backend.store.message_protocol import MessageLog
from backend.store.messages import MessageStore
from backend.store.pg_db import PgDatabase
from backend.store.pg_messages import PgMessageStore
from tests.conftest import wait_until

T0 = 1_800_000_000.0
TO = "5511988887777"
SEED = 7
SENT = ("sent", "delivered", "read")


class FakeClock:
    """Epoch seconds that move only when the test says; counts the reads of each thread (see `looked`)."""

    def __init__(self, start: float = T0):
        self._now = start
        self._reads: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The outbox's clock: the time, noting which thread asked."""
        with self._lock:
            self._reads[threading.current_thread().name] += 1
            return self._now

    def now(self) -> float:
        """The same time without counting a read (the store's clock, the sender's timestamps)."""
        with self._lock:
            return self._now

    def set(self, moment: float) -> None:
        """Move to `moment` (set, not added, so a due time computed as t + d is met exactly)."""
        with self._lock:
            self._now = moment

    def reads(self, thread_name: str) -> int:
        """How often that thread has read the clock."""
        with self._lock:
            return self._reads[thread_name]


@dataclass
class Delivery:
    """One call into the sender: which number, to whom, what, how (Attempt) and when (fake clock)."""

    client_id: str
    to: str
    text: str
    attempt: Attempt
    at: float
    media: MediaFile | None = None


@dataclass
class Failure:
    """An error the next attempt on a number meets; `after_sending`: the message reached WhatsApp first, as
    when the page's answer is what times out."""

    error: ZapPoolError
    after_sending: bool = False


@dataclass
class FakeSender:
    """The pool as the outbox sees it (the Sender protocol), with WhatsApp played in memory.

    `numbers` in the pool's order, `ready` those connected. `whatsapp` lists (message key, text) for every
    message that reached WhatsApp, in order: shared by the senders of an outbox and of the one that replaces
    it after a crash, it is what the contacts receive. Like the real pool, a delivery refuses a number that is
    not ready, sends under the attempt's key, and with `look_first` returns the copy WhatsApp already has
    instead of sending another."""

    clock: FakeClock
    numbers: list[str]
    ready: set[str]
    whatsapp: list[tuple[str | None, str]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=lambda: defaultdict(list))
    gates: dict[str, threading.Event] = field(default_factory=dict)  # text -> held on WhatsApp until set
    before_receipt: Callable[[str, str], None] | None = None  # (client, key): e.g. an ack beating the receipt
    most_in_flight: Counter[str] = field(default_factory=Counter)
    _in_flight: Counter[str] = field(default_factory=Counter)
    _last: int = -1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the Sender protocol -------------------------------------------------------------------------------

    def client_ready(self, client_id: str, wake: bool = True) -> bool:
        return client_id in self.ready

    def any_ready_client(self) -> bool:
        return bool(self.ready)

    def ready_client_besides(self, exclude: frozenset[str]) -> bool:
        return bool(self.ready - exclude)

    def pick_ready_client(self, exclude: frozenset[str] = frozenset()) -> str | None:
        """The pool's round-robin: the first ready number after the last one picked, wrapping around."""
        with self._lock:
            ready = [i for i, c in enumerate(self.numbers) if c in self.ready and c not in exclude]
            if not ready:
                return None
            self._last = next((i for i in ready if i > self._last), ready[0])
            return self.numbers[self._last]

    def deliver_text(self, client_id: str, to: str, text: str, attempt: Attempt) -> dict:
        """A text, as the pool's number would send it."""
        return self._deliver(Delivery(client_id, to, text, attempt, self.clock.now()))

    def deliver_media(self, client_id: str, to: str, media: MediaFile, options: dict, attempt: Attempt) -> dict:
        """A file, as bytes (its caption, else its name, stands for it on WhatsApp)."""
        caption = options.get("caption") or media.filename
        return self._deliver(Delivery(client_id, to, caption, attempt, self.clock.now(), media=media))

    # -- what the test steers and reads --------------------------------------------------------------------

    def fail_next(self, client_id: str, *failures: Failure) -> None:
        """The next attempts on `client_id` meet these errors, one each, in order."""
        self.failures[client_id].extend(failures)

    def hold(self, text: str) -> threading.Event:
        """The message with this text reaches WhatsApp but its receipt waits until the event is set."""
        return self.gates.setdefault(text, threading.Event())

    def wait_deliveries(self, count: int) -> list[Delivery]:
        """The deliveries once there are at least `count`."""
        return wait_until(lambda: len(self.deliveries) >= count and list(self.deliveries), 5,
                          what=f"{count} deliveries, got {self.deliveries}", every=0.002)

    def reached(self, text: str) -> None:
        """Wait until a message with this text is on WhatsApp (a held one is, before its receipt)."""
        wait_until(lambda: text in self.texts(), 5, what=f"{text!r} on WhatsApp", every=0.002)

    def texts(self) -> list[str]:
        """What the contacts received, in order."""
        return [text for _, text in self.whatsapp]

    # -- WhatsApp's side -------------------------------------------------------------------------------------

    def _deliver(self, delivery: Delivery) -> dict:
        """Count the call and the sends in flight per number around WhatsApp's answer."""
        with self._lock:
            self.deliveries.append(delivery)
            self._in_flight[delivery.client_id] += 1
            self.most_in_flight[delivery.client_id] = max(self.most_in_flight[delivery.client_id],
                                                          self._in_flight[delivery.client_id])
        try:
            return self._on_whatsapp(delivery)
        finally:
            with self._lock:
                self._in_flight[delivery.client_id] -= 1

    def _on_whatsapp(self, d: Delivery) -> dict:
        """What the number's page would do with this attempt."""
        if d.client_id not in self.ready:
            raise ClientNotReady(f"Client {d.client_id} is not ready")
        failure = self.failures[d.client_id].pop(0) if self.failures[d.client_id] else None
        if failure and not failure.after_sending:
            raise failure.error
        key = d.attempt.message_key(f"{d.to}@c.us")
        if d.attempt.look_first and any(k == key for k, _ in self.whatsapp):
            return {"id": key, "to": f"{d.to}@c.us", "ack": 1, "found": True}
        self.whatsapp.append((key, d.text))
        if d.text in self.gates:
            self.gates[d.text].wait(10)
        if failure:
            raise failure.error
        if self.before_receipt is not None:
            self.before_receipt(d.client_id, key)
        return {"id": key, "to": f"{d.to}@c.us", "ack": 1}


@dataclass
class Rig:
    """An outbox under test with its store, sender and clock."""

    outbox: Outbox
    store: MessageLog
    sender: FakeSender
    clock: FakeClock

    def at(self, moment: float) -> None:
        """Move the clock and wake every worker, as time passing would. Call it once the sends under way have
        ended (`looked`): a lane paces from the moment a send returns, so a jump in the middle of one would
        count its gap from the new time, as a slow send does for real."""
        self.clock.set(moment)
        self.nudge()

    def nudge(self) -> None:
        """Wake every number's lane and the router (Outbox.wake: what the pool calls when a number is ready)."""
        for client_id in self.sender.numbers:
            self.outbox.wake(client_id)

    def looked(self, client_id: str | None) -> None:
        """Wait until the lane of `client_id` (the router for None) has finished a look at the current time.
        Its thread reading the clock twice after being woken means its first step since then has ended,
        having sent whatever it was going to send. (The outbox names its threads outbox-<number> and
        outbox-router; only the outbox's own clock reads count, not the store's.)"""
        name = "outbox-router" if client_id is None else f"outbox-{client_id}"
        for _ in range(2):
            seen = self.clock.reads(name)
            self.nudge()
            wait_until(lambda seen=seen: self.clock.reads(name) > seen, 5, what=f"{name} to look", every=0.002)

    def record(self, message_id: str, *statuses: str) -> MessageRecord:
        """The message once its status is one of `statuses`."""
        return wait_until(lambda: (r := self.outbox.get(message_id)).status in statuses and r, 5,
                          what=f"{message_id} to be {statuses}", every=0.002)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[FakeClock], MessageLog]:
    """Opens the test's message store (a second one sees what the first left): messages.db in tmp_path's
    dados/, or a database of the run's PostgreSQL server."""
    if request.param == "sqlite":
        return lambda clock: MessageStore(tmp_path / "dados" / "messages.db", clock=clock.now)
    url = request.getfixturevalue("pg_url")
    return lambda clock: PgMessageStore(PgDatabase(url).open(), clock=clock.now)


@pytest.fixture
def make_rig(tmp_path: Path, open_store: Callable[[FakeClock], MessageLog]) -> Iterator[Callable[..., Rig]]:
    """Outboxes on tmp_path's dados/ (a second one sees what the first left), started unless asked not to;
    each is stopped and its store closed after the test."""
    made: list[Rig] = []

    def make(numbers: Iterable[str] = ("a",), ready: Iterable[str] | None = None, *, start: bool = True,
             clock: FakeClock | None = None, whatsapp: list[tuple[str | None, str]] | None = None,
             **options: Any) -> Rig:
        """An outbox for `numbers` (all ready unless `ready` says), no pacing and 3 attempts unless `options`
        say otherwise; a restart passes the clock and WhatsApp of the outbox it replaces."""
        clock = clock or FakeClock()
        numbers = list(numbers)
        sender = FakeSender(clock, numbers, set(numbers if ready is None else ready),
                            whatsapp=[] if whatsapp is None else whatsapp)
        store = open_store(clock)
        settings = {"pacing_s": 0.0, "jitter_s": 0.0, "max_attempts": 3, "retry_base_s": 2.0,
                    "retry_cap_s": 60.0, "idle_poll_s": 0.05, **options}
        outbox = Outbox(store, MediaFiles(tmp_path / "dados" / "media"), clock=clock, rng=random.Random(SEED),
                        **settings)
        rig = Rig(outbox, store, sender, clock)
        made.append(rig)
        if start:
            outbox.start(sender)
        return rig

    yield make
    for rig in made:
        for gate in rig.sender.gates.values():
            gate.set()
        rig.outbox.stop(2)
        rig.store.close()


# -- one number: order, one at a time, pacing ---------------------------------------------------------------

def test_a_numbers_messages_go_out_in_order_one_at_a_time_and_another_number_is_not_held_up(make_rig):
    rig = make_rig(["a", "b"])
    first = rig.sender.hold("pedido 0")
    ids = [rig.outbox.enqueue_text("a", TO, f"pedido {i}") for i in range(5)]
    rig.sender.reached("pedido 0")

    other = rig.outbox.enqueue_text("b", TO, "enquanto isso")
    assert rig.record(other, *SENT).client_id == "b", "a slow send on a does not hold b up"
    assert [rig.outbox.get(i).status for i in ids] == ["sending"] + ["queued"] * 4
    first.set()

    assert all(rig.record(i, *SENT) for i in ids)
    assert [d.text for d in rig.sender.deliveries if d.client_id == "a"] == [f"pedido {i}" for i in range(5)]
    assert rig.sender.most_in_flight["a"] == 1
    assert rig.sender.texts() == ["pedido 0", "enquanto isso"] + [f"pedido {i}" for i in range(1, 5)]


def test_pacing_waits_interval_plus_jitter_between_two_sends_of_a_number(make_rig):
    rig = make_rig(pacing_s=5.0, jitter_s=3.0)
    twin = random.Random(SEED)  # draws what the outbox's rng will: one jitter after each send
    gaps = [5.0 + twin.uniform(0, 3.0) for _ in range(2)]
    ids = [rig.outbox.enqueue_text("a", TO, f"ritmo {i}") for i in range(3)]
    rig.sender.wait_deliveries(1)

    moment = T0
    for n, gap in enumerate(gaps, start=2):
        rig.looked("a")  # the send has ended: its gap counts from `moment`
        rig.at(moment + gap - 0.001)
        rig.looked("a")
        assert len(rig.sender.deliveries) == n - 1, f"message {n} went before its gap of {gap:.3f} s"
        moment += gap
        rig.at(moment)
        rig.sender.wait_deliveries(n)

    assert [d.at for d in rig.sender.deliveries] == [T0, T0 + gaps[0], T0 + gaps[0] + gaps[1]]
    assert all(5.0 <= gap <= 8.0 for gap in gaps) and gaps[0] != gaps[1], "jittered, within interval + jitter"
    assert all(rig.record(i, "sent") for i in ids)


# -- auto-routing -------------------------------------------------------------------------------------------

def test_auto_routed_messages_are_spread_round_robin_one_waiting_per_number(make_rig):
    rig = make_rig(["a", "b"], pacing_s=10.0, start=False)
    ids = [rig.outbox.enqueue_text(None, TO, f"auto {i}") for i in range(6)]
    rig.outbox.start(rig.sender)

    for n, moment in enumerate((T0, T0 + 10, T0 + 20), start=1):
        rig.at(moment)
        rig.sender.wait_deliveries(2 * n)
        if n < 3:  # each number holds the next one behind its pacing; the rest wait for a number
            expected = [None] * (4 - 2 * n) + ["a", "b"]
            wait_until(lambda expected=expected: _holders(rig, ids) == expected, 5, what="one waiting per number",
                       every=0.002)
            rig.looked(None)
            assert _holders(rig, ids) == expected, "the router gave a number a second one to hold"
            rig.looked("a")
            rig.looked("b")

    sends = defaultdict(list)
    for d in rig.sender.deliveries:
        sends[d.client_id].append(d.at)
    assert sends == {"a": [T0, T0 + 10, T0 + 20], "b": [T0, T0 + 10, T0 + 20]}
    assert all(rig.record(i, "sent").routing == "auto" for i in ids)


def test_unpaced_numbers_take_auto_routed_messages_themselves_without_a_router_step_each(make_rig):
    rig = make_rig(["a", "b"], start=False, idle_poll_s=1.0)  # no pacing: the benchmarks' and a bulk sender's setting
    ids = [rig.outbox.enqueue_text(None, TO, f"lote {i}") for i in range(200)]
    rig.clock.set(T0 + 1)  # a backlog: all accepted before the first send
    rig.outbox.start(rig.sender)

    done = [rig.record(i, *SENT) for i in ids]
    used = Counter(r.client_id for r in done)
    assert set(used) == {"a", "b"} and all(r.routing == "auto" for r in done), used
    for number in ("a", "b"):  # each number's share went out oldest first, one at a time
        mine = [int(d.text.split()[1]) for d in rig.sender.deliveries if d.client_id == number]
        assert mine == sorted(mine) and rig.sender.most_in_flight[number] == 1, dict(rig.sender.most_in_flight)
    # The router handed out the first ones; the lanes took the rest as each send ended (one statement each),
    # not a router step, an assign and a kick per message (that was >= 200 steps here).
    assert rig.clock.reads("outbox-router") < 40, rig.clock.reads("outbox-router")

    # One at a time, each accepted after the last was sent: no backlog, so the router's round-robin decides.
    rig.clock.set(T0 + 2)
    one_by_one = [rig.outbox.send_text_and_wait(None, TO, f"um {i}").client_id for i in range(6)]
    assert one_by_one in (["a", "b"] * 3, ["b", "a"] * 3), one_by_one


def _holders(rig: Rig, ids: list[str]) -> list[str | None]:
    """The number each waiting message is given to (None: not yet), sorted with the unassigned first."""
    waiting = [r.client_id for r in map(rig.outbox.get, ids) if r.status == "queued"]
    return sorted(waiting, key=lambda c: c or "")


def test_auto_routed_messages_wait_while_no_number_is_ready(make_rig):
    rig = make_rig(["a", "b"], ready=[])
    with pytest.raises(ClientNotReady):
        rig.outbox.send_text_and_wait(None, TO, "agora", timeout=1)  # the seed's send: refused, not queued
    waiting = rig.outbox.enqueue_text(None, TO, "quando alguém voltar")

    rig.looked(None)
    record = rig.outbox.get(waiting)
    assert (record.status, record.client_id, rig.sender.deliveries) == ("queued", None, [])

    rig.sender.ready.add("b")
    rig.outbox.wake("b")
    assert rig.record(waiting, *SENT).client_id == "b"
    assert rig.sender.texts() == ["quando alguém voltar"]


# -- failures ---------------------------------------------------------------------------------------------

def test_a_permanent_error_fails_the_message_at_once_and_the_queue_goes_on(make_rig):
    rig = make_rig()
    rig.sender.fail_next("a", Failure(NumberNotOnWhatsApp("5511977776666 is not on WhatsApp")))
    bad = rig.outbox.enqueue_text("a", "5511977776666", "alguém aí?")
    good = rig.outbox.enqueue_text("a", TO, "oi")

    failed = rig.record(bad, "failed")
    assert (failed.error_code, failed.reason, failed.attempts) == (
        "number_not_on_whatsapp", "5511977776666 is not on WhatsApp", 1)
    assert failed.failed_at == int(T0 * 1000)
    assert rig.record(good, *SENT) and rig.sender.texts() == ["oi"]
    rig.sender.fail_next("a", Failure(NumberNotOnWhatsApp("5511977776666 is not on WhatsApp")))
    with pytest.raises(NumberNotOnWhatsApp) as err:
        rig.outbox.send_text_and_wait("a", "5511977776666", "de novo", timeout=5)
    assert rig.outbox.get(err.value.details["messageId"]).status == "failed"


def test_a_transient_error_is_retried_with_growing_backoff_then_failed_after_max_attempts(make_rig):
    rig = make_rig(max_attempts=3, retry_base_s=2.0)
    rig.sender.fail_next("a", *[Failure(WhatsAppError("WhatsApp Web said no"))] * 3)
    twin = random.Random(SEED)  # attempt n waits half of base * 2^(n-1) fixed, half random
    delays = [(2.0 * 2 ** (n - 1)) / 2 + twin.uniform(0, 2.0 * 2 ** (n - 1) / 2) for n in (1, 2)]
    message_id = rig.outbox.enqueue_text("a", TO, "insistente")

    moment = T0
    for n, delay in enumerate(delays, start=1):
        rig.sender.wait_deliveries(n)
        record = rig.record(message_id, "queued")
        assert (record.attempts, record.error_code, record.reason) == (n, "whatsapp_error", "WhatsApp Web said no")
        due = record.next_attempt_at / 1000
        assert due == pytest.approx(moment + delay, abs=0.001)
        rig.at(due - 0.002)
        rig.looked("a")
        assert len(rig.sender.deliveries) == n, f"attempt {n + 1} came before its backoff"
        rig.at(moment := due)

    failed = rig.record(message_id, "failed")
    assert failed.attempts == 3 and failed.error_code == "whatsapp_error"
    assert failed.reason == "gave up after 3 attempts: WhatsApp Web said no"
    attempts = [d.attempt for d in rig.sender.deliveries]
    assert len({a.key_id for a in attempts}) == 1 and not any(a.look_first for a in attempts), attempts
    assert 1.0 <= delays[0] <= 2.0 <= delays[1] <= 4.0 and rig.sender.texts() == []


def test_an_ambiguous_timeout_is_looked_for_on_the_same_number_and_never_sent_twice(make_rig):
    rig = make_rig(["a", "b"])
    rig.sender.fail_next("a", Failure(EngineTimeout("Timed out after 20 s"), after_sending=True))
    message_id = rig.outbox.enqueue_text(None, TO, "talvez já foi")
    rig.sender.wait_deliveries(1)
    held = rig.record(message_id, "queued")
    assert (held.client_id, held.possible_duplicate, held.error_code) == ("a", True, "timeout")

    rig.sender.ready.discard("a")  # a goes down; b could send, but only a can look for what it may have sent
    rig.at(held.next_attempt_at / 1000)
    rig.looked(None)
    rig.looked("a")
    assert len(rig.sender.deliveries) == 1 and rig.outbox.get(message_id).client_id == "a"

    rig.sender.ready.add("a")
    rig.outbox.wake("a")
    sent = rig.record(message_id, *SENT)
    first, second = rig.sender.wait_deliveries(2)
    assert (second.client_id, second.attempt) == ("a", Attempt(key_id=first.attempt.key_id, look_first=True))
    assert sent.wa_id == first.attempt.message_key(f"{TO}@c.us") and sent.possible_duplicate
    assert rig.sender.texts() == ["talvez já foi"], "WhatsApp had it: not sent again"


# -- crash recovery, stopping -----------------------------------------------------------------------------

def test_after_a_crash_the_message_in_flight_is_looked_for_first_and_the_rest_follow(make_rig):
    first = make_rig()
    first.sender.hold("pedido 1")  # it reaches WhatsApp; the answer never comes back before the "crash"
    ids = [first.outbox.enqueue_text("a", TO, f"pedido {i}") for i in (1, 2)]
    first.sender.reached("pedido 1")
    assert first.outbox.stop(0.2) is False, "a send still in flight"
    assert [first.outbox.get(i).status for i in ids] == ["sending", "queued"]
    first.store.close()  # the process is gone: its thread can write nothing more

    again = make_rig(clock=first.clock, whatsapp=first.sender.whatsapp)

    recovered, after = again.record(ids[0], *SENT), again.record(ids[1], *SENT)
    key = first.sender.deliveries[0].attempt.key_id
    assert [d.attempt for d in again.sender.deliveries] == [Attempt(key, look_first=True),
                                                            Attempt(after.key_id, look_first=False)]
    assert recovered.possible_duplicate and recovered.attempts == 2 and not after.possible_duplicate
    assert recovered.wa_id == f"true_{TO}@c.us_{key}"
    assert again.sender.texts() == ["pedido 1", "pedido 2"], "each reached the contact once, in order"


def test_after_a_crash_a_claimed_message_that_never_left_is_sent_once(make_rig):
    crashed = make_rig(start=False)
    message_id = crashed.outbox.enqueue_text("a", TO, "reclamada, não enviada")
    claimed = crashed.store.claim(message_id, "a")  # as a kill -9 between the claim and the page leaves it
    assert claimed is not None and claimed.status == "sending"

    crashed.outbox.start(crashed.sender)

    sent = crashed.record(message_id, *SENT)
    (delivery,) = crashed.sender.wait_deliveries(1)
    assert delivery.attempt == Attempt(claimed.key_id, look_first=True)
    assert sent.possible_duplicate and sent.attempts == 2 and sent.wa_id == f"true_{TO}@c.us_{claimed.key_id}"
    assert crashed.sender.texts() == ["reclamada, não enviada"]


def test_stop_lets_the_send_in_flight_finish_takes_nothing_new_and_the_next_start_sends_the_rest(make_rig):
    first = make_rig()
    gate = first.sender.hold("em voo")
    flying = first.outbox.enqueue_text("a", TO, "em voo")
    left = first.outbox.enqueue_text("a", TO, "fica")
    first.sender.reached("em voo")
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(first.outbox.stop(5)))
    stopper.start()

    wait_until(lambda: _refused(first.outbox), 5, what="stop() under way", every=0.002)
    gate.set()
    stopper.join(5)

    assert stopped == [True] and first.outbox.get(flying).status == "sent"
    assert first.outbox.get(left).status == "queued" and first.sender.texts() == ["em voo"]
    first.store.close()
    again = make_rig(clock=first.clock, whatsapp=first.sender.whatsapp)
    assert again.record(left, *SENT).attempts == 1 and not again.outbox.get(left).possible_duplicate
    assert again.sender.texts() == ["em voo", "fica"]


def _refused(outbox: Outbox) -> bool:
    """Does the outbox refuse new messages (it is stopping)? The probe is for a number that is not connected:
    one accepted before stop() began only waits, and never reaches WhatsApp."""
    try:
        outbox.enqueue_text("offline", TO, "tarde demais")
    except Conflict:
        return True
    return False


# -- acks, media --------------------------------------------------------------------------------------------

def test_acks_move_a_sent_message_to_delivered_then_read_and_never_back(make_rig):
    rig = make_rig()
    message_id = rig.outbox.enqueue_text("a", TO, "chegou?")
    wa_id = rig.record(message_id, "sent").wa_id

    rig.clock.set(T0 + 3)
    rig.outbox.record_ack("a", wa_id, 2)
    assert rig.outbox.flush() and rig.outbox.get(message_id).status == "delivered"
    rig.clock.set(T0 + 9)
    rig.outbox.record_ack("a", wa_id, 3)
    rig.outbox.record_ack("a", wa_id, 2)  # late, out of order
    assert rig.outbox.flush()

    record = rig.outbox.get(message_id)
    assert (record.status, record.ack) == ("read", 3)
    assert (record.sent_at, record.delivered_at, record.read_at) == (T0 * 1000, (T0 + 3) * 1000, (T0 + 9) * 1000)


def test_an_ack_that_arrives_before_the_send_returns_is_kept_for_it(make_rig):
    rig = make_rig()
    rig.sender.before_receipt = lambda client_id, key: rig.outbox.record_ack(client_id, key, 3)

    message_id = rig.outbox.enqueue_text("a", TO, "lida na hora")

    rig.record(message_id, *SENT)
    assert rig.outbox.flush() and rig.record(message_id, "read").ack == 3


def test_media_reaches_the_sender_byte_exact_and_its_file_goes_once_sent(make_rig):
    rig = make_rig(start=False)
    data = bytes(range(256)) * 40
    media = {"mimetype": "application/pdf", "data": base64.b64encode(data).decode(), "filename": "pedido.pdf"}
    message_id = rig.outbox.enqueue_media("a", TO, media, {"caption": "Seu pedido"})
    assert rig.outbox.media.path(message_id).read_bytes() == data, "on disk before anything is attempted"

    rig.outbox.start(rig.sender)

    assert rig.record(message_id, *SENT).body == "Seu pedido"
    (delivery,) = rig.sender.wait_deliveries(1)
    assert delivery.media.data == data and delivery.media.filename == "pedido.pdf", "bytes: no base64 on the way"
    assert (delivery.media.mimetype, delivery.media.kind) == ("application/pdf", "document")
    wait_until(lambda: not rig.outbox.media.path(message_id).exists(), 5, what="the file deleted", every=0.002)


# -- per-number caps: a message over a cap waits for the next window, never fails --------------------------------

def test_a_number_at_its_hourly_cap_holds_the_next_message_with_a_reason_until_the_next_clock_hour(make_rig):
    start = T0 + 600  # T0 is the top of an hour: ten minutes into it
    rig = make_rig(clock=FakeClock(start), hourly_cap=2)
    held: list[tuple[str, str, str]] = []
    rig.outbox.on_held = lambda client, hold, record: held.append((client, hold.cap, record.id))
    ids = [rig.outbox.enqueue_text("a", TO, f"hora {i}") for i in range(3)]
    assert [rig.record(i, *SENT).status for i in ids[:2]] == ["sent", "sent"]

    waiting = wait_until(lambda: (r := rig.outbox.get(ids[2])).reason and r, 5, what="a held reason", every=0.002)
    assert waiting.status == "queued" and waiting.error_code == "rate_limited"
    assert "hourly cap of 2" in waiting.reason and waiting.to_dict()["reason"] == waiting.reason
    wait_until(lambda: held, 5, what="the held event", every=0.002)  # told just after the reason is written
    assert held == [("a", "hourly", ids[2])], "one event for the held message"
    rig.at(T0 + 3600 - 0.001)
    rig.looked("a")
    assert rig.outbox.get(ids[2]).status == "queued" and len(rig.sender.deliveries) == 2
    assert held == [("a", "hourly", ids[2])], "not said again while the same window lasts"

    rig.at(T0 + 3600)
    sent = rig.record(ids[2], *SENT)
    assert sent.sent_at == int((T0 + 3600) * 1000) and sent.reason is None and sent.error_code is None
    assert rig.sender.texts() == ["hora 0", "hora 1", "hora 2"]


def test_a_number_at_its_daily_cap_waits_until_local_midnight_not_just_the_next_hour(make_rig):
    rig = make_rig(clock=FakeClock(T0), daily_cap=1, hourly_cap=100)
    first, second = (rig.outbox.enqueue_text("a", TO, f"dia {i}") for i in range(2))
    rig.record(first, *SENT)
    midnight = (datetime.fromtimestamp(T0).astimezone() + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0).timestamp()
    assert "daily cap of 1" in wait_until(lambda: rig.outbox.get(second).reason, 5, what="held", every=0.002)

    for moment in (T0 + 3600, midnight - 0.001):
        rig.at(moment)
        rig.looked("a")
        assert rig.outbox.get(second).status == "queued", f"sent at {moment - T0:.0f} s, before midnight"
    rig.at(midnight)
    assert rig.record(second, *SENT).sent_at == int(midnight * 1000)


def test_raising_a_cap_lets_the_held_message_go_at_once_and_limits_and_counts_survive_a_restart(make_rig):
    clock = FakeClock(T0 + 60)
    rig = make_rig(clock=clock, hourly_cap=1)
    first, second = (rig.outbox.enqueue_text("a", TO, f"r {i}") for i in range(2))
    rig.record(first, *SENT)
    wait_until(lambda: rig.outbox.get(second).reason, 5, what="held", every=0.002)
    effective = rig.outbox.set_limits("a", StoredLimits(interval_s=0.0, jitter_s=0.0, hourly_cap=2))
    assert effective.hourly_cap == 2 and effective.daily_cap == 0
    rig.record(second, *SENT)
    rig.outbox.stop(2)

    again = make_rig(clock=clock, hourly_cap=1, whatsapp=rig.sender.whatsapp)
    assert again.outbox.caps.limits_for("a").hourly_cap == 2, "the limit set is kept in messages.db"
    assert again.outbox.caps.usage("a", clock.now()) == (2, 2), "the count comes from the log"
    third = again.outbox.enqueue_text("a", TO, "r 2")
    assert "hourly cap of 2" in wait_until(lambda: again.outbox.get(third).reason, 5, what="held", every=0.002)


def test_an_auto_routed_message_skips_a_capped_number_and_waits_only_when_every_number_is_capped(make_rig):
    rig = make_rig(["a", "b"], clock=FakeClock(T0 + 60), hourly_cap=1)
    ids = [rig.outbox.enqueue_text(None, TO, f"auto {i}") for i in range(3)]
    done = [rig.record(i, *SENT) for i in ids[:2]]
    assert sorted(r.client_id for r in done) == ["a", "b"], "the second went to the number not at its cap"
    waiting = wait_until(lambda: (r := rig.outbox.get(ids[2])).reason and r, 5, what="a held reason", every=0.002)
    assert waiting.status == "queued" and waiting.error_code == "rate_limited" and "hourly cap of 1" in waiting.reason
    rig.at(T0 + 3600)
    assert rig.record(ids[2], *SENT).status == "sent"


def test_a_removed_numbers_limits_go_with_it(make_rig):
    clock = FakeClock(T0)
    rig = make_rig(clock=clock, hourly_cap=50, daily_cap=250)
    rig.outbox.set_limits("a", StoredLimits(hourly_cap=1, daily_cap=2, interval_s=9.0))
    rig.outbox.forget_client("a")
    assert rig.outbox.caps.limits_for("a") == rig.outbox.caps.defaults
    rig.outbox.stop(2)
    again = make_rig(clock=clock, hourly_cap=50, daily_cap=250, whatsapp=rig.sender.whatsapp)
    assert again.outbox.caps.limits_for("a").hourly_cap == 50, "not back from messages.db either"


def test_acks_arriving_one_by_one_are_written_together_and_each_moves_its_message(tmp_path: Path):
    """The delivered/read acks of a burst arrive one at a time from the page: the ack writer gathers those that
    arrive close together into one transaction (each costs CPU and an fsync), and none is lost or held back."""
    store = MessageStore(tmp_path / "messages.db")
    for n in range(40):
        store.add_outgoing(f"m{n}", client_id="a", to_number=TO, chat=f"{TO}@c.us", type="chat", body="x")
        store.claim(f"m{n}", "a")
        store.mark_sent(f"m{n}", wa_id=f"true_{TO}@c.us_W{n}", chat=None, ack=1)
    moved: list[str] = []
    log = EventLog(store, on_acked=moved.extend)
    log.start()
    try:
        before = store.database.generation
        for n in range(40):
            log.put(("ack", "a", f"true_{TO}@c.us_W{n}", 2))
            time.sleep(0.002)  # as the page reports them: one at a time
        assert log.flush(5)
        transactions = store.database.generation - before
    finally:
        log.stop()
        log.join(5)
    assert sorted(moved) == sorted(f"m{n}" for n in range(40))
    assert {store.get(f"m{n}").status for n in range(40)} == {"delivered"}
    assert transactions <= 6, f"{transactions} transactions for 40 acks that came within ~0.1 s"


def _claim_steps(backlog: int, tmp_path: Path) -> int:
    """SQLite's virtual-machine steps (counted in thousands) for one claim_auto with `backlog` auto-routed messages
    waiting."""
    store = MessageStore(tmp_path / f"backlog-{backlog}.db")
    with store.database.write() as conn:  # one transaction: add_outgoing would fsync each
        conn.executemany("INSERT INTO messages (id, direction, routing, chat, to_number, type, body, status, "
                         "created_at, updated_at) VALUES (?, 'out', 'auto', ?, ?, 'chat', 'x', 'queued', ?, ?)",
                         [(f"m{n}", f"{TO}@c.us", TO, n, n) for n in range(backlog)])
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # go on

    store.database._writer.set_progress_handler(count, 1000)
    now = int(time.time() * 1000) + 60_000
    assert store.claim_auto("a", now, now).id == "m0"
    store.database._writer.set_progress_handler(None, 1000)
    store.close()
    return steps[0]


def test_an_unpaced_numbers_claim_costs_the_same_whatever_the_backlog(tmp_path: Path):
    """A number working through a backlog claims the oldest waiting message in one statement per message (issue 15,
    item 1): that statement must read the queue's index in order, not sort the whole backlog on every claim, which
    made a 3,000-message burst cost 1.2 ms of CPU per claim (docs/PERFORMANCE.md, "Item 1, sixth pass")."""
    small, large = _claim_steps(50, tmp_path), _claim_steps(3000, tmp_path)
    assert large <= small + 2, f"{small}k SQLite steps with 50 waiting, {large}k with 3,000"


def _switches(native_id: int) -> int:
    """How many times the OS has put this thread to sleep and woken it (voluntary context switches)."""
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    return int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.MULTILINE).group(1))


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads Linux's per-thread counters")
def test_acks_put_while_the_writer_lingers_do_not_wake_it_one_by_one(tmp_path: Path):
    """Each wake-up of a thread costs CPU on both sides (issue 15, item 1): the ack writer sleeps through its linger
    and takes what came, instead of being woken by every ack the page reports (about three per sent message)."""
    store = MessageStore(tmp_path / "messages.db")
    log = EventLog(store, linger_s=0.3)
    log.start()
    try:
        assert log.flush(5)
        before = _switches(log._thread.native_id)
        for n in range(40):
            log.put(("ack", "a", f"true_{TO}@c.us_W{n}", 2))
            time.sleep(0.002)
        assert log.flush(5)
        woken = _switches(log._thread.native_id) - before
    finally:
        log.stop()
        log.join(5)
    assert woken <= 10, f"the writer was woken {woken} times for 40 acks in one linger"


def test_a_write_left_unsynced_leaves_the_next_one_fsynced(tmp_path: Path):
    """Writes whose loss a restart repairs (assign, mark_sent, acks) skip their fsync (NORMAL); the next accept or
    claim commits at synchronous=FULL, so it is on disk (and takes them along) before it returns, after a failed
    relaxed write too. One writer connection switches between the two (sqlite_db.py says why)."""
    store = MessageStore(tmp_path / "messages.db")
    writer = store.database._writer
    setting, commits = ["FULL"], []

    def trace(sql: str) -> None:
        if sql.startswith("PRAGMA synchronous ="):
            setting[0] = sql.rsplit(" ", 1)[1]
        elif sql == "COMMIT" or not sql.startswith(("BEGIN", "PRAGMA", "ROLLBACK")):
            commits.append((sql.split()[0], setting[0]))

    store.add_outgoing("m1", client_id=None, to_number=TO, chat=f"{TO}@c.us", type="chat", body="x")
    writer.set_trace_callback(trace)
    setting[0] = store.database._synchronous
    with store.database.write(durable=False) as conn:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1, "NORMAL inside"
    assert store.assign("m1", "a")
    with pytest.raises(RuntimeError):
        with store.database.write(durable=False):
            raise RuntimeError("a failing write")
    assert store.claim("m1", "a") is not None
    writer.set_trace_callback(None)

    assert ("UPDATE", "NORMAL") in commits, commits  # the assign skipped its fsync
    assert commits[-1][1] == "FULL", commits  # the claim, after the relaxed ones
    assert writer.execute("PRAGMA synchronous").fetchone()[0] == 2
