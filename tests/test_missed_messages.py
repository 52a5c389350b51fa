"""Messages that come while a number has no page (asleep on demand, disconnected, ZapPool stopped) are held by
WhatsApp (the simulator too) and reach the page when it connects again. They must be in the message log, and
emitted as `message` events, exactly once, however the page's events and ZapPool's listener race at connect:
real Chromium on the simulator, each path repeated so that a race that loses one message in a few runs shows."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.clock import utc_now
from backend.config import Settings
from backend.events.hub import ClientEvent
from backend.whatsapp.pool import WhatsAppPool
from tests.conftest import connect, wait_until

PHONE = "5511999990001"
CONTACT = "5511988887777"
ROUNDS = 5
QUIET_S = 1.0


@pytest.fixture
def settings(tmp_path: Path, sim) -> Settings:
    """The suite's settings with a short quiet period for on-demand numbers."""
    return Settings(data_dir=tmp_path / "dados", whatsapp_url=sim.url, load_timeout_s=20, call_timeout_s=20,
                    on_demand_idle_s=QUIET_S)


class Heard:
    """The `message` events a pool emitted (what webhooks, SSE and the windows get), by WhatsApp id."""

    def __init__(self, pool: WhatsAppPool):
        self.ids: Counter[str] = Counter()
        pool.subscribe(self._add, {"message"})

    def _add(self, event: ClientEvent) -> None:
        self.ids[event.data["message"]["id"]] += 1


def logged(pool: WhatsAppPool) -> Counter[str]:
    """The incoming messages in the log, counted by body."""
    pool.outbox.flush()
    page = pool.outbox.list_messages(client_id="envios", direction="in", limit=200)
    return Counter(m.body for m in page.items)


def expect_once(pool: WhatsAppPool, heard: Heard, sent: list[dict[str, Any]]) -> None:
    """Every message sent so far is in the log once and was emitted once (waits for the first, then checks)."""
    bodies = [s["body"] for s in sent]
    wait_until(lambda: all(logged(pool)[b] for b in bodies), 15, what=f"{bodies[-1]!r} in the log")
    wait_until(lambda: all(heard.ids[s["id"]] for s in sent), 5, what="its message event")
    assert logged(pool) == Counter(bodies), "in the log, once each"
    assert {i: n for i, n in heard.ids.items()} == {s["id"]: 1 for s in sent}, "emitted once each"


def write(sim, body: str, n: int) -> dict[str, Any]:
    """A contact writes to the number, in odd rounds just after its page closed (WhatsApp may not have noticed
    yet: the message goes to the closing page), in even ones once WhatsApp dropped the page (held, then both the
    page's event at connect and the unread chat bring it)."""
    if n % 2 == 0:
        sim.control.wait_for(lambda s: not [x for x in s["sessions"] if x["phone"] == PHONE], timeout=10)
    answer = sim.control.incoming(PHONE, CONTACT, body)
    assert n % 2 or answer["delivered"] is False, "held while the number has no page"
    return {"id": answer["id"], "body": body}


def test_what_came_while_asleep_is_logged_once_after_waking(make_pool, sim):
    pool = make_pool()
    heard = Heard(pool)
    connect(pool, sim, "envios", PHONE)
    pool.set_on_demand("envios", True)
    sent: list[dict[str, Any]] = []
    for n in range(ROUNDS):
        wait_until(lambda: pool.get("envios").sleeping, QUIET_S + 15, what="asleep")
        sent.append(write(sim, f"enquanto dormia {n}", n))
        pool.outbox.enqueue_text("envios", CONTACT, f"acorda {n}")  # wakes it
        expect_once(pool, heard, sent)


def test_what_came_while_disconnected_is_logged_once_after_reconnecting(make_pool, sim):
    pool = make_pool()
    heard = Heard(pool)
    connect(pool, sim, "envios", PHONE)
    sent: list[dict[str, Any]] = []
    for n in range(ROUNDS):
        pool.disconnect("envios")
        sent.append(write(sim, f"enquanto desconectado {n}", n))
        assert pool.reconnect("envios")["status"] == "ready"
        expect_once(pool, heard, sent)


def test_what_came_while_zappool_was_stopped_is_logged_once_after_restore(make_pool, sim):
    first = make_pool()
    connect(first, sim, "envios", PHONE)
    first.shutdown()
    sent: list[dict[str, Any]] = []
    for n in range(ROUNDS):
        sent.append(write(sim, f"enquanto parado {n}", n))
        restored_once(make_pool(), sent)


def restored_once(pool: WhatsAppPool, sent: list[dict[str, Any]]) -> None:
    """A new run restores the number: the newest message is logged and emitted, nothing logged before is
    emitted again, and the log holds every round's once."""
    heard = Heard(pool)
    assert pool.restore_persisted_sessions() == {"restored": 1, "total": 1}
    wait_until(lambda: pool.get("envios").status.value == "ready", 20, what="restored")
    wait_until(lambda: logged(pool)[sent[-1]["body"]], 15, what="the newest in the log")
    wait_until(lambda: heard.ids[sent[-1]["id"]], 5, what="its message event")
    assert logged(pool) == Counter(s["body"] for s in sent), "in the log, once each"
    assert dict(heard.ids) == {sent[-1]["id"]: 1}, "emitted once, and nothing logged before emitted again"
    pool.shutdown()


def test_what_came_while_the_network_was_down_is_logged_once_when_it_returns(make_pool, sim):
    pool = make_pool()
    heard = Heard(pool)
    connect(pool, sim, "envios", PHONE)
    sent: list[dict[str, Any]] = []
    for n in range(ROUNDS):
        sim.control.network(False)
        wait_until(lambda: pool.get("envios").reason == "network", 10, what="offline")
        answer = sim.control.incoming(PHONE, CONTACT, f"sem rede {n}")
        assert answer["delivered"] is False, "held until the network returns"
        sent.append({"id": answer["id"], "body": f"sem rede {n}"})
        sim.control.network(True)  # the page's event and the catch-up on the way back both see it
        expect_once(pool, heard, sent)


def test_what_came_while_the_page_reloaded_is_logged_once(make_pool, sim, runtime):
    pool = make_pool()
    heard = Heard(pool)
    connect(pool, sim, "envios", PHONE)
    sent: list[dict[str, Any]] = []
    for n in range(ROUNDS):
        client = pool.get("envios")
        runtime.call(client._wpp.page.evaluate("setTimeout(() => location.reload(), 0)"), 10)
        answer = sim.control.incoming(PHONE, CONTACT, f"durante o reload {n}")  # to the page going away
        sent.append({"id": answer["id"], "body": f"durante o reload {n}"})
        expect_once(pool, heard, sent)
        sim.control.wait_for(lambda s: any(x["status"] == "ready" for x in s["sessions"]), timeout=10)


# --- history: what the phone held before the link is not new ------------------------------------------------
# At a link the real site syncs the phone's chats, unread ones included, with no new-message event; the
# catch-up must not take them for missed messages (webhooks, log rows "just received").

OTHER = "5521977776666"


def seed_history(sim) -> list[str]:
    """Before the link, the phone holds two chats with days- and hours-old messages, some unread (the real
    site syncs them at link and fires no new-message event for them). Returns their WhatsApp ids."""
    now = int(time.time())
    first = sim.control.history(PHONE, CONTACT, [{"text": "há três dias", "t": now - 3 * 86400},
                                                 {"text": "respondida", "t": now - 3 * 86400 + 60, "fromMe": True},
                                                 {"text": "há duas horas", "t": now - 2 * 3600},
                                                 {"text": "há um minuto", "t": now - 60}], unread=2)
    second = sim.control.history(PHONE, OTHER, [{"text": "ontem", "t": now - 86400}], unread=1)
    return [first["ids"][2], first["ids"][3], second["ids"][0]]


def still_unread(pool: WhatsAppPool, runtime) -> set[str]:
    """The WhatsApp ids WA-JS lists as unread on the number's page now."""
    page = pool.get("envios")._wpp
    return {m["id"] for m in runtime.call(page.unread_messages(), 10)}


def test_history_synced_at_the_first_link_is_not_emitted_as_new(make_pool, sim, runtime):
    history = seed_history(sim)
    pool = make_pool()
    heard = Heard(pool)
    connect(pool, sim, "envios", PHONE)
    assert still_unread(pool, runtime) == set(history), "WA-JS still lists the history as unread"
    sent = [{"id": sim.control.incoming(PHONE, CONTACT, "depois do link")["id"], "body": "depois do link"}]
    expect_once(pool, heard, sent)
    pool.disconnect("envios")  # another connect: its catch-up must not take the history for missed messages
    sent.append(write(sim, "enquanto desconectado", 0))
    assert pool.reconnect("envios")["status"] == "ready"
    expect_once(pool, heard, sent)
    assert still_unread(pool, runtime) >= set(history)


def test_history_is_not_emitted_after_a_restart_and_what_came_meanwhile_is(make_pool, sim):
    seed_history(sim)
    first = make_pool()
    connect(first, sim, "envios", PHONE)
    sent = [{"id": sim.control.incoming(PHONE, CONTACT, "depois do link")["id"], "body": "depois do link"}]
    wait_until(lambda: logged(first)["depois do link"], 15, what="logged")
    first.shutdown()
    sent.append(write(sim, "enquanto parado", 1))  # to the page just closed: only the catch-up brings it
    later = make_pool()  # restarted an hour later: what came meanwhile is older than the restart by far
    later.get("envios")._now = lambda: utc_now() + timedelta(hours=1)
    restored_once(later, sent)  # only it is emitted (the saved cutoff); the history neither emitted nor logged


def test_a_message_that_comes_during_the_link_is_not_lost(make_pool, sim):
    seed_history(sim)
    pool = make_pool()
    heard = Heard(pool)
    assert pool.create_and_initialize("envios")["status"] == "qr_ready"
    sim.control.scan(pool.get("envios").qr.code, PHONE)
    answer = sim.control.incoming(PHONE, CONTACT, "durante o link")  # scanned, WhatsApp Web still syncing
    wait_until(lambda: pool.get("envios").status.value == "ready", 10, what="ready")
    expect_once(pool, heard, [{"id": answer["id"], "body": "durante o link"}])


def browser_pids(pool: WhatsAppPool, client_id: str) -> list[int]:
    """The number's Chromium processes."""
    profile = str(pool.settings.sessions_dir / client_id)
    found = subprocess.run(["pgrep", "-f", f"user-data-dir={profile}"], capture_output=True, text=True).stdout
    assert found.split()
    return [int(pid) for pid in found.split()]


def test_what_came_as_the_browser_crashed_is_caught_though_the_crash_is_noticed_late(make_pool, sim):
    """A crash is noticed late (here the number's clock jumps an hour at the crash): the catch-up's cutoff stays
    at the last moment the number was known listening, not the moment the crash was noticed. The message goes to
    the page just before it dies (our listener may not hear it: then only the catch-up brings it)."""
    pool = make_pool(reconnect_delay_s=3600)  # reconnected by hand, on the right clock again
    heard = Heard(pool)
    connect(pool, sim, "envios", PHONE)
    client = pool.get("envios")
    sent: list[dict[str, Any]] = []
    for n in range(ROUNDS):
        pids = browser_pids(pool, "envios")
        client._now = lambda: utc_now() + timedelta(hours=1)
        answer = sim.control.incoming(PHONE, CONTACT, f"na queda {n}")
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        sent.append({"id": answer["id"], "body": f"na queda {n}"})
        wait_until(lambda: client.status.value == "disconnected", 10, what="the crash noticed")
        client._now = utc_now
        assert pool.reconnect("envios")["status"] == "ready"
        expect_once(pool, heard, sent)
