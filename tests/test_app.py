"""app.py as a user runs it: a real process, Ctrl+C from the terminal, and a restart that restores."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import wait_until

pytestmark = pytest.mark.process  # app.py in a process of its own
ROOT = Path(__file__).resolve().parents[1]


def start_app(data: Path, url: str) -> subprocess.Popen:
    """Run app.py in its own session, as a terminal runs a foreground job (Ctrl+C hits the whole group)."""
    return subprocess.Popen(
        [sys.executable, "app.py", "--data", str(data), "--whatsapp-url", url, "--client-id", "loja", "--port", "0"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


class Output:
    """Collects a process's output lines in the background, so a test can wait for one."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=lambda: self.lines.extend(proc.stdout), daemon=True)
        self._thread.start()

    def wait_for(self, prefix: str, timeout: float = 30) -> str:
        """The first line starting with `prefix`."""
        return wait_until(lambda: next((ln for ln in list(self.lines) if ln.startswith(prefix)), None),
                          timeout=timeout, what=prefix)

    def text(self) -> str:
        """Everything printed so far (all of it once the process ended)."""
        self._thread.join(30)
        return "".join(self.lines)


def finish(proc: subprocess.Popen, output: Output, sig: int, *, group: bool) -> tuple[int, str, float]:
    """Send `sig` (to the whole process group, like a terminal, or to the process) and wait for the exit."""
    started = time.monotonic()
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    proc.wait(timeout=30)
    return proc.returncode, output.text(), time.monotonic() - started


def saved_statuses(data: Path) -> list[str]:
    """Statuses in the sessions file ([] while it does not exist yet)."""
    path = data / "whatsapp-sessions.json"
    return [s["status"] for s in json.loads(path.read_text())["sessions"]] if path.exists() else []


def chromium_left(data: Path) -> str:
    """Command lines of Chromium processes still running on this data folder."""
    return subprocess.run(["pgrep", "-af", f"user-data-dir={data}"], capture_output=True, text=True).stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_signal_stops_cleanly_and_a_restart_restores_without_a_scan(sim, tmp_path, sig):
    data = tmp_path / "dados"
    first = start_app(data, sim.url)
    output = Output(first)
    try:
        api = output.wait_for("API REST:").split()[2]
        with urllib.request.urlopen(api + "/health", timeout=10) as reply:
            assert json.load(reply)["status"] == "ok"
        state = sim.control.wait_for(lambda s: s["sessions"] and s["sessions"][0]["qr"], timeout=30)
        first_session = state["sessions"][0]["id"]
        sim.control.scan(state["sessions"][0]["qr"], "5511999990001")
        wait_until(lambda: saved_statuses(data) == ["ready"], timeout=20, what="ready saved")
    finally:
        code, out, took = finish(first, output, sig, group=True)

    assert code == 0, out
    assert took < 10, f"stopped in {took:.1f} s"
    assert "browser_closed" not in out, "ZapPool closed the browsers itself, in order"
    assert chromium_left(data) == ""
    saved = json.loads((data / "whatsapp-sessions.json").read_text())["sessions"]
    assert [(s["clientId"], s["status"], s["phoneNumber"]) for s in saved] == [("loja", "ready", "5511999990001")]

    again = start_app(data, sim.url)
    output = Output(again)
    try:
        sim.control.wait_for(lambda s: any(x["status"] == "ready" and x["id"] != first_session
                                           for x in s["sessions"]), timeout=30)
    finally:
        code, out, _ = finish(again, output, signal.SIGTERM, group=False)
    assert "1/1 sessões restauradas" in out
    assert "Escaneie" not in out, "no QR code: the login came back from the profile"
    assert code == 0 and chromium_left(data) == ""
