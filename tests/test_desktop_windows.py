"""The desktop's windows, file dialog, pushed events and notifications, through pywebview's stand-in.

The window manager, the event pusher and the bus are the real ones; FakeWebview records what each window gets
(tests/desktop_support.py). The real windows are in tests/test_desktop_smoke.py.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

import pytest

from backend.desktop import EventPusher
from backend.desktop.notify import DesktopNotifications
from backend.desktop.windows import QUEUE_LIMIT
from backend.events.bus import EventBus
from backend.validation import MAX_MEDIA_BYTES
from tests.conftest import wait_until
from tests.notification_server import NotificationServer
from tests.desktop_support import NEW_PASSWORD, OTHER, PHONE, FakeWebview, error, ok, png_base64, pusher, sign_in

# -- windows --------------------------------------------------------------------------------------------------------

def test_windows_open_once_each_with_safe_urls_and_closing_the_main_one_closes_all(desk, sim):
    sign_in(desk)
    ok(desk.bridge.create_client("loja_2", "Loja 2"))
    main = desk.windows.open_main()
    ok(desk.bridge.open_pool_manager())
    ok(desk.bridge.open_pool_manager())
    ok(desk.bridge.open_qr_window("loja_2"))
    ok(desk.bridge.open_chat_window("loja_2"))
    ok(desk.bridge.open_chat_window("loja_2", "5521977776666@c.us"))
    ok(desk.bridge.open_chat_window("loja_2", "5521977776666@c.us"))
    bad_chat = desk.bridge.open_chat_window("loja_2", "x" * 500)
    by_title = {w.title: w for w in desk.gui.windows}

    assert [w.title for w in desk.gui.windows] == ["ZapPool", "Gerenciar Conexões", "Conectar WhatsApp — loja_2",
                                                  "Chat — loja_2"]
    assert main.url == "http://127.0.0.1:9/" and main.js_api is desk.bridge
    assert by_title["Gerenciar Conexões"].url == "http://127.0.0.1:9/ui/pool.html"
    assert by_title["Gerenciar Conexões"].restored == 1, "the second open brought it to the front"
    assert by_title["Conectar WhatsApp — loja_2"].url == "http://127.0.0.1:9/ui/qr.html?client=loja_2"
    chat = by_title["Chat — loja_2"]
    assert chat.url == "http://127.0.0.1:9/ui/chat.html?client=loja_2"
    assert chat.loaded == ["http://127.0.0.1:9/ui/chat.html?client=loja_2&chat=5521977776666%40c.us"], "moved once"
    assert error(bad_chat)["details"] == {"field": "chatId"}
    assert all(w.options["text_select"] for w in desk.gui.windows)

    by_title["Conectar WhatsApp — loja_2"].destroy()  # the person closes one window
    assert desk.windows.open_keys() == ["main", "pool", "chat:loja_2"]
    main.destroy()  # ... then the main one: everything closes, nothing opens again
    assert all(w.destroyed for w in desk.gui.windows) and desk.windows.open_keys() == []
    ok(desk.bridge.open_pool_manager())
    assert len(desk.gui.windows) == 4


def test_the_qr_window_closes_itself_once_the_number_is_connected(desk, sim):
    sign_in(desk)
    events = pusher(desk, []).start()
    try:
        desk.windows.open_main()
        ok(desk.bridge.create_client("loja_3"))
        ok(desk.bridge.open_qr_window("loja_3"))
        qr_window = desk.windows.window("qr:loja_3")
        sim.control.scan(ok(desk.bridge.get_qr("loja_3"))["code"], PHONE)
        wait_until(lambda: any(e["type"] == "ready" for e in qr_window.pushed()), what="ready pushed to it")
        still_open_at_ready = not qr_window.destroyed
        wait_until(lambda: qr_window.destroyed, timeout=10, what="the QR window closed")
    finally:
        events.stop()

    assert still_open_at_ready, "it shows Conectado ✓ first"
    assert desk.windows.open_keys() == ["main"]


def test_pick_file_reads_the_file_the_native_dialog_chose(desk, tmp_path):
    sign_in(desk)
    photo = tmp_path / "foto da loja.png"
    photo.write_bytes(base64.b64decode(png_base64()))
    huge = tmp_path / "grande.mp4"
    with huge.open("wb") as handle:
        handle.truncate(MAX_MEDIA_BYTES + 1)  # sparse: big on paper, nothing written
    desk.windows.open_main()

    desk.gui.dialog_answer = (str(photo),)
    picked = ok(desk.bridge.pick_file())
    desk.gui.dialog_answer = None
    cancelled = ok(desk.bridge.pick_file())
    desk.gui.dialog_answer = (str(huge),)
    too_big = error(desk.bridge.pick_file())
    desk.gui.dialog_answer = (str(tmp_path / "sumiu.pdf"),)
    gone = error(desk.bridge.pick_file())

    assert picked == {"data": png_base64(), "mimetype": "image/png", "filename": "foto da loja.png",
                      "size": photo.stat().st_size}
    assert cancelled is None
    assert too_big["code"] == "invalid_media" and too_big["details"] == {"size": MAX_MEDIA_BYTES + 1,
                                                                           "limit": MAX_MEDIA_BYTES, "kind": "video"}
    assert gone["code"] == "invalid_media" and gone["details"] == {"filename": "sumiu.pdf"}
    assert desk.gui.dialogs == [(FakeWebview.FileDialog.OPEN, False)] * 4


# -- events and notifications ---------------------------------------------------------------------------------------

def test_events_reach_every_window_only_while_signed_in(desk):
    notes: list[tuple[str, str]] = []
    checks: list[bool] = []  # what the pusher was told each time it asked whether someone is logged in

    def signed_in() -> bool:
        checks.append(desk.session.active())
        return checks[-1]

    def emit_unseen(type_: str) -> None:
        """Emit while logged out, and wait until the pusher has looked at it (and let it pass by)."""
        before = len(checks)
        bus.emit(type_, "vendas", {})
        wait_until(lambda: len(checks) > before and checks[-1] is False, what="the pusher refused it")

    bus = desk.service.bus
    events = EventPusher(bus, desk.windows, allowed=signed_in, notifications_on=lambda: True,
                         notifier=lambda title, text, _on_click: notes.append((title, text))).start()
    main = desk.windows.open_main()
    try:
        emit_unseen("status")
        ok(desk.bridge.login("admin", "admin"))
        emit_unseen("status")  # the password must still be changed: not signed in yet
        ok(desk.bridge.change_password("admin", NEW_PASSWORD))
        ok(desk.bridge.open_pool_manager())
        pool = desk.windows.window("pool")
        sent = [bus.emit("message", "vendas", {"message": {"from": f"{OTHER}@c.us", "body": f"oi {n}"}})
                for n in range(3)]
        wait_until(lambda: len(main.pushed()) == 3 and len(pool.pushed()) == 3, what="three events in each window")
        ok(desk.bridge.logout())
        emit_unseen("client_removed")
        ok(desk.bridge.login("admin", NEW_PASSWORD))
        last = bus.emit("client_added", "suporte", {})
        wait_until(lambda: len(main.pushed()) == 4, what="the event after logging in again")
    finally:
        events.stop()

    assert main.pushed() == [e.to_dict() for e in sent] + [last.to_dict()]
    assert pool.pushed() == [e.to_dict() for e in sent] + [last.to_dict()]
    assert all(s.startswith("if (window.__zapoolEvent) {") for s in main.scripts)
    assert notes == [("Nova mensagem — vendas", f"{OTHER}: oi 0")], "a burst of messages is one notification"


def test_missed_events_are_told_with_a_reset(desk):
    bus = EventBus(capacity=3)
    first_batch = threading.Event()
    release = threading.Event()

    def signed_in() -> bool:
        first_batch.set()
        release.wait(10)  # the pusher is busy while the bus moves on past what it has not read
        return True

    main = desk.windows.open_main()
    events = EventPusher(bus, desk.windows, allowed=signed_in, notifications_on=lambda: False,
                         notifier=lambda *_: None).start()
    try:
        bus.emit("status", "a", {"n": 0})
        assert first_batch.wait(10)
        for n in range(1, 8):
            bus.emit("status", "a", {"n": n})
        release.set()
        wait_until(lambda: any(e["type"] == "reset" for e in main.pushed()), what="reset")
        oldest = bus.oldest_id()
        bus.emit("status", "a", {"n": 8})
        wait_until(lambda: main.pushed()[-1]["data"].get("n") == 8, what="live again after the reset")
    finally:
        events.stop()

    first, reset, live = main.pushed()
    assert first["data"] == {"n": 0} and reset["type"] == "reset" and reset["clientId"] is None
    assert reset["id"] == live["id"] - 1, "the reset carries the id to resume from, as GET /events does"
    assert reset["data"] == {"reason": "too_old", "lastEventId": first["id"], "oldestEventId": oldest}


def test_notifications_say_what_happened_and_follow_the_preference(desk):
    sign_in(desk)
    notes: list[tuple[str, str]] = []
    now = [0.0]
    events = pusher(desk, notes, clock=lambda: now[0]).start()
    bus = desk.service.bus

    def emit_and_settle(type_: str, client_id: str, data: dict[str, Any]) -> None:
        bus.emit(type_, client_id, data)
        marker = bus.emit("status", "-", {})  # the pusher has handled everything once it pushed this
        wait_until(lambda: any(e["id"] == marker.id for e in desk.windows.window("main").pushed()), what="handled")
        now[0] += 10

    desk.windows.open_main()
    try:
        emit_and_settle("disconnected", "vendas", {"reason": "network"})
        emit_and_settle("disconnected", "vendas", {"reason": "manual"})
        emit_and_settle("disconnected", "vendas", {"reason": "shutdown"})
        emit_and_settle("message", "vendas", {"message": {"from": f"{OTHER}@c.us", "notifyName": "Ana",
                                                          "type": "image", "body": None, "caption": None}})
        ok(desk.bridge.set_preferences({"notifications": False}))
        emit_and_settle("message", "vendas", {"message": {"from": f"{OTHER}@c.us", "body": "calado"}})
        emit_and_settle("disconnected", "suporte", {"reason": "logged_out"})
    finally:
        events.stop()

    assert notes == [("ZapPool — vendas", "Número desconectado: sem conexão"),
                     ("Nova mensagem — vendas", "Ana: [image]")]


def click_until(desktop: NotificationServer, shown: Any, opened: Any, what: str) -> None:
    """Click a notification, again each second until `opened()`, as a person would: a click sent in the same
    instant the notification appears can reach desktop-notifier before it has filed the notification's id (it then
    ignores the click); a person's click comes later."""
    wait_until(lambda: opened() or desktop.click(shown) or False, timeout=15, what=what, every=1.0)


@pytest.mark.skipif(not NotificationServer.available(), reason="a notification service on a private D-Bus bus")
def test_clicking_a_notification_opens_the_chat_it_is_about_or_the_pool_manager(desk, monkeypatch):
    sign_in(desk)
    with NotificationServer() as desktop:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", desktop.address)
        notifications = DesktopNotifications()
        events = EventPusher(desk.service.bus, desk.windows, allowed=desk.session.active, notifier=notifications,
                             notifications_on=lambda: True).start()
        desk.windows.open_main()
        try:
            desk.service.bus.emit("message", "vendas", {"message": {"from": f"{OTHER}@c.us", "notifyName": "Ana",
                                                                    "type": "chat", "body": "Tem o PIX?"}})
            message = desktop.shown(1)[0]
            click_until(desktop, message, lambda: desk.windows.window("chat:vendas") is not None, "the chat window")
            desk.service.bus.emit("disconnected", "suporte", {"reason": "network"})
            disconnected = desktop.shown(2)[1]
            click_until(desktop, disconnected, lambda: desk.windows.window("pool") is not None, "the pool manager")
        finally:
            events.stop()
            notifications.stop()

    assert (message.title, message.body) == ("Nova mensagem — vendas", "Ana: Tem o PIX?")
    assert "default" in message.actions, "the body is clickable"
    assert desk.windows.window("chat:vendas").url == \
        f"http://127.0.0.1:9/ui/chat.html?client=vendas&chat={OTHER}%40c.us"
    assert disconnected.title == "ZapPool — suporte"


def test_a_window_that_stops_answering_holds_up_only_itself_and_gets_a_reset(desk):
    main = desk.windows.open_main()
    desk.windows.open_pool_manager()
    pool = desk.windows.window("pool")
    stuck, release = threading.Event(), threading.Event()
    answer = main.evaluate_js

    def slow(script: str) -> None:
        stuck.set()
        release.wait(20)
        answer(script)

    main.evaluate_js = slow
    desk.windows.evaluate_all("// 0")
    assert stuck.wait(10)
    total = QUEUE_LIMIT + 11
    for start in range(1, total, 100):  # in steps the other window keeps up with: its queue is bounded too
        for n in range(start, min(start + 100, total)):
            desk.windows.evaluate_all(f"// {n}")
        wait_until(lambda: len(pool.scripts) == min(start + 100, total), what="the other window keeps up")
    release.set()
    wait_until(lambda: main.pushed() and main.pushed()[-1]["type"] == "reset", what="reset in the stuck window")

    assert main.scripts[:-1] == [f"// {n}" for n in range(QUEUE_LIMIT + 1)], "in order, the overflow dropped"
    assert main.pushed()[-1]["data"] == {"reason": "window_busy"}
