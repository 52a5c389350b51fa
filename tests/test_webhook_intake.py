"""The webhook intake: publish() writes nothing itself (it runs on the engine's thread), the intake worker
writes, and a clean stop keeps every event accepted. Real SQLite files; a second real connection plays the
busy disk."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.events.hub import ClientEvent
from backend.webhooks import intake
from backend.webhooks.service import WebhookService
from backend.store.sqlite_engine import sqlite3  # the stores' SQLite: same locks, same exceptions
from tests.conftest import wait_until
from tests.webhook_support import webhook_services

FAST = {"http_timeout_s": 1, "base_delay_s": 0.02, "cap_delay_s": 0.2, "max_attempts": 3}
NOWHERE = "http://127.0.0.1:9/nada"  # discard port: deliveries are refused and retried, never delivered


def msg(n: int) -> ClientEvent:
    """An incoming-message event of number "a"."""
    return ClientEvent("a", "message", {"message": {"id": f"a-{n}", "body": f"olá {n}"}})


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., WebhookService]]:
    """Services over tmp_path/dados; all stopped at the end."""
    with webhook_services(tmp_path / "dados", FAST) as make:
        yield make


def rows_on_disk(path: Path) -> list[str]:
    """The message ids of the deliveries in the file, in queue order, read by a connection of our own."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT json_extract(payload, '$.data.message.id') FROM deliveries ORDER BY seq")
        return [row[0] for row in rows.fetchall()]
    finally:
        conn.close()


def test_publish_does_not_wait_for_a_busy_database(make_service):
    service = make_service()
    service.add(NOWHERE, ["message"])
    other = sqlite3.connect(service.path, isolation_level=None, timeout=5, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # holds webhooks.db's write lock, as a slow disk or fsync would
    unlocked = threading.Lock()

    def unlock() -> None:
        if unlocked.acquire(blocking=False):
            other.execute("ROLLBACK")

    safety = threading.Timer(5.0, unlock)  # a publish that does wait for the lock fails below, not hangs
    safety.start()
    try:
        began = time.monotonic()
        accepted = sum(service.publish(msg(n)) for n in range(50))
        took = time.monotonic() - began
        assert accepted == 50
        assert took < 2.0, f"50 publishes took {took:.2f} s: publish waited for the database"
        time.sleep(0.3)
        assert rows_on_disk(service.path) == [], "nothing can be written while the lock is held"
    finally:
        safety.cancel()
        unlock()
    got = wait_until(lambda: len(rows_on_disk(service.path)) == 50 and rows_on_disk(service.path),
                     what="the intake worker to write the 50 deliveries")
    assert got == [f"a-{n}" for n in range(50)], "written in the order accepted"
    other.close()


@pytest.mark.parametrize("start", [True, False], ids=["started", "never-started"])
def test_a_clean_stop_keeps_every_event_accepted(make_service, start):
    service = make_service(start=start)
    service.add(NOWHERE, ["message"])
    assert sum(service.publish(msg(n)) for n in range(300)) == 300
    service.stop(timeout=1)  # right away: most of them are still in memory
    assert rows_on_disk(service.path) == [f"a-{n}" for n in range(300)]
    assert service.publish(msg(300)) == 0, "nothing is accepted once stopped: it could not be written"


def test_a_listing_shows_what_was_just_published(make_service):
    service = make_service(start=False)  # no intake worker: only the listing can write
    hook = service.add(NOWHERE, ["message"])
    service.publish(msg(1))
    assert [d["payload"]["data"]["message"]["id"] for d in service.deliveries(hook["id"])["items"]] == ["a-1"]
    assert service.delivery_counts() == {hook["id"]: {"pending": 1}}


def test_too_many_unwritten_events_are_refused_and_logged_once(make_service, monkeypatch, caplog):
    monkeypatch.setattr(intake, "MAX_HELD", 5)
    service = make_service(start=False)  # nothing writes until the listing below
    hook = service.add(NOWHERE, ["message"])
    with caplog.at_level(logging.WARNING, logger="backend.webhooks.intake"):
        accepted = [service.publish(msg(n)) for n in range(8)]
    assert accepted == [1] * 5 + [0] * 3
    assert len([r for r in caplog.records if "aguardando gravação" in r.getMessage()]) == 1
    assert len(service.deliveries(hook["id"])["items"]) == 5  # written: there is room again
    assert service.publish(msg(8)) == 1
