"""ZapPool as a person runs it, for the window benchmarks: `app.py --headless` in its own process on a
simulator, its first login in a browser page, and a number linked through the REST API (bench/ may not import
tests/; tests/test_ui_contacts.py uses the linking from here)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Playwright

from backend.engine.browser import CHROMIUM_ARGS, discover_browser
from wasim import SimServer

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "loja-da-maria-2024"


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """The first truthy answer of `check`, polled; TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(what)


@contextmanager
def running_app(data: Path, whatsapp_url: str, *extra: str, root: Path = ROOT) -> Iterator[tuple[str, str]]:
    """app.py --headless on a free port (with `extra` arguments, e.g. pacing off; from the checkout `root`):
    yields (its address, the owner link of its first login)."""
    proc = subprocess.Popen([sys.executable, "app.py", "--headless", "--port", "0", "--data", str(data),
                             "--whatsapp-url", whatsapp_url, "--log-level", "warning", *extra], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        line = wait_for(lambda: next((ln for ln in list(lines) if ln.startswith("Interface: ")), None), 60,
                        "the app's address")
        yield re.match(r"Interface: (\S+?)/?\s", line).group(1), re.search(r"(http\S+#owner=[\w-]+)", line).group(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def launch_browser(playwright: Playwright) -> Browser:
    """The browser ZapPool itself would drive, headless, with the project's flags."""
    return playwright.chromium.launch(args=["--no-sandbox", *CHROMIUM_ARGS],
                                      **discover_browser(None, None, None).launch_options())


def first_login(page: Page, owner_link: str, password: str = PASSWORD) -> None:
    """admin/admin from the owner link, then the new password; ends on the main screen."""
    page.goto(owner_link)
    page.locator("#username").fill("admin")
    page.locator("#password").fill("admin")
    page.locator("#login-submit").click()
    page.locator("#new-password").fill(password)
    page.locator("#confirm-password").fill(password)
    page.locator("#password-submit").click()
    page.wait_for_url("**/ui/main.html")


def call(page: Page, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """The REST API from a logged-in page: {status, body}."""
    return page.evaluate("""async ([method, path, body]) => {
        const init = {method, headers: {'Content-Type': 'application/json', Accept: 'application/json'}};
        if (body !== null) init.body = JSON.stringify(body);
        const r = await fetch(path, init);
        return {status: r.status, body: r.status === 204 ? null : await r.json()};
    }""", [method, path, body])


def link_vendas(page: Page, sim: SimServer, phone: str) -> None:
    """Add the number `vendas` through the API and scan its QR code with the simulated phone `phone`."""
    assert call(page, "POST", "/clients", {"clientId": "vendas", "name": "Vendas"})["status"] == 201
    code = wait_for(lambda: (call(page, "GET", "/clients/vendas/qr")["body"] or {}).get("code"), 30, "the QR code")
    sim.control.scan(code, phone)
    wait_for(lambda: call(page, "GET", "/clients/vendas")["body"]["status"] == "ready", 30, "the number ready")
