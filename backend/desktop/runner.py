"""Running the windows: can this machine show them, and the GUI loop on the main thread until ZapPool closes.

The GUI toolkit owns the main thread while windows are open, and Python runs its signal handlers only between
bytecodes of the main thread, which Qt's C++ loop may not give it for a long while. So SIGINT and SIGTERM are
watched through `signal.set_wakeup_fd`: the C-level handler writes the signal's number to a socket at once, a
watcher thread reads it and closes the windows, webview.start() returns and the caller shuts down as after
Ctrl+C in --headless.

WebKitGTK's loop is different: PyGObject's Gio.Application.run puts a wake-up fd of its own in place for as long as
the loop runs (gi/_ossighelper.py, wakeup_on_signal), so the watcher above never hears a signal there. The GTK
windows hear SIGINT and SIGTERM through GLib instead (GLibSignalWatcher); and as GLib resets a signal to its
default action when its last watch goes, Python's handlers are put back after, or a later SIGTERM would kill
ZapPool in the middle of its shutdown.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable

from ..auth.service import AuthService
from ..config import DESKTOP_USER_AGENT, PROJECT_ROOT
from ..service import ZapPoolService
from .bridge import Bridge, DesktopSession
from .guard import guard_gtk_windows, guard_qt_windows
from .notify import DesktopNotifications
from .push import EventPusher
from .windows import WindowManager, default_gui, webkitgtk_missing

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 30.0
# A Qt application in a child process: if Qt cannot use the display (no X server, a missing xcb library) it
# aborts, and it is the child that dies, not ZapPool with its numbers.
PROBE = "import sys\nfrom PyQt6.QtWidgets import QApplication\nQApplication(sys.argv[:1])\n"
PROBE_QT_FLAG = "--probe-qt"  # the built app has no `python -c`: it runs the probe when started with this
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
ICON = PROJECT_ROOT / "build" / "icon.png"  # the windows' icon (Linux; Windows and macOS take the app's own)


def desktop_available() -> tuple[bool, str]:
    """Whether windows can be shown here; when not, a short reason (in Portuguese, for the log line)."""
    linux = sys.platform.startswith("linux")
    if linux and default_gui() == "gtk":
        return _gtk_available()
    if linux and not os.environ.get("ZAPOOL_GUI", "").strip():
        log.info("[Desktop] %s: janelas no Qt", webkitgtk_missing())
    if linux and not os.environ.get("QT_QPA_PLATFORM") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, "sem display (DISPLAY e WAYLAND_DISPLAY vazios)"
    try:  # imported for real, not just found: a broken install fails here, not with the windows
        importlib.import_module("webview")
        if linux:
            importlib.import_module("PyQt6.QtWebEngineWidgets")
    except ImportError as exc:
        return False, f"pywebview/Qt não importável ({exc})"
    return _probe_qt() if linux else (True, "")


def _gtk_available() -> tuple[bool, str]:
    """WebKitGTK's windows: its typelibs load and GTK opens the display. Gtk.init_check answers False where
    Qt would abort, so no child process is needed here."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, "sem display (DISPLAY e WAYLAND_DISPLAY vazios)"
    if (why := webkitgtk_missing()) is not None:
        return False, why
    from gi.repository import Gtk  # noqa: PLC0415 - loaded by webkitgtk_missing() already

    if not Gtk.init_check(sys.argv[:1])[0]:
        return False, "o GTK não abre janelas neste display"
    return True, ""


def _probe_qt() -> tuple[bool, str]:
    """Start a Qt application in a child process: (True, "") when the display works for Qt."""
    command = [sys.executable, PROBE_QT_FLAG] if getattr(sys, "frozen", False) else [sys.executable, "-c", PROBE]
    try:
        done = subprocess.run(command, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"o Qt não respondeu ({exc})"
    if done.returncode == 0:
        return True, ""
    lines = [ln.strip() for ln in done.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    said = next((ln for ln in lines if "plugin" in ln.lower()), lines[-1] if lines else f"código {done.returncode}")
    return False, f"o Qt não abre janelas aqui: {said[:200]}"


def probe_qt_here() -> int:
    """The probe's body, for the built app started with PROBE_QT_FLAG: 0 when Qt can start here (it aborts
    the process otherwise)."""
    from PyQt6.QtWidgets import QApplication  # noqa: PLC0415 - only this child process loads Qt

    QApplication(sys.argv[:1])
    return 0


class SignalWatcher:
    """Calls `on_signal(signum)` from its own thread when SIGINT or SIGTERM arrives, whatever the main thread
    is doing. The Python-level handlers stay the caller's; this only adds the wake-up."""

    def __init__(self, on_signal: Callable[[int], None]):
        self._on_signal = on_signal
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._previous_fd = -1

    def install(self) -> SignalWatcher:
        """Start watching (call from the main thread, after the signal handlers are set)."""
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="desktop-signals", daemon=True).start()
        return self

    def uninstall(self) -> None:
        """Stop watching; the thread ends."""
        signal.set_wakeup_fd(self._previous_fd)
        self._writer.close()  # the reader sees end-of-stream

    def _watch(self) -> None:
        """Read signal numbers until the writer closes."""
        with self._reader:
            while data := self._reader.recv(16):
                for signum in data:
                    if signum in STOP_SIGNALS:
                        self._on_signal(signum)


class GLibSignalWatcher:
    """SignalWatcher for the GTK windows: GLib's own signal watches (GLib.unix_signal_add) wake its loop, and
    `on_signal(signum)` runs on a thread of its own after the caller's Python handler has seen the signal."""

    def __init__(self, on_signal: Callable[[int], None]):
        self._on_signal = on_signal
        self._sources: list[int] = []

    def install(self) -> GLibSignalWatcher:
        """Start watching (main thread, before the GTK loop runs: the watches join GLib's default context)."""
        from gi.repository import GLib  # noqa: PLC0415 - only the GTK windows load GLib

        for signum in STOP_SIGNALS:
            self._sources.append(GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, self._heard, signum))
        return self

    def uninstall(self) -> None:
        """Stop watching; GLib set each signal back to its default action, so Python's handlers go back in."""
        from gi.repository import GLib  # noqa: PLC0415

        for source in self._sources:
            GLib.source_remove(source)
        self._sources.clear()
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.getsignal(signum))  # Python's C handler again, with the same function

    def _heard(self, signum: int) -> bool:
        """GLib's callback on the loop's thread: the caller's Python handler, then `on_signal` on a thread (it
        closes windows, which waits for this very loop)."""
        handler = signal.getsignal(signum)
        if callable(handler):
            handler(signum, None)
        threading.Thread(target=self._on_signal, args=(signum,), name="desktop-signals", daemon=True).start()
        return True  # keep watching: a second signal must not find the default action (death) in place


def run_windows(service: ZapPoolService, auth: AuthService, base_url: str, *,
                on_started: Callable[[WindowManager], None] | None = None) -> None:
    """Open the main window over ZapPool's server at `base_url` and run the GUI on this thread until the main
    window is closed or SIGINT/SIGTERM arrives; `on_started(windows)` runs on a thread of its own once the GUI
    is up. Raises what the GUI raises if it cannot start."""
    import webview  # noqa: PLC0415 - the GUI toolkit is loaded only when windows really open

    session = DesktopSession(auth)
    windows = WindowManager(base_url, webview=webview)
    windows.js_api = Bridge(service, session, windows)
    notifications = DesktopNotifications()
    pusher = EventPusher(service.bus, windows, allowed=session.active, notifier=notifications,
                         notifications_on=lambda: service.get_preferences().get("notifications") is True)

    def closing(signum: int) -> None:
        """SIGINT or SIGTERM: close the windows, so webview.start() returns."""
        log.info("[Desktop] sinal %d recebido: fechando as janelas", signum)
        windows.close_all()

    if default_gui() == "qt":  # the bridge only ever in ZapPool's own pages (guard.py)
        guard_qt_windows(base_url)
    elif default_gui() == "gtk":
        guard_gtk_windows(base_url)
    watcher = (GLibSignalWatcher if default_gui() == "gtk" else SignalWatcher)(closing).install()
    try:
        if windows.open_main() is None:
            return  # a signal came first: nothing to show
        pusher.start()
        log.info("[Desktop] janelas abertas (%s)", default_gui() or "padrão do sistema")
        # The user agent marks the windows' requests: their pages get the CSP that lets pywebview work.
        webview.start(on_started, (windows,), gui=default_gui(), private_mode=True, user_agent=DESKTOP_USER_AGENT,
                      icon=str(ICON) if ICON.exists() else None)
    finally:
        watcher.uninstall()
        pusher.stop()
        notifications.stop()
        session.logout()
        log.info("[Desktop] janelas fechadas")


def exit_past_stranded_threads(code: int, grace_s: float = 2.0) -> int:
    """`code`, once the threads ZapPool did not start have ended; or the process ended here with `code` when one
    never will.

    Why: pywebview (6.2) injects its JavaScript API into a page from a thread that is not a daemon and waits, with
    no time limit, for the GTK loop to run a script. A window closed while its page is still loading (SIGTERM
    just after start) leaves that thread waiting for a loop that has ended, and Python's exit waits for it: the
    clean stop done ("Encerrado."), the process never ended. Called after the clean stop and the data folder's
    lock, so nothing is left to save; the log and the output are flushed first."""
    waiting = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for thread in waiting:
        thread.join(grace_s / len(waiting))
    stranded = [t.name for t in waiting if t.is_alive()]
    if not stranded:
        return code
    log.warning("[Desktop] encerrando sem esperar %d thread(s) do pywebview que não terminam: %s", len(stranded),
                ", ".join(stranded))
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
