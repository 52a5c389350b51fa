"""Every window draws its icons with the served font from its first layout (issue 16, section 4).

On a machine with no emoji font (this one: what headless Chromium draws here is what a fresh Debian shows), the
icons in a window's own HTML stayed empty boxes: the main screen's brand mark, the pool manager's heading and its
"➕" button, the QR window's heading. Chromium drew them before the served font had loaded and kept that drawing
for that text at that size. Icons JavaScript wrote later were fine, and that was all tests/test_ui_icons.py saw.

Here a person's path through the app, in real Chromium on a real ZapPool (`app.py --headless` in its own
process): the login page, the main screen, the QR window its "📱 Conectar WhatsApp" opens, the pool manager its
"🔗 Gerenciar Conexões" opens, the chat window a card's "💬 Abrir Chat" opens, with a conversation open. In each,
every visible element whose text holds an icon must have that icon drawn by the served Noto Emoji (DevTools'
CSS.getPlatformFontsForNode tells which fonts drew an element's text, and how many glyphs each drew).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from backend.store.messages import MessageStore
from backend.store.sessions import SessionStore
from tests.test_icon_font import icon_font
from tests.test_ui_icons import fonts_drawing
from tests.ui_support import CONTACT, PASSWORD, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

pytestmark = [pytest.mark.browser, pytest.mark.process]
WINDOWS = ["login", "main", "qr", "pool", "chat"]
# Marks each visible element whose own text holds an icon (data-icon-probe="N"); answers [N, text, icons].
MARK_ICON_ELEMENTS = """(icons) => {
    const found = [];
    document.querySelectorAll('body *').forEach((el, n) => {
      const text = [...el.childNodes].filter((c) => c.nodeType === Node.TEXT_NODE).map((c) => c.data).join('');
      const count = [...text].filter((c) => icons.includes(c)).length;
      if (count && el.getClientRects().length) {
        el.dataset.iconProbe = String(n);
        found.push([String(n), text.trim(), count]);
      }
    });
    return found;
}"""


def seed(data: Path) -> None:
    """A number (stopped) with one conversation, so the chat window has a thread and its compose bar."""
    SessionStore(data / "whatsapp-sessions.json").save(
        {"clientId": "loja", "name": "Loja", "status": "disconnected", "reason": "manual",
         "phoneNumber": "5511999990001", "metadata": {}})
    store = MessageStore(data / "messages.db")
    store.add_incoming([("loja", "a" * 32, {"id": "false_1", "from": f"{CONTACT}@c.us", "type": "chat",
                                           "body": "Oi, tudo bem?", "t": int(time.time())})])
    store.close()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """A ZapPool on its first run, over the seeded folder."""
    data = Path(tmp_path_factory.mktemp("first-layout")) / "dados"
    seed(data)
    with SimServer(**SIM_TIMINGS) as phone:
        running = AppProcess(data, phone.url).start("--no-restore")
        try:
            yield running
        finally:
            assert running.stop() == 0, running.output()[-3000:]


@pytest.fixture(scope="module")
def windows(app: AppProcess) -> Iterator[dict]:
    """Each window as a person reaches it, by clicks from the login page on (and the font pieces they fetched)."""
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            pieces: list[str] = []  # the pieces of the whole Noto Emoji any window asked for
            contexts = [browser.new_context(), browser.new_context()]
            for context in contexts:
                context.on("request", lambda r: pieces.append(r.url) if "/noto-emoji/files/" in r.url else None)
            login = contexts[0].new_page()  # its own first visit: nothing of the app in its cache
            login.goto(app.owner_link)
            login.locator("#username").wait_for()
            main = contexts[1].new_page()
            first_login(main, app.owner_link, PASSWORD)
            with main.expect_popup() as qr:
                main.locator("#connect").click()
            with main.expect_popup() as pool:
                main.locator("#manage").click()
            pool.value.locator('.card[data-client-id="loja"]').wait_for()
            with pool.value.expect_popup() as chat:
                pool.value.locator('.card[data-client-id="loja"] [data-action="chat"]').click()
            chat.value.locator(".chat-item").first.click()
            chat.value.locator("#composer").wait_for()
            qr.value.locator("h1").wait_for()
            pool.value.wait_for_timeout(500)  # a piece the last layouts asked for is requested by now
            yield {"login": login, "main": main, "qr": qr.value, "pool": pool.value, "chat": chat.value,
                   "pieces": pieces}
        finally:
            browser.close()


def icons_not_drawn_with_the_served_font(page: Page) -> tuple[list[str], dict[str, list[tuple[str, bool, int]]]]:
    """The texts holding icons in a window, and those whose icons some other font drew (with the fonts that did)."""
    icons = "".join(chr(cp) for cp in icon_font().getBestCmap())
    marked = page.evaluate(MARK_ICON_ELEMENTS, icons)
    wrong = {}
    for n, text, count in marked:
        fonts = [(f["familyName"], f["isCustomFont"], f["glyphCount"])
                 for f in fonts_drawing(page, f'[data-icon-probe="{n}"]')]
        served = sum(glyphs for family, ours, glyphs in fonts if family == "Noto Emoji" and ours)
        if served < count:
            wrong[text] = fonts
    return [text for _, text, _ in marked], wrong


@pytest.mark.parametrize("window", WINDOWS)
def test_every_icon_of_the_window_is_drawn_with_the_served_font(windows: dict, window: str):
    texts, wrong = icons_not_drawn_with_the_served_font(windows[window])

    assert texts, f"no icon found in the {window} window"
    assert not wrong, f"icons drawn by another font than the served Noto Emoji (a box where it has none): {wrong}"


def test_the_windows_icons_checked_include_the_ones_that_were_empty_boxes(windows: dict):
    seen = {w: icons_not_drawn_with_the_served_font(windows[w])[0] for w in WINDOWS}

    assert "🔗" in seen["login"] and "🔗" in seen["main"]  # the brand mark
    assert {"🔗 Gerenciador de Conexões", "➕ Adicionar Nova Conexão"} <= set(seen["pool"])
    assert "📱 Conectar WhatsApp" in seen["qr"]
    assert "📎 Anexar arquivo" in seen["chat"]


def test_the_windows_own_icons_fetch_nothing_of_the_whole_emoji_font(windows: dict):
    # The pieces of the whole Noto Emoji are for emoji from contacts: a U+FE0F after the icon of "⚙ Configurações"
    # made Chromium fetch the pieces that hold U+FE0F (nine, 517 kB) for the main screen alone.
    assert windows["pieces"] == []
