"""Chaos, the fast part: browsers killed under traffic, the network cut, the phone unlinking, a QR code nobody
scans, app.py stopped by a signal with sends in flight. Real Chromium, the simulator, real files.

The long part, with the full numbers (20 kills, 1,000 messages over 5 numbers, a 60 s outage, a 30 min soak),
is `bash scripts/chaos.sh` (bench/chaos/); its figures are in docs/RELIABILITY.md. A kill -9 of the whole
process mid-burst is tests/test_outbox.py's test_crash_mid_burst_then_restart_sends_every_accepted_message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import signal
import threading
from collections import Counter

import pytest

from backend.webhooks.service import WebhookService
from backend.whatsapp import sending
from backend.whatsapp.pool import WhatsAppPool
from bench.chaos.harness import App, alive, chromium_of, kill_browser, prepare
from bench.chaos.traffic import Outgoing, wait_all_sent
from tests.conftest import PHONE, connect, wait_until
from bench.webhook_receiver import Receiver

PHONE_B = "5511999990002"
TO = "5511988887777"
SENT = ("sent", "delivered", "read")


def texts(sim, *phones: str) -> list[str]:
    """Every text these phones sent."""
    return [m["text"] for phone in phones for m in sim.control.sent(phone)]


class Traffic:
    """Enqueues a text every 20 ms through the outbox (auto-routed and pinned in turn) until stopped."""

    def __init__(self, pool: WhatsAppPool, routes: list[str | None]):
        self.pool, self.routes = pool, routes
        self.accepted: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(0.02):
            text = f"trafego {n:04d}"
            self.accepted[self.pool.outbox.enqueue_text(self.routes[n % len(self.routes)], TO, text)] = text
            n += 1

    def stop(self) -> dict[str, str]:
        """Stop and return what was accepted."""
        self._stop.set()
        self._thread.join(10)
        return self.accepted


def watch_statuses(pool: WhatsAppPool) -> list[tuple[str, str, str | None]]:
    """(client, status, reason) for every status event of the pool from now on."""
    seen: list[tuple[str, str, str | None]] = []
    pool.subscribe(lambda e: seen.append((e.client_id, e.data["status"], e.data["reason"])), {"status"})
    return seen


def test_browser_killed_three_times_under_traffic_comes_back_and_loses_nothing(make_pool, sim, settings):
    pool = make_pool(reconnect_delay_s=0.1)
    connect(pool, sim, "a", PHONE)
    connect(pool, sim, "b", PHONE_B)
    traffic = Traffic(pool, [None, "a", "b"])

    for victim in ("a", "b", "a"):
        wait_until(lambda: len(pool.get_ready_clients()) == 2, 30, what="both ready")
        flowing = len(texts(sim, PHONE, PHONE_B)) + 5
        wait_until(lambda: len(texts(sim, PHONE, PHONE_B)) >= flowing, 30, what="traffic flowing")
        killed = kill_browser(settings.sessions_dir / victim)  # the browser process only, as a crash would
        wait_until(lambda: pool.get(victim).status.value != "ready", 10, what=f"{victim}'s crash noticed")
        wait_until(lambda: pool.get(victim).status.value == "ready", 30, what=f"{victim} ready again")
        wait_until(lambda: not alive(killed), 10, what="the killed browser's processes gone")

    accepted = traffic.stop()
    for message_id in accepted:
        wait_until(lambda: pool.outbox.get(message_id).status in SENT, 60, what=f"{message_id} sent")
    out = Counter(texts(sim, PHONE, PHONE_B))
    assert set(accepted.values()) <= set(out), "every accepted message reached a phone"
    twice = {text for text, n in out.items() if n > 1}
    flagged = {pool.outbox.get(i).body for i in accepted if pool.outbox.get(i).possible_duplicate}
    assert len(twice) <= 3 and twice <= flagged, (twice, flagged)


def test_network_loss_sends_what_waited_and_relaunches_only_a_browser_that_died(make_pool, sim, settings):
    pool = make_pool(reconnect_delay_s=0.2)
    connect(pool, sim, "a", PHONE)
    connect(pool, sim, "b", PHONE_B)
    seen = watch_statuses(pool)

    sim.control.network(False)
    wait_until(lambda: [c.get_info()["reason"] for c in pool.clients()] == ["network", "network"], 10,
               what="both cut off")
    waiting = {pool.outbox.enqueue_text(route, TO, f"na volta {n}"): f"na volta {n}"
               for n, route in enumerate([None, "a", "b"] * 4)}
    # b's browser dies during the outage: b must be relaunched; a's page is alive and waits for the network.
    kill_browser(settings.sessions_dir / "b")
    wait_until(lambda: ("b", "authenticated", None) in seen, 20, what="b relaunched, logged in, waiting")
    for _ in range(3):  # health checks during the outage start nothing for a page that is only offline
        pool.health_check()
    assert pool.get("a").get_info()["reason"] == "network" and pool.supervisor.attempts("a") == 0
    sim.control.network(True)

    wait_until(lambda: len(pool.get_ready_clients()) == 2, 10, what="both ready within 10 s of the return")
    for message_id in waiting:
        wait_until(lambda: pool.outbox.get(message_id).status in SENT, 30, what=f"{message_id} sent")
    assert sorted(texts(sim, PHONE, PHONE_B)) == sorted(waiting.values()), "each sent once"
    launches = [cid for cid, status, _ in seen if status == "initializing"]
    assert launches == ["b"], seen
    assert ("b", "disconnected", "browser_closed") in seen or ("b", "disconnected", "browser_crashed") in seen


def test_a_send_caught_by_the_outage_waits_for_the_network_and_goes_out_once(make_pool, sim, runtime):
    pool = make_pool(call_timeout_s=1.0)  # the answer after the network returns must beat it, on a busy machine too
    connect(pool, sim, "a", PHONE)
    client = pool.get("a")
    sim.control.network(False)
    wait_until(lambda: client.get_info()["reason"] == "network", 10, what="cut off")

    # The moment a send is under way when the network drops: WhatsApp Web holds it in its own queue. Before,
    # the call timed out, the outbox tried again, and both copies went out once the network came back.
    page = client._wpp
    in_flight = asyncio.run_coroutine_threadsafe(
        sending.send_text(page, TO, "pego pela queda", client._offline_but_open), runtime.loop)
    with pytest.raises(concurrent.futures.TimeoutError):
        in_flight.result(timeout=2.0)  # two of its 1 s timeouts: still waiting, not failed
    sim.control.network(True)

    receipt = in_flight.result(timeout=15)
    (out,) = sim.control.sent(PHONE)
    assert out["id"] == receipt["id"] and out["text"] == "pego pela queda"


def test_unlinked_and_unscanned_settle_without_retries_and_one_webhook_per_change(make_pool, sim, tmp_path):
    pool = make_pool(reconnect_delay_s=0.05)
    connect(pool, sim, "vendas", PHONE)
    receiver = Receiver()
    webhooks = WebhookService.in_folder(tmp_path / "webhooks.db", base_delay_s=0.02, cap_delay_s=0.2)
    hook = webhooks.add(receiver.url("/h"), ["*", "qr"])
    receiver.secrets["/h"] = hook["secret"]
    webhooks.start()
    pool.subscribe(webhooks.publish)
    seen = watch_statuses(pool)
    try:
        sim.control.configure(first_qr_ms=400, qr_ms=200, max_qrs=3)  # codes run out in about a second
        pool.create_and_initialize("semscan")
        sim.control.unlink(PHONE)
        wait_until(lambda: [(c.get_info()["status"], c.get_info()["reason"]) for c in pool.clients()]
                   == [("disconnected", "logged_out"), ("disconnected", "qr_timeout")], 20, what="both settled")
        # The status is set just before its event goes out: wait for both events too, then count from there.
        wait_until(lambda: {("vendas", "disconnected", "logged_out"), ("semscan", "disconnected", "qr_timeout")}
                   <= set(seen), what="both status events")
        settled = len(seen)
        sim.control.wait_for(lambda s: s["sessions"] == [], timeout=10)  # both browsers closed
        for _ in range(3):  # what the periodic health check would do, three times over
            assert pool.health_check() == {"healthy": 0, "total": 2}
        assert [pool.supervisor.attempts(c) for c in ("vendas", "semscan")] == [0, 0], "no reconnect loop"
        assert seen[settled:] == [] and sim.control.state()["sessions"] == [], "no browser started again"

        changes = Counter(cid for cid, status, _ in seen)
        wait_until(lambda: sum(1 for h in receiver.on("/h") if h.json["event"] == "status") == sum(changes.values()),
                   10, what="a status webhook per change")
        delivered = Counter((h.json["clientId"], h.json["event"]) for h in receiver.on("/h"))
        assert all(h.valid for h in receiver.on("/h"))
        for cid in ("vendas", "semscan"):
            assert delivered[(cid, "status")] == changes[cid]
            assert delivered[(cid, "disconnected")] == 1
        assert delivered[("semscan", "qr")] == 1, "one QR webhook for one login screen, however many codes"
        assert len({h.headers["X-ZapPool-Delivery"] for h in receiver.on("/h")}) == len(receiver.on("/h"))
    finally:
        webhooks.stop(1)
        receiver.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
@pytest.mark.process
def test_signal_with_sends_in_flight_stops_in_time_and_the_restart_sends_the_rest(make_pool, sim, settings, sig):
    data = settings.data_dir
    linking = make_pool()
    connect(linking, sim, "a", PHONE)
    connect(linking, sim, "b", PHONE_B)
    linking.shutdown()
    app = App(data, sim.url, prepare(sim, data, 0), tree=False).start()
    load = None
    try:
        app.wait_ready(2, timeout=60)
        load = Outgoing(app, 100, [None, "a", "b"], "carga").start()
        wait_until(lambda: len(texts(sim, PHONE, PHONE_B)) >= 20, 30, what="sends under way")
        code, took = app.stop(sig, group=sig == signal.SIGINT)  # Ctrl+C reaches the whole process group
        accepted = load.stop().accepted
        assert code == 0, app.output()[-2000:]
        assert took < 10, f"stopped in {took:.1f} s"
        assert chromium_of(data, tree=False) == []
        saved = json.loads((data / "whatsapp-sessions.json").read_text())["sessions"]
        assert [s["status"] for s in saved] == ["ready", "ready"]

        app.start()
        app.wait_ready(2, timeout=60)
        wait_all_sent(app, accepted, 60)
        assert "Escaneie" not in app.output(), "restored from the profiles, no QR code"
        assert set(accepted.values()) <= set(texts(sim, PHONE, PHONE_B))
    finally:
        if load is not None:
            load.stop()
        app.ensure_stopped()
