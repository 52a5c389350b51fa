"""What the UI tests and tests/screenshots.py share: ZapPool run as a person runs it (app.py in its own
process), the browser the project drives, logging in, and reading a QR code off the screen."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import zxingcpp
from PIL import Image
from playwright.sync_api import Locator, Page

from bench.ui_app import first_login as bench_first_login
from bench.ui_app import launch_browser  # noqa: F401 - the tests' browser is the benchmarks' one
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "loja-da-maria-2024"
PHONE = "5511999990001"  # the phone that scans the first number's QR code
PHONE2 = "5511977776666"  # the phone that links with a pairing code
CONTACT = "5511988887777"  # someone who writes to the first number
# The simulated phone's timings: a first QR code that lives long enough to be read off the screen and scanned
# on a loaded machine, and quick acks so the ticks go to "read" in a blink.
SIM_TIMINGS = {"first_qr_ms": 30000, "qr_ms": 20000, "max_qrs": 6, "ack_delivered_ms": 100, "ack_read_ms": 200,
               "load_ms": 20, "main_ready_on_qr": True, "require_create_chat": True}


class AppProcess:
    """`python app.py --headless` on a data folder and a WhatsApp Web address; stopped with SIGTERM."""

    def __init__(self, data: Path, whatsapp_url: str):
        self.data = data
        self.whatsapp_url = whatsapp_url
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []
        self.url = ""
        self.owner_link = ""  # the login page with the owner's token, as the terminal shows it

    def start(self, *extra: str) -> AppProcess:
        """Start it and wait for the line that gives the app's address."""
        self.lines = []
        self.proc = subprocess.Popen(
            [sys.executable, "app.py", "--headless", "--port", "0", "--data", str(self.data),
             "--whatsapp-url", self.whatsapp_url, "--log-level", "info", *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()
        line = wait_until(lambda: next((ln for ln in list(self.lines) if ln.startswith("Interface: ")), None),
                          timeout=60, what="the app's address")
        self.url = re.match(r"Interface: (\S+?)/?\s", line).group(1)
        self.owner_link = re.search(r"(http\S+#owner=[\w-]+)", line).group(1)
        return self

    def output(self) -> str:
        """Everything printed so far."""
        return "".join(self.lines)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=10)


def log_in(page: Page, url: str, password: str) -> None:
    """Log in from the login page with a password that needs no change; ends on the main screen."""
    page.goto(url + "/")
    page.locator("#username").fill("admin")
    page.locator("#password").fill(password)
    page.locator("#login-submit").click()
    page.wait_for_url("**/ui/main.html")
    page.locator("#main:not([data-boot])").wait_for()


def first_login(page: Page, owner_link: str, password: str) -> None:
    """First run, from the link the terminal shows (AppProcess.owner_link): admin/admin, then the new password
    (bench.ui_app's steps, which the benchmarks share); ends on the main screen, booted."""
    bench_first_login(page, owner_link, password)
    page.locator("#main:not([data-boot])").wait_for()


def read_qr(image: Locator) -> str | None:
    """The text of the QR code an <img> shows, read from a screenshot of it (None if none can be read)."""
    shot = Image.open(io.BytesIO(image.screenshot()))
    found = zxingcpp.read_barcodes(shot, formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else None
