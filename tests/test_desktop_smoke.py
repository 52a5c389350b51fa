"""The real windows: pywebview over Qt (offscreen, no X server needed) and over WebKitGTK (an Xvfb server), in
processes of their own.

The bridge called from JavaScript in a real window on ZapPool's real page (tests/desktop_smoke.py); app.py
opening its windows by default and closing them on SIGTERM with the clean shutdown; and the automatic fallback
to --headless where no window can be shown. Skipped, saying why, only where PyQt6/QtWebEngine is not importable.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from backend.desktop.runner import desktop_available
from tests.conftest import wait_until
from tests.test_app import ROOT, Output, chromium_left

# Qt is asked for by name: WebKitGTK is Linux's default where it is installed.
QT_ENV = {"ZAPOOL_GUI": "qt", "QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox"}
NO_DISPLAY = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def _qt_missing() -> str | None:
    """Why Qt's web view cannot be used here, or None."""
    try:
        importlib.import_module("PyQt6.QtWebEngineWidgets")
        importlib.import_module("webview")
    except ImportError as exc:
        return f"PyQt6/QtWebEngine not importable: {exc}"
    return None


needs_qt = pytest.mark.skipif(_qt_missing() is not None, reason=_qt_missing() or "")


def _webkitgtk_missing() -> str | None:
    """Why the WebKitGTK windows cannot be tried here (they need an X server: Xvfb's xvfb-run), or None."""
    import shutil

    try:
        import gi

        gi.require_version("WebKit2", "4.1")
    except (ImportError, ValueError) as exc:
        return f"WebKitGTK not importable: {exc}"
    return None if shutil.which("xvfb-run") else "no xvfb-run"


GUIS = [pytest.param("qt", id="qt", marks=needs_qt),
        pytest.param("gtk", id="gtk", marks=pytest.mark.skipif(_webkitgtk_missing() is not None,
                                                               reason=str(_webkitgtk_missing())))]


# How each GUI is started in a test: Qt offscreen; GTK, the default (no ZAPOOL_GUI), needs an X server, Xvfb's
# (xvfb-run).
GUI_ENV: dict[str, dict[str, str | None]] = {"qt": QT_ENV, "gtk": {"ZAPOOL_GUI": None}}


def in_display(gui: str, command: list[str]) -> list[str]:
    """`command` as run for `gui`: GTK's under xvfb-run (a display of its own), Qt's as it is (offscreen)."""
    return command if gui == "qt" else ["xvfb-run", "-a", *command]



def env(**changes: str | None) -> dict[str, str]:
    """This process's environment with some variables set (or removed, for None)."""
    out = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


@pytest.mark.process
@pytest.mark.parametrize("gui", GUIS)
def test_the_bridge_answers_javascript_in_a_real_window(tmp_path, gui):
    done = subprocess.run(in_display(gui, [sys.executable, "tests/desktop_smoke.py", str(tmp_path / "dados")]),
                          cwd=ROOT, env=env(**GUI_ENV[gui]), capture_output=True, text=True, timeout=180)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("SMOKE ")), None)
    assert done.returncode == 0 and line, done.stdout[-3000:] + done.stderr[-3000:]
    page = json.loads(line[len("SMOKE "):])["result"]

    assert "script-src 'self' 'unsafe-eval';" in page["csp"], "the window's page, with the desktop's CSP"
    assert page["before"]["error"]["code"] == "unauthorized"
    assert page["login"] == {"result": {"username": "admin", "mustChangePassword": True}}
    assert page["blocked"]["error"]["code"] == "password_change_required"
    assert page["changed"] == {"result": {"ok": True}}
    assert page["created"]["result"]["clientId"] == "loja" and page["created"]["result"]["status"] == "qr_ready"
    stats = page["stats"]["result"]
    assert (stats["currentClients"], stats["totalCreated"], stats["clientsByStatus"]) == (1, 1, {"qr_ready": 1})
    assert page["me"] == {"result": {"kind": "session", "id": "admin", "mustChangePassword": False}}
    assert page["badArguments"]["error"]["code"] == "invalid_input"
    assert ["client_added", "loja"] in page["events"] and ["qr", "loja"] in page["events"], "pushed into the page"


STRANDED = """
import logging, sys, threading
from backend.desktop.runner import exit_past_stranded_threads
logging.basicConfig(level=logging.INFO)
threading.Thread(target=threading.Event().wait, name="js-api").start()  # as pywebview's, left waiting
print("Encerrado.", flush=True)
sys.exit(exit_past_stranded_threads(3, grace_s=0.5))
"""


def test_a_gui_thread_left_waiting_does_not_keep_zapool_from_exiting():
    """pywebview's GTK thread that injects the JavaScript API waits for the loop with no limit; a window closed
    while its page loads left it waiting, and the app hung after "Encerrado." until killed (CI, SIGTERM test)."""
    done = subprocess.run([sys.executable, "-c", STRANDED], cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert done.returncode == 3 and done.stdout == "Encerrado.\n"
    assert "1 thread(s) do pywebview que não terminam: js-api" in done.stderr


@contextlib.contextmanager
def display_for(gui: str) -> Iterator[dict[str, str | None]]:
    """The environment for app.py's windows: Qt offscreen; for GTK an X server of its own (Xvfb picks a free
    display), so the signal goes to ZapPool itself and not to a wrapper such as xvfb-run."""
    if gui == "qt":
        yield QT_ENV
        return
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield {"ZAPOOL_GUI": None, "QT_QPA_PLATFORM": None, "WAYLAND_DISPLAY": None,
               "DISPLAY": f":{xvfb.stdout.readline().strip()}"}
    finally:
        xvfb.terminate()
        xvfb.wait(10)


@pytest.mark.process
@pytest.mark.parametrize("gui", GUIS)
def test_app_opens_its_windows_by_default_and_sigterm_closes_them_cleanly(sim, tmp_path, gui):
    data = tmp_path / "dados"
    with display_for(gui) as screen:
        proc = subprocess.Popen([sys.executable, "app.py", "--data", str(data), "--whatsapp-url", sim.url,
                                 "--client-id", "loja", "--port", "0"], cwd=ROOT,
                                env=env(**screen, PYTHONFAULTHANDLER="1"), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        output = Output(proc)
        try:
            output.wait_for("Interface:")
            opened = wait_for_line(output, "[Desktop] janelas abertas")
            sim.control.wait_for(lambda s: s["sessions"] and s["sessions"][0]["qr"], timeout=30)  # pool started
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # hung: SIGABRT makes Python print where each thread is
                proc.send_signal(signal.SIGABRT)
                code = proc.wait(timeout=30)
        out = output.text()

    assert "janelas do ZapPool" in output.wait_for("Interface:") and f"({gui})" in opened
    assert code == 0, out[-8000:]
    assert "[Desktop] sinal 15 recebido: fechando as janelas" in out and "Encerrado." in out
    assert out.index("[Desktop] janelas fechadas") < out.index("Encerrando...")
    assert chromium_left(data) == ""


@pytest.mark.process
def test_without_a_display_app_serves_the_browser_instead(sim, tmp_path):
    proc = subprocess.Popen([sys.executable, "app.py", "--data", str(tmp_path / "dados"), "--whatsapp-url", sim.url,
                             "--port", "0"], cwd=ROOT, env=env(**dict.fromkeys(NO_DISPLAY)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = Output(proc)
    try:
        interface = output.wait_for("Interface:")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    out = output.text()

    assert "no navegador" in interface and code == 0, out[-3000:]
    assert "[Desktop] sem janelas: sem display (DISPLAY e WAYLAND_DISPLAY vazios); modo --headless" in out
    assert "janelas abertas" not in out


def test_desktop_available_says_why_not(monkeypatch):
    monkeypatch.setenv("ZAPOOL_GUI", "qt")
    for name in NO_DISPLAY:
        monkeypatch.delenv(name, raising=False)
    assert desktop_available() == (False, "sem display (DISPLAY e WAYLAND_DISPLAY vazios)")

    monkeypatch.setenv("DISPLAY", ":987")  # no X server there: Qt aborts in the probe, not in ZapPool
    available, why = desktop_available()
    assert available is False and why.startswith(("o Qt não abre janelas aqui", "pywebview/Qt não importável")), why

    if _qt_missing() is None:
        monkeypatch.delenv("DISPLAY")
        monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
        assert desktop_available() == (True, "")


def test_desktop_available_with_webkitgtk_says_why_not(monkeypatch):
    monkeypatch.setenv("ZAPOOL_GUI", "gtk")
    for name in NO_DISPLAY:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # Qt's way round a display does not serve GTK
    assert desktop_available() == (False, "sem display (DISPLAY e WAYLAND_DISPLAY vazios)")

    monkeypatch.setenv("DISPLAY", ":987")  # no X server there: GTK says so, nothing aborts
    available, why = desktop_available()
    assert available is False and why.startswith(("o GTK não abre janelas", "WebKitGTK não importável")), why


def wait_for_line(output: Output, text: str, timeout: float = 60) -> str:
    """The first output line containing `text` (log lines start with a timestamp)."""
    return wait_until(lambda: next((ln for ln in list(output.lines) if text in ln), None), timeout=timeout, what=text)


@pytest.mark.skipif(_webkitgtk_missing() is not None, reason=str(_webkitgtk_missing()))
def test_after_the_gtk_windows_a_second_sigterm_still_reaches_zappools_handler():
    """GLib sets a signal back to its default action (death) when its last watch on it goes: once the GTK
    windows are closed, a SIGTERM during the shutdown must still find ZapPool's handler, not kill it."""
    script = ("import os, signal, time\n"
              "from backend.desktop.runner import GLibSignalWatcher\n"
              "heard = []\n"
              "signal.signal(signal.SIGTERM, lambda s, f: heard.append(s))\n"
              "GLibSignalWatcher(lambda s: None).install().uninstall()\n"
              "os.kill(os.getpid(), signal.SIGTERM)\n"
              "time.sleep(0.2)\n"
              "print('heard', heard)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "heard [15]"), done.stderr[-2000:]


@needs_qt
def test_where_webkitgtk_is_missing_the_linux_windows_are_qt_and_the_log_says_why(tmp_path):
    """PyGObject not installed (a gi package that cannot be imported, first on the path): with no ZAPOOL_GUI the
    windows fall back to Qt, and one log line says why and what to install."""
    (tmp_path / "gi").mkdir()
    (tmp_path / "gi" / "__init__.py").write_text("raise ImportError(\"No module named 'gi'\")\n")
    script = ("import logging, sys\n"
              "logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='%(message)s')\n"
              "from backend.desktop.runner import desktop_available\n"
              "from backend.desktop.windows import default_gui\n"
              "print('GUI', default_gui(), desktop_available())\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False, capture_output=True, text=True,
                          timeout=120, env=env(**{**QT_ENV, "ZAPOOL_GUI": None}, DISPLAY=None, WAYLAND_DISPLAY=None,
                                               PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "GUI qt (True, '')" in done.stdout
    assert ("[Desktop] WebKitGTK não importável (No module named 'gi'; no Debian: apt-get install "
            "gir1.2-webkit2-4.1): janelas no Qt") in done.stdout
