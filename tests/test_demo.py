"""Demo mode (`app.py --simulator`) keeps ZapPool's main promise: numbers linked once stay linked across restarts.

The simulator keeps its devices and messages in <data>/simulator/ and its address (a browser profile's login
belongs to one origin), so a restart brings the numbers back without a new QR code.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

import app
from backend.config import Settings
from tests.conftest import wait_until
from tests.test_app import Output, chromium_left, finish
from wasim import SimControl, SimError, SimServer, saved_port
from wasim.browser import ARGS, UA, Tab

ROOT = Path(__file__).resolve().parents[1]
PHONE = "5511999990001"
PEER = "5511988887777"
FAST = {"first_qr_ms": 4000, "qr_ms": 2000, "max_qrs": 6, "load_ms": 20, "main_ready_on_qr": False}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, as in test_wasim."""
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        yield chromium
        chromium.close()


def test_a_linked_profile_stays_linked_when_the_simulator_restarts_on_its_state(browser: Browser, tmp_path: Path):
    state = tmp_path / "simulator"
    context = browser.new_context(user_agent=UA)  # one browser profile for both runs, as ZapPool keeps one
    try:
        with SimServer(state_dir=state, **FAST) as first:
            tab = Tab(context.new_page(), first.url).open()
            tab.link(first, PHONE)
            device = first.control.state()["devices"]
            tab.page.close()
            first.control.wait_for(lambda s: not s["sessions"], timeout=5)
            assert first.control.incoming(PHONE, PEER, "enquanto desligado")["delivered"] is False

        with SimServer(port=saved_port(state), state_dir=state, **FAST) as second:
            assert second.url == first.url, "the same origin, or the profile's login would not be found"
            assert second.control.state()["devices"] == device
            tab = Tab(context.new_page(), second.url).open()
            tab.wait_event("conn.main_ready")
            assert tab.js("WPP.conn.isAuthenticated()") is True
            assert "conn.auth_code_change" not in tab.names(), "no QR code: the login resumed"
            assert tab.js("WPP.conn.getMyUserId()._serialized") == f"{PHONE}@c.us"
            msg = tab.wait_event("chat.new_message", lambda m: m["body"] == "enquanto desligado")
            assert msg["from"] == f"{PEER}@c.us", "a message held before the restart arrives after it"
    finally:
        context.close()


def test_the_demo_keeps_its_port_and_falls_back_to_a_free_one_saying_why(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]):
    settings = Settings(data_dir=tmp_path / "dados")
    simulator = app.start_simulator(settings)
    home = simulator.port
    simulator.stop()
    assert saved_port(settings.data_dir / "simulator") == home

    with socket.socket() as squatter:  # another program took the demo's port meanwhile
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the simulator's closed sockets may linger
        squatter.bind(("127.0.0.1", home))
        squatter.listen()
        capsys.readouterr()
        simulator = app.start_simulator(settings)
        simulator.stop()
    said = capsys.readouterr().out
    assert simulator.port != home and settings.whatsapp_url == simulator.url
    assert f"porta {home} está ocupada" in said and "novo QR code" in said

    simulator = app.start_simulator(settings)  # the port is free again: back to the address the profiles know
    simulator.stop()
    assert simulator.port == home


def start_demo(data: Path, *extra: str) -> tuple[subprocess.Popen, Output]:
    """`app.py --simulator --headless` as a person runs the demo, in its own session like a terminal job."""
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--simulator", "--headless", "--data", str(data), "--port", "0", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    return proc, Output(proc)


def simulator_url(output: Output) -> str:
    """The simulator's address from the line the demo prints."""
    return output.wait_for("Simulador do WhatsApp Web:", timeout=60).split()[4]


@pytest.mark.process
@pytest.mark.browser
def test_the_demo_brings_a_linked_number_back_after_a_restart_without_a_new_qr(tmp_path: Path):
    data = tmp_path / "dados"
    first, output = start_demo(data, "--client-id", "loja")
    try:
        url = simulator_url(output)
        phone = SimControl(url)
        state = phone.wait_for(lambda s: any(x["qr"] for x in s["sessions"]), timeout=60)
        phone.scan(next(x["qr"] for x in state["sessions"] if x["qr"]), PHONE)
        output.wait_for(f"[loja] Conectado ✓ Telefone: {PHONE}", timeout=30)
    finally:
        code, out, _ = finish(first, output, signal.SIGTERM, group=False)
    assert code == 0, out
    assert chromium_left(data) == ""

    again, output = start_demo(data)  # the same demo, no number named: restoring alone must bring it back
    try:
        assert simulator_url(output) == url, "the simulator kept its address"
        output.wait_for(f"[loja] Conectado ✓ Telefone: {PHONE}", timeout=60)
        wait_until(lambda: any(x["status"] == "ready" for x in SimControl(url).state()["sessions"]),
                   timeout=10, what="the simulated phone sees the number online")
    finally:
        code, out, _ = finish(again, output, signal.SIGTERM, group=False)
    assert "Escaneie" not in out, "no QR code: the login came back from the profile and the simulator's state"
    assert code == 0, out
    assert chromium_left(data) == ""


def test_groups_outlive_a_simulator_restart_on_its_state(tmp_path: Path):
    """WhatsApp keeps groups on its servers: the demo's groups (members, admins, subject, messages, unread counts)
    are there again after the simulator restarts on its state folder; a state file with a broken group starts
    empty rather than failing."""
    state = tmp_path / "simulator"
    ana, beto = "5511977770002", "5511977770003"
    with SimServer(state_dir=state, **FAST) as first:
        gid = first.control.group(ana, "create", subject="Família", participants=[PHONE, beto])["gid"]
        first.control.group(ana, "promote", groupId=gid, participants=[beto])
        first.control.group(beto, "send", groupId=gid, text="oi @all", notifyName="Beto")
        before = first.control.group_info(gid)

    with SimServer(port=saved_port(state), state_dir=state, **FAST) as second:
        after = second.control.group_info(gid)
        assert after == before
        second.control.group(ana, "subject", groupId=gid, value="Família Silva")  # and it still acts
        assert second.control.group_info(gid)["subject"] == "Família Silva"

    saved = json.loads((state / "state.json").read_text(encoding="utf-8"))
    saved["groups"][0].pop("subject")
    (state / "state.json").write_text(json.dumps(saved), encoding="utf-8")
    with SimServer(port=saved_port(state), state_dir=state, **FAST) as third, pytest.raises(SimError):
        third.control.group_info(gid)  # started empty, with a warning in the log (SimServer._load)
