"""What the chat window asks for before its first paint (issue 16: first paint <=300 ms, bench/chat_window.py):
the preferences go out beside the login check, not after its answer, and a window opened on a conversation reads
the chat list once for itself (a second read came after the conversation's, before anyone did anything). Real
headless Chromium on a real ZapPool (`app.py --headless` in its own process) over a seeded data folder.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, sync_playwright

from backend.auth.service import AuthService
from backend.store.messages import MessageStore
from backend.store.sessions import SessionStore
from tests.api_support import FAST_SCRYPT
from tests.ui_support import AppProcess, launch_browser, log_in
from wasim import SimServer

PASSWORD = "senha-da-loja-1"
TALKER = "5521955554444"


def seed(data: Path) -> None:
    """A number (not started) with 3 messages from one contact."""
    auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
    auth.reset_password(PASSWORD)
    SessionStore(data / "whatsapp-sessions.json").save(
        {"clientId": "loja", "name": "Loja", "status": "disconnected", "reason": "manual",
         "phoneNumber": "5511999990001", "metadata": {}})
    store = MessageStore(data / "messages.db")
    now = int(time.time())
    store.add_incoming([("loja", f"{n:032x}", {"id": f"false_{n}", "from": f"{TALKER}@c.us", "type": "chat",
                                               "body": f"Mensagem {n}", "t": now - 100 + n}) for n in range(3)])
    store.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """ZapPool on the seeded folder (no number started)."""
    data = Path(tmp_path_factory.mktemp("first-reads")) / "dados"
    seed(data)
    with SimServer() as phone:
        running = AppProcess(data, phone.url).start("--no-restore")
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def page(app: AppProcess) -> Iterator[Page]:
    """A logged-in tab."""
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            tab = browser.new_page()
            log_in(tab, app.url, PASSWORD)
            yield tab
        finally:
            browser.close()


def _open(page: Page, app: AppProcess) -> None:
    """The chat window opened on the conversation, shown with its last message."""
    page.goto(f"{app.url}/ui/chat.html?client=loja&chat={TALKER}%40c.us")
    page.locator("#thread .bubble").last.get_by_text("Mensagem 2").wait_for()
    page.locator("#main:not([data-boot])").wait_for()


def test_the_preferences_are_asked_beside_the_login_check(page: Page, app: AppProcess):
    """The window's language comes with the preferences, which it waited for before painting: asked only once
    the login check had answered, they cost a round trip more."""
    _open(page, app)
    asked = page.evaluate("""() => Object.fromEntries(performance.getEntriesByType('resource')
        .filter((e) => /\\/(auth\\/me|preferences)$/.test(e.name))
        .map((e) => [e.name.endsWith('/preferences') ? 'preferences' : 'me', [e.startTime, e.responseEnd]]))""")

    assert asked["preferences"][0] < asked["me"][1], asked


def test_a_window_opened_on_a_conversation_reads_the_list_once_for_itself(page: Page, app: AppProcess):
    """Opened on a conversation, nobody having acted in it yet: the list is read at the start, and once more
    when the event stream opens (what came before it may have been missed), not a third time after the
    conversation's read, when nothing was marked read."""
    reads: list[str] = []

    def note(request: Request) -> None:
        if "/clients/loja/chats?" in request.url and "cursor=" not in request.url:
            reads.append(request.url)

    page.goto("about:blank")  # the previous test's window gone: its stream opening late reads the list too
    page.on("request", note)
    try:
        _open(page, app)
        deadline = time.monotonic() + 15  # the event stream's open (slow on a loaded CI machine)
        while len(reads) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        page.wait_for_timeout(1500)  # anything late: a third read would come now
    finally:
        page.remove_listener("request", note)

    assert len(reads) == 2, reads
