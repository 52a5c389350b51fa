"""Contacts' pictures in the chat window (issue 16 §4), in real headless Chromium on the pages a real
`app.py --headless` serves, on the simulator: the chat list shows the picture of a contact that has one (an <img>
from ZapPool's proxy route, never WhatsApp's URL) and the initials of one that has none; the conversation header
and the new-chat picker do the same; a name with HTML in it stays text."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.ui_app import link_vendas
from tests.ui_support import PASSWORD, PHONE, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

expect.set_options(timeout=15_000)
ANA, BRUNO = "5511911110001", "5511922220002"
MORE = [f"55119300000{i:02d}" for i in range(40)]


@pytest.fixture(scope="module")
def window() -> Iterator[tuple[Page, SimServer]]:
    """A logged-in browser on the chat window of `vendas`, whose phone has Ana (with a picture) and Bruno (none)."""
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        sim.control.contacts(PHONE, [{"number": ANA, "name": "Ana Souza", "picture": True},
                                     {"number": BRUNO, "name": "Bruno Lima <b>Padaria</b>"}])
        now = int(time.time())
        sim.control.history(PHONE, ANA, [{"text": "oi", "t": now - 60}])
        sim.control.history(PHONE, BRUNO, [{"text": "olá", "t": now - 120}])
        sim.control.contacts(PHONE, [{"number": n, "name": f"Cliente {i}", "picture": True}
                                     for i, n in enumerate(MORE)])
        for i, n in enumerate(MORE):  # older chats, below the first screenful
            sim.control.history(PHONE, n, [{"text": "até mais", "t": now - 3600 - i}])
        data = Path(tempfile.mkdtemp(prefix="zapool-ui-avatars-")) / "dados"
        app = AppProcess(data, sim.url).start("--allow-picture-origin", sim.url)
        browser: Browser = launch_browser(pw)
        page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR").new_page()
        try:
            first_login(page, app.owner_link, PASSWORD)
            link_vendas(page, sim, PHONE)
            page.goto(app.url + "/ui/chat.html?client=vendas")
            page.locator("#main:not([data-boot])").wait_for()
            yield page, sim
        finally:
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def test_the_chat_list_shows_a_picture_or_the_initials(window):
    page, _sim = window
    ana = page.locator(f'.chat-item[data-chat-id="{ANA}@c.us"] .avatar')
    bruno = page.locator(f'.chat-item[data-chat-id="{BRUNO}@c.us"] .avatar')

    expect(ana).to_have_class(re.compile(r"\bhas-picture\b"))
    src = ana.locator("img").get_attribute("src")
    loaded = ana.locator("img").evaluate("img => img.complete && img.naturalWidth")
    expect(bruno.locator(".avatar-initials")).to_have_text("BL")
    expect(bruno.locator("img")).to_have_count(0)

    assert src == f"/clients/vendas/contacts/{ANA}%40c.us/picture"  # ZapPool's route, not the simulator's URL
    assert loaded == 64  # the simulator's 64x64 square
    assert page.locator(".chat-item b").count() == 0  # the name's HTML stayed text


def test_only_the_rows_on_screen_ask_for_their_picture(window):
    """42 chats, 41 with a picture: the window asks for those it shows; scrolling down brings the others."""
    page, sim = window
    expect(page.locator(".chat-item")).to_have_count(42)
    time.sleep(1.5)  # the window has asked for all it shows well within this
    shown = sim.control.state()["pictures"]
    last = page.locator(f'.chat-item[data-chat-id="{MORE[-1]}@c.us"] .avatar')
    expect(last.locator("img")).to_have_count(0)

    last.scroll_into_view_if_needed()
    expect(last).to_have_class(re.compile(r"\bhas-picture\b"))
    assert 1 <= shown["fetches"] < 20 and shown["calls"] < 21


def test_the_header_and_the_picker_show_it_too(window):
    page, _sim = window
    page.locator(f'.chat-item[data-chat-id="{ANA}@c.us"]').click()
    expect(page.locator("#thread-avatar .avatar.has-picture img")).to_have_count(1)

    page.locator("#new-number").fill("bruno")
    option = page.locator(f'.contact-option[data-id="{BRUNO}@c.us"]')
    expect(option.locator(".avatar-initials")).to_have_text("BL")
    page.locator("#new-number").fill("ana")
    expect(page.locator(f'.contact-option[data-id="{ANA}@c.us"] .avatar.has-picture')).to_have_count(1)


# In the desktop the page has no login cookie: api.js asks the bridge once per number for the signed link's base and
# appends each contact id. A stand-in bridge (as tests/test_ui_e2e.py's) answers with a base the server does not
# know, so the pictures fail and the initials stay: what is checked is what the page asked and loaded.
FAKE_BRIDGE = """
(() => {
  window.qt = { webChannelTransport: {} };
  window.__calls = [];
  const info = { clientId: 'fake', name: 'Balcão', status: 'ready', reason: null, phoneNumber: null, qrCode: null,
                 qrExpiresAt: null, pairingCode: null, isReady: true,
                 metadata: { createdAt: '2026-01-02T03:04:05.000Z', lastQRAt: null, connectedAt: null,
                             messageCount: 0, lastError: null } };
  const chat = (n, name) => ({ chatId: `${n}@c.us`, name, lastMessage: null, unreadCount: 0, isGroup: false });
  const answers = {
    me: { result: { kind: 'session', id: 'admin', mustChangePassword: false } },
    get_preferences: { result: { language: 'pt-BR', notifications: true, cardOrder: [] } },
    get_client: { result: info },
    list_chats: { result: { items: [chat('%(ana)s', 'Ana Souza'), chat('%(bruno)s', 'Bruno Lima')], nextCursor: null } },
    list_templates: { result: [] },
    contact_picture_link: { result: { url: '/picture-links/not-a-token/', maxAgeS: 43200 } },
  };
  const api = { };
  for (const name of Object.keys(answers)) {
    api[name] = (...args) => { window.__calls.push([name, args]); return Promise.resolve(answers[name]); };
  }
  setTimeout(() => {
    window.pywebview = { platform: 'qtwebengine', api, _QWebChannel: {} };
    window.dispatchEvent(new CustomEvent('pywebviewready'));
  }, 100);
})();
""" % {"ana": ANA, "bruno": BRUNO}


def test_in_the_desktop_the_pictures_come_through_one_signed_link_per_number(window):
    page, _sim = window
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(FAKE_BRIDGE)
    try:
        desk = context.new_page()
        asked: list[str] = []
        desk.on("request", lambda request: asked.append(request.url))
        desk.goto(page.url.split("/ui/")[0] + "/ui/chat.html?client=fake")
        expect(desk.locator(".chat-item")).to_have_count(2)
        expect(desk.locator(f'.chat-item[data-chat-id="{BRUNO}@c.us"] .avatar-initials')).to_have_text("BL")
        desk.wait_for_timeout(500)
        calls = desk.evaluate("window.__calls")
    finally:
        context.close()
    pictures = sorted(url.split("/", 3)[3] for url in asked if "/picture" in url)
    assert [c for c in calls if c[0] == "contact_picture_link"] == [["contact_picture_link", ["fake"]]]
    assert pictures == [f"picture-links/not-a-token/{ANA}%40c.us", f"picture-links/not-a-token/{BRUNO}%40c.us"]


# The colour of an avatar's picture (the simulator draws each picture one colour, new for each version).
PIXEL = """img => { const c = document.createElement('canvas'); c.width = c.height = 1;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0, 1, 1); return Array.from(g.getImageData(0, 0, 1, 1).data); }"""


def test_a_groups_picture_shows_and_a_new_one_replaces_it_while_the_window_is_open(window):
    """Last here: it puts a group on top of the list. Before, every group kept its initials."""
    page, sim = window
    page.goto(page.url.split("?")[0] + "?client=vendas")
    gid = sim.control.group(ANA, "create", subject="Família Souza", participants=[PHONE])["gid"]
    sim.control.group(ANA, "icon", groupId=gid, picture=True)
    sim.control.group(ANA, "send", groupId=gid, text="oi, família")  # the newest chat: on top of the list
    group = page.locator(f'.chat-item[data-chat-id="{gid}"] .avatar')
    expect(group).to_have_class(re.compile(r"\bhas-picture\b"))
    before = group.locator("img").evaluate(PIXEL)
    first = group.locator("img").get_attribute("src") or ""  # ?v=1 when the first change came after the list

    sim.control.group(ANA, "icon", groupId=gid, picture=True)  # Ana sets another one

    expect(group.locator("img")).not_to_have_attribute("src", first)  # a new address: not the browser's copy
    expect(group.locator("img")).to_have_attribute("src", re.compile(r"/picture\?v=\d$"))
    expect(group).to_have_class(re.compile(r"\bhas-picture\b"))
    group.locator("img").evaluate("img => img.decode()")
    assert group.locator("img").evaluate(PIXEL) != before
