"""Errors from the server read entirely in the window's language (issue 16, section 4): real headless Chromium
on the windows of a real ZapPool (`app.py --headless` in its own process, on the WhatsApp Web simulator).

Two refusals that used to come out half translated ("A nova senha não serve: The new password cannot be the
default 'admin'", "Algo deu errado: A key name is 1 to 64 printable characters") now read whole, in pt-BR and
then in English, chosen with the windows' language picker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.test_error_texts import server_codes
from tests.ui_support import PASSWORD, SIM_TIMINGS, AppProcess, launch_browser
from wasim import SimServer

expect.set_options(timeout=15_000)
KEY_NAME = "crm\u200bnovo"  # a zero-width space: not printable, so the server refuses the key name


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """The login window of a fresh ZapPool, opened from the owner's link the terminal shows."""
    with SimServer(**SIM_TIMINGS) as phone, sync_playwright() as pw:
        app = AppProcess(Path(tmp_path_factory.mktemp("errors")) / "dados", phone.url).start()
        browser = launch_browser(pw)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR").new_page()
            page.goto(app.owner_link)
            yield page
        finally:
            browser.close()
            assert app.stop() == 0, app.output()[-3000:]


def try_new_password(page: Page, password: str) -> None:
    """Type the same new password twice and save it."""
    page.locator("#new-password").fill(password)
    page.locator("#confirm-password").fill(password)
    page.locator("#password-submit").click()


def test_a_refused_new_password_says_why_in_each_language(page: Page):
    page.locator("#username").fill("admin")
    page.locator("#password").fill("admin")
    page.locator("#login-submit").click()
    error = page.locator("#password-error")
    try_new_password(page, "admin   ")  # long enough for the form, but still the default password
    expect(error).to_have_text("A nova senha não pode ser a senha padrão “admin”.")

    page.get_by_label("Idioma").select_option("en")
    try_new_password(page, "ADMIN   ")
    expect(error).to_have_text("The new password cannot be the default password “admin”.")

    try_new_password(page, PASSWORD)
    page.wait_for_url("**/ui/main.html")


def test_a_refused_key_name_names_the_field_in_each_language(page: Page):
    page.locator("#main:not([data-boot])").wait_for()
    page.get_by_label("Language").select_option("pt-BR")
    page.get_by_label("Nome da nova chave").fill(KEY_NAME)
    page.get_by_role("button", name="Criar chave").click()
    expect(page.locator(".toast-error").last).to_have_text("O campo “Nome” não aceita esse valor.")

    page.get_by_label("Idioma").select_option("en")
    page.get_by_label("Name of the new key").fill(KEY_NAME)
    page.get_by_role("button", name="Create key").click()
    expect(page.locator(".toast-error").last).to_have_text("The field “Name” does not accept that value.")


RENDER = """async ([codes, message]) => {
  const { errorText } = await import('/ui/js/errors.js');
  return Object.fromEntries(codes.map((code) => [code, errorText({ code, message, details: {} })]));
}"""


@pytest.mark.parametrize("language", ["pt-BR", "en"])
def test_every_code_renders_whole_without_the_servers_words(page: Page, language: str):
    page.locator("#language").select_option(language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    message = "SERVER-WORDS"
    shown = page.evaluate(RENDER, [sorted(server_codes()) + ["a_code_from_a_newer_server"], message])
    generic = shown.pop("a_code_from_a_newer_server")
    assert message not in generic and "a_code_from_a_newer_server" in generic  # safe, and names what to look up
    for code, text in shown.items():
        assert text and message not in text and "{" not in text and text != generic.replace(
            "a_code_from_a_newer_server", code), f"{language} {code}: {text!r}"
