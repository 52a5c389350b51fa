"""Screenshots of the app's windows for the README, taken from a real run on the WhatsApp Web simulator.

    .venv/bin/python -m tests.screenshots [--out docs/screenshots]

Starts the simulator and `app.py --headless` on a temporary data folder, then plays a short session in headless
Chromium: log in, connect "Vendas" (the simulated phone scans), chat a little, start "Suporte" and leave it
waiting for its scan. Writes login.png, main.png, pool.png, qr.png and chat.png. Emoji need a colour emoji
font on the machine (Debian: fonts-noto-color-emoji); Windows and macOS have one.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.conftest import wait_until  # noqa: E402
from tests.ui_support import CONTACT, PASSWORD, PHONE, SIM_TIMINGS, AppProcess, first_login, launch_browser, read_qr  # noqa: E402
from wasim import SimServer  # noqa: E402

SIZE = {"width": 1200, "height": 760}


def save(page: Page, out: Path, name: str, **options) -> None:
    """A screenshot as an optimised PNG (the windows are flat colours: a palette keeps them small)."""
    page.wait_for_timeout(300)  # let transitions finish
    shot = Image.open(io.BytesIO(page.screenshot(**options))).convert("RGB")
    shot.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out / name, optimize=True)
    print(f"{out / name}  {(out / name).stat().st_size // 1024} KB")


def popup(page: Page, locator) -> Page:
    """The window a click opens."""
    with page.expect_popup() as opened:
        locator.click()
    window = opened.value
    window.set_viewport_size(SIZE)
    window.wait_for_load_state()
    return window


def run(out: Path) -> None:
    """Play the session and take the pictures."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        app = AppProcess(Path(tmp) / "dados", sim.url).start()
        browser = launch_browser(pw)
        try:
            context = browser.new_context(viewport=SIZE, locale="pt-BR")
            page = context.new_page()
            page.goto(app.url + "/")
            page.locator("#login-form").wait_for()
            save(page, out, "login.png")
            first_login(page, app.owner_link, PASSWORD)

            pool = popup(page, page.get_by_role("button", name="🔗 Gerenciar Conexões"))
            pool.get_by_label("Nome da nova conexão (opcional)").fill("Vendas")
            qr = popup(pool, pool.get_by_role("button", name="➕ Adicionar Nova Conexão"))
            qr.locator("#qr").wait_for(timeout=30_000)
            sim.control.scan(read_qr(qr.locator("#qr")), PHONE)
            pool.locator('.card[data-status="ready"]').wait_for(timeout=30_000)

            chat = popup(pool, pool.get_by_role("button", name="💬 Abrir Chat"))
            chat.get_by_label("Nova conversa").fill("(11) 98888-7777")
            chat.get_by_role("button", name="Abrir").click()
            chat.get_by_label("Mensagem").fill("Olá, Maria! Seu pedido #1042 saiu para entrega hoje cedo.")
            chat.get_by_label("Mensagem").press("Enter")
            chat.locator('.bubble.out[data-status="read"]').wait_for(timeout=20_000)
            sim.control.incoming(PHONE, CONTACT, "Que ótimo, obrigada! Chega até as 18h?", notify_name="Maria Souza")
            chat.locator(".bubble.in").wait_for()
            sim.control.incoming(PHONE, "5521955554444", "Bom dia! Vocês abrem no sábado?", notify_name="João")
            chat.locator('.chat-item .unread').wait_for()
            save(chat, out, "chat.png")
            chat.close()

            pool.get_by_label("Nome da nova conexão (opcional)").fill("Suporte")
            qr = popup(pool, pool.get_by_role("button", name="➕ Adicionar Nova Conexão"))
            qr.set_viewport_size({"width": 460, "height": 720})
            qr.locator("#qr").wait_for(timeout=30_000)
            wait_until(lambda: "Novo código" in qr.locator("#countdown").inner_text(), what="the countdown")
            save(qr, out, "qr.png")
            pool.locator(".card").nth(1).locator('.badge.status-qr_ready').wait_for()
            pool.bring_to_front()
            save(pool, out, "pool.png", full_page=True)
            page.bring_to_front()
            page.locator('#stats [data-stat="clients"] dd', has_text="2").wait_for()
            save(page, out, "main.png")
        finally:
            browser.close()
            app.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    run(parser.parse_args().out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
