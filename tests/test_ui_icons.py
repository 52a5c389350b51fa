"""The windows' icons render on a machine with no emoji font (issue 16, section 4): the seed's buttons carry emoji
("🔗 Gerenciar Conexões", "💬 Abrir Chat"), which a fresh Debian showed as empty boxes. The app serves Noto Emoji
itself; real headless Chromium on a real ZapPool (`app.py --headless` in its own process) must draw every emoji
the frontend uses with that served font, whatever fonts this machine has, and the font route serves nothing else.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.conftest import wait_until
from tests.ui_support import PASSWORD, ROOT, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

# The pictographs past U+1F000 that no common text font has. The older symbols the windows use as icons (⚙, ⏱,
# ⚠, ➕) come from the served icon font too (tests/test_icon_font.py, tests/test_ui_icons_first_layout.py); the
# text symbols (←, →, ✓) from the system's sans-serif.
EMOJI = re.compile(r"[\U0001F000-\U0001FAFF]\uFE0F?")


def frontend_emoji() -> list[str]:
    """Every emoji written in the frontend's pages and scripts (button labels in both languages included)."""
    found: set[str] = set()
    for path in [*ROOT.glob("frontend/*.html"), *ROOT.glob("frontend/js/*.js")]:
        found.update(EMOJI.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """A fresh ZapPool on the simulator."""
    with SimServer(**SIM_TIMINGS) as phone:
        running = AppProcess(Path(tmp_path_factory.mktemp("icons")) / "dados", phone.url).start()
        try:
            yield running
        finally:
            assert running.stop() == 0, running.output()[-3000:]


@pytest.fixture(scope="module")
def browser_page(app: AppProcess) -> Iterator[Page]:
    """A browser tab, logged in once: the main screen with the seed's buttons."""
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_page()
            first_login(page, app.owner_link, PASSWORD)
            yield page
        finally:
            browser.close()


def show_every_emoji(page: Page) -> None:
    """One span per emoji of the frontend (#icon-N), once the pieces of the font they need are loaded."""
    page.evaluate("""async (all) => {
        await Promise.all(all.map((e) => document.fonts.load('1rem "Noto Emoji"', e)));
        for (const [i, e] of all.entries()) {
          const span = document.createElement('span');
          span.id = `icon-${i}`;
          span.textContent = e;
          document.body.append(span);
        }
    }""", frontend_emoji())


def fonts_drawing(page: Page, selector: str) -> list[dict]:
    """The fonts Chromium used to draw an element's text (DevTools' CSS.getPlatformFontsForNode)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def test_the_frontend_uses_emoji_icons_at_all():
    assert {"🔗", "💬", "📱", "🗑"} <= set(frontend_emoji())


def not_drawn_with_the_served_font(page: Page) -> dict[str, list[tuple[str, bool]]]:
    """Each emoji of the frontend that some other font draws, with the fonts that do."""
    drawn_by = {e: fonts_drawing(page, f"#icon-{i}") for i, e in enumerate(frontend_emoji())}
    return {e: [(f["familyName"], f["isCustomFont"]) for f in fonts] for e, fonts in drawn_by.items()
            if any(not (f["familyName"] == "Noto Emoji" and f["isCustomFont"]) for f in fonts)}


def drawn_by(page: Page, selector: str) -> list[tuple[str, bool]]:
    """(family, served by us) of each font drawing an element's text."""
    return [(f["familyName"], f["isCustomFont"]) for f in fonts_drawing(page, selector)]


def test_the_main_screen_buttons_are_drawn_with_their_text_font_and_the_served_font(browser_page: Page):
    # As the page itself renders them: a piece of the font is drawn a moment after it loads (font-display: swap).
    for button in ("#manage", "#connect"):
        try:
            wait_until(lambda b=button: ("Noto Emoji", True) in drawn_by(browser_page, b), timeout=10, what=button)
        except AssertionError:
            pass  # said below, with the fonts that drew it
        used = drawn_by(browser_page, button)

        assert ("Noto Emoji", True) in used and len(used) == 2, (button, used)  # the label's font and the icon's
    assert browser_page.locator("#manage").inner_text() == "🔗 Gerenciar Conexões"


def test_every_emoji_of_the_windows_is_drawn_with_the_served_font(browser_page: Page):
    show_every_emoji(browser_page)

    not_ours = not_drawn_with_the_served_font(browser_page)

    assert not not_ours, f"drawn with another font than the served Noto Emoji: {not_ours}"


def test_the_font_route_serves_the_font_and_nothing_else(app: AppProcess):
    def status(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(app.url + path, timeout=30) as answer:
                return answer.status, answer.headers["Content-Type"]
        except urllib.error.HTTPError as err:
            return err.code, err.headers["Content-Type"]

    assert status("/ui/vendor/noto-emoji/400.css") == (200, "text/css; charset=utf-8")
    assert status("/ui/vendor/noto-emoji/files/noto-emoji-2-400-normal.woff2")[0] == 200
    refused = [status(p)[0] for p in ("/ui/vendor/noto-emoji/package.json", "/ui/vendor/noto-emoji/../../../app.py",
                                      "/ui/vendor/noto-emoji/%2e%2e/%2e%2e/%2e%2e/app.py",
                                      "/ui/vendor/noto-emoji/files/noto-emoji-2-700-normal.woff2")]
    assert refused == [404, 404, 404, 404]
