"""The chat window laid out as people know from WhatsApp Web (issue 16, section 4): the thread fills the window's
height with the newest message at the bottom, the compose bar stays pinned under it, and nothing of it falls off
the window, at 800×600 as at full screen. Before, the thread was a short box with the compose area right under it
and half the window empty. Real headless Chromium on a real ZapPool (`app.py --headless` in its own process) over
a data folder holding a long conversation and a short one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from backend.auth.service import AuthService
from backend.store.messages import MessageStore
from backend.store.sessions import SessionStore
from tests.api_support import FAST_SCRYPT
from tests.ui_support import AppProcess, launch_browser, log_in
from wasim import SimServer

PASSWORD = "senha-da-loja-1"
TALKER, QUIET = "5521955554444", "5521944443333"  # a long conversation, and one of a single message
SIZES = [(800, 600), (1920, 1080)]


def seed(data: Path) -> None:
    """A number with 80 messages from one contact and 1 from another."""
    auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
    auth.reset_password(PASSWORD)
    SessionStore(data / "whatsapp-sessions.json").save(
        {"clientId": "loja", "name": "Loja", "status": "disconnected", "reason": "manual",
         "phoneNumber": "5511999990001", "metadata": {}})
    store = MessageStore(data / "messages.db")
    now = int(time.time())
    store.add_incoming([("loja", f"{n:032x}", {"id": f"false_{n}", "from": f"{TALKER}@c.us", "type": "chat",
                                               "body": f"Mensagem {n}", "t": now - 1000 + n}) for n in range(80)])
    store.add_incoming([("loja", "f" * 32, {"id": "false_q", "from": f"{QUIET}@c.us", "type": "chat",
                                           "body": "Só uma", "t": now})])
    store.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """ZapPool on the seeded folder (no number started)."""
    data = Path(tmp_path_factory.mktemp("layout")) / "dados"
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


def geometry(page: Page, app: AppProcess, size: tuple[int, int], chat: str, last_text: str) -> dict[str, float]:
    """Open a conversation in a window of `size`; where its parts are once its last message is shown."""
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{app.url}/ui/chat.html?client=loja&chat={chat}%40c.us")
    page.locator("#thread .bubble").last.get_by_text(last_text).wait_for()
    return page.evaluate("""() => {
        const box = (s) => document.querySelector(s).getBoundingClientRect();
        const log = box('#thread-log'), composer = box('#composer');
        const bubbles = document.querySelectorAll('#thread .bubble');
        const last = bubbles[bubbles.length - 1].getBoundingClientRect();
        return { height: innerHeight, pageScroll: document.scrollingElement.scrollHeight - innerHeight,
                 logTop: log.top, logBottom: log.bottom, composerTop: composer.top, composerBottom: composer.bottom,
                 lastTop: last.top, lastBottom: last.bottom };
    }""")


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_thread_fills_the_window_and_the_compose_bar_stays_at_its_bottom(page: Page, app: AppProcess,
                                                                              size: tuple[int, int]):
    g = geometry(page, app, size, TALKER, "Mensagem 79")

    assert g["pageScroll"] <= 1, "the window itself does not scroll: the thread does"
    assert g["height"] - 64 <= g["composerBottom"] <= g["height"], g
    assert g["composerTop"] - g["logBottom"] <= 20, "the thread reaches down to the compose bar"
    assert g["logBottom"] - g["logTop"] >= 0.45 * g["height"], g  # at 800×600 with a notice shown above it too
    assert g["logTop"] <= g["lastTop"] and g["lastBottom"] <= g["logBottom"] + 1, "the newest message is in view"


def test_a_short_conversation_sits_at_the_bottom_of_the_thread(page: Page, app: AppProcess):
    g = geometry(page, app, (1280, 800), QUIET, "Só uma")

    assert g["logBottom"] - g["lastBottom"] <= 32, g
    assert g["lastTop"] - g["logTop"] >= 200, g


def test_a_chat_window_opened_again_takes_its_scripts_from_the_browsers_cache(page: Page, app: AppProcess):
    """Before, every open revalidated each of its ~30 files with the server before the first read could leave
    (issue 16's first paint); under the frontend's versioned address they are kept (frontend_version.py)."""
    url = f"{app.url}/ui/chat.html?client=loja&chat={QUIET}%40c.us"
    loads = []
    for _ in range(2):
        page.goto("about:blank")
        page.goto(url)
        page.locator("#thread .bubble").last.get_by_text("Só uma").wait_for()
        loads.append(page.evaluate("""() => performance.getEntriesByType('resource')
            .filter((e) => e.name.includes('/ui/v/')).map((e) => [e.name, e.transferSize])"""))

    assert len(loads[1]) > 20, loads[1]
    assert [name for name, size in loads[1] if size > 0] == [], "asked the server again"  # 0: from the cache


def test_the_chat_window_asks_for_every_module_at_once():
    """chat.html preloads every module chat.js imports, directly or not: one missing makes the browser find it
    import by import again, a wave of requests more before the window's first read (bench/chat_window.py)."""
    import re
    from pathlib import Path

    js = Path("frontend/js")
    wanted, todo = set(), ["chat.js"]
    while todo:
        for name in re.findall(r"from '\./([\w.-]+\.js)'", (js / todo.pop()).read_text()):
            if name not in wanted:
                wanted.add(name)
                todo.append(name)
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/ui/js/([\w.-]+\.js)">',
                               Path("frontend/chat.html").read_text()))
    assert wanted and preloaded == wanted, (wanted - preloaded, preloaded - wanted)
