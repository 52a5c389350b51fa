"""Quick replies in the chat window (issue 17 §1): "/" at the start of the compose box lists the templates,
filtered as one types; the keyboard or the mouse chooses; the compose box gets the rendered text with `nome`
from the contact's name (HTML in it stays text) and any other variable asked for; Enter then sends it. Real
headless Chromium on the pages a real `app.py --headless` serves, on the simulator."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.ui_app import link_vendas
from tests.conftest import wait_until
from tests.ui_support import PASSWORD, PHONE, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

pytestmark = [pytest.mark.browser, pytest.mark.process]  # Chromium and app.py, started here
expect.set_options(timeout=15_000)
ANA = "5511911110001"
ANA_NAME = "Ana <i>Souza</i>"
TEMPLATES = [{"name": "Boas-vindas", "text": "Olá {{nome}}, tudo bem?"},
             {"name": "Pedido saiu", "text": 'Seu pedido {{pedido}} saiu, {{nome|default("cliente")}}!'}]
CREATE = """async (templates) => {
  for (const body of templates) {
    const reply = await fetch('/templates', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                             body: JSON.stringify(body)});
    if (reply.status !== 201) throw new Error(await reply.text());
  }
}"""


@pytest.fixture(scope="module")
def chat() -> Iterator[tuple[Page, SimServer]]:
    """A logged-in browser with two templates, in the chat window of `vendas` open on Ana's conversation."""
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        sim.control.contacts(PHONE, [{"number": ANA, "name": ANA_NAME}])
        sim.control.history(PHONE, ANA, [{"text": "oi", "t": 1_700_000_000}])
        app = AppProcess(Path(tempfile.mkdtemp(prefix="zapool-ui-quick-")) / "dados", sim.url).start()
        browser: Browser = launch_browser(pw)
        page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR").new_page()
        try:
            first_login(page, app.owner_link, PASSWORD)
            link_vendas(page, sim, PHONE)
            page.evaluate(CREATE, TEMPLATES)
            page.goto(app.url + f"/ui/chat.html?client=vendas&chat={ANA}@c.us")
            page.locator("#main:not([data-boot])").wait_for()
            expect(page.locator("#composer")).to_be_visible()
            yield page, sim
        finally:
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def test_slash_filters_and_the_keyboard_fills_the_box_with_the_contacts_name(chat):
    page, sim = chat
    box = page.locator("#message")
    box.press_sequentially("/")
    expect(page.locator(".quick-reply")).to_have_count(2)
    box.press_sequentially("boas")
    expect(page.locator(".quick-reply")).to_have_count(1)
    expect(page.locator(".quick-reply").first).to_contain_text("/Boas-vindas")

    box.press("Enter")

    expect(box).to_have_value(f"Olá {ANA_NAME}, tudo bem?")
    expect(page.locator("#quick-replies")).to_be_hidden()
    assert page.locator("#composer i").count() == 0  # the contact's HTML is text
    box.press("Enter")  # the list closed: Enter sends, as always
    wait_until(lambda: [m["text"] for m in sim.control.sent(PHONE)] == [f"Olá {ANA_NAME}, tudo bem?"], 15,
               what="the quick reply sent")
    expect(box).to_have_value("")  # the window empties the box once the send is accepted


def test_the_mouse_chooses_and_a_variable_without_default_is_asked_for(chat):
    page, _ = chat
    box = page.locator("#message")
    box.fill("")
    box.press_sequentially("/")
    expect(page.locator(".quick-reply")).to_have_count(2)
    box.press("ArrowDown")
    expect(page.locator(".quick-reply").nth(1)).to_have_attribute("aria-selected", "true")

    page.locator(".quick-reply", has_text="Pedido saiu").click()
    page.get_by_label("pedido", exact=True).fill("123")
    page.get_by_role("button", name="Inserir").click()

    expect(box).to_have_value(f"Seu pedido 123 saiu, {ANA_NAME}!")
    box.fill("")
    box.press_sequentially("/nada")
    expect(page.locator("#quick-replies")).to_contain_text("Nenhum modelo")
    box.press("Escape")
    expect(page.locator("#quick-replies")).to_be_hidden()
