"""Test support for the desktop: pywebview's stand-in, the desktop under test over a real pool, small helpers.

Only pywebview itself is a stand-in (FakeWebview: windows that record the scripts, URLs and dialogs they get):
the service, auth, event bus, pool, browsers and WhatsApp (the simulator) are real. The REST server runs over
the same service, so a test can compare the bridge's answer with REST's.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PIL import Image

from backend.assembly import build_service, stop_around_pool
from backend.api import create_app
from backend.api.server import ApiServer
from backend.auth.service import AuthService
from backend.config import Settings
from backend.desktop import Bridge, DesktopSession, EventPusher, WindowManager
from backend.service import ZapPoolService
from backend.whatsapp.pool import WhatsAppPool
from tests.api_support import FAST_SCRYPT, PHONE, Api
from tests.conftest import link_number, running_pool

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

    def create_file_dialog(self, dialog_type: int, allow_multiple: bool = False,
                           save_filename: str = "") -> tuple[str, ...] | None:
        self.gui.dialogs.append((dialog_type, allow_multiple) if not save_filename else (dialog_type, save_filename))
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
        SAVE = 30  # pywebview's values

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
    pool = running_pool(Settings(**{**settings.__dict__, "send_interval_s": 0, "send_jitter_s": 0}), runtime)
    auth = AuthService.in_folder(settings.data_dir, scrypt=FAST_SCRYPT)
    service = build_service(pool, auth)
    gui = FakeWebview()
    windows = WindowManager("http://127.0.0.1:9", webview=gui)
    session = DesktopSession(auth)
    bridge = Bridge(service, session, windows)
    windows.js_api = bridge
    server = ApiServer(create_app(service, auth), auth, port=0).start()
    yield Desk(pool, service, auth, session, windows, bridge, gui, server)
    server.stop()
    stop_around_pool(service, pool)
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
    """conftest.connect through the window's bridge: create the number, scan its QR code, wait until ready."""
    return link_number(sim, PHONE, client_id, start=lambda: ok(desk.bridge.create_client(client_id)),
                       code=lambda: ok(desk.bridge.get_qr(client_id))["code"],
                       info=lambda: ok(desk.bridge.get_client(client_id)), timeout=20)


def pusher(desk: Desk, notes: list[tuple[str, str]], **options: Any) -> EventPusher:
    """The event pusher as the app wires it, notifications recorded in `notes`."""
    return EventPusher(desk.service.bus, desk.windows, allowed=desk.session.active,
                       notifications_on=lambda: desk.service.get_preferences()["notifications"],
                       notifier=lambda title, text, _on_click: notes.append((title, text)), **options)


def png_base64() -> str:
    """A small real PNG, in base64."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 128, 0)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()
