"""Issue 14, the holes on the user's own machine: what a WhatsApp contact's message can do to the terminal, the
log and the notifications, who else on the machine can read the data folder, Chromium's sandbox, and where the
desktop windows may go. Each test sends the attack against the real piece (the real log files, a notification
service on a real D-Bus bus, the real data folder on disk, a real Chromium) and fails on the code before the fix.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
from pathlib import Path

import pytest

import app
from backend.desktop.notify import DesktopNotifications
from backend.events.hub import ClientEvent
from backend.host import logs
from tests.notification_server import NotificationServer

# An incoming message as a hostile contact writes it: retitle the terminal (OSC 0), clear the screen, a forged
# log line after a newline, a carriage return that hides the start of the line, right-to-left override.
HOSTILE = "oi\x1b]0;PWNED\x07\x1b[2J\n2026-01-01 00:00:00 INFO zapool: [API] admin logado\r\u202eolleh\x9b"
CONTROLS = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


# -- finding 10: control characters never reach the terminal or the log ----------------------------------------

def test_an_incoming_message_cannot_drive_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    app.show(ClientEvent("vendas\x1b[31m", "message", {"message": {"from": "5511\x1b]0;x\x07@c.us", "type": "chat",
                                                                    "body": HOSTILE}}))
    app.show(ClientEvent("vendas", "disconnected", {"reason": "x\x1b[2Jy"}))
    out = capsys.readouterr().out
    assert not any(c in out for c in CONTROLS), out
    assert out.count("\n") == 2, "one line per event: a newline in a message cannot start a line of its own"
    assert "oi\\x1b]0;PWNED\\x07" in out and "\\u202eolleh" in out, "the text is still there, escaped, not lost"


def test_an_incoming_message_cannot_forge_or_corrupt_log_lines(tmp_path: Path, restore_root: None,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = logs.setup_logging(tmp_path, "info")
    logging.getLogger("zapool.test").info("[Mensagem] de %s: %s", "Ana\x1b[2J", HOSTILE)
    try:
        raise ValueError(HOSTILE)
    except ValueError:
        logging.getLogger("zapool.test").exception("[Mensagem] falhou: %s", "x\ry")
    for handler in logging.getLogger().handlers:
        handler.flush()
    for text in (path.read_text(encoding="utf-8"), capsys.readouterr().err):
        assert not any(c in text for c in CONTROLS), text
        assert "INFO zapool: [API] admin logado" not in text.replace("\\n2026", "").split("\n")[1:], \
            "the forged line is not a line of its own"
        lines = [line for line in text.splitlines() if line[:4].isdigit()]
        assert len(lines) == 2, text  # the two records, each one line; the traceback follows the second


# -- finding 11: markup from messages never reaches the notification service -------------------------------------

@pytest.mark.skipif(not sys.platform.startswith("linux") or not NotificationServer.available(),
                    reason="Linux's notification service, over a private D-Bus bus")
def test_markup_in_a_message_is_shown_as_text_in_the_notification(monkeypatch: pytest.MonkeyPatch) -> None:
    body = 'Ana: <b>PIX</b> <a href="https://evil.example/">clique</a> <img src="file:///etc/passwd"> & \x1b]0;x\x07'
    with NotificationServer() as desktop:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", desktop.address)
        notifications = DesktopNotifications()
        try:
            assert notifications("Nova mensagem — vendas\x1b[2J", body)
            (shown,) = desktop.shown()
        finally:
            notifications.stop()

    assert "<" not in shown.body and ">" not in shown.body, shown
    assert shown.body.startswith("Ana: &lt;b&gt;PIX&lt;/b&gt; &lt;a href=") and "&amp;" in shown.body
    assert not any(c in shown.title + shown.body for c in CONTROLS), shown
    assert shown.app_name == "ZapPool"


# -- finding 4: the data folder is its owner's alone, whatever the umask ---------------------------------------

def loose_entries(data: Path) -> list[str]:
    """Every file or folder under `data` (and `data` itself) that its group or others may read or enter."""
    found = [data] + sorted(data.rglob("*"))
    return [f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p.relative_to(data.parent)}" for p in found
            if not p.is_symlink() and (p.is_file() or p.is_dir()) and p.lstat().st_mode & 0o077]


def an_older_install(data: Path) -> None:
    """A data folder as ZapPool left it before the fix, under umask 022: 0755 folders, 0644 files."""
    for folder in ("media", "logs", "sessions/vendas/Default"):
        (data / folder).mkdir(parents=True)
    for name in ("media/3f2a", "logs/zapool.log", "sessions/vendas/Default/Cookies", "whatsapp-sessions.json",
                 "webhooks.db-wal", "preferences.json"):
        (data / name).write_bytes(b"")
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.process
@pytest.mark.browser
@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_the_data_folder_is_readable_by_its_owner_only_whatever_the_umask(tmp_path: Path, sim) -> None:
    from tests.conftest import wait_until
    from tests.ui_support import AppProcess

    data = tmp_path / "dados"
    an_older_install(data)
    outside = tmp_path / "outside.txt"  # a link in the folder must not lend its mode change to its target
    outside.write_text("x")
    outside.chmod(0o644)
    (data / "link").symlink_to(outside)
    before = os.umask(0o022)  # a desktop's usual umask: what the running app inherits
    try:
        running = AppProcess(data, sim.url).start("--client-id", "vendas", "--no-restore")
    finally:
        os.umask(before)
    try:
        # A number started: its Chromium profile written, the message log and webhooks opened, the log going.
        profile = data / "sessions" / "vendas" / "Default"  # the headless shell writes no Preferences file
        wait_until(lambda: profile.is_dir() and any(profile.iterdir()), timeout=60,
                   what="the number's Chromium profile")
        wait_until(lambda: (data / "messages.db-wal").exists() and (data / "webhooks.db").exists(), timeout=30,
                   what="the databases")
        assert loose_entries(data) == [], running.output()[-2000:]
    finally:
        assert running.stop() == 0, running.output()[-3000:]
    assert loose_entries(data) == []
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644



@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_each_store_writes_owner_only_files_even_under_a_loose_umask(tmp_path: Path, restore_root: None) -> None:
    """The stores as a library (a test, a script) use them, without app.py's umask: still owner-only."""
    from backend.auth.service import AuthService
    from backend.store.media import MediaFiles
    from backend.store.messages import MessageStore
    from backend.store.webhooks import WebhookStore

    data = tmp_path / "dados"
    before = os.umask(0o022)
    try:
        MediaFiles(data / "media").write("ab12", b"%PDF")  # first: it makes the data folder too
        messages = MessageStore(data / "messages.db")
        messages.add_incoming([("vendas", "5511988887777@c.us", {"id": "w1", "body": "oi", "from": "x"})])
        webhooks = WebhookStore(data / "webhooks.db")
        AuthService.in_folder(data).reset_password("senha-forte-123")
        logs.setup_logging(data, "info", console=False)
        logging.getLogger("zapool.test").info("[Teste] linha")
        assert (data / "messages.db-wal").exists() and (data / "messages.db-shm").exists()
        assert loose_entries(data) == []
    finally:
        os.umask(before)
        messages.close()
        webhooks.close()


# -- finding 9: a link to a conversation does not mark it read -------------------------------------------------

def unread(stack, chat_id: str) -> int:
    """The conversation's unread count as the REST API reports it (0 once marked read on WhatsApp)."""
    items = stack.api.call("GET", "/clients/vendas/chats").json["items"]
    return next((c["unreadCount"] for c in items if c["chatId"] == chat_id), -1)


@pytest.mark.browser
def test_a_link_to_a_conversation_does_not_send_blue_ticks_until_the_person_acts(stack, sim) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.api_support import connect
    from tests.conftest import wait_until
    from tests.ui_support import launch_browser, log_in

    connect(stack, sim)
    contact = "5511988887777"
    chat_id = f"{contact}@c.us"
    sim.control.incoming("5511999990001", contact, "Oi, tudo bem?")
    wait_until(lambda: unread(stack, chat_id) == 1, timeout=20, what="the message, unread")
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_page()
            log_in(page, stack.server.url, "senha-forte-123")
            # What a page, a mail or a message could link to: the conversation opens, and stays unread.
            page.goto(f"{stack.server.url}/ui/chat.html?client=vendas&chat={chat_id}")
            expect(page.locator(".bubble.in .text").last).to_have_text("Oi, tudo bem?", timeout=15_000)
            page.wait_for_timeout(2000)  # the old page marked it read right after showing it
            assert unread(stack, chat_id) == 1, "opening a link sent the contact blue ticks"
            page.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'a'}))")  # a script is no one
            page.wait_for_timeout(1000)
            assert unread(stack, chat_id) == 1
            page.locator("#thread-log").click()  # the person reads it
            wait_until(lambda: unread(stack, chat_id) == 0, timeout=10, what="the conversation marked read")
        finally:
            browser.close()


# -- finding 12: the windows show ZapPool's own pages only -----------------------------------------------------

from tests.test_desktop_smoke import GUIS  # noqa: E402 - beside the one test that uses it

@pytest.mark.process
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Qt and GTK windows are Linux's")
@pytest.mark.parametrize("gui", GUIS)
def test_a_window_never_shows_a_foreign_page_with_the_bridge(tmp_path: Path, gui: str) -> None:
    import subprocess

    from tests.test_desktop_smoke import GUI_ENV, ROOT, env, in_display

    opened = tmp_path / "system-browser.txt"  # $BROWSER: what Python's webbrowser hands a link to
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\necho \"$1\" >> {opened}\n")
    browser.chmod(0o755)
    done = subprocess.run(in_display(gui, [sys.executable, "tests/desktop_navigation.py", str(tmp_path / "dados")]),
                          cwd=ROOT, check=False, env=env(**GUI_ENV[gui], BROWSER=str(browser)), capture_output=True,
                          text=True, timeout=180)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("NAV ")), None)
    assert done.returncode == 0 and line, done.stdout[-3000:] + done.stderr[-3000:]
    nav = json.loads(line[len("NAV "):])
    assert nav["hits"] == [], f"a window loaded the foreign site: {nav}"
    for attempt in ("script", "link", "dropped_url", "dropped_file"):
        assert nav[attempt].startswith(nav["base"] + "/"), (attempt, nav)
    handed = opened.read_text().split() if opened.exists() else []
    # A link (Qt reports a script's `location = ` as one too; WebKitGTK does not) opens in the system browser,
    # where no bridge is; a dropped URL or file is refused outright.
    assert any(url.endswith("/link") for url in handed), handed
    assert not any("dropped" in url or url.startswith("file:") for url in handed), handed


# -- finding 5: the WhatsApp browsers run in Chromium's sandbox whenever the machine allows it -----------------

# In a child process: (as root, become `nobody` first, as an ordinary desktop user is), launch the browser the
# way the engine does (our flags, our launch options) and ask Chromium itself: chrome://sandbox.
SANDBOX_PROBE = """
import json, logging, os, sys, tempfile
import encodings.ascii, encodings.idna, asyncio  # noqa: F401 - loaded while /root's Python is still readable
from playwright.sync_api import sync_playwright
from backend.engine.browser import CHROMIUM_ARGS, discover_browser
logging.basicConfig(level=logging.INFO, format="LOG %(message)s")
with sync_playwright():
    pass  # Playwright's Python side fully imported
if sys.argv[1] == "user" and os.geteuid() == 0:
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    os.environ["HOME"] = tempfile.mkdtemp()
choice = discover_browser(None, None, None)
with sync_playwright() as pw:
    context = pw.chromium.launch_persistent_context(tempfile.mkdtemp(), headless=True, args=CHROMIUM_ARGS,
                                                    **choice.launch_options())
    page = context.new_page()
    page.goto("chrome://sandbox")
    print("SANDBOX " + json.dumps(page.inner_text("body")), flush=True)
    context.close()
"""


def sandbox_probe(who: str, *, refuse_namespaces: bool = False) -> tuple[str, str]:
    """chrome://sandbox's text as the browser ZapPool launches shows it, and the probe's log. With
    `refuse_namespaces`, `unshare` fails as in a container whose seccomp policy refuses user namespaces."""
    import subprocess

    from tests.ui_support import ROOT

    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="zapool-sandbox-"))  # pytest's tmp_path is root's alone
    scratch.chmod(0o777)  # `nobody` makes its profile here
    path = os.environ["PATH"]
    if refuse_namespaces:
        (scratch / "unshare").write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\n"
                                         "exit 1\n")
        (scratch / "unshare").chmod(0o755)
        path = f"{scratch}{os.pathsep}{path}"
    try:
        done = subprocess.run([sys.executable, "-c", SANDBOX_PROBE, who], cwd=ROOT, capture_output=True,
                              text=True, timeout=120,
                              env={**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT), "PATH": path})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("SANDBOX ")), None)
    assert done.returncode == 0 and line, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(line[len("SANDBOX "):]), done.stderr


@pytest.mark.process
@pytest.mark.browser
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the namespace sandbox is Linux's")
def test_an_ordinary_user_s_browsers_are_sandboxed() -> None:
    if os.geteuid() != 0:  # as root, the probe becomes `nobody`
        from backend.engine.browser import sandbox_problem

        if sandbox_problem() is not None:
            pytest.skip(f"this machine allows no sandbox: {sandbox_problem()}")
    page, _log = sandbox_probe("user")
    assert "You are adequately sandboxed." in page, page
    assert "Namespace" in page


@pytest.mark.process
@pytest.mark.browser
@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0, reason="root on Linux")
def test_as_root_the_browsers_still_start_and_the_log_says_they_are_not_sandboxed() -> None:
    page, log = sandbox_probe("root")
    assert "You are NOT adequately sandboxed." in page
    assert "SEM o sandbox do Chromium" in log and "root" in log, log


@pytest.mark.process
@pytest.mark.browser
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the namespace sandbox is Linux's")
def test_where_namespaces_are_refused_the_browsers_still_start_and_the_log_says_why() -> None:
    page, log = sandbox_probe("user", refuse_namespaces=True)
    assert "You are NOT adequately sandboxed." in page
    assert "SEM o sandbox do Chromium" in log, log
