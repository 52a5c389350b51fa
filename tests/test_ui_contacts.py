"""The chat window with a number's own WhatsApp (issue 16 sections 1 and 4): its chats as WhatsApp lists them
(names as saved, pinned first, archived marked, search, unread first), a contact picker for a new chat, and a
long conversation's history loaded as the person scrolls up. Real headless Chromium on the pages a real
`app.py --headless` serves, on the simulator."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.ui_app import link_vendas
from tests.conftest import wait_until
from tests.ui_support import PASSWORD, PHONE, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

expect.set_options(timeout=15_000)
ANA, BRUNO, CARLA, DIEGO = "5511911110001", "5511922220002", "5511933330003", "5511944440004"
BRUNO_NAME = "Bruno <b>Padaria</b>"
HISTORY = 120


def phone_before_link(sim: SimServer) -> None:
    """The phone's address book and chats before it links: Ana (saved, pinned, a long chat, 2 unread), Bruno
    (saved, a business with HTML in its name, archived, the newest), Carla (not saved, 1 unread), Diego (not
    saved, newer than Carla, all read)."""
    sim.control.contacts(PHONE, [{"number": ANA, "name": "Ana Souza"},
                                 {"number": BRUNO, "name": BRUNO_NAME, "business": True}])
    start = int(time.time()) - 86400
    sim.control.history(PHONE, ANA, [{"text": f"msg {i:03d}", "t": start + i * 60, "fromMe": i % 4 == 0}
                                     for i in range(HISTORY)], unread=2, pinned=True)
    newest = start + HISTORY * 60
    sim.control.history(PHONE, BRUNO, [{"text": "pão quentinho", "t": newest + 200}], archived=True)
    sim.control.history(PHONE, CARLA, [{"text": "oi, sumida", "t": start + 10}], unread=1, notify_name="Carla")
    sim.control.history(PHONE, DIEGO, [{"text": "valeu!", "t": newest + 100}], notify_name="Diego")


@pytest.fixture(scope="module")
def window() -> Iterator[Page]:
    """A logged-in browser on a ZapPool whose number `vendas` is linked to a phone with history."""
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        phone_before_link(sim)
        app = AppProcess(_data_dir(), sim.url).start()
        browser: Browser = launch_browser(pw)
        page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR").new_page()
        problems: list[str] = []
        page.on("console", lambda m: m.type in ("error", "warning")  # a 401 before login is the API saying no
                and not m.text.startswith("Failed to load resource") and problems.append(m.text))
        try:
            first_login(page, app.owner_link, PASSWORD)
            link_vendas(page, sim, PHONE)
            page.goto(app.url + "/ui/chat.html?client=vendas")
            page.locator("#main:not([data-boot])").wait_for()
            yield page
            assert problems == [], problems
        finally:
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def _data_dir():
    import tempfile
    from pathlib import Path
    return Path(tempfile.mkdtemp(prefix="zapool-ui-contacts-")) / "dados"


def names(page: Page) -> list[str]:
    """The chat list's names, top to bottom."""
    return page.locator(".chat-item .chat-name").evaluate_all("els => els.map(e => e.firstChild.textContent)")


def test_the_chat_list_is_whatsapps(window: Page):
    """Saved names, pinned first, archived last (though newest) and marked, unread badges from the phone, HTML
    as text."""
    expect(window.locator(".chat-item")).to_have_count(4)
    assert names(window) == ["Ana Souza", "Diego", "Carla", BRUNO_NAME]
    ana = window.locator(f'.chat-item[data-chat-id="{ANA}@c.us"]')
    expect(ana.locator(".unread")).to_have_text("2")
    expect(ana.get_by_label("Fixada")).to_be_visible()
    expect(window.locator(f'.chat-item[data-chat-id="{BRUNO}@c.us"]')).to_contain_text("Arquivada")
    assert window.locator("#chats b").count() == 0


def test_search_and_unread_first(window: Page):
    """The search keeps the chats whose name, number or last message matches; unread first reorders."""
    window.get_by_placeholder("Buscar conversa").fill("carla")
    expect(window.locator(".chat-item")).to_have_count(1)
    window.get_by_placeholder("Buscar conversa").fill("2222")
    wait_until(lambda: names(window) == [BRUNO_NAME], 5, what="only Bruno's chat (digits of his number)")
    window.get_by_placeholder("Buscar conversa").fill("")
    expect(window.locator(".chat-item")).to_have_count(4)
    window.get_by_label("Não lidas primeiro").check()
    assert names(window) == ["Ana Souza", "Carla", "Diego", BRUNO_NAME]  # the unread ones above Diego's newer chat
    window.get_by_label("Não lidas primeiro").uncheck()


def test_the_contact_picker_finds_by_name_and_by_number(window: Page):
    """Typing part of a name lists the matching contacts; picking one opens its conversation; digits find a
    number."""
    field = window.get_by_label("Nova conversa")
    field.fill("padaria")
    option = window.get_by_role("option").first
    expect(option).to_contain_text(BRUNO_NAME)
    expect(option).to_contain_text("Empresa")
    option.click()
    expect(window.locator("#thread-heading")).to_have_text(f"Mensagens com {BRUNO_NAME}")
    expect(window.locator(".bubble .text").last).to_have_text("pão quentinho")
    field.fill("1111")
    expect(window.get_by_role("option")).to_have_count(1)
    expect(window.get_by_role("option")).to_contain_text("Ana Souza")
    field.fill("")


def test_history_loads_as_the_person_scrolls_up(window: Page):
    """Opening Ana's chat shows its newest page from WhatsApp; each scroll to the top brings the page before,
    until the first message; nothing twice, in order."""
    window.locator(f'.chat-item[data-chat-id="{ANA}@c.us"]').click()
    bubbles = window.locator("#thread .bubble")
    expect(bubbles).to_have_count(50)
    expect(bubbles.last.locator(".text")).to_have_text(f"msg {HISTORY - 1:03d}")
    for shown in (100, HISTORY):
        window.locator("#thread-log").evaluate("box => { box.scrollTop = 0; box.dispatchEvent(new Event('scroll')); }")
        expect(bubbles).to_have_count(shown)
    texts = bubbles.locator(".text").all_text_contents()
    assert texts == [f"msg {i:03d}" for i in range(HISTORY)]
    expect(window.locator("#older")).to_be_hidden()
