"""The desktop bridge, called directly as pywebview calls it, over a real pool on the simulator.

Only pywebview itself is a stand-in (FakeWebview: windows that record the scripts, URLs and dialogs they get):
the service, auth, event bus, pool, browsers and WhatsApp (the simulator) are real, and where REST has the same
operation the bridge's answer is compared with the real REST server's over the same service.
"""

from __future__ import annotations

import base64
import inspect
import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from backend.api import create_app
from backend.api.server import ApiServer
from backend.auth import AuthService
from backend.config import DESKTOP_USER_AGENT, Settings
from backend.desktop import Bridge, DesktopSession, EventPusher, WindowManager
from backend.eventbus import EventBus
from backend.pool import WhatsAppPool
from backend.service import ZapPoolService
from backend.validation import MAX_MEDIA_BYTES
from tests.api_support import FAST_SCRYPT, PHONE, Api
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]
NEW_PASSWORD = "Senha-forte-123"
OTHER = "5521977776666"


# -- pywebview's stand-in -----------------------------------------------------------------------------------------

class FakeEvent:
    """pywebview's window event: handlers added with +=, run by set()."""

    def __init__(self) -> None:
        self._handlers: list[Any] = []

    def __iadd__(self, handler: Any) -> FakeEvent:
        self._handlers.append(handler)
        return self

    def set(self) -> None:
        for handler in list(self._handlers):
            handler()


class FakeWindow:
    """A pywebview window: records scripts, loads, focus and its own closing."""

    def __init__(self, gui: FakeWebview, title: str, url: str, js_api: Any, options: dict[str, Any]):
        self.gui, self.title, self.url, self.js_api, self.options = gui, title, url, js_api, options
        self.events = SimpleNamespace(closed=FakeEvent())
        self.scripts: list[str] = []
        self.loaded: list[str] = []
        self.restored = 0
        self.destroyed = False

    def evaluate_js(self, script: str) -> None:
        self.scripts.append(script)

    def load_url(self, url: str) -> None:
        self.loaded.append(url)

    def restore(self) -> None:
        self.restored += 1

    def destroy(self) -> None:
        if not self.destroyed:
            self.destroyed = True
            self.events.closed.set()

    def create_file_dialog(self, dialog_type: int, allow_multiple: bool = False) -> tuple[str, ...] | None:
        self.gui.dialogs.append((dialog_type, allow_multiple))
        return self.gui.dialog_answer

    def pushed(self) -> list[dict[str, Any]]:
        """The events the scripts handed to window.__zapoolEvent, in order."""
        decoder, events = json.JSONDecoder(), []
        for script in list(self.scripts):
            events += [decoder.raw_decode(part)[0] for part in script.split("window.__zapoolEvent(")[1:]]
        return events


class FakeWebview:
    """The pywebview module, as far as WindowManager uses it."""

    class FileDialog:
        OPEN = 10

    def __init__(self) -> None:
        self.windows: list[FakeWindow] = []
        self.dialogs: list[tuple[int, bool]] = []
        self.dialog_answer: tuple[str, ...] | None = None

    def create_window(self, title: str, url: str, js_api: Any = None, **options: Any) -> FakeWindow:
        window = FakeWindow(self, title, url, js_api, options)
        self.windows.append(window)
        return window


# -- the desktop under test -----------------------------------------------------------------------------------------

@dataclass
class Desk:
    """Pool, service, auth, the bridge over fake windows, and the REST server over the same service."""

    pool: WhatsAppPool
    service: ZapPoolService
    auth: AuthService
    session: DesktopSession
    windows: WindowManager
    bridge: Bridge
    gui: FakeWebview
    server: ApiServer

    def rest(self, key: str | None = None) -> Api:
        """A REST client with an API key."""
        return Api(self.server.url, key)


@pytest.fixture
def desk(runtime, settings) -> Iterator[Desk]:
    pool = WhatsAppPool(Settings(**{**settings.__dict__, "send_interval_s": 0, "send_jitter_s": 0}), runtime)
    auth = AuthService(settings.data_dir, scrypt=FAST_SCRYPT)
    service = ZapPoolService(pool)
    gui = FakeWebview()
    windows = WindowManager("http://127.0.0.1:9", webview=gui)
    session = DesktopSession(auth)
    bridge = Bridge(service, session, windows)
    windows.js_api = bridge
    server = ApiServer(create_app(service, auth), auth, port=0).start()
    yield Desk(pool, service, auth, session, windows, bridge, gui, server)
    server.stop()
    pool.shutdown()
    pool.outbox.store.close()


def ok(envelope: dict[str, Any]) -> Any:
    """The result of a successful call (fails the test with the error otherwise)."""
    assert set(envelope) == {"result"}, envelope
    return envelope["result"]


def error(envelope: dict[str, Any]) -> dict[str, Any]:
    """The error of a refused call, checked to be REST's envelope."""
    assert set(envelope) == {"error"} and set(envelope["error"]) == {"code", "message", "details"}, envelope
    return envelope["error"]


def sign_in(desk: Desk) -> None:
    """First run: log in as admin/admin and change the password."""
    ok(desk.bridge.login("admin", "admin"))
    ok(desk.bridge.change_password("admin", NEW_PASSWORD))


def link(desk: Desk, sim, client_id: str = "vendas") -> dict[str, Any]:
    """Create a number through the bridge, scan its QR code, wait until it is ready."""
    created = ok(desk.bridge.create_client(client_id))
    assert created["status"] == "qr_ready", created
    sim.control.scan(ok(desk.bridge.get_qr(client_id))["code"], PHONE)
    return wait_until(lambda: (info := ok(desk.bridge.get_client(client_id)))["status"] == "ready" and info,
                      timeout=20, what="ready")


def pusher(desk: Desk, notes: list[tuple[str, str]], **options: Any) -> EventPusher:
    """The event pusher as the app wires it, notifications recorded in `notes`."""
    return EventPusher(desk.service.bus, desk.windows, allowed=desk.session.active,
                       notifications_on=lambda: desk.service.get_preferences()["notifications"],
                       notifier=lambda title, text: notes.append((title, text)), **options)


# -- the contract ------------------------------------------------------------------------------------------------

def test_the_bridge_has_exactly_the_operations_of_the_readme_and_nothing_else_to_walk(desk):
    table = (ROOT / "frontend" / "README.md").read_text(encoding="utf-8")
    readme = set(re.findall(r"^\| `[^`]+` \| `([a-z_]+)`", table, flags=re.MULTILINE))
    public = {name for name in dir(desk.bridge) if not name.startswith("_")}

    assert len(readme) == 29 and public == readme
    # pywebview walks public attributes too: every public name must be a method, nothing else.
    assert all(inspect.ismethod(getattr(desk.bridge, name)) for name in public)


# -- logging in -----------------------------------------------------------------------------------------------

def test_first_run_login_must_change_the_password_before_anything_else(desk):
    bridge = desk.bridge
    before = [bridge.list_all_clients_info(), bridge.me(), bridge.logout(), bridge.change_password("admin", "x" * 12)]
    wrong = bridge.login("admin", "errada")
    first = ok(bridge.login("admin", "admin"))
    blocked = [bridge.get_pool_stats(), bridge.open_pool_manager(), bridge.pick_file(), bridge.create_api_key("k")]
    me_first = ok(bridge.me())
    weak = bridge.change_password("admin", "admin")
    wrong_old = bridge.change_password("nao-e-essa", NEW_PASSWORD)
    changed = ok(bridge.change_password("admin", NEW_PASSWORD))
    me_after, listed = ok(bridge.me()), ok(bridge.list_all_clients_info())
    ok(bridge.logout())
    after_logout = bridge.get_pool_stats()
    again = ok(bridge.login("admin", NEW_PASSWORD))

    assert [error(e)["code"] for e in before] == ["unauthorized"] * 4
    assert error(wrong)["code"] == "wrong_credentials"
    assert first == {"username": "admin", "mustChangePassword": True}
    assert [error(e)["code"] for e in blocked] == ["password_change_required"] * 4
    assert me_first == {"kind": "session", "id": "admin", "mustChangePassword": True}
    assert error(weak)["code"] == "invalid_input" and error(weak)["details"] == {"field": "newPassword"}
    assert error(wrong_old)["code"] == "wrong_password"
    assert changed == {"ok": True} and listed == []
    assert me_after == {"kind": "session", "id": "admin", "mustChangePassword": False}
    assert error(after_logout)["code"] == "unauthorized"
    assert again == {"username": "admin", "mustChangePassword": False}
    assert desk.gui.windows == [], "nothing opened while refused"


def test_arguments_are_checked_like_rest_body_fields(desk):
    sign_in(desk)
    missing = desk.bridge.login("admin")
    not_text = desk.bridge.login(123, "x")
    too_many = desk.bridge.get_pool_stats("extra")
    options = desk.bridge.create_client({"clientId": "vendas"})

    assert error(missing) == {"code": "invalid_input", "message": "login takes (username, password)",
                              "details": {"arguments": ["username", "password"]}}
    assert error(not_text)["details"] == {"field": "username"}
    assert error(too_many)["code"] == "invalid_input"
    assert error(options)["details"] == {"field": "clientId"}


# -- the operations on a real number ------------------------------------------------------------------------------

def png_base64() -> str:
    """A small real PNG, in base64."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 128, 0)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_a_number_linked_used_and_removed_through_the_bridge(desk, sim):
    sign_in(desk)
    notes: list[tuple[str, str]] = []
    events = pusher(desk, notes).start()
    main = desk.windows.open_main()
    try:
        info = link(desk, sim)
        stats = ok(desk.bridge.get_pool_stats())
        listed = ok(desk.bridge.list_all_clients_info())
        no_qr = desk.bridge.get_qr("vendas")
        pairing = desk.bridge.request_pairing_code("vendas", "11988887777")
        text = ok(desk.bridge.send_text("vendas", "11988887777", "Olá do desktop"))
        media = ok(desk.bridge.send_media("vendas", "5511988887777",
                                          {"data": png_base64(), "mimetype": "image/png", "filename": "verde.png",
                                           "caption": "uma foto"}))
        wait_until(lambda: all(ok(desk.bridge.list_chats("vendas"))["items"]) and
                   desk.service.get_message(media["id"])["status"] in ("sent", "delivered", "read"), what="sent")
        sim.control.incoming(PHONE, OTHER, "Chegou!", notify_name="Fulana")
        chat = wait_until(lambda: next((c for c in ok(desk.bridge.list_chats("vendas"))["items"]
                                        if c["unreadCount"]), None), what="incoming chat")
        thread = ok(desk.bridge.chat_messages("vendas", chat["chatId"]))
        read = ok(desk.bridge.mark_chat_read("vendas", chat["chatId"]))
        wait_until(lambda: any(e["type"] == "message" for e in main.pushed()), what="message pushed")
    finally:
        events.stop()

    assert info["phoneNumber"] == PHONE
    assert stats["readyClients"] == 1 and stats["currentClients"] == 1
    assert [(c["clientId"], c["status"]) for c in listed] == [("vendas", "ready")]
    assert error(no_qr)["code"] == "no_qr_code" and error(pairing)["code"] == "conflict"
    assert text["status"] in ("queued", "sending", "sent") and text["to"] == "5511988887777"
    assert [(m["type"], m["text"], m["filename"]) for m in sim.control.sent(PHONE)] == [
        ("chat", "Olá do desktop", None), ("image", "uma foto", "verde.png")]
    assert [m["body"] for m in thread["items"]] == ["Chegou!"]
    assert read == {"clientId": "vendas", "chatId": chat["chatId"], "marked": 1}
    assert sim.sim.mail.chats[PHONE][OTHER].unread == 0, "read on the phone too"
    assert ("Nova mensagem — vendas", "Fulana: Chegou!") in notes
    types = [e["type"] for e in main.pushed()]
    assert {"client_added", "qr", "ready", "message", "message_status"} <= set(types)

    disconnected = ok(desk.bridge.disconnect_client("vendas"))
    reconnected = ok(desk.bridge.reconnect_client("vendas"))
    wait_until(lambda: ok(desk.bridge.get_client("vendas"))["status"] == "ready", what="ready again, no scan")
    ok(desk.bridge.disconnect_client("vendas"))
    restored = ok(desk.bridge.restore_persisted_sessions())
    logged_out = ok(desk.bridge.logout_client("vendas"))
    removed = desk.bridge.remove_client("vendas")

    assert disconnected["status"] == "disconnected" and reconnected["status"] in ("authenticated", "ready")
    assert restored == {"restored": 0, "total": 0}, "disconnected on purpose: not restored"
    assert logged_out["status"] == "disconnected" and logged_out["reason"] == "logged_out"
    assert removed == {"result": None} and ok(desk.bridge.list_all_clients_info()) == []


# -- errors: REST's envelopes -------------------------------------------------------------------------------------

def test_refusals_are_the_errors_rest_gives_for_the_same_request(desk, sim):
    sign_in(desk)
    key = ok(desk.bridge.create_api_key("comparar"))["key"]
    rest = desk.rest(key)
    png = {"data": png_base64(), "mimetype": "image/png"}
    cases = [
        (desk.bridge.get_client("fantasma"), rest.call("GET", "/clients/fantasma")),
        (desk.bridge.disconnect_client("fantasma"), rest.call("POST", "/clients/fantasma/disconnect")),
        (desk.bridge.reconnect_client("fantasma"), rest.call("POST", "/clients/fantasma/reconnect")),
        (desk.bridge.logout_client("fantasma"), rest.call("POST", "/clients/fantasma/logout")),
        (desk.bridge.remove_client("fantasma"), rest.call("DELETE", "/clients/fantasma")),
        (desk.bridge.get_qr("fantasma"), rest.call("GET", "/clients/fantasma/qr", headers={"Accept": "application/json"})),
        (desk.bridge.create_client("../x"), rest.call("POST", "/clients", {"clientId": "../x"})),
        (desk.bridge.create_client(5), rest.call("POST", "/clients", {"clientId": 5})),
        (desk.bridge.create_client(None, ["x"]), rest.call("POST", "/clients", {"name": ["x"]})),
        (desk.bridge.request_pairing_code("fantasma", "11988887777"),
         rest.call("POST", "/clients/fantasma/pairing-code", {"phoneNumber": "11988887777"})),
        (desk.bridge.request_pairing_code("fantasma", "abc"),
         rest.call("POST", "/clients/fantasma/pairing-code", {"phoneNumber": "abc"})),
        (desk.bridge.send_text("fantasma", "11988887777", "oi"),
         rest.call("POST", "/clients/fantasma/messages", {"to": "11988887777", "text": "oi"})),
        (desk.bridge.send_text("fantasma", "11988887777", 5),
         rest.call("POST", "/clients/fantasma/messages", {"to": "11988887777", "text": 5})),
        (desk.bridge.send_text("fantasma", None, "oi"), rest.call("POST", "/clients/fantasma/messages", {"text": "oi"})),
        (desk.bridge.send_media("fantasma", "11988887777", {**png, "data": 5}),
         rest.call("POST", "/clients/fantasma/messages", {"to": "11988887777", "media": {**png, "data": 5}})),
        (desk.bridge.send_media("fantasma", "11988887777", png),
         rest.call("POST", "/clients/fantasma/messages", {"to": "11988887777", "media": png})),
        (desk.bridge.list_chats("fantasma"), rest.call("GET", "/clients/fantasma/chats")),
        (desk.bridge.list_chats("fantasma", None, 0), rest.call("GET", "/clients/fantasma/chats?limit=0")),
        (desk.bridge.chat_messages("fantasma", f"{OTHER}@c.us"),
         rest.call("GET", f"/clients/fantasma/chats/{OTHER}@c.us/messages")),
        (desk.bridge.mark_chat_read("fantasma", f"{OTHER}@c.us"),
         rest.call("POST", f"/clients/fantasma/chats/{OTHER}@c.us/read")),
        (desk.bridge.set_preferences({"language": "xx"}), rest.call("PUT", "/preferences", {"language": "xx"})),
        (desk.bridge.set_preferences("en"), rest.call("PUT", "/preferences", raw=b'"en"')),
        (desk.bridge.create_api_key(""), rest.call("POST", "/auth/keys", {"name": ""})),
        (desk.bridge.revoke_api_key("nenhuma"), rest.call("DELETE", "/auth/keys/nenhuma")),
        (desk.bridge.change_password("errada", "Outra-senha-456"),
         rest.call("POST", "/auth/password", {"oldPassword": "errada", "newPassword": "Outra-senha-456"})),
    ]

    for number, (bridged, reply) in enumerate(cases):
        assert reply.status >= 400, (number, reply.body)
        rest_error, bridge_error = reply.json["error"], error(bridged)
        assert (bridge_error["code"], bridge_error["details"]) == (rest_error["code"], rest_error["details"]), \
            (number, bridged, reply.json)
    assert error(desk.bridge.open_qr_window("fantasma"))["code"] == "not_found"
    assert error(desk.bridge.open_chat_window("fantasma"))["code"] == "not_found"
    assert desk.gui.windows == []


def test_api_keys_and_preferences_through_the_bridge(desk):
    sign_in(desk)
    created = ok(desk.bridge.create_api_key("integração"))
    listed = ok(desk.bridge.list_api_keys())
    revoked = ok(desk.bridge.revoke_api_key(created["id"]))
    prefs = ok(desk.bridge.set_preferences({"language": "en", "cardOrder": ["b", "a", "b"]}))

    assert created["key"].startswith("zp_") and desk.auth.verify_api_key(created["key"]) is None
    assert [(k["id"], k["name"], k["active"]) for k in listed] == [(created["id"], "integração", True)]
    assert revoked["active"] is False
    assert prefs == {"language": "en", "notifications": True, "cardOrder": ["b", "a"]}
    assert ok(desk.bridge.get_preferences()) == prefs


def test_an_unexpected_failure_is_internal_and_logged_never_a_trace(desk, monkeypatch, caplog):
    sign_in(desk)

    def broken() -> None:
        raise RuntimeError("segredo interno /caminho/arquivo.py")

    monkeypatch.setattr(desk.service, "get_pool_stats", broken)
    with caplog.at_level(logging.ERROR, logger="backend.desktop.bridge"):
        answer = desk.bridge.get_pool_stats()

    assert answer == {"error": {"code": "internal", "message": "Internal error: see ZapPool's log for details",
                                "details": {}}}
    assert "get_pool_stats" in caplog.text and "segredo interno" in caplog.text, "the trace goes to the log"


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
                                                                           "limit": MAX_MEDIA_BYTES}
    assert gone["code"] == "invalid_media" and gone["details"] == {"filename": "sumiu.pdf"}
    assert desk.gui.dialogs == [(FakeWebview.FileDialog.OPEN, False)] * 4


def test_the_pages_allow_eval_only_in_the_desktop_windows(desk):
    browser = desk.rest(None).call("GET", "/", key=None)
    window = desk.rest(None).call("GET", "/", key=None, headers={"User-Agent": DESKTOP_USER_AGENT})

    assert "'unsafe-eval'" not in browser.headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-eval';" in window.headers["Content-Security-Policy"]
    assert window.headers["Content-Security-Policy"].replace(" 'unsafe-eval'", "") == \
        browser.headers["Content-Security-Policy"], "nothing else relaxed"


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
                         notifier=lambda title, text: notes.append((title, text))).start()
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
    events = EventPusher(bus, desk.windows, allowed=signed_in, notifications_on=lambda: False).start()
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
