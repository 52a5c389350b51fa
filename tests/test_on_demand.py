"""On-demand numbers, on real pieces (Chromium on the simulator, the REST API on a free port, real files): a
number set on demand closes its browser after the quiet period, a message for it starts it again from its
profile (no QR code) and is delivered, and a restart leaves it asleep until a message needs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.config import Settings
from tests.api_support import connect as connect_by_rest
from tests.conftest import connect, wait_until
from tests.test_pool import chromium_pids

PHONE = "5511999990001"
CONTACT = "5511988887777"
QUIET_S = 2.0  # the quiet period in these tests (5 min in the app)


@pytest.fixture
def settings(tmp_path: Path, sim) -> Settings:
    """The suite's settings with a short quiet period."""
    return Settings(data_dir=tmp_path / "dados", whatsapp_url=sim.url, load_timeout_s=20, call_timeout_s=20,
                    on_demand_idle_s=QUIET_S)


def texts(sim, phone: str = PHONE) -> list[str]:
    """What the simulator's WhatsApp received from this phone's number."""
    return [m["text"] for m in sim.control.sent(phone)]


def test_on_demand_sleeps_without_a_browser_and_a_message_wakes_it(stack, sim, settings):
    connect_by_rest(stack, sim, "envios")
    profile = settings.sessions_dir / "envios"
    assert chromium_pids(profile), "connected: its browser runs"

    bad = stack.api.call("PATCH", "/clients/envios", {"onDemand": "sim"})
    missing = stack.api.call("PATCH", "/clients/nenhum", {"onDemand": True})
    other = stack.api.call("PATCH", "/clients/envios", {"onDemand": True, "name": "outro"})
    changed = stack.api.call("PATCH", "/clients/envios", {"onDemand": True})
    assert bad.status == 422 and bad.json["error"]["details"]["field"] == "onDemand"
    assert missing.status == 404
    assert other.status == 422 and other.json["error"]["details"]["field"] == "name", "nothing changed silently"
    assert changed.status == 200 and changed.json["onDemand"] is True and changed.json["sleeping"] is False

    asleep = wait_until(lambda: (i := stack.api.call("GET", "/clients/envios").json)["sleeping"] and i,
                        QUIET_S + 10, what="asleep after the quiet period")
    assert (asleep["status"], asleep["reason"]) == ("disconnected", "sleeping")
    wait_until(lambda: not chromium_pids(profile), 10, what="its Chromium gone")
    assert stack.api.call("GET", "/clients").json == [], "not listed as ready"
    assert stack.pool.health_check() == {"healthy": 0, "total": 0}, "a sleeping number is not health-checked"
    assert stack.pool.supervisor.attempts("envios") == 0 and not chromium_pids(profile), "nor reconnected"

    queued = stack.api.call("POST", "/clients/envios/messages", {"to": CONTACT, "text": "acordou"})
    assert queued.status == 202, queued.body
    wait_until(lambda: "acordou" in texts(sim), 30, what="the message delivered after waking")
    awake = stack.api.call("GET", "/clients/envios").json
    assert (awake["status"], awake["qrCode"], awake["sleeping"]) == ("ready", None, False), "no QR code needed"
    wait_until(lambda: stack.api.call("GET", "/clients/envios").json["sleeping"], QUIET_S + 10,
               what="asleep again")
    def saved() -> list[tuple[str, bool, str]]:
        return [(s["clientId"], s["onDemand"], s["status"])
                for s in json.loads(settings.persistence_path.read_text())["sessions"]]

    wait_until(lambda: saved() == [("envios", True, "disconnected")], 5, what="the sleep saved (in the background)")


def test_a_restart_keeps_it_asleep_and_a_message_wakes_it_without_a_qr(make_pool, sim, settings):
    first = make_pool(on_demand_idle_s=300)  # still awake when the app stops
    connect(first, sim, "envios", PHONE)
    first.set_on_demand("envios", True)
    first.shutdown()

    second = make_pool()
    assert second.restore_persisted_sessions() == {"restored": 0, "total": 0}
    info = second.get("envios").get_info()
    assert (info["status"], info["onDemand"], info["sleeping"]) == ("idle", True, True)
    assert not chromium_pids(settings.sessions_dir / "envios"), "no browser for a sleeping number"

    receipt = second.send_message("envios", CONTACT, "síncrono")  # the seed's send: waits, so it wakes first
    assert receipt["status"] == "sent" and "síncrono" in texts(sim)
    assert second.get("envios").qr is None and second.get("envios").qr_shown == 0, "the kept profile: no QR"
    wait_until(lambda: second.get("envios").sleeping, QUIET_S + 10, what="asleep again")

    second.outbox.enqueue_text(None, CONTACT, "sem número definido")  # auto-routed: no always-on number ready
    wait_until(lambda: "sem número definido" in texts(sim), 30, what="an auto-routed message woke it")


def test_switching_back_to_always_connected_connects_it(make_pool, sim, settings):
    pool = make_pool()
    connect(pool, sim, "envios", PHONE)
    pool.set_on_demand("envios", True)
    wait_until(lambda: pool.get("envios").sleeping, QUIET_S + 10, what="asleep")

    info = pool.set_on_demand("envios", False)

    assert info["onDemand"] is False
    wait_until(lambda: pool.get("envios").status.value == "ready", 30, what="connected again")
    assert pool.get("envios").qr_shown == 0
