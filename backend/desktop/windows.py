"""The desktop's windows over pywebview: which exist, opening and focusing them, scripts into them, closing.

    main ("ZapPool", <base>/: login, then main.html) ── closing it quits ZapPool
    pool ("Gerenciar Conexões", /ui/pool.html) ─────── one; opening it again brings it to the front
    qr:<id> ("Conectar WhatsApp — <id>") ────────────── one per number
    chat:<id> ("Chat — <id>", ?chat=) ───────────────── one per number; opening it on a chat moves it there
    templates ("Modelos de mensagem", /ui/templates.html) one; the message templates (issue 17 §1)
    schedules ("Mensagens agendadas", /ui/schedules.html) one; the scheduled messages (issue 17 §3)
    reports ("Relatórios", /ui/reports.html) ─────────── one; response rate, times, funnel, volumes (issue 18)

pywebview's calls may come from any thread. `evaluate_js` blocks its caller until the page answers (and would
never return for a window closed meanwhile), so each window gets its own sender thread and queue: a slow or
closing window only ever holds up itself.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..clock import iso, utc_now
from ..errors import InvalidInput
from ..validation import check_client_id
from .push import event_script

log = logging.getLogger(__name__)
QUEUE_LIMIT = 500  # scripts waiting for one window; beyond this it is stuck and gets a reset when it recovers
MAX_CHAT_ID = 200
QR_CLOSE_DELAY_S = 1.5  # "Conectado ✓" stays this long before the QR window closes


@dataclass(frozen=True)
class Kind:
    """A kind of window: its title, page and size."""

    title: str
    width: int
    height: int
    min_size: tuple[int, int]


MAIN = Kind("ZapPool", 960, 680, (720, 520))
POOL = Kind("Gerenciar Conexões", 1180, 800, (760, 520))
QR = Kind("Conectar WhatsApp — {id}", 480, 680, (380, 560))
CHAT = Kind("Chat — {id}", 1040, 760, (720, 480))
CONTACTS = Kind("Contatos", 1100, 780, (720, 480))  # issue 17 §2: the customer list
TEMPLATES = Kind("Modelos de mensagem", 980, 720, (640, 480))
SCHEDULES = Kind("Mensagens agendadas", 980, 720, (640, 480))  # issue 17 §3
REPORTS = Kind("Relatórios", 1180, 860, (760, 520))  # issue 18
CAMPAIGNS = Kind("Campanhas", 1100, 820, (720, 520))  # issue 17 §4


class _Sender:
    """One window's queue of scripts and the thread that runs them in it, in order."""

    def __init__(self, key: str, window: Any):
        self.key, self.window = key, window
        self._queue: queue.Queue[str | None] = queue.Queue(QUEUE_LIMIT)
        self._dropped = False
        threading.Thread(target=self._run, name=f"desktop-js-{key}", daemon=True).start()

    def put(self, script: str) -> None:
        """Queue a script; when the window is stuck the script is dropped and a reset sent once it moves."""
        try:
            self._queue.put_nowait(script)
        except queue.Full:
            if not self._dropped:
                log.warning("[Desktop] janela %s não responde: eventos descartados", self.key)
            self._dropped = True

    def close(self) -> None:
        """Stop after what is queued (the window is gone: those fail quickly or never return)."""
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            self._dropped = True  # the thread is stuck in a closed window: it is a daemon, let it be

    def _run(self) -> None:
        """Run each queued script; a reset follows when scripts had to be dropped."""
        while (script := self._queue.get()) is not None:
            self._evaluate(script)
            if self._dropped and self._queue.empty():
                self._dropped = False
                self._evaluate(_busy_reset())

    def _evaluate(self, script: str) -> None:
        """evaluate_js, whose failure (page loading, window closing) only costs this window these events."""
        try:
            self.window.evaluate_js(script)
        except Exception as exc:  # noqa: BLE001 - pywebview raises its own and the GUI's errors here
            log.debug("[Desktop] script não executado na janela %s: %s", self.key, exc)


def _busy_reset() -> str:
    """The script telling a window that events were dropped while it did not answer: read the state again."""
    return event_script([{"id": None, "type": "reset", "clientId": None, "data": {"reason": "window_busy"},
                          "timestamp": iso(utc_now())}])


def _chat_param(chat_id: str | None) -> str | None:
    """A chat id fit for a URL parameter (None stays None)."""
    if chat_id is None:
        return None
    if not isinstance(chat_id, str) or not 0 < len(chat_id) <= MAX_CHAT_ID or not chat_id.isprintable():
        raise InvalidInput(f"A chat id is 1 to {MAX_CHAT_ID} printable characters", details={"field": "chatId"})
    return chat_id


class WindowManager:
    """The app's windows; every method is safe from any thread. `webview`: the pywebview module (a stand-in
    in tests), imported on first use otherwise; `js_api`: the Bridge, set before the first window opens."""

    def __init__(self, base_url: str, *, webview: Any = None, js_api: Any = None):
        self._base = base_url.rstrip("/")
        self._webview = webview
        self.js_api = js_api
        self._lock = threading.RLock()
        self._windows: dict[str, Any] = {}
        self._senders: dict[str, _Sender] = {}
        self._paths: dict[str, str] = {}  # the page each window was opened on
        self._closing = False

    def _gui(self) -> Any:
        """The pywebview module."""
        if self._webview is None:
            import webview  # noqa: PLC0415 - only a desktop run needs the GUI toolkit loaded

            self._webview = webview
        return self._webview

    def url(self, path: str) -> str:
        """A page of ZapPool's own server."""
        return self._base + path

    # -- opening ----------------------------------------------------------------------------------------

    def open_main(self) -> Any:
        """The main window (the login page first); closing it closes every window and so ZapPool."""
        return self._open("main", MAIN, "/", on_closed=self.close_all)

    def open_pool_manager(self) -> None:
        """The pool manager, or the open one brought to the front."""
        self._open("pool", POOL, "/ui/pool.html")

    def open_contacts_window(self) -> None:
        """The Contacts window (the customer list, imports, opt-outs), or the open one brought to the front."""
        self._open("contacts", CONTACTS, "/ui/contacts.html")

    def open_templates_window(self) -> None:
        """The message templates (issue 17 §1), or the open window brought to the front."""
        self._open("templates", TEMPLATES, "/ui/templates.html")

    def open_schedules_window(self) -> None:
        """The scheduled messages (issue 17 §3), or the open window brought to the front."""
        self._open("schedules", SCHEDULES, "/ui/schedules.html")

    def open_reports_window(self) -> None:
        """The Reports window (issue 18), or the open one brought to the front."""
        self._open("reports", REPORTS, "/ui/reports.html")
    def open_campaigns_window(self) -> None:
        """The Campaigns window (issue 17 §4), or the open one brought to the front."""
        self._open("campaigns", CAMPAIGNS, "/ui/campaigns.html")

    def open_qr_window(self, client_id: str) -> None:
        """A number's QR window (one per number)."""
        client_id = check_client_id(client_id)
        self._open(f"qr:{client_id}", QR, f"/ui/qr.html?client={quote(client_id, safe='')}", name=client_id)

    def open_chat_window(self, client_id: str, chat_id: str | None = None) -> None:
        """A number's chat window (one per number), on `chat_id` if given."""
        client_id, chat_id = check_client_id(client_id), _chat_param(chat_id)
        path = f"/ui/chat.html?client={quote(client_id, safe='')}"
        if chat_id is not None:
            path += f"&chat={quote(chat_id, safe='')}"
        self._open(f"chat:{client_id}", CHAT, path, name=client_id, navigate=chat_id is not None)

    def _open(self, key: str, kind: Kind, path: str, *, name: str = "", navigate: bool = False,
              on_closed: Callable[[], None] | None = None) -> Any:
        """Create the window `key`, or bring the open one to the front (`navigate`: and move it to `path`);
        None once ZapPool is closing."""
        with self._lock:
            if self._closing:
                return None
            window = self._windows.get(key)
            if window is None:
                # Created under the lock, so two quick clicks make one window. pywebview runs our handlers
                # on threads of their own, never on the GUI thread, so holding it here cannot deadlock.
                window = self._create(key, kind, kind.title.format(id=name), path)
                window.events.closed += lambda: self._forget(key, on_closed)
                log.info("[Desktop] janela aberta: %s", key)
                return window
            moved = navigate and self._paths.get(key) != path
            if moved:
                self._paths[key] = path
        if moved:
            window.load_url(self.url(path))
        self._focus(key, window)
        return window

    def _create(self, key: str, kind: Kind, title: str, path: str) -> Any:
        """A new pywebview window with its sender (the caller holds the lock)."""
        # text_select: people copy numbers and messages (and pywebview's inline style to stop it breaks our CSP).
        window = self._gui().create_window(title, self.url(path), js_api=self.js_api, width=kind.width,
                                           height=kind.height, min_size=kind.min_size, text_select=True)
        self._windows[key], self._paths[key] = window, path
        self._senders[key] = _Sender(key, window)
        return window

    @staticmethod
    def _focus(key: str, window: Any) -> None:
        """Bring a window to the front (restore() raises and activates it in every pywebview GUI)."""
        try:
            window.restore()
        except Exception as exc:  # noqa: BLE001 - a window closing meanwhile: nothing to focus
            log.debug("[Desktop] janela %s não focada: %s", key, exc)

    def _forget(self, key: str, then: Callable[[], None] | None) -> None:
        """A window was closed (by the person or by close_all)."""
        with self._lock:
            self._windows.pop(key, None)
            self._paths.pop(key, None)
            sender = self._senders.pop(key, None)
        if sender is not None:
            sender.close()
        log.info("[Desktop] janela fechada: %s", key)
        if then is not None:
            then()

    # -- using them -------------------------------------------------------------------------------------

    def focus_main(self) -> None:
        """Bring the main window to the front (a second launch of ZapPool asked for it)."""
        window = self.window("main")
        if window is not None:
            self._focus("main", window)

    def window(self, key: str) -> Any:
        """The open pywebview window `key` ("main", "pool", "qr:<id>", "chat:<id>"), or None."""
        with self._lock:
            return self._windows.get(key)

    def open_keys(self) -> list[str]:
        """Which windows are open."""
        with self._lock:
            return list(self._windows)

    def evaluate_all(self, script: str) -> None:
        """Run a script in every open window, without waiting for any of them."""
        with self._lock:
            senders = list(self._senders.values())
        for sender in senders:
            sender.put(script)

    def choose_file(self) -> str | None:
        """The native open-file dialog, over the main window: the chosen path, or None when cancelled."""
        with self._lock:
            window = self._windows.get("main") or next(iter(self._windows.values()), None)
        if window is None:
            return None
        chosen = window.create_file_dialog(self._gui().FileDialog.OPEN, allow_multiple=False)
        return str(chosen[0]) if chosen else None

    def choose_save_path(self, filename: str) -> str | None:
        """The native save-file dialog over the Reports window (else the main one), offering `filename`: the chosen
        path, or None when cancelled (the windows do not download: pywebview's ALLOW_DOWNLOADS stays off)."""
        with self._lock:
            window = self._windows.get("reports") or self._windows.get("main")
        if window is None:
            return None
        chosen = window.create_file_dialog(self._gui().FileDialog.SAVE, save_filename=filename)
        if isinstance(chosen, (list, tuple)):
            chosen = chosen[0] if chosen else None
        return str(chosen) if chosen else None

    def number_connected(self, client_id: str) -> None:
        """Close the number's QR window once "Conectado ✓" has been seen for QR_CLOSE_DELAY_S (the page cannot
        close itself: pywebview's Qt backend ignores window.close())."""
        timer = threading.Timer(QR_CLOSE_DELAY_S, self.close, args=(f"qr:{client_id}",))
        timer.daemon = True
        timer.start()

    def close(self, key: str) -> None:
        """Close one window, if open."""
        window = self.window(key)
        if window is None:
            return
        try:
            window.destroy()
        except Exception as exc:  # noqa: BLE001 - already closing: gone either way
            log.debug("[Desktop] janela %s não fechada: %s", key, exc)

    def close_all(self) -> None:
        """Close every window, so webview.start() returns and ZapPool shuts down; nothing opens after."""
        with self._lock:
            self._closing = True
            windows = list(self._windows.items())
        for key, window in windows:
            try:
                window.destroy()
            except Exception as exc:  # noqa: BLE001 - already closing or never shown: gone either way
                log.debug("[Desktop] janela %s não fechada: %s", key, exc)


def default_gui() -> str | None:
    """pywebview's GUI for this system. Linux: WebKitGTK, the system's web view (the package needs no Qt:
    docs/PERFORMANCE.md, "Linux windows on WebKitGTK"); Qt's QtWebEngine when ZAPOOL_GUI=qt, or where WebKitGTK
    is not installed. Elsewhere the system's own web view."""
    if not sys.platform.startswith("linux"):
        return None
    asked = os.environ.get("ZAPOOL_GUI", "").strip().lower()
    if asked in ("gtk", "qt"):
        return asked
    return "gtk" if webkitgtk_missing() is None else "qt"


@functools.cache
def webkitgtk_missing() -> str | None:
    """Why WebKitGTK's windows cannot load here (PyGObject or WebKitGTK's typelibs not installed), or None.
    Asked once: loading the typelibs is what opening the windows does anyway."""
    _system_gnome()
    try:
        import gi  # noqa: PLC0415 - GTK is loaded only when windows may open

        gi.require_version("Gtk", "3.0")
        gi.require_version("WebKit2", "4.1")
        from gi.repository import Gtk, WebKit2  # noqa: F401, PLC0415
    except (ImportError, ValueError) as exc:
        return f"WebKitGTK não importável ({exc}; no Debian: apt-get install gir1.2-webkit2-4.1)"
    return None


def _system_gnome() -> None:
    """The built WebKitGTK app takes GNOME's libraries and typelibs from the system (build/zapool.spec,
    SYSTEM_GNOME), but PyInstaller's run-time hooks still point GIO's modules and the typelibs into the package,
    where there are none: GIO (and WebKit's helper processes, which inherit it) would load none of the system's
    modules (TLS, proxies, settings), and gdk-pixbuf no image loader. Those variables go when they name a file or
    folder of the package that is not there."""
    bundle = getattr(sys, "_MEIPASS", None)
    for name in ("GIO_MODULE_DIR", "GI_TYPELIB_PATH", "GDK_PIXBUF_MODULE_FILE"):
        value = os.environ.get(name, "")
        if bundle and value.startswith(bundle) and not os.path.exists(value):
            del os.environ[name]
