"""The passphrase asked in a window (issue 19): the desktop app started on a sealed data folder that neither the
keyring, ZAPOOL_PASSPHRASE nor --passphrase-fd opens shows a small window before anything else, instead of
exiting (a double-clicked app has no terminal to type into).

The window runs in a child process of ZapPool (`app.py --unlock-window DATA`; the built app starts itself the
same way), because pywebview's GUI loop runs once per process and the real windows come after. The child checks
each passphrase against the key file itself (read-only: a wrong one changes nothing), shows a wrong one's error
by its code in the window's language and asks again, and only a passphrase that opened the keys is written to its
stdout, one line, for the parent to unlock with. Closing the window gives nothing: ZapPool stops, as at a
terminal prompt left empty. The check comes from app.py (sealing is not the desktop package's to import).
"""

from __future__ import annotations

import http.server
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import DESKTOP_USER_AGENT, PROJECT_ROOT

log = logging.getLogger(__name__)
UNLOCK_FLAG = "--unlock-window"
FRONTEND = PROJECT_ROOT / "frontend"
CHILD_EXIT_S = 10.0  # the window's process, once it gave the passphrase, ends by itself or is ended
MAX_PASSPHRASE = 1024  # characters: longer is not a passphrase anybody types, and scrypt would still read it
KEY_FILE = "sealed.key"  # sealing's key file: a folder without it has no passphrase to ask for in a window
Prompt = Callable[[str], str | None]
# A check answers None when the passphrase opens the folder, else the error envelope's body {code, message}.
Check = Callable[[str], dict[str, Any] | None]


class UnlockApi:
    """The window's js_api: `unlock(passphrase)` answers {"ok": true} or {"error": {code, message, details}}."""

    def __init__(self, check: Check, done: Callable[[str], None]):
        self._check = check
        self._done = done

    def unlock(self, passphrase: Any) -> dict[str, Any]:
        """Try a passphrase typed in the window (hostile until checked: a string of a sane length)."""
        if not isinstance(passphrase, str) or not passphrase or len(passphrase) > MAX_PASSPHRASE:
            return {"error": {"code": "passphrase_required", "message": "informe a frase-senha", "details": {}}}
        error = self._check(passphrase)
        if error is not None:
            log.warning("[Sealing] frase-senha recusada na janela: %s", error.get("code"))
            return {"error": {"details": {}, **error}}
        self._done(passphrase)
        return {"ok": True}


def run_unlock_window(check: Check) -> int:
    """The child: the window until a passphrase opens the folder (printed, exit 0) or it is closed (exit 1)."""
    import webview  # noqa: PLC0415 - loaded only in the child that shows the window

    from .windows import default_gui  # noqa: PLC0415 - the same toolkit as the real windows

    opened: list[str] = []

    def done(passphrase: str) -> None:
        """Hand the passphrase to the parent, then close the window (webview.start returns)."""
        opened.append(passphrase)
        sys.stdout.write(passphrase + "\n")
        sys.stdout.flush()
        # Closed after this call has answered: destroying the window from inside its own js_api call waits on
        # the GUI thread that waits on the call.
        threading.Timer(0.2, lambda: [window.destroy() for window in list(webview.windows)]).start()

    server = _page_server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/ui/unlock.html"
    webview.create_window("ZapPool", url, js_api=UnlockApi(check, done), width=460, height=420)
    try:
        webview.start(gui=default_gui(), private_mode=True, user_agent=DESKTOP_USER_AGENT)
    finally:
        server.shutdown()
    return 0 if opened else 1


class _Frontend(http.server.SimpleHTTPRequestHandler):
    """frontend/ at /ui/, as the API serves it (the page and its scripts, styles and icons; nothing else)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, directory=str(FRONTEND), **kwargs)

    def translate_path(self, path: str) -> str:
        """Only /ui/...: the standard handler then keeps the path inside frontend/."""
        return super().translate_path(path.removeprefix("/ui")) if path.startswith("/ui/") else str(FRONTEND / "-")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the standard handler's name
        """Quiet: the page's requests are not worth a line each."""


def _page_server() -> http.server.ThreadingHTTPServer:
    """The window's page server on a free loopback port (the API is not up yet: no passphrase, no stores)."""
    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Frontend)


def child_command(data_dir: Path) -> list[str]:
    """How to start the window's child: the built app runs itself, a source checkout runs app.py."""
    if getattr(sys, "frozen", False):
        return [sys.executable, UNLOCK_FLAG, str(data_dir)]
    return [sys.executable, str(PROJECT_ROOT / "app.py"), UNLOCK_FLAG, str(data_dir)]


def ask_in_window(data_dir: Path) -> str | None:
    """The passphrase the window's child opened the folder with; None when the window was closed without one."""
    log.info("[Sealing] pasta de dados selada: frase-senha pedida numa janela")
    child = subprocess.Popen(child_command(data_dir), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             text=True, encoding="utf-8")
    assert child.stdout is not None
    line = child.stdout.readline().rstrip("\n")  # "" when the window was closed (the child ended)
    child.stdout.close()
    try:
        child.wait(CHILD_EXIT_S)
    except subprocess.TimeoutExpired:  # the passphrase is here: the window's process is no longer needed
        child.kill()
        child.wait()
    return line or None


def window_or_terminal(data_dir: Path, windows: Callable[[], bool], terminal: Prompt) -> Prompt:
    """How to ask for a sealed folder's passphrase: this window in desktop mode (a double-clicked app has no
    terminal), else `terminal`; a new passphrase (--seal on a new folder without a keyring) only at a terminal.
    `windows` is asked only when a passphrase is really needed (it may probe the display)."""
    def prompt(text: str) -> str | None:
        """One passphrase, from the window or the terminal."""
        if (data_dir / KEY_FILE).is_file() and windows():
            return ask_in_window(data_dir)
        return terminal(text)
    return prompt
