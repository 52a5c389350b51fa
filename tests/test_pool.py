"""WhatsAppPool with real Chromium, the simulator and real files: the seed's four tests and more."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from backend.config import Settings
from backend.engine import EngineRuntime
from backend.errors import ClientNotReady, Conflict, InvalidClientId, NotFound
from backend.outbox.outbox import Outbox
from backend.store.media import MediaFiles
from backend.store.messages import MessageStore
from backend.store.sessions import SessionStore
from backend.whatsapp.pool import WhatsAppPool
from backend.whatsapp.saved import SavedNumbers
from backend.whatsapp.supervisor import backoff_delay
from tests.conftest import connect, running_pool, wait_until

PHONES = ["5511999990001", "5511999990002", "5511999990003"]


def chromium_pids(profile_root: Path) -> list[int]:
    """Chromium processes running on profiles under `profile_root`."""
    out = subprocess.run(["pgrep", "-f", f"user-data-dir={profile_root}"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


# -- the seed's "Testes Recomendados" --------------------------------------------------------------------

def test_seed_1_three_numbers_listed_one_message_each_counters_right(make_pool, sim):
    pool = make_pool()
    for n, phone in enumerate(PHONES):
        connect(pool, sim, f"loja{n}", phone)

    for n in range(3):
        pool.send_message(f"loja{n}", "5511988887777", f"Olá da loja {n}")

    infos = pool.get_all_clients_info()
    assert [(i["clientId"], i["status"], i["phoneNumber"]) for i in infos] == [
        ("loja0", "ready", PHONES[0]), ("loja1", "ready", PHONES[1]), ("loja2", "ready", PHONES[2])]
    assert [i["metadata"]["messageCount"] for i in infos] == [1, 1, 1]
    assert pool.get_ready_clients() == ["loja0", "loja1", "loja2"]
    assert pool.get_stats() == {
        "totalCreated": 3, "totalConnected": 3, "totalDisconnected": 0, "totalMessages": 3,
        "currentClients": 3, "maxClients": 10, "readyClients": 3, "clientsByStatus": {"ready": 3},
    }
    for n, phone in enumerate(PHONES):
        assert [m["text"] for m in sim.control.sent(phone)] == [f"Olá da loja {n}"]


def test_seed_2_disconnect_then_reconnect_is_ready_again(make_pool, sim):
    pool = make_pool()
    connect(pool, sim, "vendas", PHONES[0])

    pool.disconnect("vendas")
    assert pool.get("vendas").get_info()["status"] == "disconnected"
    assert pool.get_stats()["totalDisconnected"] == 1
    info = pool.reconnect("vendas")

    assert info["status"] == "ready" and info["phoneNumber"] == PHONES[0]
    assert pool.get_stats()["totalConnected"] == 2


def test_seed_3_restart_and_restore_without_a_scan(make_pool, sim, settings, caplog):
    first = make_pool()
    connect(first, sim, "vendas", PHONES[0])
    connect(first, sim, "suporte", PHONES[1])
    first.shutdown()
    saved = json.loads(settings.persistence_path.read_text())
    assert [(s["clientId"], s["status"]) for s in saved["sessions"]] == [("vendas", "ready"), ("suporte", "ready")]

    second = make_pool()
    assert [(i["clientId"], i["status"], i["phoneNumber"]) for i in second.get_all_clients_info()] == [
        ("vendas", "idle", PHONES[0]), ("suporte", "idle", PHONES[1])]
    with caplog.at_level(logging.INFO):
        result = second.restore_persisted_sessions()

    assert result == {"restored": 2, "total": 2}
    assert "[Pool] 2/2 sessões restauradas" in caplog.text
    assert second.get_ready_clients() == ["vendas", "suporte"]
    assert all(c.qr is None for c in second.clients()), "no QR code was needed"


def test_seed_4_health_check_reconnects_a_half_dead_number(make_pool, sim, runtime, caplog):
    pool = make_pool(health_check_timeout_s=2)
    connect(pool, sim, "ok", PHONES[0])
    connect(pool, sim, "travado", PHONES[1])
    stuck = pool.get("travado")

    async def hang_page() -> None:
        asyncio.ensure_future(stuck._wpp.page.evaluate("for (;;) {}"))  # the page's JS never answers again

    runtime.call(hang_page(), 5)
    with caplog.at_level(logging.INFO):
        result = pool.health_check()
        wait_until(lambda: stuck.status.value == "ready" and pool.supervisor.attempts("travado") == 0,
                   timeout=30, what="the half-dead number reconnected")

    assert result == {"healthy": 1, "total": 2}
    assert "[Pool] Executando health check..." in caplog.text
    assert "[Pool] Health check concluído: 1/2 clientes saudáveis" in caplog.text
    assert "[Pool] Cliente travado não saudável, tentando reconectar..." in caplog.text
    assert "[Pool] Cliente travado pronto - Telefone: 5511999990002" in caplog.text
    pool.send_message("travado", "5511988887777", "voltei")


def test_health_check_runs_by_itself_every_interval(make_pool, sim, caplog):
    pool = make_pool(health_check_interval_s=0.3)
    connect(pool, sim, "ok", PHONES[0])
    with caplog.at_level(logging.INFO):
        pool.start_health_checks()
        wait_until(lambda: caplog.text.count("Health check concluído: 1/1") >= 2, what="two periodic checks")


# -- crashes, backoff, deliberate disconnections ---------------------------------------------------------

def test_killed_browser_is_reconnected_at_once(make_pool, sim, settings):
    pool = make_pool(reconnect_delay_s=0.1)
    connect(pool, sim, "morto", PHONES[0])

    for pid in chromium_pids(settings.sessions_dir / "morto"):
        os.kill(pid, signal.SIGKILL)

    wait_until(lambda: pool.get("morto").get_info()["reason"] in ("browser_closed", "browser_crashed")
               or pool.get("morto").status.value != "ready", timeout=10, what="crash noticed")
    wait_until(lambda: pool.get("morto").status.value == "ready", timeout=30, what="ready again")
    pool.send_message("morto", "5511988887777", "de volta")


def _closed_port_url() -> str:
    """An address where nothing listens, so WhatsApp Web fails to load."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def test_failing_reconnects_back_off_and_log_once(make_pool, sim, settings, caplog):
    pool = make_pool(reconnect_delay_s=0.3, reconnect_cap_s=1.0)
    connect(pool, sim, "instavel", PHONES[0])
    pool.settings.whatsapp_url = _closed_port_url()  # WhatsApp Web unreachable for a while

    with caplog.at_level(logging.DEBUG):
        for pid in chromium_pids(settings.sessions_dir / "instavel"):
            os.kill(pid, signal.SIGKILL)
        wait_until(lambda: pool.supervisor.attempts("instavel") >= 3, timeout=30, what="three failed attempts")
        pool.settings.whatsapp_url = sim.url
        wait_until(lambda: pool.get("instavel").status.value == "ready", timeout=30, what="recovered")
        # The supervisor logs the recovery once reconnect() returns, a moment after the status turns ready.
        wait_until(lambda: "Cliente instavel recuperado após" in caplog.text, what="the recovery logged")

    assert caplog.text.count("Cliente instavel não saudável, tentando reconectar") == 1
    assert caplog.text.count("Cliente instavel recuperado após") == 1


def test_backoff_doubles_to_the_cap_with_jitter():
    delays = [backoff_delay(n, 5.0, 300.0, rng=lambda: 0.5) for n in range(10)]
    assert delays[:4] == [5.0, 10.0, 20.0, 40.0]
    assert max(delays) == 300.0
    assert backoff_delay(0, 5.0, 300.0, rng=lambda: 0.0) == pytest.approx(4.0)
    assert backoff_delay(0, 5.0, 300.0, rng=lambda: 0.999999) == pytest.approx(6.0, rel=1e-3)


def test_phone_logout_is_not_retried(make_pool, sim):
    pool = make_pool(reconnect_delay_s=0.05)
    connect(pool, sim, "vendas", PHONES[0])

    sim.control.unlink(PHONES[0])
    wait_until(lambda: pool.get("vendas").status.value == "disconnected", what="disconnected")
    time.sleep(1.0)  # twenty reconnect delays: a retry loop would have started by now

    info = pool.get("vendas").get_info()
    assert (info["status"], info["reason"]) == ("disconnected", "logged_out")
    assert pool.supervisor.attempts("vendas") == 0, "no reconnect loop"
    sim.control.wait_for(lambda s: s["sessions"] == [], timeout=10)  # the browser closed and stayed closed
    assert pool.get("vendas").get_info()["status"] == "disconnected"


def test_unscanned_qr_ends_disconnected_not_in_a_loop(make_pool, sim):
    sim.control.configure(first_qr_ms=300, qr_ms=200, max_qrs=2)
    pool = make_pool(reconnect_delay_s=0.05)
    pool.create_and_initialize("ninguem")

    wait_until(lambda: pool.get("ninguem").status.value == "disconnected", timeout=20, what="codes ran out")
    time.sleep(1.0)

    assert pool.get("ninguem").get_info()["reason"] == "qr_timeout"
    assert pool.supervisor.attempts("ninguem") == 0, "no reconnect loop"
    sim.control.wait_for(lambda s: s["sessions"] == [], timeout=10)
    assert pool.get("ninguem").get_info()["status"] == "disconnected"


# -- round-robin -------------------------------------------------------------------------------------------

def test_round_robin_is_fair_as_numbers_come_and_go(make_pool, sim):
    pool = make_pool()
    for n, phone in enumerate(PHONES):
        connect(pool, sim, f"n{n}", phone)

    order = [pool.send_message_auto("5511988887777", f"m{i}")["clientId"] for i in range(6)]
    assert order == ["n0", "n1", "n2", "n0", "n1", "n2"]

    pool.disconnect("n1")
    order = [pool.send_message_auto("5511988887777", f"x{i}")["clientId"] for i in range(4)]
    assert order == ["n0", "n2", "n0", "n2"]

    pool.reconnect("n1")
    order = [pool.send_message_auto("5511988887777", f"y{i}")["clientId"] for i in range(3)]
    assert order == ["n0", "n1", "n2"]


def test_no_ready_number_is_a_clear_error(make_pool, sim):
    pool = make_pool()
    pool.create_and_initialize("esperando")

    with pytest.raises(ClientNotReady) as err:
        pool.send_message_auto("5511988887777", "oi")

    assert err.value.code == "no_ready_client"


# -- ids, limits, files ----------------------------------------------------------------------------------

def test_full_pool_duplicate_and_bad_ids_are_refused(make_pool, sim, settings):
    pool = make_pool(max_clients=2)
    pool.add("a")
    pool.add()

    with pytest.raises(Conflict) as full:
        pool.add("c")
    with pytest.raises(Conflict) as dup:
        make_pool(max_clients=5).add("a")  # a second pool on the same file loads "a"
    for bad in ("../fora", "a/b", "", "x" * 65):
        with pytest.raises(InvalidClientId):
            pool.add(bad)
    with pytest.raises(NotFound):
        pool.get("nao-existe")

    assert full.value.code == "pool_full" and dup.value.code == "client_exists"
    assert [c.client_id for c in pool.clients()][0] == "a"
    assert pool.clients()[1].client_id.startswith("client_")
    assert not (settings.data_dir.parent / "fora").exists()


def test_sessions_file_has_the_seeds_shape_and_follows_every_state_change_not_each_message(make_pool, sim,
                                                                                          settings):
    pool = make_pool()
    connect(pool, sim, "vendas", PHONES[0])

    def saved() -> dict:
        return json.loads(settings.persistence_path.read_text())

    # Written in the background (never on the engine thread), within moments of each state change.
    wait_until(lambda: saved()["sessions"][0]["status"] == "ready", what="the connection saved")
    written = settings.persistence_path.read_bytes()
    pool.send_message("vendas", "5511988887777", "oi")
    time.sleep(1.0)  # a queued save is written within milliseconds: none comes for a message
    assert settings.persistence_path.read_bytes() == written, "a sent message rewrote the sessions file"
    doc = saved()
    (record,) = doc["sessions"]
    assert set(doc) == {"updatedAt", "sessions"}
    assert record["clientId"] == "vendas" and record["status"] == "ready" and record["phoneNumber"] == PHONES[0]
    assert set(record["metadata"]) == {"createdAt", "connectedAt", "messageCount"}
    assert record["metadata"]["messageCount"] == 0  # lags until the next state change (messages.db counts)
    assert record["listenedAt"] >= record["metadata"]["connectedAt"]  # the catch-up's cutoff after a restart

    pool.disconnect("vendas")
    wait_until(lambda: saved()["sessions"][0]["status"] == "disconnected", what="the disconnection saved")
    assert saved()["sessions"][0]["metadata"]["messageCount"] == 1
    assert saved()["sessions"][0]["listenedAt"] > record["listenedAt"], "listening until the disconnection"
    pool.remove("vendas")
    assert json.loads(settings.persistence_path.read_text())["sessions"] == []
    assert not (settings.sessions_dir / "vendas").exists()


@pytest.mark.parametrize("content", [b"", b"{\"sessions\": [", b"\x00\xff\xfe garbage", b"[1, 2, 3]",
                                     b"{\"sessions\": [{\"no\": \"id\"}]}"])
def test_bad_sessions_file_is_set_aside_and_the_pool_starts(make_pool, sim, settings, caplog, content):
    settings.data_dir.mkdir(parents=True)
    settings.persistence_path.write_bytes(content)
    (settings.data_dir / "outro.txt").write_text("intacto")

    with caplog.at_level(logging.ERROR):
        pool = make_pool()

    assert pool.get_all_clients_info() == []
    aside = list(settings.data_dir.glob("whatsapp-sessions.json.bad-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content
    assert "whatsapp-sessions.json" in caplog.text and aside[0].name in caplog.text
    assert (settings.data_dir / "outro.txt").read_text() == "intacto"
    pool.add("novo")
    assert json.loads(settings.persistence_path.read_text())["sessions"][0]["clientId"] == "novo"


def test_logout_keeps_the_number_listed_without_its_profile(make_pool, sim, settings):
    pool = make_pool()
    connect(pool, sim, "vendas", PHONES[0])

    pool.logout("vendas")

    info = pool.get("vendas").get_info()
    assert (info["status"], info["reason"], info["phoneNumber"]) == ("disconnected", "logged_out", None)
    assert not (settings.sessions_dir / "vendas").exists()
    assert sim.control.state()["devices"] == []
    assert pool.reconnect("vendas")["status"] == "qr_ready"


# -- shutdown -----------------------------------------------------------------------------------------------

@pytest.mark.browser
def test_shutdown_closes_every_browser_and_keeps_the_saved_state(sim, settings):
    engine = EngineRuntime(settings)  # its own engine, as in app.py
    pool = running_pool(Settings(**{**settings.__dict__, "restore_on_start": False}), engine)
    connect(pool, sim, "a", PHONES[0])
    connect(pool, sim, "b", PHONES[1])
    assert len(chromium_pids(settings.sessions_dir)) > 0

    started = time.monotonic()
    pool.shutdown()
    took = time.monotonic() - started
    engine.stop()

    assert chromium_pids(settings.sessions_dir) == [], "no Chromium process left behind"
    assert took < 10
    saved = json.loads(settings.persistence_path.read_text())["sessions"]
    assert [s["status"] for s in saved] == ["ready", "ready"], "the restart will restore both"


# -- the outbox inside the pool ------------------------------------------------------------------------------

def test_messages_go_through_the_log_with_acks_and_replies(make_pool, sim):
    pool = make_pool()
    connect(pool, sim, "vendas", PHONES[0])

    sent = pool.send_message("vendas", "5511988887777", "Pedido confirmado")
    sim.control.incoming(PHONES[0], "5511988887777", "Obrigado!")

    assert sent["status"] in ("sent", "delivered", "read") and sent["clientId"] == "vendas"
    wait_until(lambda: pool.outbox.get(sent["id"]).status == "read", what="read ack recorded")
    wait_until(lambda: pool.outbox.list_messages(client_id="vendas", direction="in").items, what="reply logged")
    (reply,) = pool.outbox.list_messages(client_id="vendas", direction="in").items
    assert reply.body == "Obrigado!"
    assert pool.get_stats()["totalMessages"] == 1


def test_message_count_comes_from_the_log(make_pool, sim, settings):
    first = make_pool()
    connect(first, sim, "vendas", PHONES[0])
    first.send_message("vendas", "5511988887777", "um")
    first.send_message("vendas", "5511988887777", "dois")
    first.shutdown()
    doc = json.loads(settings.persistence_path.read_text())
    doc["sessions"][0]["metadata"]["messageCount"] = 99  # a stale or edited file does not count
    settings.persistence_path.write_text(json.dumps(doc))

    second = make_pool()

    assert second.get("vendas").get_info()["metadata"]["messageCount"] == 2
    assert second.get_stats()["totalMessages"] == 2


def test_message_for_a_disconnected_number_waits_then_goes(make_pool, sim):
    pool = make_pool()
    connect(pool, sim, "vendas", PHONES[0])
    pool.disconnect("vendas")

    message_id = pool.outbox.enqueue_text("vendas", "5511988887777", "quando voltar")
    time.sleep(0.5)
    assert pool.outbox.get(message_id).status == "queued"
    pool.reconnect("vendas")

    wait_until(lambda: pool.outbox.get(message_id).status in ("sent", "delivered", "read"), what="sent")
    assert [m["text"] for m in sim.control.sent(PHONES[0])] == ["quando voltar"]


def test_removing_a_number_fails_what_was_queued_for_it(make_pool, sim):
    pool = make_pool()
    connect(pool, sim, "vendas", PHONES[0])
    pool.disconnect("vendas")
    message_id = pool.outbox.enqueue_text("vendas", "5511988887777", "nunca")

    pool.remove("vendas")

    record = pool.outbox.get(message_id)
    assert record.status == "failed" and "removed" in record.reason


class WatchedSessionsFile(SessionStore):
    """The real sessions file, on a slow disk (each write takes 0.2 s), noting which thread writes."""

    def __init__(self, path: Path):
        super().__init__(path)
        self.writers: list[str] = []

    def save(self, record: dict) -> None:
        self.writers.append(threading.current_thread().name)
        time.sleep(0.2)
        super().save(record)


def test_a_slow_sessions_file_never_holds_up_the_engine_thread(runtime, sim, settings):
    """Every number's page runs on the engine thread: its status changes are saved by a worker, off it."""
    watched = WatchedSessionsFile(settings.persistence_path)
    quick = Settings(**{**settings.__dict__, "send_interval_s": 0, "send_jitter_s": 0})
    outbox = Outbox(MessageStore(quick.data_dir / "messages.db"), MediaFiles(quick.data_dir / "media"))
    pool = WhatsAppPool(quick, runtime, SavedNumbers(watched, quick.sessions_dir), outbox)
    pool.start()
    try:
        connect(pool, sim, "vendas", PHONES[0])
        wait_until(lambda: json.loads(settings.persistence_path.read_text())["sessions"][0]["status"] == "ready",
                   what="ready saved")
    finally:
        pool.shutdown()
        outbox.store.close()

    assert watched.writers, "the file was written"
    assert "zapool-engine" not in watched.writers, watched.writers
