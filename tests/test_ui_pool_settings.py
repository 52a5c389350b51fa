"""The pool's limits in the settings window and on-demand numbers on the pool manager's cards, as a person uses
them: real headless Chromium on the pages ZapPool serves, `app.py --headless` in its own process on the
WhatsApp Web simulator. The tests run in order on one app, as test_ui_e2e.py's do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import wait_until
from tests.test_pool import chromium_pids
from tests.ui_support import PASSWORD, PHONE, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

expect.set_options(timeout=15_000)
QUIET_S = 3  # --on-demand-idle for this app


class Ui:
    """The app, the phone and the pages the ordered tests hand on."""

    def __init__(self, app: AppProcess, sim: SimServer, main: Page, data: Path):
        self.app, self.sim, self.main, self.data = app, sim, main, data
        self.pool: Page | None = None

    def api(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """The REST API from the main window, with its login cookie: {status, body}."""
        return self.main.evaluate(
            """async ([method, path, body]) => {
                 const init = {method, headers: {'Content-Type': 'application/json', Accept: 'application/json'}};
                 if (body !== null) init.body = JSON.stringify(body);
                 const r = await fetch(path, init);
                 return {status: r.status, body: r.status === 204 ? null : await r.json()};
               }""", [method, path, body])


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ui]:
    data = tmp_path_factory.mktemp("ui-limits") / "dados"
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        app = AppProcess(data, sim.url).start("--send-interval", "0", "--on-demand-idle", str(QUIET_S))
        browser: Browser = launch_browser(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR")
        try:
            main = context.new_page()
            first_login(main, app.owner_link, PASSWORD)
            yield Ui(app, sim, main, data)
        finally:
            context.close()
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def test_a_bad_limit_says_why_under_its_field_and_saves_nothing(ui: Ui):
    main = ui.main
    expect(main.locator("#pool-limits-help")).to_contain_text("não remove nenhuma")
    main.get_by_label("Máximo de conexões").fill("0")
    main.get_by_label("Verificar as conexões a cada (segundos)").fill("30")
    main.locator("#pool-limits-save").click()

    error = main.locator("#pool-maxClients-error")
    expect(error).to_have_text("Use um número inteiro de 1 a 500, ou deixe vazio para o padrão (10).")
    expect(main.get_by_label("Máximo de conexões")).to_have_attribute("aria-invalid", "true")
    prefs = ui.api("GET", "/preferences")["body"]
    assert (prefs["maxClients"], prefs["healthCheckInterval"]) == (None, None), "nothing saved"
    assert ui.api("GET", "/stats")["body"]["maxClients"] == 10

    main.get_by_label("Máximo de conexões").fill("2")
    main.get_by_label("Número sob demanda dorme após (segundos sem envio)").fill("2.5")
    main.get_by_label("Reconectar sozinho um número que cair").uncheck()
    main.locator("#pool-limits-save").click()
    expect(main.get_by_text("Preferência salva.")).to_be_visible()
    expect(error).to_be_hidden()
    prefs = ui.api("GET", "/preferences")["body"]
    assert (prefs["maxClients"], prefs["healthCheckInterval"], prefs["onDemandIdle"], prefs["autoReconnect"]) == (
        2, 30, 2.5, False)
    assert ui.api("GET", "/stats")["body"]["maxClients"] == 2, "applied at once"
    main.reload()
    expect(main.get_by_label("Máximo de conexões")).to_have_value("2")


def test_a_number_added_on_demand_sleeps_on_its_card_and_a_switch_keeps_it_connected(ui: Ui):
    main = ui.main
    with main.expect_popup() as opened:
        main.get_by_role("button", name="🔗 Gerenciar Conexões").click()
    pool = ui.pool = opened.value
    expect(pool.locator("#on-demand-help")).to_contain_text("Mensagens recebidas chegam quando ele conectar")
    pool.get_by_label("Nome da nova conexão (opcional)").fill("Avisos")
    pool.get_by_label("Sob demanda (só envio)").check()
    with pool.expect_popup() as qr_window:
        pool.get_by_role("button", name="➕ Adicionar Nova Conexão").click()
    qr_window.value.close()
    card = pool.locator(".card").filter(has_text="Avisos")
    expect(card.get_by_label("Sob demanda (só envio)")).to_be_checked()
    client_id = card.get_attribute("data-client-id")
    code = wait_until(lambda: (r := ui.api("GET", f"/clients/{client_id}/qr"))["status"] == 200 and r["body"]["code"],
                      20, what="its QR code")
    ui.sim.control.scan(code, PHONE)

    expect(card.locator(".badge")).to_have_text("Conectado", timeout=30_000)
    expect(card.locator(".badge")).to_have_text("Dormindo 💤", timeout=(QUIET_S + 15) * 1000)
    expect(card.locator(".reason")).to_contain_text("Mensagens recebidas chegam quando ele conectar de novo")
    assert not chromium_pids(ui.data / "sessions" / client_id), "no browser while it sleeps"

    card.get_by_label("Sob demanda (só envio)").uncheck()
    expect(pool.get_by_text("Avisos: sempre conectado.")).to_be_visible()
    expect(card.locator(".badge")).to_have_text("Conectado", timeout=30_000)  # woken from its profile: no QR
    assert ui.api("GET", f"/clients/{client_id}")["body"]["onDemand"] is False
