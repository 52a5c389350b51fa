"""The durable outbox and the message log: real SQLite files, a real WhatsAppPool on the WhatsApp Web simulator.

Every test that sends runs the pool the app runs (its outbox, its clients, its events, its reconnection) on
the test's dados/; failures are caused for real (a page that stops answering, a browser killed mid-send, a
process killed with SIGKILL). Timing checks are lower bounds only: another test run may share this machine's
two cores.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from backend.config import PROJECT_ROOT
from backend.engine import EngineRuntime
from backend.errors import (ClientNotReady, Conflict, EngineTimeout, InvalidInput, InvalidMedia, InvalidNumber,
                            InvalidText, NumberNotOnWhatsApp, ZapPoolError)
from backend.outbox.outbox import MessageRecord, Outbox
from backend.outbox.sender import Attempt
from backend.store.messages import MessageStore
from backend.whatsapp.client import WhatsAppClient
from tests.conftest import PHONE, connect, wait_until

PHONE_B = "5511999990002"
TO = "5511988887777"
SENT = ("sent", "delivered", "read")


def wait_status(outbox: Outbox, message_id: str, *statuses: str, timeout: float = 20) -> MessageRecord:
    """The message once its status is one of `statuses`."""
    def reached() -> MessageRecord | None:
        record = outbox.get(message_id)
        return record if record.status in statuses else None

    return wait_until(reached, timeout, what=f"message {message_id} to be {statuses}")


def b64(data: bytes) -> str:
    """Base64 text of bytes."""
    return base64.b64encode(data).decode()


def chromium_pids(profile: Path) -> list[int]:
    """Chromium processes running on a client's profile."""
    out = subprocess.run(["pgrep", "-f", f"user-data-dir={profile}"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def hang_page(runtime: EngineRuntime, client: WhatsAppClient) -> None:
    """The number's page stops answering (its JavaScript never returns): every call into it times out."""
    page = client._wpp.page

    async def spin() -> None:
        """Busy-loop the page's main thread."""
        with contextlib.suppress(Exception):  # ends when the browser is closed or killed
            await page.evaluate("for (;;) {}")

    async def start() -> None:
        """Start the loop on the engine thread without waiting for it."""
        asyncio.ensure_future(spin())

    runtime.call(start(), 5)


# -- lifecycle, acks, the log ----------------------------------------------------------------------------

def test_lifecycle_queued_sending_sent_delivered_read_with_real_acks(make_pool, sim, monkeypatch):
    pool = make_pool()
    outbox = pool.outbox
    pool.add("vendas")  # not connected yet: the message can only wait
    message_id = outbox.enqueue_text("vendas", "+55 11 98888-7777", "Pedido #1 confirmado ✅")
    assert outbox.get(message_id).status == "queued", "on disk before anything is attempted"
    seen: list[str] = []
    deliver_text = pool.deliver_text

    def spy(client_id: str, to: str, text: str, attempt: Attempt) -> dict:
        """The pool's own delivery, noting what the log says while it runs."""
        seen.append(outbox.get(message_id).status)
        return deliver_text(client_id, to, text, attempt)

    monkeypatch.setattr(pool, "deliver_text", spy)

    connect(pool, sim, "vendas")
    record = wait_status(outbox, message_id, "read")

    assert seen == ["sending"]
    (at_phone,) = sim.control.sent(PHONE)
    assert record.wa_id == at_phone["id"] and at_phone["text"] == "Pedido #1 confirmado ✅"
    assert record.ack == 3 and record.sent_at <= record.delivered_at <= record.read_at
    assert record.chat == f"{TO}@c.us" and record.to_number == TO and record.client_id == "vendas"
    assert record.attempts == 1 and not record.possible_duplicate and record.routing == "pinned"
    shown = record.to_dict()
    assert shown["status"] == "read" and shown["readAt"].endswith("Z") and shown["clientId"] == "vendas"
    assert outbox.counts()["vendas"].sent == 1 and outbox.totals().sent == 1
    assert pool.get_stats()["totalMessages"] == 1


def test_incoming_logged_and_chats_show_last_message_and_unread(make_pool, sim):
    pool = make_pool()
    outbox = pool.outbox
    connect(pool, sim, "vendas")

    sim.control.incoming(PHONE, "5521977776666", "Oi, tudo bem?", notify_name="Ana")
    sim.control.incoming(PHONE, "5521977776666", "Tem o pedido?", notify_name="Ana")
    wait_until(lambda: "vendas" in outbox.counts() and outbox.counts()["vendas"].received == 2, what="2 logged")

    (chat,) = outbox.list_chats("vendas").items
    assert chat.chat == "5521977776666@c.us" and chat.unread == 2 and chat.total == 2
    assert chat.last_message.body == "Tem o pedido?" and chat.last_message.direction == "in"
    assert chat.last_message.notify_name == "Ana" and chat.last_message.wa_id.startswith("false_")

    reply = pool.send_message("vendas", "5521977776666", "Tem sim!")
    (chat,) = outbox.list_chats("vendas").items
    assert chat.last_message.id == reply["id"] and chat.unread == 2 and chat.total == 3
    assert outbox.mark_chat_read("vendas", chat.chat) == 2
    assert outbox.list_chats("vendas").items[0].unread == 0
    history = outbox.chat_messages("vendas", chat.chat).items
    assert [(m.direction, m.body) for m in history] == [("out", "Tem sim!"), ("in", "Tem o pedido?"),
                                                        ("in", "Oi, tudo bem?")]
    assert outbox.list_messages(client_id="vendas", direction="in").items == history[1:]


# -- failures ---------------------------------------------------------------------------------------------

def test_permanent_failure_fails_at_once_and_bad_input_is_never_accepted(make_pool, sim, settings):
    pool = make_pool(send_max_attempts=5)
    outbox = pool.outbox
    connect(pool, sim, "vendas")
    sim.control.set_numbers([TO])

    text_id = outbox.enqueue_text("vendas", "5511977776666", "alguém aí?")
    media_id = outbox.enqueue_media("vendas", "5511977776666", {"mimetype": "image/png", "data": b64(b"png"),
                                                                "filename": "a.png"})
    for message_id in (text_id, media_id):
        record = wait_status(outbox, message_id, "failed")
        assert record.error_code == "number_not_on_whatsapp" and "5511977776666" in record.reason
        assert record.attempts == 1 and record.failed_at is not None
    # The row says failed first, then the file goes (a crash in between leaves a file the next start sweeps).
    wait_until(lambda: not (settings.data_dir / "media" / media_id).exists(), 5, what="failed media deleted")
    with pytest.raises(NumberNotOnWhatsApp):
        pool.send_message("vendas", "5511977776666", "de novo")

    before = outbox.totals()
    for bad, error in ((lambda: outbox.enqueue_text("vendas", "123", "oi"), InvalidNumber),
                       (lambda: outbox.enqueue_text("vendas", TO, "   "), InvalidText),
                       (lambda: outbox.enqueue_text("../x", TO, "oi"), InvalidInput),
                       (lambda: outbox.enqueue_media(None, TO, {"mimetype": "image/png", "data": "%%%"}), InvalidMedia),
                       (lambda: outbox.enqueue_media(None, TO, {"data": b64(b"x")}), InvalidMedia),
                       (lambda: outbox.enqueue_media(None, TO, {"mimetype": "image/png", "data": b64(b"x")},
                                                     {"caption": 123}), InvalidMedia),
                       (lambda: pool.send_message("vendas", TO, ""), InvalidText)):
        with pytest.raises(error):
            bad()
    assert outbox.totals() == before and [p for p in (settings.data_dir / "media").iterdir() if p.is_file()] == []
    assert sim.control.sent(PHONE) == []


def test_disconnected_number_keeps_its_messages_until_it_reconnects(make_pool, sim):
    pool = make_pool()
    outbox = pool.outbox
    connect(pool, sim, "vendas")
    pool.disconnect("vendas")

    message_id = outbox.enqueue_text("vendas", TO, "quando voltar")
    with pytest.raises(ClientNotReady):
        pool.send_message("vendas", TO, "agora")  # the seed's send: refused, not queued
    time.sleep(1.0)  # the lane looked when the message came in and found the number down
    assert outbox.get(message_id).status == "queued" and sim.control.sent(PHONE) == []

    assert pool.reconnect("vendas")["status"] == "ready"

    record = wait_status(outbox, message_id, *SENT)
    assert record.attempts == 1 and not record.possible_duplicate and record.client_id == "vendas"
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["quando voltar"]


def _sending(outbox: Outbox, client_id: str) -> MessageRecord | None:
    """The message a number is sending now, if any."""
    items = outbox.list_messages(client_id=client_id, direction="out", limit=1).items
    return items[0] if items and items[0].status == "sending" else None


def test_transient_errors_retry_with_backoff_then_fail_with_the_reason(make_pool, sim, runtime):
    pool = make_pool(call_timeout_s=1, send_max_attempts=4, send_retry_base_s=0.1, send_retry_cap_s=0.4,
                     reconnect_delay_s=0.1)
    outbox = pool.outbox
    connect(pool, sim, "vendas")
    profile = pool.get("vendas").profile_dir

    # Attempt 1 times out on a page that stopped answering; attempt 2 loses its browser (killed) halfway;
    # the pool reconnects the number by itself and attempt 3 goes through.
    hang_page(runtime, pool.get("vendas"))
    result: dict[str, Any] = {}

    def send() -> None:
        """The seed's synchronous send, in a thread: it returns once the message is out."""
        try:
            result.update(pool.send_message("vendas", TO, "na terceira"))
        except ZapPoolError as exc:
            result["error"] = exc

    sender = threading.Thread(target=send)
    sender.start()
    wait_until(lambda: (r := _sending(outbox, "vendas")) and r.attempts == 2, 10, what="the second attempt")
    time.sleep(0.3)  # well inside the page call, which would time out after 1 s
    for pid in chromium_pids(profile):
        with contextlib.suppress(ProcessLookupError):  # a renderer may go with its browser first
            os.kill(pid, signal.SIGKILL)
    sender.join(30)

    assert not sender.is_alive() and "error" not in result, result
    assert result["status"] in SENT and result["attempts"] == 3
    assert result["possibleDuplicate"], "a timeout may have sent it: the retry is recorded as a possible duplicate"
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["na terceira"]

    # The page stops answering again: every attempt times out, with backoff between them, then it is failed.
    hang_page(runtime, pool.get("vendas"))
    started = time.monotonic()
    with pytest.raises(EngineTimeout) as err:
        pool.send_message("vendas", TO, "nunca")
    took = time.monotonic() - started
    failed = outbox.get(err.value.details["messageId"])
    assert failed.status == "failed" and failed.attempts == 4 and failed.error_code == "timeout"
    # the page call that timed out: the number's id is kept from the first send, so the look-up is not asked again
    assert failed.reason.startswith("gave up after 4 attempts: Timed out after 1 s while "), failed.reason
    assert took >= 4 * 1.0 + 0.05 + 0.1 + 0.2, "four 1 s timeouts, then backoff: at least half of 0.1, 0.2, 0.4 s"
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["na terceira"]


# -- routing and pacing -----------------------------------------------------------------------------------

def test_auto_routing_round_robin_and_reroute_when_a_number_goes_down(make_pool, sim):
    pool = make_pool()
    outbox = pool.outbox
    connect(pool, sim, "a", PHONE)
    connect(pool, sim, "b", PHONE_B)

    first = [outbox.enqueue_text(None, TO, f"auto {i}") for i in range(6)]
    used = Counter(wait_status(outbox, i, *SENT).client_id for i in first)
    assert set(used) == {"a", "b"} and abs(used["a"] - used["b"]) <= 2, used
    assert all(outbox.get(i).routing == "auto" for i in first)

    # b holds one auto-routed message behind its pacing, then goes down: that message moves to a.
    outbox.set_pacing("b", 4.0, 0.0)
    pool.send_message("b", TO, "b antes de cair")
    second = [outbox.enqueue_text(None, TO, f"depois {i}") for i in range(4)]
    wait_until(lambda: outbox.store.auto_holders() == {"b"}, what="b holding an auto-routed message")
    pool.disconnect("b")

    assert {wait_status(outbox, i, *SENT).client_id for i in second} == {"a"}
    assert [m["text"] for m in sim.control.sent(PHONE_B)][-1] == "b antes de cair"
    assert all(m["text"] != f"depois {i}" for m in sim.control.sent(PHONE_B) for i in range(4))


def test_pacing_spaces_each_numbers_sends(make_pool, sim):
    pool = make_pool(send_interval_s=0.4, send_jitter_s=0.0)
    outbox = pool.outbox
    connect(pool, sim, "vendas")

    started = time.monotonic()
    ids = [outbox.enqueue_text("vendas", TO, f"ritmo {i}") for i in range(4)]
    for message_id in ids:
        wait_status(outbox, message_id, *SENT)
    assert time.monotonic() - started >= 3 * 0.4
    at = [m["at"] for m in sim.control.sent(PHONE)]
    assert all(later - earlier >= 400 for earlier, later in zip(at, at[1:])), at

    outbox.set_pacing("vendas", 0.1, 0.3)  # 0.1 s plus up to 0.3 s of jitter
    for message_id in [outbox.enqueue_text("vendas", TO, f"jitter {i}") for i in range(3)]:
        wait_status(outbox, message_id, *SENT)
    at = [m["at"] for m in sim.control.sent(PHONE)][4:]
    assert all(later - earlier >= 100 for earlier, later in zip(at, at[1:])), at

    outbox.set_pacing("vendas", 0, 0)  # tests and benchmarks: no pacing at all
    burst = [outbox.enqueue_text("vendas", TO, f"rajada {i}") for i in range(10)]
    assert all(wait_status(outbox, i, *SENT) for i in burst)
    assert len(sim.control.sent(PHONE)) == 17


# -- media ------------------------------------------------------------------------------------------------

def test_media_waits_on_disk_and_arrives_byte_exact(make_pool, sim, settings):
    pool = make_pool()
    outbox = pool.outbox
    pool.add("vendas")  # not connected yet: the media waits on disk
    pdf, png = os.urandom(300_000), os.urandom(70_000)

    pdf_id = outbox.enqueue_media("vendas", TO, {"mimetype": "application/pdf", "data": b64(pdf),
                                                 "filename": "pedido.pdf"}, {"caption": "Seu pedido"})
    png_id = outbox.enqueue_media(None, TO, {"mimetype": "image/png", "data": f"data:image/png;base64,{b64(png)}",
                                             "filename": "foto.png"})
    files = settings.data_dir / "media"
    assert (files / pdf_id).read_bytes() == pdf and (files / png_id).read_bytes() == png
    assert not any(p.name.endswith(".tmp") for p in files.iterdir())
    assert {outbox.get(i).status for i in (pdf_id, png_id)} == {"queued"}

    connect(pool, sim, "vendas")
    records = [wait_status(outbox, i, *SENT) for i in (pdf_id, png_id)]

    # Sent media leaves the queue for kept/, where the chat window and the API show it (issue 16 §2).
    wait_until(lambda: [p for p in files.iterdir() if p.is_file()] == [], 5, what="sent media to leave the queue")
    assert (files / "kept" / f"out-{pdf_id}").read_bytes() == pdf and (files / "kept" / f"out-{png_id}").is_file()
    by_name = {m["filename"]: m for m in sim.control.sent(PHONE)}
    expected = ((records[0], pdf, "pedido.pdf", "document"), (records[1], png, "foto.png", "image"))
    for record, data, name, kind in expected:
        assert by_name[name]["sha256"] == hashlib.sha256(data).hexdigest() and by_name[name]["size"] == len(data)
        assert by_name[name]["type"] == kind and record.type == kind and record.media["size"] == len(data)
        assert record.wa_id == by_name[name]["id"]
    assert by_name["pedido.pdf"]["text"] == "Seu pedido" and records[0].body == "Seu pedido"
    assert records[1].routing == "auto" and records[1].client_id == "vendas"


# -- crash and restart ------------------------------------------------------------------------------------

def _sent_texts(sim) -> list[str]:
    """Every text both phones sent, in no particular order."""
    return [m["text"] for phone in (PHONE, PHONE_B) for m in sim.control.sent(phone)]


def _start_child(sim, data_dir: Path, stderr: Any) -> tuple[subprocess.Popen, list[str]]:
    """Start tests/outbox_support.py's burst process; its stdout lines are collected as they come."""
    child = subprocess.Popen([sys.executable, "-m", "tests.outbox_support", "--sim", sim.url, "--data",
                              str(data_dir), "--count", "200", "--to", TO],
                             cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: list[str] = []

    def collect() -> None:
        for line in child.stdout:
            lines.append(line.strip())

    threading.Thread(target=collect, daemon=True).start()
    return child, lines


def _burst_and_kill(sim, settings, log_path: Path) -> tuple[list[str], int]:
    """Run the child until the burst is under way, SIGKILL it; returns the ids it accepted and the count sent."""
    with open(log_path, "w+") as log_file:
        child, lines = _start_child(sim, settings.data_dir, log_file)
        try:
            wait_until(lambda: "READY" in lines or child.poll() is not None, 60, what="child ready")
            assert child.poll() is None, f"child died: {log_path.read_text()}"
            wait_until(lambda: len(_sent_texts(sim)) >= 30, 60, what="the burst under way")
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
    return [line for line in lines if len(line) == 32], len(_sent_texts(sim))


@pytest.mark.process
def test_crash_mid_burst_then_restart_sends_every_accepted_message(make_pool, sim, settings, tmp_path):
    linking = make_pool()
    connect(linking, sim, "a", PHONE)
    connect(linking, sim, "b", PHONE_B)
    linking.shutdown()  # the sessions file keeps both as ready: the child restores them without a scan
    accepted, at_kill = _burst_and_kill(sim, settings, tmp_path / "child.log")
    assert 0 < len(accepted) and at_kill < 200, "killed mid-burst"
    wait_until(lambda: not any(chromium_pids(settings.sessions_dir / cid) for cid in ("a", "b")), 30,
               what="the dead process's browsers gone")

    pool = make_pool()  # the restart: the outbox queues again what the crash left in flight
    outbox = pool.outbox
    assert pool.restore_persisted_sessions() == {"restored": 2, "total": 2}
    wait_until(lambda: outbox.totals().pending == 0, 90, what="the rest of the burst sent")

    records = outbox.list_messages(direction="out", limit=500).items
    assert set(accepted) <= {r.id for r in records}
    assert all(r.status in SENT for r in records), Counter(r.status for r in records)
    texts = Counter(_sent_texts(sim))
    assert set(texts) == {r.body for r in records}, "every accepted message reached a phone"
    flagged = {r.body for r in records if r.possible_duplicate}
    twice = {text for text, n in texts.items() if n > 1}
    assert len(flagged) <= 2, "at most the one in flight per number may have gone out"
    assert not twice, ("each one in flight was looked for on WhatsApp under its id before being sent again",
                       [(p, m) for p in (PHONE, PHONE_B) for m in sim.control.sent(p) if m["text"] in twice],
                       [r for r in records if r.body in twice])
    assert {r.wa_id for r in records} <= {m["id"] for p in (PHONE, PHONE_B) for m in sim.control.sent(p)}
    logging.getLogger(__name__).info("crash: %d accepted, %d out at the kill, flagged %s, sent twice %s",
                                     len(accepted), at_kill, sorted(flagged), sorted(twice))


def test_stop_refuses_new_work_and_the_next_start_sends_what_was_left(make_pool, sim):
    first = make_pool()
    connect(first, sim, "vendas")
    first.disconnect("vendas")
    waiting = first.outbox.enqueue_text("vendas", TO, "fica para depois")

    assert first.outbox.stop(5) is True  # what shutdown() does first
    with pytest.raises(Conflict):
        first.outbox.enqueue_text("vendas", TO, "tarde demais")
    first.shutdown()

    second = make_pool()  # a restart on the same dados/
    assert second.outbox.get(waiting).status == "queued"
    assert second.reconnect("vendas")["status"] == "ready"  # disconnected by hand: not restored by itself
    assert wait_status(second.outbox, waiting, *SENT).attempts == 1
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["fica para depois"]


def test_removing_a_number_fails_its_queue(make_pool, sim):
    pool = make_pool()
    outbox = pool.outbox
    pool.add("gone")  # never started: not ready, no browser
    ids = [outbox.enqueue_text("gone", TO, f"para ninguém {i}") for i in range(2)]
    media_id = outbox.enqueue_media("gone", TO, {"mimetype": "image/png", "data": b64(b"png")})

    pool.remove("gone")

    for message_id in (*ids, media_id):
        record = outbox.get(message_id)
        assert record.status == "failed" and record.error_code == "not_found" and "gone" in record.reason
    assert outbox.counts()["gone"].failed == 3 and outbox.counts()["gone"].pending == 0
    assert not outbox.media.path(media_id).exists()


# -- the store on its own ---------------------------------------------------------------------------------

def test_corrupt_or_foreign_messages_db_is_set_aside(tmp_path, caplog):
    path = tmp_path / "messages.db"
    path.write_bytes(b"not a database at all\n" * 500)

    with caplog.at_level(logging.ERROR):
        store = MessageStore(path)

    assert store.set_aside_as is not None and store.set_aside_as.read_bytes().startswith(b"not a database")
    assert "messages.db" in caplog.text and store.set_aside_as.name in caplog.text
    store.add_outgoing("a" * 32, client_id="c1", to_number=TO, chat=f"{TO}@c.us", type="chat", body="oi")
    store.close()

    damaged = tmp_path / "damaged" / "messages.db"
    store = MessageStore(damaged)
    store.add_incoming([("c1", f"{i:032x}", {"id": f"false_{i}", "from": f"{TO}@c.us", "body": "x" * 200})
                        for i in range(3000)])
    store.close()
    with open(damaged, "r+b") as handle:  # scribble over pages in the middle of the file
        handle.seek(20 * 4096)
        handle.write(os.urandom(40 * 4096))
    again = MessageStore(damaged)
    assert again.set_aside_as is not None and again.totals().received == 0
    again.close()


def test_a_log_from_the_first_release_is_upgraded_in_place(tmp_path):
    from backend.store.message_schema import SCHEMA_V1
    path = tmp_path / "messages.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:  # a dados/ written before the message ids (v1)
        conn.executescript(f"{SCHEMA_V1}\nPRAGMA user_version = 1;")
        conn.execute("INSERT INTO messages (id, direction, client_id, chat, to_number, type, body, status, "
                     "created_at, updated_at) VALUES (?, 'out', 'c1', ?, ?, 'chat', 'da v1', 'queued', 1, 1)",
                     ("a" * 32, f"{TO}@c.us", TO))
        conn.commit()

    store = MessageStore(path)

    assert store.set_aside_as is None, "an older schema is upgraded, not set aside"
    assert store.get("a" * 32).body == "da v1" and store.get("a" * 32).key_id is None
    assert store.claim("a" * 32, "c1") and store.get("a" * 32).key_id.startswith("3EB0")
    store.close()


def test_a_newer_schema_is_refused_not_set_aside(tmp_path):
    path = tmp_path / "messages.db"
    MessageStore(path).close()
    with contextlib.closing(sqlite3.connect(path)) as conn:  # as a later ZapPool would leave it: more, not less
        conn.executescript("ALTER TABLE messages ADD COLUMN later TEXT; CREATE TABLE later (x);"
                           "PRAGMA user_version = 99;")

    with pytest.raises(ZapPoolError) as err:
        MessageStore(path)

    assert err.value.code == "store_too_new" and path.exists()


def test_reads_page_with_cursors_filters_and_counts(tmp_path):
    now = [1_800_000_000.0]
    store = MessageStore(tmp_path / "messages.db", clock=lambda: now[0])
    for i in range(240):
        now[0] += 0.001 * (i % 4 == 0)  # runs of equal timestamps: the cursor must break ties
        client, chat = ("c1", "c2", "c3")[i % 3], f"55119888800{i % 7:02d}@c.us"
        if i % 2:
            store.add_incoming([(client, f"{i:032x}", {"id": f"false_{chat}_{i}", "from": chat, "type": "chat",
                                                        "body": f"in {i}", "t": 1})])
        else:
            store.add_outgoing(f"{i:032x}", client_id=client, to_number=chat[:13], chat=chat, type="chat",
                               body=f"out {i}")
    assert store.add_incoming([("c2", "f" * 32, {"id": "false_5511988880001@c.us_1", "from": "x"})]) == 0, "repeat"

    everything = store.list_messages(limit=500).items
    assert len(everything) == 240
    keys = [(m.created_at, m.seq) for m in everything]
    assert keys == sorted(keys, reverse=True)
    for filters in ({}, {"client_id": "c2"}, {"client_id": "c1", "chat": "5511988880003@c.us"}, {"direction": "in"},
                    {"since": everything[150].created_at, "until": everything[20].created_at}):
        expected = [m for m in everything if _matches(m, filters)]
        assert _all_pages(store, filters, limit=7) == [m.id for m in expected] and expected

    chats = _all_chat_pages(store, "c1")
    assert len(chats) == 7 and len({c.chat for c in chats}) == 7
    assert [c.last_at for c in chats] == sorted((c.last_at for c in chats), reverse=True)
    assert sum(c.unread for c in chats) == 40 and all(c.last_message.direction == "in" for c in chats)
    counts = store.counts()
    assert counts["c1"].received == 40 and counts["c1"].pending == 40 and store.totals().pending == 120
    with pytest.raises(InvalidInput):
        store.list_messages(cursor="not-a-cursor")
    with pytest.raises(InvalidInput):
        store.list_messages(limit=0)
    store.close()


def _matches(m: MessageRecord, filters: dict[str, Any]) -> bool:
    """Does a record pass list_messages' filters."""
    return ((filters.get("client_id") in (None, m.client_id)) and (filters.get("chat") in (None, m.chat))
            and (filters.get("direction") in (None, m.direction))
            and m.created_at >= filters.get("since", 0) and m.created_at < filters.get("until", 1 << 62))


def _all_pages(store: MessageStore, filters: dict[str, Any], limit: int) -> list[str]:
    """Ids of every page of a listing, following cursors."""
    ids, cursor = [], None
    while True:
        page = store.list_messages(**filters, cursor=cursor, limit=limit)
        ids += [m.id for m in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def _all_chat_pages(store: MessageStore, client_id: str) -> list[Any]:
    """Every chat of a number, two per page."""
    chats, cursor = [], None
    while True:
        page = store.list_chats(client_id, cursor=cursor, limit=2)
        chats += page.items
        if page.next_cursor is None:
            return chats
        cursor = page.next_cursor


def _as_a_crash_leaves_it(db: Path, body: str, key_id: str | None = None) -> None:
    """Put a message back to `sending`, as a kill -9 between the claim and the receipt leaves the row."""
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        changed = conn.execute("UPDATE messages SET status = 'sending', key_id = coalesce(?, key_id), "
                               "attempts = attempts + 1 WHERE body = ?", (key_id, body)).rowcount
    assert changed == 1


def test_after_a_crash_a_message_whatsapp_has_is_not_sent_again(make_pool, sim, settings):
    pool = make_pool()
    connect(pool, sim, "vendas")
    first = pool.send_message("vendas", TO, "já estava no WhatsApp")
    chosen = pool.outbox.get(first["id"]).key_id
    assert first["waMessageId"] == f"true_{TO}@c.us_{chosen}", "sent under the id ZapPool chose"
    pool.disconnect("vendas")
    waiting = pool.outbox.enqueue_text("vendas", TO, "nunca chegou à página")
    counted = pool.get("vendas").metadata.message_count
    pool.shutdown()
    # The crash: the first was out when ZapPool died, the second had been claimed (its id chosen) but had not
    # reached the page.
    _as_a_crash_leaves_it(settings.data_dir / "messages.db", "já estava no WhatsApp")
    _as_a_crash_leaves_it(settings.data_dir / "messages.db", "nunca chegou à página", "3EB0AAAABBBBCCCCDDDD")

    pool = make_pool()  # the restart: both go back to the queue, flagged, still for vendas
    pool.reconnect("vendas")  # disconnected on purpose before the "crash": started by hand, no scan
    wait_until(lambda: pool.outbox.totals().pending == 0, 60, what="both settled")

    assert [m["text"] for m in sim.control.sent(PHONE)] == ["já estava no WhatsApp", "nunca chegou à página"]
    again = pool.outbox.get(first["id"])
    assert again.status in SENT and again.possible_duplicate and again.wa_id == first["waMessageId"]
    second = pool.outbox.get(waiting)
    assert second.status in SENT and second.wa_id == f"true_{TO}@c.us_3EB0AAAABBBBCCCCDDDD"
    assert (counted, pool.get("vendas").metadata.message_count) == (1, 2), "each sent message counted once"


def test_after_a_crash_an_auto_routed_message_waits_for_the_number_that_may_have_sent_it(make_pool, sim, settings):
    pool = make_pool()
    connect(pool, sim, "vendas")
    connect(pool, sim, "suporte", PHONE_B)
    first = pool.send_message_auto(TO, "roteada antes da queda")
    sender = first["clientId"]
    other = ({"vendas", "suporte"} - {sender}).pop()
    phones = {"vendas": PHONE, "suporte": PHONE_B}
    for client_id in phones:
        pool.disconnect(client_id)
    pool.shutdown()
    _as_a_crash_leaves_it(settings.data_dir / "messages.db", "roteada antes da queda")

    pool = make_pool()
    pool.reconnect(other)  # only the other number comes back: it must not send a message that may be out
    later = pool.send_message_auto(TO, "depois da queda")  # routed after the held one would have been
    assert later["clientId"] == other
    held = pool.outbox.get(first["id"])
    assert held.status == "queued" and held.client_id == sender and held.possible_duplicate

    pool.reconnect(sender)
    wait_until(lambda: pool.outbox.totals().pending == 0, 60, what="the held one settled")
    assert [m["text"] for m in sim.control.sent(phones[sender])] == ["roteada antes da queda"]
    assert [m["text"] for m in sim.control.sent(phones[other])] == ["depois da queda"]
    assert pool.outbox.get(first["id"]).wa_id == first["waMessageId"], "found on WhatsApp, not sent again"
