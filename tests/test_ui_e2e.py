"""The app's windows as a person uses them: real headless Chromium on the pages ZapPool serves, a real ZapPool
(`app.py --headless` in its own process) on the WhatsApp Web simulator, the simulator's phone scanning,
receiving and writing.

One app process and one browser serve the whole module and the tests run in order, each going on from where
the last one left the pool (as a person's session would): log in, connect, chat, a second number, disconnect
and reconnect, the QR code's life, language, and last a restart that restores.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import PIL.Image
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.conftest import wait_until
from tests.ui_support import CONTACT, PASSWORD, PHONE, PHONE2, SIM_TIMINGS, AppProcess, launch_browser, log_in, read_qr
from wasim import SimServer

expect.set_options(timeout=15_000)
HTML_NAME = '<img src=x onerror="window.__pwned=1"><b>Loja</b>'
HTML_TEXT = 'Chegou! <img src=x onerror="window.__pwned=1"> <script>window.__pwned=1</script>'

# Test instrumentation, in every page of the context: notifications are recorded instead of shown (headless
# Chromium shows none), and the QR window's status line is recorded as it changes.
INIT_SCRIPT = """
(() => {
  const notes = () => JSON.parse(localStorage.getItem('__notes') || '[]');
  class FakeNotification {
    static permission = 'granted';
    static requestPermission() { return Promise.resolve('granted'); }
    constructor(title, options = {}) {
      localStorage.setItem('__notes', JSON.stringify([...notes(), { title, body: options.body || '' }]));
    }
    close() {}
  }
  window.Notification = FakeNotification;
  // On window, not document: a pop-up's first about:blank document is replaced, its window is kept.
  window.addEventListener('DOMContentLoaded', () => {
    const line = document.getElementById('status');
    if (!line) return;
    window.__statuses = [];
    const note = () => {
      const text = line.textContent;
      if (text && window.__statuses[window.__statuses.length - 1] !== text) window.__statuses.push(text);
    };
    note();
    new MutationObserver(note).observe(line, { childList: true, characterData: true, subtree: true });
  });
})();
"""


class Session:
    """The state the ordered tests hand on: the app, the phone, the windows open now."""

    def __init__(self, app: AppProcess, sim: SimServer, context: BrowserContext, tmp: Path):
        self.app = app
        self.sim = sim
        self.context = context
        self.tmp = tmp
        self.main: Page | None = None
        self.pool: Page | None = None
        self.chat: Page | None = None
        self.vendas = ""  # the first number's client id
        # Script errors and refusals by the Content-Security-Policy in any window (answers such as 401 or 404
        # are logged by the browser as failed loads: those are the API saying no, which the pages handle).
        self.problems: list[str] = []
        context.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
                   and self.problems.append(m.text))
        context.on("weberror", lambda e: self.problems.append(str(e.error)))

    def card(self, client_id: str):
        """A number's card in the pool manager."""
        return self.pool.locator(f'.card[data-client-id="{client_id}"]')

    def api(self, page: Page, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """Call the REST API from a page, with its login cookie: {status, body}."""
        return page.evaluate(
            """async ([method, path, body]) => {
                 const init = {method, headers: {'Content-Type': 'application/json', Accept: 'application/json'}};
                 if (body !== null) init.body = JSON.stringify(body);
                 const r = await fetch(path, init);
                 return {status: r.status, body: r.status === 204 ? null : await r.json()};
               }""", [method, path, body])

    def notes(self) -> list[dict[str, str]]:
        """Notifications shown so far (recorded by INIT_SCRIPT)."""
        return json.loads(self.main.evaluate("localStorage.getItem('__notes') || '[]'"))


@pytest.fixture(scope="module")
def phone() -> Iterator[SimServer]:
    """This module's own simulator: it must outlive the app process, which restarts."""
    with SimServer(**SIM_TIMINGS) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def session(phone: SimServer, browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    tmp = tmp_path_factory.mktemp("ui")
    app = AppProcess(tmp / "dados", phone.url).start()
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="pt-BR")
    context.add_init_script(INIT_SCRIPT)
    try:
        yield Session(app, phone, context, tmp)
    finally:
        context.close()
        code = app.stop()
        assert code == 0, app.output()[-3000:]


def popup_of(page: Page, click) -> Page:
    """The window a click opens."""
    with page.expect_popup() as opened:
        click()
    window = opened.value
    window.wait_for_load_state("domcontentloaded")
    return window


# -- log in -------------------------------------------------------------------------------------------------

def test_first_login_forces_a_new_password_and_wrong_tries_are_slowed_down(session: Session):
    page = session.main = session.context.new_page()
    page.goto(session.app.owner_link)  # the link the terminal shows: a browser's first login needs it
    expect(page.get_by_role("heading", name="Entrar no ZapPool")).to_be_visible()
    expect(page.get_by_text("Primeiro acesso: usuário admin, senha admin.")).to_be_visible()

    page.get_by_label("Usuário").fill("admin")
    error = page.locator("#login-error")
    for attempt in range(8):  # the server locks after 5 wrong tries; the page says how long to wait
        page.get_by_label("Senha", exact=True).fill(f"errada-{attempt}")
        page.get_by_role("button", name="Entrar").click()
        expect(error).not_to_have_text("")
        if "Muitas tentativas" in error.inner_text():
            break
    expect(error).to_have_text(re.compile(r"Muitas tentativas erradas\. Tente de novo em \d+ s\."))
    expect(error).to_have_text("Já pode tentar de novo.", timeout=20_000)

    page.get_by_label("Senha", exact=True).fill("admin")
    page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_role("heading", name="Troque a senha do administrador")).to_be_visible()
    expect(page.locator("#login-form")).to_be_hidden()
    assert session.api(page, "GET", "/stats", None)["body"]["error"]["code"] == "password_change_required"

    page.get_by_label("Nova senha", exact=True).fill(PASSWORD)
    page.get_by_label("Repita a nova senha").fill(PASSWORD + "x")
    page.get_by_role("button", name="Salvar nova senha").click()
    expect(page.locator("#password-error")).to_have_text("As duas senhas novas não são iguais.")
    page.get_by_label("Repita a nova senha").fill(PASSWORD)
    page.get_by_role("button", name="Salvar nova senha").click()
    page.wait_for_url("**/ui/main.html")


def test_main_screen_has_the_seeds_two_buttons_and_the_pool_summary(session: Session):
    page = session.main
    manage = page.get_by_role("button", name="🔗 Gerenciar Conexões")
    expect(manage).to_be_visible()
    expect(page.get_by_role("button", name="📱 Conectar WhatsApp")).to_be_visible()
    assert "gradient" in manage.evaluate("b => getComputedStyle(b).backgroundImage")  # the purple one
    stats = page.locator("#stats")
    expect(stats.locator('[data-stat="clients"] dd')).to_have_text("0de 10")
    expect(stats.locator('[data-stat="connected"] dd')).to_have_text("0")
    expect(page.locator("#live")).to_have_text("Atualizado em tempo real")
    # Keyboard: the skip link comes first, and the purple button is reached with Tab.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Pular para o conteúdo")).to_be_focused()
    for _ in range(4):
        page.keyboard.press("Tab")
        if manage.evaluate("b => b === document.activeElement"):
            break
    expect(manage).to_be_focused()


# -- connect a number ------------------------------------------------------------------------------------------

WATCH_READY = """
([clientId, card]) => {
  // When the number's `ready` status left the server (its event's timestamp), and when the card showed it.
  window.__latency = {};
  const source = new EventSource('/events?types=status&clientId=' + encodeURIComponent(clientId));
  source.onmessage = (m) => {
    const event = JSON.parse(m.data);
    if (event.data.status === 'ready' && !window.__latency.event) {
      window.__latency.event = Date.parse(event.timestamp);
      source.close();
    }
  };
  const root = document.querySelector(card);
  new MutationObserver(() => {
    if (root.dataset.status === 'ready' && !window.__latency.badge) window.__latency.badge = Date.now();
  }).observe(root, { attributes: true, attributeFilter: ['data-status'] });
  return new Promise((resolve) => { source.onopen = () => resolve(true); });
}
"""


def test_adding_a_connection_opens_its_qr_window_and_a_scan_turns_the_card_green(session: Session):
    session.pool = pool = popup_of(session.main, session.main.get_by_role("button", name="Gerenciar Conexões").click)
    expect(pool.get_by_role("heading", name="🔗 Gerenciador de Conexões")).to_be_visible()
    expect(pool.locator("#empty")).to_have_text("Nenhuma conexão ainda. Clique em “➕ Adicionar Nova Conexão”.")

    pool.get_by_label("Nome da nova conexão (opcional)").fill("Vendas")
    qr = popup_of(pool, pool.get_by_role("button", name="➕ Adicionar Nova Conexão").click)
    session.vendas = client_id = re.search(r"client=([\w-]+)", qr.url).group(1)
    image = qr.get_by_role("img", name="QR code para escanear com o WhatsApp do celular")
    expect(image).to_be_visible(timeout=30_000)
    expect(qr.locator("#status")).to_have_text("Aguardando QR")
    expect(qr.locator("#countdown")).to_have_text(re.compile(r"Novo código em \d+ s"))
    card = session.card(client_id)
    expect(card.locator(".badge")).to_have_text("Aguardando QR")

    # What the window shows is the code WhatsApp Web shows now, as the API and the phone's side know it.
    code = read_qr(image)
    on_phone = [s["qr"] for s in session.sim.control.state()["sessions"]]
    served = session.api(pool, "GET", f"/clients/{client_id}/qr")["body"]["code"]
    assert code is not None and code == served and on_phone == [code]

    pool.evaluate(WATCH_READY, [client_id, f'.card[data-client-id="{client_id}"]'])
    session.sim.control.scan(code, PHONE)
    expect(card).to_have_attribute("data-status", "ready")
    expect(card.locator(".badge")).to_have_text("Conectado")
    latency = wait_until(lambda: pool.evaluate("window.__latency.event && window.__latency.badge && window.__latency"),
                         timeout=10, what="the ready event and the green badge")
    took_ms = latency["badge"] - latency["event"]
    print(f"\nbadge latency after the ready event: {took_ms} ms")
    assert took_ms < 1000, f"the card turned green {took_ms} ms after the ready event"
    expect(card.locator('[data-role="phone"]')).to_have_text("+55 11 99999-0001")

    qr.wait_for_event("close", timeout=15_000)  # it closes itself once connected
    statuses = qr.evaluate("window.__statuses") if not qr.is_closed() else None
    assert statuses is None or statuses[-1] == "Conectado ✓"


def test_the_qr_window_goes_from_starting_to_waiting_to_connected(session: Session):
    # The main screen's quick connect: a new number and its QR window, followed from the very start.
    qr = popup_of(session.main, session.main.get_by_role("button", name="📱 Conectar WhatsApp").click)
    expect(qr.locator("#qr")).to_be_visible(timeout=30_000)
    client_id = re.search(r"client=([\w-]+)", qr.url).group(1)
    card = session.card(client_id)
    expect(card.locator("h3")).to_have_text("Número sem nome")  # no name given: not its id as a name
    expect(card.locator(".card-id")).to_have_text(client_id)
    session.sim.control.scan(read_qr(qr.locator("#qr")), PHONE2)
    expect(qr.locator("#status")).to_have_text("Conectado ✓")
    statuses = qr.evaluate("window.__statuses")
    assert statuses[0] == "Inicializando..." and "Aguardando QR" in statuses and statuses[-1] == "Conectado ✓", statuses
    assert statuses.index("Inicializando...") < statuses.index("Aguardando QR")
    qr.wait_for_event("close", timeout=15_000)
    expect(card.locator(".badge")).to_have_text("Conectado")
    expect(card.locator("h3")).to_have_text("+55 11 97777-6666")  # linked: its phone names it
    expect(card.get_by_role("button", name=re.compile("Reconectar"))).to_be_hidden()  # connected: nothing to redo
    expect(card.get_by_role("button", name=re.compile("Desconectar"))).to_be_visible()
    # "Sair da conta", confirmed: the phone no longer has the device; the number stays listed, to link again.
    phones = lambda: {d.get("phone") for d in session.sim.control.state()["devices"]}  # noqa: E731
    assert PHONE2 in phones()
    card.get_by_role("button", name="🚪 Sair da conta").click()
    dialog = session.pool.get_by_role("dialog")
    expect(dialog).to_contain_text("desvincula +55 11 97777-6666")
    dialog.get_by_role("button", name="🚪 Sair da conta").click()
    expect(card.locator(".badge")).to_have_text("Desconectado")
    expect(card.get_by_role("button", name="🚪 Sair da conta")).to_be_hidden()
    expect(card.get_by_role("button", name=re.compile("Reconectar"))).to_be_visible()
    wait_until(lambda: PHONE2 not in phones(), timeout=10, what="the device unlinked on the phone")
    # Not needed further on: the seed's "Remover", confirmed.
    session.card(client_id).get_by_role("button", name="🗑 Remover").click()
    session.pool.get_by_role("dialog").get_by_role("button", name="🗑 Remover").click()
    expect(session.card(client_id)).to_have_count(0)


# -- chat ---------------------------------------------------------------------------------------------------

def sent_to(sim: SimServer, count: int) -> list[dict[str, Any]]:
    """What the first number has sent, once it has sent `count` messages."""
    def enough() -> list[dict[str, Any]] | None:
        sent = sim.control.sent(PHONE)
        return sent if len(sent) >= count else None

    return wait_until(enough, timeout=20, what=f"{count} message(s) on the phone")


def test_chat_sends_text_and_a_file_and_shows_replies_live(session: Session):
    card = session.card(session.vendas)
    session.chat = chat = popup_of(session.pool, card.get_by_role("button", name="💬 Abrir Chat").click)
    expect(chat.get_by_role("heading", name="💬 Chat — Vendas")).to_be_visible()
    expect(chat.get_by_text("Nenhuma conversa ainda.")).to_be_visible()

    chat.get_by_label("Nova conversa").fill("(11) 98888-7777")
    chat.get_by_role("button", name="Abrir").click()
    box = chat.get_by_label("Mensagem")
    box.fill("Seu pedido saiu hoje <b>cedo</b>")
    box.press("Enter")
    text = sent_to(session.sim, 1)[0]
    assert (text["to"], text["type"], text["text"]) == (CONTACT, "chat", "Seu pedido saiu hoje <b>cedo</b>")
    bubble = chat.locator(".bubble.out").first
    expect(bubble.locator(".text")).to_have_text("Seu pedido saiu hoje <b>cedo</b>")
    expect(bubble.locator(".ticks")).to_have_attribute("aria-label", "Lida")  # ✓✓ in blue, after the acks

    document = session.tmp / "pedido-123.pdf"
    document.write_bytes(b"%PDF-1.4\n% ZapPool test\n" + bytes(range(256)) * 8)
    with chat.expect_file_chooser() as chooser:
        chat.get_by_role("button", name="📎 Anexar arquivo").click()
    chooser.value.set_files(document)
    expect(chat.locator("#attachment-name")).to_have_text(re.compile(r"Anexo: pedido-123\.pdf \(2 KB\)"))
    box.fill("Nota fiscal")
    chat.get_by_role("button", name="Enviar").click()
    media = sent_to(session.sim, 2)[1]
    assert (media["type"], media["filename"], media["text"]) == ("document", "pedido-123.pdf", "Nota fiscal")
    assert media["sha256"] == hashlib.sha256(document.read_bytes()).hexdigest()
    expect(chat.locator(".bubble.out .file").last).to_have_text(re.compile(r"📎 pedido-123\.pdf"))
    expect(chat.locator("#attachment")).to_be_hidden()

    # A reply in the open conversation appears by itself, as text, and is read at once.
    session.sim.control.incoming(PHONE, CONTACT, HTML_TEXT, notify_name="Maria <i>Silva</i>")
    reply = chat.locator(".bubble.in .text").last
    expect(reply).to_have_text(HTML_TEXT)
    expect(chat.locator(".chat-item .chat-name").first).to_have_text("Maria <i>Silva</i>")
    assert chat.locator("#thread img, #thread script, #chats i").count() == 0
    assert chat.evaluate("window.__pwned") is None
    expect(card.locator('[data-role="messages"]')).to_have_text("2")

    # One from someone else: unread in the list and on the card, until opened.
    session.sim.control.incoming(PHONE, "5521955554444", "Bom dia!")
    other = chat.locator('.chat-item[data-chat-id="5521955554444@c.us"]')
    expect(other.locator(".unread")).to_have_text("1")
    expect(card.locator('[data-role="unread"]')).to_have_text("1")
    other.click()
    expect(chat.locator(".bubble.in .text").last).to_have_text("Bom dia!")
    expect(other.locator(".unread")).to_have_count(0)
    expect(card.locator('[data-role="unread"]')).to_have_text("0")
    assert {"title": "Nova mensagem em Vendas", "body": "Maria <i>Silva</i>: " + HTML_TEXT} in session.notes()


def test_chat_shows_received_photos_stickers_voice_notes_videos_and_sent_media(session: Session):
    """Issue 16 §2: media in the thread, from blob: URLs under the pages' own CSP (the last test checks it)."""
    chat = session.chat
    photo = io.BytesIO()
    PIL.Image.new("RGB", (64, 48), (0, 168, 132)).save(photo, "JPEG")
    media = {"type": "image", "mimetype": "image/jpeg", "data": base64.b64encode(photo.getvalue()).decode()}
    session.sim.control.incoming(PHONE, "5521955554444", media=media)
    image = chat.locator(".bubble.in img.media-img").last
    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    wait_until(lambda: image.evaluate("(i) => i.complete && i.naturalWidth") == 64, 10, what="the photo drawn")
    voice = {"type": "ptt", "mimetype": "audio/ogg; codecs=opus", "data": base64.b64encode(b"OggS" * 64).decode()}
    session.sim.control.incoming(PHONE, "5521955554444", media=voice)
    expect(chat.locator(".bubble.in audio.media-audio").last).to_have_attribute("src", re.compile(r"^blob:"))
    sticker = io.BytesIO()
    PIL.Image.new("RGBA", (32, 32), (255, 200, 0, 255)).save(sticker, "WEBP")
    session.sim.control.incoming(PHONE, "5521955554444", media={
        "type": "sticker", "mimetype": "image/webp", "data": base64.b64encode(sticker.getvalue()).decode()})
    drawn = chat.locator(".bubble.in img.media-img.sticker").last
    wait_until(lambda: drawn.evaluate("(i) => i.complete && i.naturalWidth") == 32, 10, what="the sticker drawn")
    clip = {"type": "video", "mimetype": "video/mp4", "data": base64.b64encode(b"\0\0\0\x18ftypmp42").decode()}
    session.sim.control.incoming(PHONE, "5521955554444", media=clip)
    expect(chat.locator(".bubble.in video.media-video").last).to_have_attribute("src", re.compile(r"^blob:"))

    chat.locator(f'.chat-item[data-chat-id="{CONTACT}@c.us"]').click()  # the PDF sent earlier: a download link
    link = chat.locator(".bubble.out a.media-doc").last
    expect(link).to_have_attribute("download", "pedido-123.pdf")
    with chat.expect_download() as got:
        link.click()
    assert got.value.suggested_filename == "pedido-123.pdf"
    assert Path(got.value.path()).read_bytes().startswith(b"%PDF-1.4\n% ZapPool test")


def test_notifications_can_be_turned_off(session: Session):
    main = session.main
    toggle = main.get_by_label("Notificações na área de trabalho")
    expect(toggle).to_be_checked()
    toggle.uncheck()
    expect(main.get_by_text("Preferência salva.")).to_be_visible()
    assert session.api(main, "GET", "/preferences")["body"]["notifications"] is False
    before = len(session.notes())
    session.sim.control.incoming(PHONE, CONTACT, "Sem aviso, por favor")
    expect(session.chat.locator(".chat-preview").first).to_have_text("Sem aviso, por favor")
    assert len(session.notes()) == before
    toggle.check()
    wait_until(lambda: session.api(main, "GET", "/preferences")["body"]["notifications"], what="saved")


# -- a second number; search, filter, order, remove -------------------------------------------------------------

def card_ids(pool: Page) -> list[str]:
    return pool.locator(".card").evaluate_all("cards => cards.map(c => c.dataset.clientId)")


def test_a_name_with_html_shows_as_text_and_the_cards_can_be_found_filtered_and_ordered(session: Session):
    pool = session.pool
    pool.get_by_label("Nome da nova conexão (opcional)").fill(HTML_NAME)
    qr = popup_of(pool, pool.get_by_role("button", name="➕ Adicionar Nova Conexão").click)
    loja = re.search(r"client=([\w-]+)", qr.url).group(1)
    expect(qr.locator("#connection")).to_have_text(f"Conexão: {HTML_NAME}")
    qr.close()
    card = session.card(loja)
    expect(card.locator("h3")).to_have_text(HTML_NAME)
    expect(card.locator(".badge")).to_have_text("Aguardando QR", timeout=30_000)
    assert pool.locator(".card img, .card b").count() == 0 and pool.evaluate("window.__pwned") is None

    search = pool.get_by_label("Buscar por ID, nome ou telefone")
    visible = pool.locator(".card:visible")
    for query, expected in (("vendas", [session.vendas]), ("99999-0001", [session.vendas]), ("loja", [loja]),
                            (loja, [loja]), ("nada", [])):
        search.fill(query)
        expect(visible).to_have_count(len(expected))
        assert [c.get_attribute("data-client-id") for c in visible.all()] == expected
    expect(pool.locator("#empty")).to_have_text("Nenhuma conexão corresponde à busca.")
    search.fill("")
    status = pool.get_by_label("Filtrar por status")
    status.select_option(label="Conectado")
    expect(visible).to_have_count(1)
    assert visible.get_attribute("data-client-id") == session.vendas
    status.select_option(label="Aguardando QR")
    expect(visible).to_have_count(1)
    assert visible.get_attribute("data-client-id") == loja
    status.select_option(label="Todos os status")
    expect(visible).to_have_count(2)

    # Drag the second card onto the first: the order is saved and comes back after a reload.
    assert card_ids(pool) == [session.vendas, loja]
    card.drag_to(session.card(session.vendas))
    assert card_ids(pool) == [loja, session.vendas]
    wait_until(lambda: session.api(pool, "GET", "/preferences")["body"]["cardOrder"] == [loja, session.vendas],
               what="the order saved")
    pool.reload()
    expect(pool.locator(".card")).to_have_count(2)
    assert card_ids(pool) == [loja, session.vendas]
    # The keyboard does the same on a card's handle, and the focus stays on it.
    handle = session.card(loja).get_by_role("button", name=re.compile(r"^Mover .*Loja"))
    handle.focus()
    handle.press("ArrowDown")
    assert card_ids(pool) == [session.vendas, loja]
    expect(handle).to_be_focused()
    expect(pool.locator("#moved")).to_have_text(re.compile(r"posição 2 de 2"))
    wait_until(lambda: session.api(pool, "GET", "/preferences")["body"]["cardOrder"] == [session.vendas, loja],
               what="the order saved")

    # Remove asks first; cancelling keeps the number.
    remove = session.card(loja).get_by_role("button", name="🗑 Remover")
    remove.click()
    dialog = pool.get_by_role("dialog", name="Remover conexão?")
    expect(dialog).to_contain_text(f"Isto desconecta {HTML_NAME} do WhatsApp")
    dialog.get_by_role("button", name="Cancelar").click()
    expect(dialog).to_have_count(0)
    expect(remove).to_be_focused()
    expect(pool.locator(".card")).to_have_count(2)
    remove.click()
    pool.get_by_role("dialog").get_by_role("button", name="🗑 Remover").click()
    expect(pool.locator(".card")).to_have_count(1)
    assert session.api(pool, "GET", f"/clients/{loja}")["status"] == 404


# -- disconnect, reconnect, lose the network -----------------------------------------------------------------------

def test_disconnect_and_reconnect_from_the_card(session: Session):
    card = session.card(session.vendas)
    card.get_by_role("button", name="🔌 Desconectar").click()
    expect(card.locator(".badge")).to_have_text("Desconectado")
    expect(card.locator(".reason")).to_have_text("desconectado por você")
    expect(session.chat.locator("#client-status")).to_have_text("Desconectado")
    card.get_by_role("button", name="🔄 Reconectar").click()
    expect(card.locator(".badge")).to_have_text("Conectado", timeout=30_000)  # the login was kept: no QR code
    expect(session.chat.locator("#client-status")).to_have_text("Conectado")


def test_a_numbers_limits_are_in_its_settings_and_its_card_counts_today_against_the_cap(session: Session):
    pool, card = session.pool, session.card(session.vendas)
    today = card.locator('[data-role="today"]')
    expect(today).to_have_text(re.compile(r"^\d+ de 250$"))  # the careful default: 250 a day
    sent = int(today.text_content().split()[0])

    card.get_by_role("button", name="⏱ Limites").click()
    dialog = pool.get_by_role("dialog", name=re.compile("Limites de envio"))
    expect(dialog.get_by_label("Máximo de mensagens por dia (0: sem limite)")).to_have_value("250")
    dialog.get_by_label("Máximo de mensagens por dia (0: sem limite)").fill(str(sent))
    dialog.get_by_role("button", name="Salvar").click()
    expect(today).to_have_text(f"{sent} de {sent}")
    expect(today).to_have_attribute("data-at-cap", "true")

    held = session.api(pool, "POST", f"/clients/{session.vendas}/messages", {"to": CONTACT, "text": "amanhã"})
    assert held["status"] == 202, held
    expect(pool.locator(".toast").filter(has_text="No limite de envio")).to_be_visible()
    waiting = session.api(pool, "GET", f"/messages/{held['body']['id']}")["body"]
    assert waiting["status"] == "queued" and waiting["errorCode"] == "rate_limited"

    card.get_by_role("button", name="⏱ Limites").click()
    dialog.get_by_label("Máximo de mensagens por dia (0: sem limite)").fill("0")
    dialog.get_by_role("button", name="Salvar").click()
    expect(today).to_have_text(f"{sent + 1} (sem limite)", timeout=15_000)  # the held message went
    assert "amanhã" in [m["text"] for m in session.sim.control.sent(PHONE)]


def test_a_number_that_drops_off_the_network_notifies_and_comes_back(session: Session):
    card = session.card(session.vendas)
    before = len(session.notes())
    session.sim.control.network(False)
    try:
        expect(card.locator(".reason")).to_have_text("sem conexão com a internet", timeout=30_000)
        wait_until(lambda: len(session.notes()) > before, what="a notification")
        assert session.notes()[-1] == {"title": "Vendas desconectou", "body": "sem conexão com a internet"}
    finally:
        session.sim.control.network(True)
    expect(card.locator(".badge")).to_have_text("Conectado", timeout=30_000)


# -- the QR code's life: rotation, running out, a pairing code instead -----------------------------------------

def test_the_qr_code_rotates_runs_out_and_a_pairing_code_links_instead(session: Session):
    session.sim.control.configure(first_qr_ms=2500, qr_ms=1500, max_qrs=3)
    try:
        qr = popup_of(session.pool, session.pool.get_by_role("button", name="➕ Adicionar Nova Conexão").click)
        image = qr.locator("#qr")
        expect(image).to_be_visible(timeout=30_000)
        first = image.get_attribute("src")
        expect(image).not_to_have_attribute("src", first)  # WhatsApp rotated the code: the window follows
        renew = qr.get_by_role("button", name="🔄 Gerar novo QR")
        expect(renew).to_be_visible(timeout=20_000)  # codes ran out
        expect(qr.get_by_text("Ninguém escaneou a tempo e o WhatsApp parou de gerar códigos.")).to_be_visible()
        expect(image).to_be_hidden()
    finally:
        session.sim.control.configure(**SIM_TIMINGS)
    renew.click()
    expect(image).to_be_visible(timeout=30_000)
    expect(qr.locator("#status")).to_have_text("Aguardando QR")

    qr.get_by_text("Conectar com número de telefone", exact=True).click()
    qr.get_by_label("Número do WhatsApp, com DDD").fill("(11) 97777-6666")
    qr.get_by_role("button", name="Gerar código").click()
    code = qr.locator("#pairing-code")
    expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    session.sim.control.pair(code.inner_text(), PHONE2)
    expect(qr.locator("#status")).to_have_text("Conectado ✓")
    client_id = re.search(r"client=([\w-]+)", qr.url).group(1)
    qr.wait_for_event("close", timeout=15_000)
    card = session.card(client_id)
    expect(card.locator('[data-role="phone"]')).to_have_text("+55 11 97777-6666")
    card.get_by_role("button", name="🗑 Remover").click()
    session.pool.get_by_role("dialog").get_by_role("button", name="🗑 Remover").click()
    expect(session.card(client_id)).to_have_count(0)


# -- language -----------------------------------------------------------------------------------------------

def test_english_is_one_choice_away_and_remembered(session: Session):
    main = session.main
    main.get_by_label("Idioma").select_option("en")
    expect(main.get_by_role("button", name="🔗 Manage Connections")).to_be_visible()
    expect(main.get_by_role("button", name="📱 Connect WhatsApp")).to_be_visible()
    expect(main.locator("html")).to_have_attribute("lang", "en")
    expect(session.pool.get_by_role("button", name="➕ Add New Connection")).to_be_visible()  # other windows follow
    expect(session.card(session.vendas).locator(".badge")).to_have_text("Connected")
    main.reload()
    expect(main.get_by_role("heading", name="Pool summary")).to_be_visible()
    assert session.api(main, "GET", "/preferences")["body"]["language"] == "en"
    main.get_by_role("button", name="Log out").click()
    main.wait_for_url(re.compile(r"/$"))
    expect(main.get_by_role("heading", name="Log in to ZapPool")).to_be_visible()  # before any login
    main.get_by_label("Language").select_option("pt-BR")
    expect(main.get_by_role("heading", name="Entrar no ZapPool")).to_be_visible()
    main.get_by_label("Usuário").fill("admin")  # chosen before logging in: it becomes the saved language
    main.get_by_label("Senha", exact=True).fill(PASSWORD)
    main.get_by_role("button", name="Entrar").click()
    main.wait_for_url("**/ui/main.html")
    expect(main.get_by_role("button", name="🔗 Gerenciar Conexões")).to_be_visible()
    assert session.api(main, "GET", "/preferences")["body"]["language"] == "pt-BR"


# -- API keys ------------------------------------------------------------------------------------------------

def test_api_keys_are_created_shown_once_and_revoked(session: Session):
    main = session.main
    main.get_by_label("Nome da nova chave").fill("crm <b>novo</b>")
    main.get_by_role("button", name="Criar chave").click()
    secret = main.locator("#new-key .secret")
    expect(secret).to_have_text(re.compile(r"^zp_"))
    key = secret.inner_text()
    item = main.locator(".key", has_text="crm <b>novo</b>")
    expect(item).to_contain_text("Ativa")
    status = main.evaluate("k => fetch('/stats', {credentials: 'omit', headers: {'X-Api-Key': k}}).then(r => r.status)", key)
    assert status == 200
    item.get_by_role("button", name=re.compile("Revogar")).click()
    main.get_by_role("dialog").get_by_role("button", name="Revogar").click()
    expect(item).to_contain_text("Revogada em")
    status = main.evaluate("k => fetch('/stats', {credentials: 'omit', headers: {'X-Api-Key': k}}).then(r => r.status)", key)
    assert status == 401
    main.reload()
    expect(main.locator("#new-key")).to_be_hidden()  # shown once
    assert key not in main.content()


def test_the_browser_to_use_is_shown_but_set_only_in_the_window_or_terminal(session: Session):
    main = session.main
    path = main.get_by_label("Navegador usado pelo WhatsApp Web")
    expect(path).not_to_be_editable()  # in a browser the REST API refuses it (issue 14, finding 7)
    expect(main.locator("#browser-save")).to_be_hidden()
    expect(main.locator("#browser-help")).to_contain_text("janela do ZapPool ou com --browser")
    refused = session.api(main, "PUT", "/preferences", {"browserPath": "/usr/bin/chromium"})
    assert refused["body"]["error"]["code"] == "desktop_only_preference"
    assert session.api(main, "GET", "/preferences")["body"]["browserPath"] is None


# -- restart ---------------------------------------------------------------------------------------------------

def test_after_a_restart_the_card_comes_back_and_its_session_is_restored(session: Session):
    for page in session.context.pages:
        page.close()
    assert session.app.stop() == 0
    session.app.start("--no-restore")  # restored by hand, with the seed's button
    main = session.main = session.context.new_page()
    log_in(main, session.app.url, PASSWORD)
    pool = session.pool = popup_of(main, main.get_by_role("button", name="🔗 Gerenciar Conexões").click)
    card = session.card(session.vendas)
    expect(card.locator("h3")).to_have_text("Vendas")
    expect(card.locator(".badge")).not_to_have_text("Conectado")
    pool.get_by_role("button", name="📥 Restaurar Sessões").click()
    expect(pool.locator("#restore-result")).to_have_text("1/1 sessões restauradas", timeout=60_000)
    expect(card.locator(".badge")).to_have_text("Conectado")
    expect(card.locator('[data-role="messages"]')).to_have_text("3")  # the chat's two, and the one the daily cap held


# -- the same pages at 200% zoom, and in the desktop --------------------------------------------------------------

def test_every_window_reflows_at_200_percent_zoom(session: Session):
    # 200% zoom of a 1280-pixel-wide window leaves 640 CSS pixels: nothing may need sideways scrolling.
    main = session.main
    pool = session.pool
    chat = popup_of(pool, session.card(session.vendas).get_by_role("button", name="💬 Abrir Chat").click)
    for page in (main, pool, chat):
        page.set_viewport_size({"width": 640, "height": 430})
        page.locator("#main:not([data-boot])").wait_for()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (page.url, overflow)
    chat.close()
    for page in (main, pool):
        page.set_viewport_size({"width": 1280, "height": 860})


FAKE_BRIDGE = """
(() => {
  // Qt's web channel is there from the start; pywebview's object and its `pywebviewready` come later.
  window.qt = { webChannelTransport: {} };
  window.__calls = [];
  const info = { clientId: 'fake', name: 'Balcão', status: 'qr_ready', reason: null, phoneNumber: null,
                 qrCode: null, qrExpiresAt: null, pairingCode: null, isReady: false,
                 metadata: { createdAt: '2026-01-02T03:04:05.000Z', lastQRAt: null, connectedAt: null,
                             messageCount: 7, lastError: null } };
  const answers = {
    me: { result: { kind: 'session', id: 'admin', mustChangePassword: false } },
    get_preferences: { result: { language: 'pt-BR', notifications: true, cardOrder: [] } },
    list_all_clients_info: { result: [info] },
    get_client: { result: info },
    get_pool_stats: { result: { totalCreated: 1, totalConnected: 0, totalDisconnected: 0, totalMessages: 7,
                                currentClients: 1, maxClients: 10, readyClients: 0, clientsByStatus: { qr_ready: 1 } } },
    list_chats: { result: { items: [], nextCursor: null } },
    get_client_limits: { result: { clientId: 'fake', intervalS: 1, jitterS: 1, hourlyCap: 50, dailyCap: 250,
                                   defaults: { intervalS: 1, jitterS: 1, hourlyCap: 50, dailyCap: 250 },
                                   sentThisHour: 3, sentToday: 7 } },
    list_api_keys: { result: [] },
    open_logs_folder: { result: { path: '/home/maria/ZapPool/logs', opened: true } },
    disconnect_client: { error: { code: 'conflict', message: 'Ocupado agora', details: {} } },
  };
  const api = {};
  for (const name of Object.keys(answers)) {
    api[name] = (...args) => { window.__calls.push([name, args]); return Promise.resolve(answers[name]); };
  }
  setTimeout(() => {
    window.pywebview = { platform: 'qtwebengine', api, _QWebChannel: {} };
    window.dispatchEvent(new CustomEvent('pywebviewready'));
  }, 300);
})();
"""


def test_in_the_desktop_api_js_calls_the_bridge_and_takes_pushed_events(session: Session, browser: Browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(INIT_SCRIPT)
    context.add_init_script(FAKE_BRIDGE)
    try:
        page = context.new_page()
        asked: list[str] = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(session.app.url + "/ui/pool.html")
        card = page.locator('.card[data-client-id="fake"]')
        expect(card.locator("h3")).to_have_text("Balcão")
        expect(card.locator(".badge")).to_have_text("Aguardando QR")
        expect(card.locator('[data-role="today"]')).to_have_text("7 de 250")  # the bridge's get_client_limits
        # The page's own api.js (its modules are under the frontend's versioned address, frontend_version.py).
        assert page.evaluate("import(new URL('api.js', document.querySelector('script[type=module]').src))"
                             ".then(m => m.api.mode)") == "desktop"

        # Events come from the bridge's push, not from a stream of this page's own.
        page.evaluate("""window.__zapoolEvent({id: 1, type: 'status', clientId: 'fake',
                          data: {status: 'ready', previous: 'qr_ready', reason: null},
                          timestamp: new Date().toISOString()})""")
        expect(card.locator(".badge")).to_have_text("Conectado")
        page.evaluate("""window.__zapoolEvent({id: 2, type: 'message', clientId: 'fake',
                          data: {message: {id: 'x', from: '5511988887777@c.us', type: 'chat', body: 'oi'}},
                          timestamp: new Date().toISOString()})""")

        # An {error} envelope is an ApiError, shown like any other.
        card.get_by_role("button", name="🔌 Desconectar").click()
        expect(page.locator(".toast-error")).to_have_text("Isso não pode ser feito no estado atual.")  # by code, not message
        calls = page.evaluate("window.__calls")
        assert ["disconnect_client", ["fake"]] in calls and ["list_chats", ["fake", None]] in calls
        assert not [url for url in asked if "/events" in url or "/clients" in url or "/auth" in url], asked
        page.wait_for_timeout(300)  # a notification would have been made by now
        assert page.evaluate("localStorage.getItem('__notes')") is None  # the desktop notifies from Python

        page.goto(session.app.url + "/ui/main.html")
        page.get_by_role("button", name="📂 Abrir pasta de registros").click()
        expect(page.locator("#logs-path")).to_have_text("Registros em: /home/maria/ZapPool/logs")
        assert ["open_logs_folder", []] in page.evaluate("window.__calls")
        expect(page.get_by_role("button", name="Permitir notificações neste navegador")).to_be_hidden()
    finally:
        context.close()


def test_no_window_had_a_script_error_or_a_policy_violation(session: Session):
    assert session.problems == []
