"""A group in the chat window (issue 16 sections 3 and 4), as a person uses it: the group in the number's chat
list as WhatsApp lists it (its subject, marked, its unread count), each member's message under its author's
name (saved name, else push name, else the number, as text), @mentions as names, the group's history from
WhatsApp, and the compose bar writing to the group. Real headless Chromium on the pages a real
`app.py --headless` serves, on the simulator."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.ui_app import call, link_vendas
from tests.conftest import wait_until
from tests.ui_support import PASSWORD, PHONE, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

expect.set_options(timeout=15_000)
ANA, BETO, CARLA = "5511911110001", "5511922220002", "5511933330003"
BETO_PUSH = "Beto <b>Bar</b>"


@pytest.fixture(scope="module")
def window() -> Iterator[tuple[SimServer, Page, str]]:
    """A logged-in chat window of `vendas`, whose phone saved Ana, is in Ana's group "Família" with Beto (not
    saved, a push name with HTML) and Carla (not saved, no push name), and got three messages there."""
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        sim.control.contacts(PHONE, [{"number": ANA, "name": "Ana Souza", "pushname": "Aninha"}])
        app = AppProcess(Path(tempfile.mkdtemp(prefix="zapool-ui-group-chat-")) / "dados", sim.url)
        app.start("--send-interval", "0")
        browser: Browser = launch_browser(pw)
        page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR").new_page()
        problems: list[str] = []
        page.on("console", lambda m: m.type in ("error", "warning")
                and not m.text.startswith("Failed to load resource") and problems.append(m.text))
        try:
            first_login(page, app.owner_link, PASSWORD)
            link_vendas(page, sim, PHONE)
            gid = sim.control.group(ANA, "create", subject="Família", participants=[PHONE, BETO, CARLA])["gid"]
            sim.control.group(ANA, "send", groupId=gid, text=f"bom dia, @{BETO}!", notifyName="Aninha")
            sim.control.group(BETO, "send", groupId=gid, text="<i>oi</i> gente", notifyName=BETO_PUSH)
            sim.control.group(CARLA, "send", groupId=gid, text="cheguei")
            wait_until(lambda: len(call(page, "GET", f"/clients/vendas/chats/{gid}/messages")["body"]["items"]) == 3,
                       20, what="the three group messages in the log")
            page.goto(app.url + "/ui/chat.html?client=vendas")
            page.locator("#main:not([data-boot])").wait_for()
            yield sim, page, gid
            assert problems == [], problems
        finally:
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def test_the_group_is_in_the_chat_list_with_its_subject_and_unread_count(window):
    sim, page, gid = window
    item = page.locator(f'.chat-item[data-chat-id="{gid}"]')
    expect(item.locator(".chat-name")).to_contain_text("Família")
    expect(item.locator(".chat-group")).to_have_text("Grupo")
    expect(item.locator(".unread")).to_have_text("3")
    expect(item.locator(".chat-preview")).to_have_text("cheguei")


def test_group_messages_show_their_authors_and_mentions_as_text(window):
    sim, page, gid = window
    page.locator(f'.chat-item[data-chat-id="{gid}"]').click()
    expect(page.locator("#thread-heading")).to_have_text("Mensagens com Família")
    bubbles = page.locator("#thread .bubble.in")
    expect(bubbles).to_have_count(3)
    # The saved name over Ana's own push name; Beto's push name as written; Carla's number.
    expect(bubbles.locator(".sender")).to_have_text(["Ana Souza", BETO_PUSH, "+55 11 93333-0003"])
    expect(bubbles.nth(0).locator(".text")).to_have_text(f"bom dia, @{BETO_PUSH}!")
    expect(bubbles.nth(0).locator(".mention")).to_have_text(f"@{BETO_PUSH}")
    expect(bubbles.nth(1).locator(".text")).to_have_text("<i>oi</i> gente")
    assert page.locator("#thread b, #thread i").count() == 0, "names and texts never become HTML"


def test_the_groups_history_from_whatsapp_keeps_each_author(window):
    sim, page, gid = window
    first = call(page, "GET", f"/clients/vendas/chats/{gid}/messages")["body"]["items"][-1]  # newest first
    page_back = call(page, "GET", f"/clients/vendas/chats/{gid}/messages?before=now")  # WhatsApp's newest page
    assert page_back["status"] == 200, page_back
    items = page_back["body"]["items"]
    assert [m["body"] for m in items] == ["cheguei", "<i>oi</i> gente", f"bom dia, @{BETO}!"]
    assert [m["from"] for m in items] == [f"{CARLA}@c.us", f"{BETO}@c.us", f"{ANA}@c.us"]
    older = call(page, "GET", f"/clients/vendas/chats/{gid}/messages?before={items[1]['waMessageId']}")
    assert [m["body"] for m in older["body"]["items"]] == [f"bom dia, @{BETO}!"]
    assert first["body"] == f"bom dia, @{BETO}!"


def test_the_compose_bar_writes_to_the_group(window):
    sim, page, gid = window
    page.locator(f'.chat-item[data-chat-id="{gid}"]').click()
    page.get_by_placeholder("Escreva uma mensagem").fill(f"obrigado @{ANA}")
    page.keyboard.press("Enter")
    mine = page.locator("#thread .bubble.out")
    expect(mine.locator(".text")).to_have_text("obrigado @Ana Souza")
    expect(mine.locator(".sender")).to_have_count(0)
    sent = wait_until(lambda: [m for m in sim.control.group_info(gid)["messages"] if m["author"] == PHONE], 15,
                      what="our message in the group")
    assert sent[0]["body"] == f"obrigado @{ANA}" and sent[0]["mentions"] == [ANA]


def test_typing_at_lists_the_members_and_the_choice_is_sent_as_a_mention(window):
    """Issue 16 §3-4: "@" in a group's compose box lists the members by name (filtered as typed, a push name with
    HTML as text); Enter puts the member's "@<number>" in the text, and the group gets a message mentioning them."""
    sim, page, gid = window
    page.locator(f'.chat-item[data-chat-id="{gid}"]').click()
    expect(page.locator("#thread .bubble.in .sender").first).to_be_visible()  # names learnt from the messages
    box = page.get_by_placeholder("Escreva uma mensagem")
    box.fill("")
    box.press_sequentially("valeu @be")
    options = page.locator("#mentions [role=option]")
    expect(options).to_have_count(1)
    expect(options.locator("strong")).to_have_text(BETO_PUSH)
    assert page.locator("#mentions b").count() == 0, "a push name never becomes HTML"
    page.keyboard.press("Enter")  # chooses; does not send
    expect(box).to_have_value(f"valeu @{BETO} ")
    expect(page.locator("#mentions")).to_be_hidden()
    box.press_sequentially("até amanhã")
    page.keyboard.press("Enter")
    expect(page.locator("#thread .bubble.out .text").last).to_have_text(f"valeu @{BETO_PUSH} até amanhã")
    sent = wait_until(lambda: [m for m in sim.control.group_info(gid)["messages"]
                               if m["author"] == PHONE and m["body"].startswith("valeu")], 15, what="the mention")
    assert sent[0]["mentions"] == [BETO]


def test_at_all_mentions_everyone_else_in_the_group(window):
    """WA-JS: in a group, the exact token "@all" mentions every member. Offered first in the list, by mouse."""
    sim, page, gid = window
    page.locator(f'.chat-item[data-chat-id="{gid}"]').click()
    box = page.get_by_placeholder("Escreva uma mensagem")
    box.fill("")
    box.press_sequentially("reunião às 10, @")
    expect(page.locator("#mentions [role=option]")).to_have_count(4)  # everyone, Ana, Beto, Carla
    page.locator('#mentions [data-mention="all"]').click()
    expect(box).to_have_value("reunião às 10, @all ")
    page.keyboard.press("Enter")
    sent = wait_until(lambda: [m for m in sim.control.group_info(gid)["messages"]
                               if m["author"] == PHONE and m["body"].startswith("reunião")], 15, what="@all")
    assert sent[0]["mentions"] == sorted([ANA, BETO, CARLA])
