"""The Contacts window (issue 17 §2) in real headless Chromium on the pages a real `app.py --headless` serves: the
main screen's button opens it, a CSV chosen in its file input is imported with the per-line report shown, the list
shows the customers (a name with HTML in it as text), the tag filter, and an opt-out removed from its list."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.ui_support import PASSWORD, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

expect.set_options(timeout=15_000)
CSV = ("Nome;Celular;Etiquetas;Cidade\r\n"
       "<b>Ana</b>;(11) 98888-7777;vip;Santos\r\n"
       "Sem número;;;\r\n"
       "Beto;(21) 8765-4321;;Rio\r\n")


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[AppProcess, Browser]]:
    """A logged-in ZapPool (no number needed: the customer list is the business's own)."""
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        app = AppProcess(Path(tempfile.mkdtemp(prefix="zapool-ui-audience-")) / "dados", sim.url).start()
        browser = launch_browser(pw)
        try:
            yield app, browser
        finally:
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def test_import_a_csv_in_the_contacts_window(app, tmp_path: Path) -> None:
    process, browser = app
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="pt-BR")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning")
            and not m.text.startswith("Failed to load resource") and problems.append(m.text))
    first_login(page, process.owner_link, PASSWORD)
    with context.expect_page() as opened:
        page.locator("#contacts").click()
    contacts: Page = opened.value
    contacts.locator("#main:not([data-boot])").wait_for()
    expect(contacts.locator("#empty")).to_be_visible()

    path = tmp_path / "clientes.csv"
    path.write_bytes(CSV.encode("cp1252"))
    contacts.locator("#csv-file").set_input_files(str(path))
    contacts.locator("#import-tags").fill("feira")
    contacts.locator("#import-button").click()
    expect(contacts.locator("#import-summary")).to_have_text("2 novos, 0 mesclados, 1 linhas com problema.")
    expect(contacts.locator("#import-invalid li")).to_have_text(["Linha 3: sem número de telefone"])

    rows = contacts.locator("#customers tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator(".customer-name")).to_have_text("<b>Ana</b>")  # as text, never as HTML
    assert rows.first.locator("b").count() == 0
    expect(rows.nth(1)).to_contain_text("+55 21 98765-4321")  # the old 8-digit mobile got its ninth digit
    contacts.locator("#tag-filter").select_option("vip")
    expect(rows).to_have_count(1)

    contacts.locator("#optout-phone").fill("21 98765-4321")
    contacts.locator("#optout-form button").click()
    expect(contacts.locator("#optouts li")).to_have_count(1)
    contacts.locator("#tag-filter").select_option("")
    expect(contacts.locator("#customers tr", has_text="Beto")).to_contain_text("Descadastrado")
    contacts.locator("#optouts li button").click()
    expect(contacts.locator("#optouts li")).to_have_count(0)
    expect(contacts.locator("#customers tr", has_text="Beto")).to_contain_text("Ativo")
    contacts.set_viewport_size({"width": 640, "height": 430})  # 200% zoom of a 1280-pixel window
    overflow = contacts.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, overflow
    assert problems == [], problems
    context.close()
