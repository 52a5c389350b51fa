"""The Campaigns window (issue 17 §4) in real headless Chromium on the pages a real `app.py --headless` serves, with
one number linked on the simulator: the main screen's button opens it, a campaign is previewed (its first
messages, a name with HTML in it shown as text, the expected duration) and created, its progress moves live,
it is paused and resumed, it finishes, and its report lists the number; what the contacts got is read at the
simulator."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from backend.store.audience import AudienceStore, NewCustomer
from bench.restore import link_numbers
from tests.conftest import wait_until
from tests.ui_support import PASSWORD, SIM_TIMINGS, AppProcess, first_login, launch_browser
from wasim import SimServer

pytestmark = [pytest.mark.browser, pytest.mark.process]  # Chromium and app.py, started here
expect.set_options(timeout=20_000)
NUMBER_PHONE = "5511999900000"  # bench.restore.link_numbers' phone for n0
COUNT = 8


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[AppProcess, Browser, SimServer]]:
    """ZapPool with number n0 linked and eight customers (the first with HTML in its name), logged in."""
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        data = Path(tempfile.mkdtemp(prefix="zapool-ui-campaigns-")) / "dados"
        link_numbers(sim, data, 1)
        store = AudienceStore(data / "audience.db")
        store.upsert_many([NewCustomer(f"55119{n:08d}", "<b>Ana</b>" if n == 0 else f"Cliente {n}", tags=["feira"])
                           for n in range(COUNT)], "2026-12-04T00:00:00Z")
        store.close()
        process = AppProcess(data, sim.url).start()
        browser = launch_browser(pw)
        try:
            yield process, browser, sim
        finally:
            browser.close()
            assert process.stop() == 0, process.output()[-3000:]


def test_create_follow_pause_resume_and_report_a_campaign(app) -> None:
    process, browser, sim = app
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="pt-BR")
    page = context.new_page()
    problems: list[str] = []
    first_login(page, process.owner_link, PASSWORD)
    page.evaluate("fetch('/templates', {method: 'POST', headers: {'Content-Type': 'application/json'}, "
                  "body: JSON.stringify({name: 'Oferta', text: 'Oi {{nome}}, temos novidades!'})})")
    with context.expect_page() as opened:
        page.locator("#campaigns").click()
    window: Page = opened.value
    window.on("console", lambda m: m.type in ("error", "warning")
              and not m.text.startswith("Failed to load resource") and problems.append(m.text))
    window.locator("#main:not([data-boot])").wait_for()
    expect(window.locator("#campaigns-empty")).to_be_visible()
    expect(window.locator("#campaign-template option")).to_have_text(["Oferta"])

    window.locator("#campaign-name").fill("Feira de dezembro")
    window.locator("#campaign-tags").fill("feira")
    window.locator("#window-from").fill("00:00")
    window.locator("#window-to").fill("00:00")  # until midnight: no quiet hours
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        window.locator(f"#day-{day}").check()
    window.locator("#delay-min").fill("0.7")
    window.locator("#delay-max").fill("0.9")
    window.locator("#warmup").uncheck()
    window.locator("#preview-button").click()
    messages = window.locator("#preview-messages li")
    expect(messages).to_have_count(3)
    expect(messages.first).to_have_text("<b>Ana</b>: Oi <b>Ana</b>, temos novidades!")  # as text, never HTML
    assert window.locator("#preview-messages b").count() == 0
    expect(window.locator("#preview-reach")).to_contain_text("8 de 8 contatos recebem")
    expect(window.locator("#preview-duration")).to_contain_text("Duração prevista")

    window.locator("#create-button").click()
    item = window.locator(".campaign-item")
    expect(item).to_have_count(1)
    expect(item.locator(".campaign-progress")).to_contain_text(re.compile(r"\b[1-7] de 8 enviadas"))  # moving, live
    item.locator("[data-action=pause]").click()
    expect(item.locator(".campaign-status")).to_have_text("pausada")
    queued = ("() => fetch('/campaigns').then((r) => r.json()).then((all) => all[0].counts.queued)")
    wait_until(lambda: window.evaluate(queued) == 0, 10, what="the message already queued sent")  # it still goes
    held = len(sim.control.sent(NUMBER_PHONE))
    time.sleep(2.0)
    assert len(sim.control.sent(NUMBER_PHONE)) == held < COUNT  # nothing more while paused
    item.locator("[data-action=resume]").click()
    expect(item.locator(".campaign-status")).to_have_text("concluída")
    expect(item.locator(".campaign-progress")).to_contain_text("8 de 8 enviadas")
    assert sorted(m["to"] for m in sim.control.sent(NUMBER_PHONE)) == [f"55119{n:08d}" for n in range(COUNT)]

    item.locator("[data-action=report]").click()
    expect(item.locator(".campaign-report p")).to_contain_text(["n0: 8 enviadas"])
    assert problems == [], problems
    context.close()
