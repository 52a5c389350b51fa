"""The Reports window (issue 18), opened from the main screen over a data folder holding a known history: the
headline figures, the charts drawn (uPlot canvases with a size), the heatmap, and a CSV download. Real headless
Chromium on the pages a real `app.py --headless` serves."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bench.polling import wait_until
from tests.conftest import PHONE
from tests.report_support import OTHER, History
from tests.ui_support import PASSWORD, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

pytestmark = [pytest.mark.browser, pytest.mark.process]  # Chromium and app.py, started here
expect.set_options(timeout=15_000)


def today_in_sao_paulo() -> tuple[str, str]:
    """Two UTC times (ISO) of today in São Paulo, 4 minutes apart, not after now when the day allows it."""
    now = datetime.now(timezone.utc)
    midnight = datetime.now(ZoneInfo("America/Sao_Paulo")).replace(hour=0, minute=0, second=0, microsecond=0)
    asked = max(midnight.astimezone(timezone.utc) + timedelta(minutes=1), now - timedelta(minutes=20))
    return (asked.strftime("%Y-%m-%dT%H:%M:%S"), (asked + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%S"))


def seed(data: Path) -> None:
    """Monday 30 Nov 2026 (UTC): docs/REPORTS.md's example (one conversation, first response 10 min), a second
    customer never answered, one read message, one failure. Today: number "loja" answered a customer in 4 min."""
    h = History(data)
    asked, answered = today_in_sao_paulo()
    h.customer(asked, client="loja")
    h.business(answered, client="loja")
    h.customer("2026-11-30T10:00")
    h.customer("2026-11-30T10:01")
    first = h.business("2026-11-30T10:10")
    h.ack("2026-11-30T10:12", first, 3)
    h.customer("2026-11-30T10:30")
    h.business("2026-11-30T10:32")
    h.customer("2026-11-30T12:00", chat=OTHER)
    h.failure("2026-11-30T13:00", "number_not_on_whatsapp")
    h.store.close()


@pytest.fixture(scope="module")
def pages() -> Iterator[dict[str, Page]]:
    """The Reports window over the seeded history, opened from the main screen's button, showing 30 Nov."""
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        data = Path(tempfile.mkdtemp(prefix="zapool-ui-reports-")) / "dados"
        seed(data)
        app = AppProcess(data, sim.url).start()
        browser: Browser = launch_browser(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="pt-BR",
                                      timezone_id="America/Sao_Paulo", accept_downloads=True)
        page = context.new_page()
        problems: list[str] = []
        try:
            first_login(page, app.owner_link, PASSWORD)
            with page.expect_popup() as opened:
                page.get_by_role("button", name="Relatórios").click()
            reports = opened.value
            reports.on("console", lambda m: m.type in ("error", "warning")
                       and not m.text.startswith("Failed to load resource") and problems.append(m.text))
            reports.locator("body[data-loaded]").wait_for()
            reports.get_by_label("De", exact=True).fill("2026-11-30")
            reports.get_by_label("Até", exact=True).fill("2026-11-30")
            loaded = reports.locator("body").get_attribute("data-loaded")
            reports.get_by_role("button", name="Atualizar").click()
            expect(reports.locator("body")).not_to_have_attribute("data-loaded", loaded or "")
            yield {"main": page, "reports": reports, "sim": sim, "problems": problems}
            assert problems == [], problems
        finally:
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


@pytest.fixture
def window(pages: dict[str, Page]) -> Page:
    """The Reports window showing 30 Nov 2026."""
    return pages["reports"]


def test_the_headline_figures_of_the_period(window: Page):
    def figure(key: str):
        return window.locator(f'[data-figure="{key}"] dd').first
    expect(figure("conversations")).to_have_text("2")
    expect(figure("incoming")).to_have_text("4")
    expect(figure("outgoing")).to_have_text("2")
    expect(figure("responseRate")).to_have_text("50%")
    expect(figure("firstResponse")).to_have_text("10 min")
    expect(figure("failed")).to_have_text("1")
    expect(window.locator('[data-figure="incoming"] .change')).to_have_text("sem dados no período anterior")


def test_the_charts_are_drawn(window: Page):
    for chart in ("#chart-volume", "#chart-times", "#chart-funnel"):
        size = window.locator(f"{chart} canvas").first.bounding_box()
        assert size is not None and size["width"] > 200 and size["height"] > 100, (chart, size)
    # Monday 07:00 in São Paulo holds three of the four messages received.
    expect(window.locator("#chart-heatmap tbody tr").first.locator("td").nth(7)).to_have_text("3")
    expect(window.locator("#times-spread")).to_contain_text("Mediana 2 min")
    expect(window.locator("#failures li")).to_have_text(["n1: 1 × number_not_on_whatsapp"])


def test_every_table_downloads_as_csv(window: Page):
    with window.expect_download() as started:
        window.locator('[data-csv="summary"]').click()
    download = started.value
    assert download.suggested_filename == "zapool-summary-2026-11-30-2026-11-30.csv"
    rows = {r["metric"]: r["value"] for r in csv.DictReader(io.StringIO(Path(download.path()).read_text()))}
    assert rows["incoming"] == "4" and rows["firstResponseTime.median"] == "600.0"
    with window.expect_download() as started:
        window.locator('[data-csv="heatmap"]').click()
    table = list(csv.reader(io.StringIO(Path(started.value.path()).read_text())))
    assert table[0] == ["weekday", "hour", "incoming"] and len(table) == 169


def pool_manager(pages: dict) -> Page:
    """The pool manager, opened from the main screen once (a second click focuses the same window)."""
    if "pool" not in pages:
        with pages["main"].expect_popup() as opened:
            pages["main"].get_by_role("button", name="Gerenciar Conexões").click()
        pages["pool"] = opened.value
    return pages["pool"]


def test_each_pool_manager_card_shows_todays_response_rate_and_first_response(pages: dict[str, Page]):
    main = pages["main"]
    added = main.evaluate("fetch('/clients', {method: 'POST', headers: {'Content-Type': 'application/json'}, "
                          "body: JSON.stringify({clientId: 'loja'})}).then((r) => r.status)")
    assert added in (200, 201, 202), added
    line = pool_manager(pages).locator('li.card[data-client-id="loja"] .card-report')
    expect(line).to_have_text("Hoje: 100% respondidas · 1ª resposta 4 min")


def test_a_card_moves_within_seconds_of_a_customers_message(pages: dict[str, Page]):
    main, sim = pages["main"], pages["sim"]
    call = ("([method, path, body]) => fetch(path, {method, headers: {'Content-Type': 'application/json', "
            "Accept: 'application/json'}, body: body && JSON.stringify(body)})"
            ".then(async (r) => ({status: r.status, body: await r.json()}))")
    main.evaluate(call, ["POST", "/clients", {"clientId": "atende"}])
    code = wait_until(lambda: main.evaluate(call, ["GET", "/clients/atende/qr", None])["body"].get("code"),
                      timeout=30, what="the QR code of the new number")
    sim.control.scan(code, PHONE)
    wait_until(lambda: main.evaluate(call, ["GET", "/clients/atende", None])["body"]["status"] == "ready",
               timeout=30, what="the number ready")
    line = pool_manager(pages).locator('li.card[data-client-id="atende"] .card-report')
    expect(line).to_have_text("Hoje: nenhuma conversa iniciada por cliente")

    sim.control.incoming(PHONE, "5511988887777", "Bom dia, tem horário hoje?")
    expect(line).to_have_text("Hoje: 0% respondidas · 1ª resposta —", timeout=4_000)  # 1.5 s debounce, then a read


def test_the_settings_form_changes_the_figures_and_refuses_in_words(pages: dict, window: Page):
    """A 5-minute response target makes the 10-minute first response miss it (rate 50% -> 0%); a gap of 0 hours
    is refused by the server and said in Portuguese by the field's name; clearing the target brings 50% back."""
    rate = window.locator('[data-figure="responseRate"] dd').first
    expect(rate).to_have_text("50%")
    window.get_by_text("Configurações dos relatórios").click()
    expect(window.get_by_label("Nova conversa após (horas sem mensagens)")).to_have_value("24")
    window.get_by_label("Meta de resposta (minutos; vazio: sem meta)").fill("5")
    window.get_by_role("button", name="Salvar configurações").click()
    expect(window.locator(".toast-info").last).to_have_text("Configurações salvas")
    expect(rate).to_have_text("0%")

    window.get_by_label("Nova conversa após (horas sem mensagens)").fill("0")
    window.get_by_role("button", name="Salvar configurações").click()
    expect(window.locator(".toast-error").last).to_have_text(
        "O campo “Nova conversa após (horas)” não aceita esse valor.")
    refused = [m for m in pages["problems"] if "invalid_input 'conversationGapHours'" in m]
    assert len(refused) == 1  # showError's console line for whoever debugs: expected here, once
    pages["problems"].remove(refused[0])

    window.get_by_label("Nova conversa após (horas sem mensagens)").fill("24")
    window.get_by_label("Meta de resposta (minutos; vazio: sem meta)").fill("")
    window.get_by_role("button", name="Salvar configurações").click()
    expect(rate).to_have_text("50%")
    expect(window.locator("#report-campaign option")).to_have_count(1)  # no campaign yet: "all messages" only
