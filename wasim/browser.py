"""Playwright helpers for tests that drive the simulator's page directly (sync API)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page

from .control import SimError
from .server import SimServer

# A normal desktop Chrome: WhatsApp Web (and the simulator) refuse "HeadlessChrome".
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
EVENTS = ["conn.auth_code_change", "conn.qrcode_idle", "conn.require_auth", "conn.authenticated",
          "conn.main_loaded", "conn.main_ready", "conn.logout", "conn.logout_reason", "conn.online",
          "chat.new_message", "chat.msg_ack_change", "chat.unread_count_changed"]
# Forwards every WPP event to Python as plain JSON (Wids become strings through their toJSON).
HOOK = """(() => {
  const names = %s;
  document.addEventListener('DOMContentLoaded', () => {
    if (!window.WPP) return;
    for (const n of names) {
      WPP.on(n, (x) => window.__simEvent(n, x === undefined ? null : JSON.parse(JSON.stringify(x))));
    }
  });
})();""" % json.dumps(EVENTS)


class Tab:
    """One simulator tab with every WPP event recorded in order (the recording survives reloads)."""

    def __init__(self, page: Page, url: str):
        self.page, self.url = page, url
        self.events: list[tuple[str, Any]] = []
        page.expose_binding("__simEvent", lambda _src, name, payload: self.events.append((name, payload)))
        page.add_init_script(HOOK)

    def open(self) -> "Tab":
        """Load the page and wait for WPP.isReady."""
        self.page.goto(self.url)
        self.page.wait_for_function("window.WPP && WPP.isReady === true")
        return self

    def js(self, script: str, arg: Any = None) -> Any:
        """page.evaluate."""
        return self.page.evaluate(script, arg)

    def names(self) -> list[str]:
        """Event names so far."""
        return [name for name, _ in self.events]

    def payloads(self, name: str) -> list[Any]:
        """Payloads of one event, oldest first."""
        return [payload for n, payload in self.events if n == name]

    def wait_event(self, name: str, where: Callable[[Any], Any] = lambda _p: True, timeout: float = 5,
                   after: int = 0) -> Any:
        """The first event `name` (from index `after`) whose payload satisfies `where`."""
        deadline = time.monotonic() + timeout
        while True:
            for n, payload in self.events[after:]:
                if n == name and where(payload):
                    return payload
            if time.monotonic() > deadline:
                raise AssertionError(f"no {name} event; got {self.names()}")
            self.page.wait_for_timeout(20)  # sync Playwright delivers binding calls only while it runs

    def current_code(self) -> str:
        """The fullCode on screen, waiting for the first one."""
        self.wait_event("conn.auth_code_change", lambda p: p)
        return self.js("WPP.conn.getAuthCode().then(c => c && c.fullCode)")

    def link(self, sim: SimServer, phone: str, timeout: float = 15) -> None:
        """Scan the code on screen as `phone` and wait for conn.main_ready. As a person would: a code that
        rotated between reading and scanning is refused, so scan the new one; if the codes ran out, ask for
        more (under load, the short-lived codes of the fast simulator tests can all go by in a second)."""
        self.wait_event("conn.auth_code_change", lambda p: p)
        deadline = time.monotonic() + timeout
        while True:
            code = self.js("WPP.conn.getAuthCode().then(c => c && c.fullCode)")
            try:
                if code:
                    sim.control.scan(code, phone)
                    break
                self.js("WPP.conn.refreshQR()")
            except SimError as exc:
                if exc.status != 404 or time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                raise AssertionError("no QR code could be scanned in time")
            self.page.wait_for_timeout(20)
        self.wait_event("conn.main_ready")

    def rejection(self, script: str, arg: Any = None) -> dict[str, Any]:
        """Run a promise expected to reject; its {code, message}."""
        out = self.js(f"async (arg) => {{ try {{ await ({script})(arg); return null; }} "
                      "catch (e) { return {code: e.code, message: e.message}; } }", arg)
        assert out is not None, f"{script} did not reject"
        return out


def data_url(mime: str, data: bytes) -> str:
    """A base64 data URL, the content WPP.chat.sendFileMessage takes."""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"
