"""The Groups dialog of the pool manager (issue 16, section 4), as a person uses it: real headless Chromium on the
pages ZapPool serves, `app.py --headless` in its own process on the WhatsApp Web simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.conftest import wait_until
from tests.ui_support import PASSWORD, PHONE, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

expect.set_options(timeout=15_000)
ANA, BETO = "5511999990002", "5511999990003"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    data = tmp_path_factory.mktemp("ui-groups") / "dados"
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        app = AppProcess(data, sim.url).start("--send-interval", "0")
        browser: Browser = launch_browser(pw)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR")
        try:
            main = context.new_page()
            first_login(main, app.owner_link, PASSWORD)
            yield sim, main
        finally:
            context.close()
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def test_a_person_creates_a_group_makes_an_admin_copies_the_link_and_reads_refusals_in_portuguese(ui):
    sim, main = ui
    with main.expect_popup() as opened:
        main.locator("#manage").click()
    pool = opened.value
    pool.get_by_label("Nome da nova conexão (opcional)").fill("Vendas")
    with pool.expect_popup() as qr_window:
        pool.locator("#add").click()
    qr_window.value.close()
    card = pool.locator(".card").filter(has_text="Vendas")
    client_id = card.get_attribute("data-client-id")
    code = wait_until(lambda: pool.evaluate(
        "async (id) => { const r = await fetch(`/clients/${id}/qr`, {headers: {Accept: 'application/json'}});"
        " return r.ok && (await r.json()).code; }", client_id), 20, what="its QR code")
    sim.control.scan(code, PHONE)
    groups_button = card.locator("button[data-action=groups]")
    expect(groups_button).to_be_visible(timeout=30_000)  # shown once the number is ready

    groups_button.click()
    dialog = pool.get_by_role("dialog", name="Grupos de Vendas")
    expect(dialog.get_by_text("Este número não está em nenhum grupo.")).to_be_visible()
    dialog.get_by_label("Nome do grupo").fill("Clientes <b>VIP</b>")
    dialog.get_by_label("Participantes (números com DDD, um por linha)").fill(f"{ANA}\n{BETO}")
    dialog.get_by_role("button", name="Criar grupo").click()

    row = dialog.locator(".group-row")
    expect(row.locator("strong")).to_have_text("Clientes <b>VIP</b>")  # WhatsApp's text shown as text
    assert dialog.locator("b").count() == 0, "a subject never becomes HTML"
    expect(row).to_contain_text("3 participantes")
    gid = row.get_attribute("data-group-id")
    assert gid.endswith("@g.us") and sim.control.group_info(gid)["subject"] == "Clientes <b>VIP</b>"

    ana = dialog.locator(f"li[data-number='{ANA}']")
    ana.get_by_role("button", name="Tornar admin").click()
    expect(ana.get_by_role("button", name="Tirar admin")).to_be_visible()
    roles = {p["id"]: p["isAdmin"] for p in sim.control.group_info(gid)["participants"]}
    assert roles[ANA] is True and roles[BETO] is False

    row.get_by_role("button", name="🔗 Copiar link de convite").click()
    invite = sim.control.group_info(gid)["invite"]
    expect(pool.get_by_text(f"Link copiado: https://chat.whatsapp.com/{invite}")).to_be_visible()

    sim.control.set_numbers([PHONE, ANA, BETO])
    dialog.get_by_label("Adicionar números").fill("5511988880000")
    dialog.get_by_role("button", name="Adicionar", exact=True).click()
    expect(dialog.get_by_role("alert")).to_have_text("O número 5511988880000 não está no WhatsApp.")
    assert len(sim.control.group_info(gid)["participants"]) == 3

    other = sim.control.group(ANA, "create", subject="Família", participants=[PHONE])["gid"]
    expect(pool.get_by_text("Vendas entrou em um grupo.")).to_be_visible()
    expect(dialog.locator(f".group-row[data-group-id='{other}'] strong")).to_have_text("Família")  # while open
    sim.control.group(ANA, "remove", groupId=other, participants=[PHONE])
    expect(pool.get_by_text("Vendas foi removido de um grupo.")).to_be_visible()
    expect(dialog.locator(f".group-row[data-group-id='{other}']")).to_have_count(0)
