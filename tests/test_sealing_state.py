"""The settings' "Sealed data" lines (issue 19): GET /sealing (and the desktop bridge's sealing_state) say whether
the data folder is sealed, opened how, and why not when it is not (no keyring on this system, or never turned
on), with the command that seals it; the main screen shows it in words, in both languages. Real app.py
processes, real files, real Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from backend.auth.service import AuthService
from backend.sealing import KeyFile
from backend.store.atomic import write_atomic
from backend.store.messages import MessageStore
from backend.store.sqlite_engine import is_clear
from tests.api_support import FAST_SCRYPT, Api
from tests.ui_support import AppProcess, launch_browser, log_in

PASSWORD = "senha-da-loja-1"


def test_a_key_file_says_how_it_opens_and_when_a_conversion_is_half_done(tmp_path: Path):
    keys = KeyFile(tmp_path, write_atomic)
    assert keys.describe() == {"sealed": False, "keyring": False, "passphrase": False, "unfinished": False}
    keys.create("frase-senha comprida", use_keyring=False)
    assert KeyFile(tmp_path, write_atomic).describe() == {"sealed": True, "keyring": False, "passphrase": True,
                                                          "unfinished": False}
    keys.mark_converting(True)
    assert KeyFile(tmp_path, write_atomic).describe()["unfinished"] is True


@pytest.fixture
def start_app(tmp_path: Path, sim, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Starts app.py on a new folder with a password and an API key (sealed with a passphrase when asked)."""
    started: list[AppProcess] = []

    def start(name: str, *extra: str) -> tuple[AppProcess, Api]:
        data = tmp_path / name / "dados"
        auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
        auth.reset_password(PASSWORD)
        _, key = auth.create_api_key("testes")
        if "--seal" in extra:
            monkeypatch.setenv("ZAPOOL_PASSPHRASE", "frase-senha comprida")
        app = AppProcess(data, sim.url).start("--no-restore", *extra)
        started.append(app)
        return app, Api(app.url, key)

    yield start
    for app in started:
        app.stop()


def settings_text(url: str) -> tuple[str, str | None]:
    """The sealing line and the command shown on the main screen (None when hidden)."""
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_page()
            log_in(page, url, PASSWORD)
            page.locator("#sealing-state:not(:empty)").wait_for()
            command = page.locator("#sealing-command")
            return page.locator("#sealing-state").inner_text(), (
                page.locator("#sealing-command-text").inner_text() if command.is_visible() else None)
        finally:
            browser.close()


def test_a_plain_folder_says_it_is_not_sealed_why_and_the_command_that_seals_it(start_app):
    app, api = start_app("plain")
    state = api.call("GET", "/sealing")
    assert state.status == 200 and state.json["sealed"] is False
    assert state.json["command"] == f"app.py seal --data {app.data} convert"
    text, command = settings_text(app.url)
    assert text.startswith("Não selados") and command == state.json["command"]
    if not state.json["keyringAvailable"]:  # this machine, CI: no Secret Service
        assert "não tem chaveiro" in text and "frase-senha" in text


def test_a_sealed_folder_says_what_opens_it_in_english_and_no_command(start_app):
    app, api = start_app("sealed", "--seal")
    state = api.call("GET", "/sealing").json
    assert (state["sealed"], state["passphrase"], state["unfinished"]) == (True, True, False)
    assert api.call("PUT", "/preferences", {"language": "en"}).status == 200
    text, command = settings_text(app.url)
    assert text.startswith("Sealed:") and "passphrase" in text and command is None


TEXT = "Pedido 7781 selado a pedido"


def test_sealing_asked_in_the_settings_happens_at_the_next_start_and_nothing_is_lost(tmp_path, sim, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")  # stands in for the OS's
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "keyring"))
    monkeypatch.delenv("ZAPOOL_PASSPHRASE", raising=False)
    data = tmp_path / "asked" / "dados"
    auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
    auth.reset_password(PASSWORD)
    _, key = auth.create_api_key("testes")
    store = MessageStore(data / "messages.db")
    store.add_incoming([("loja", "a" * 32, {"id": "false_1", "from": "5521955554444@c.us", "type": "chat",
                                             "body": TEXT, "t": int(time.time())})])
    store.close()

    app = AppProcess(data, sim.url).start("--no-restore")
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            page = browser.new_page()
            log_in(page, app.url, PASSWORD)
            page.locator("#sealing-request:visible").click()
            page.get_by_text("Serão selados na próxima vez").wait_for()
            assert page.locator("#sealing-request").inner_text() == "Cancelar a selagem"
            browser.close()
        assert Api(app.url, key).call("GET", "/sealing").json["sealAtNextStart"] is True
    finally:
        assert app.stop() == 0
    assert is_clear(data / "messages.db")  # nothing converted under a running ZapPool

    again = AppProcess(data, sim.url).start("--no-restore")
    try:
        api = Api(again.url, key)
        state = api.call("GET", "/sealing").json
        assert (state["sealed"], state["keyring"], state["sealAtNextStart"]) == (True, True, False)
        assert not is_clear(data / "messages.db") and TEXT.encode() not in (data / "messages.db").read_bytes()
        listed = api.call("GET", "/messages?clientId=loja").json["items"]
        assert [m["body"] for m in listed] == [TEXT]
    finally:
        again.stop()


def test_without_a_keyring_the_settings_cannot_ask_for_sealing(start_app, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    _, api = start_app("no-keyring")
    refused = api.call("PUT", "/sealing", {"sealAtNextStart": True})
    assert refused.status == 409 and refused.json["error"]["code"] == "keyring_unavailable"
    assert api.call("PUT", "/sealing", {"sealAtNextStart": "sim"}).status == 422
    assert api.call("GET", "/sealing").json["sealAtNextStart"] is False
