"""The Templates window (issue 17 §1), opened from the main screen: create a template with a live preview from
sample values, a refused text explained, edit, delete. Real headless Chromium on the pages a real
`app.py --headless` serves."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.ui_support import PASSWORD, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

pytestmark = [pytest.mark.browser, pytest.mark.process]  # Chromium and app.py, started here
expect.set_options(timeout=15_000)
LIST = "() => fetch('/templates').then((r) => r.json())"


@pytest.fixture(scope="module")
def window() -> Iterator[Page]:
    """The Templates window, opened from the main screen's button."""
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        app = AppProcess(Path(tempfile.mkdtemp(prefix="zapool-ui-templates-")) / "dados", sim.url).start()
        browser: Browser = launch_browser(pw)
        page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR").new_page()
        problems: list[str] = []
        try:
            first_login(page, app.owner_link, PASSWORD)
            with page.expect_popup() as opened:
                page.get_by_role("button", name="Modelos de mensagem").click()
            templates = opened.value
            templates.on("console", lambda m: m.type in ("error", "warning")
                         and not m.text.startswith("Failed to load resource") and problems.append(m.text))
            templates.locator("#main:not([data-boot])").wait_for()
            yield templates
            assert problems == [], problems
        finally:
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def test_create_with_a_live_preview_from_sample_values(window: Page):
    expect(window.locator("#templates-empty")).to_be_visible()
    window.get_by_label("Nome", exact=True).fill("Pedido <b>saiu</b>")
    window.get_by_label("Texto", exact=True).fill('Oi {{nome|default("cliente")}}, pedido {{pedido}}.')
    expect(window.locator("#preview")).to_have_text("Oi cliente, pedido [pedido].")
    window.get_by_label("Exemplo para pedido").fill("123")
    expect(window.locator("#preview")).to_have_text("Oi cliente, pedido 123.")

    window.get_by_role("button", name="Salvar").click()

    expect(window.locator(".template-item")).to_have_count(1)
    expect(window.locator(".template-item button")).to_have_text("Pedido <b>saiu</b>")  # text, not HTML
    assert window.locator("#templates b").count() == 0
    assert [t["name"] for t in window.evaluate(LIST)] == ["Pedido <b>saiu</b>"]


def test_a_refused_text_is_explained_and_an_edit_and_delete_reach_the_store(window: Page):
    window.locator(".template-item button").first.click()
    text = window.get_by_label("Texto", exact=True)
    text.fill("{{ ''.__class__ }}")
    expect(window.locator("#preview-error")).to_have_text("O modelo só pode usar variáveis e seus valores padrão. (linha 1)")
    text.fill("linha um\n{{ nome ")
    expect(window.locator("#preview-error")).to_contain_text("(linha 2)")
    text.fill("{Olá|Oi} {{nome}}")
    expect(window.locator("#preview-error")).to_be_hidden()
    window.get_by_role("button", name="Salvar").click()
    expect(window.locator(".template-item .hint")).to_have_text("{Olá|Oi} {{nome}}")

    window.locator(".template-item button").first.click()
    window.get_by_role("button", name="Excluir").click()
    window.locator("dialog [data-confirm]").click()

    expect(window.locator(".template-item")).to_have_count(0)
    assert window.evaluate(LIST) == []
