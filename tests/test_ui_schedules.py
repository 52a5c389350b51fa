"""Scheduled messages in the windows (issue 17 §3): the chat window's ⏰ button beside "Enviar" schedules what was
typed for the open conversation (a native date-time picker, the repeat, Brazil's zone by default; a refusal is
explained in the dialog), and the Scheduled messages window, opened from the main screen, lists it, changes it
and cancels it. Real headless Chromium on the pages a real `app.py --headless` serves, on the simulator."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.ui_app import link_vendas
from tests.ui_support import PASSWORD, PHONE, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

pytestmark = [pytest.mark.browser, pytest.mark.process]  # Chromium and app.py, started here
expect.set_options(timeout=15_000)
ANA = "5511911110001"
TEXT = "Lembrete <b>amanhã</b>"
LIST = "() => fetch('/schedules').then((r) => r.json())"


@pytest.fixture(scope="module")
def app_page() -> Iterator[tuple[Page, AppProcess]]:
    """A logged-in browser in the chat window of `vendas`, open on Ana's conversation."""
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        sim.control.history(PHONE, ANA, [{"text": "oi", "t": 1_700_000_000}])
        app = AppProcess(Path(tempfile.mkdtemp(prefix="zapool-ui-schedules-")) / "dados", sim.url).start()
        browser: Browser = launch_browser(pw)
        page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR",
                                   timezone_id="America/Sao_Paulo").new_page()
        problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
                and problems.append(m.text))
        try:
            first_login(page, app.owner_link, PASSWORD)
            link_vendas(page, sim, PHONE)
            page.goto(app.url + f"/ui/chat.html?client=vendas&chat={ANA}@c.us")
            page.locator("#main:not([data-boot])").wait_for()
            expect(page.locator("#composer")).to_be_visible()
            yield page, app
            assert problems == [], problems
        finally:
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def test_the_clock_button_schedules_the_typed_text_for_this_chat(app_page):
    page, _ = app_page
    page.locator("#message").fill(TEXT)
    page.get_by_role("button", name="Agendar envio").click()

    dialog = page.locator("#schedule-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Fuso horário")).to_have_value("America/Sao_Paulo")
    dialog.get_by_label("Data e hora").fill("2020-01-02T09:00")
    dialog.get_by_role("button", name="Agendar").click()
    expect(dialog.locator("#schedule-error")).to_have_text(
        "Escolha uma data e hora válidas, no futuro e com o fuso horário.")  # refused, explained, still open

    dialog.get_by_label("Data e hora").fill("2030-01-02T09:00")
    dialog.get_by_label("Repetir").select_option(label="Toda semana")
    dialog.get_by_role("button", name="Agendar").click()

    expect(dialog).to_be_hidden()
    expect(page.locator(".toast").last).to_have_text("Mensagem agendada para 2030-01-02 09:00 (America/Sao_Paulo).")
    expect(page.locator("#message")).to_have_value("")
    (made,) = page.evaluate(LIST)["items"]
    assert (made["clientId"], made["to"], made["text"], made["at"], made["tz"], made["rrule"]) == (
        "vendas", ANA, TEXT, "2030-01-02T09:00:00-03:00", "America/Sao_Paulo", "FREQ=WEEKLY")


def test_the_scheduled_page_lists_changes_and_cancels_it(app_page):
    page, app = app_page
    page.goto(app.url + "/ui/main.html")
    page.locator("#main:not([data-boot])").wait_for()
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Mensagens agendadas").click()
    window = opened.value
    window.locator("#main:not([data-boot])").wait_for()

    item = window.locator("#schedules li")
    expect(item).to_have_count(1)
    expect(item.locator(".schedule-text")).to_have_text(TEXT)  # text, never HTML
    assert window.locator("#schedules b").count() == 0
    expect(item).to_contain_text("Próximo envio: 2030-01-02 09:00 (America/Sao_Paulo)")

    item.get_by_role("button", name="Alterar").click()
    dialog = window.locator("#schedule-dialog")
    expect(dialog.get_by_label("Data e hora")).to_have_value("2030-01-02T09:00")
    expect(dialog.get_by_label("Repetir")).to_have_value("weekly")
    dialog.get_by_label("Mensagem").fill("Lembrete mudado")
    dialog.get_by_label("Data e hora").fill("2030-01-03T10:30")
    dialog.get_by_role("button", name="Salvar").click()
    expect(item).to_contain_text("Próximo envio: 2030-01-03 10:30 (America/Sao_Paulo)")
    expect(item.locator(".schedule-text")).to_have_text("Lembrete mudado")

    item.get_by_role("button", name="Cancelar agendamento").click()
    window.locator("dialog [data-confirm]").click()
    expect(window.locator("#schedules-empty")).to_be_visible()
    window.get_by_label("Mostrar").select_option(label="Cancelados")
    expect(window.locator("#schedules li")).to_contain_text("Cancelado")
    expect(window.locator("#schedules li button")).to_have_count(0)  # nothing to change or cancel any more
    (gone,) = window.evaluate(LIST)["items"]
    assert (gone["status"], gone["nextAt"], gone["text"]) == ("cancelled", None, "Lembrete mudado")
