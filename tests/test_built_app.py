"""The double-clickable app (scripts/build.sh -> build/dist/ZapPool/) started as a user would, on the simulator.

On Linux that build's windows are WebKitGTK's; the Qt build (ZAPOOL_GUI=qt, build/dist/qt/) is made and its
window tried too. Each build takes about a minute, so it happens once per run, and only when the app is missing
or older than the code it packs (a clean CI clone always builds).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.host.instance import running_instance
from backend.sealing import KeyFile
from backend.store.messages import MessageStore
from backend.store.sealed import SealedFolder
from bench.built_app import app_node, free_port, window_env, window_page
from bench.webkit_page import webkit_window_page
from tests.conftest import wait_until
from tests.test_app import Output, chromium_left, finish

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "build" / "dist" / "ZapPool" / ("ZapPool.exe" if sys.platform == "win32" else "ZapPool")
PACKED = [ROOT / "app.py", ROOT / "build" / "zapool.spec", ROOT / "build" / "hooks", ROOT / "backend",
          ROOT / "frontend", ROOT / "wasim"]
BUILD_TIMEOUT_S = 900


def newest_source() -> float:
    """The latest modification among the files the app packs."""
    files = [p for root in PACKED for p in ([root] if root.is_file() else root.rglob("*")) if p.is_file()]
    return max(p.stat().st_mtime for p in files)


@pytest.fixture(scope="module")
def app_path() -> Path:
    """The built app, built now if missing or stale."""
    if not APP.exists() or APP.stat().st_mtime < newest_source():
        done = subprocess.run(["bash", "scripts/build.sh"], cwd=ROOT, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT_S)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return APP


class Browser:
    """A browser's session against the app: the login cookie, and the Origin header its pages send."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", "Origin": self.base})
        try:
            with self.opener.open(request, timeout=60) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")


@pytest.fixture
def running(app_path: Path, sim, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Output, str, Path]]:
    """The built app, headless, on a fresh data folder and the simulator."""
    data = tmp_path / "dados"
    proc = subprocess.Popen([str(app_path), "--headless", "--data", str(data), "--whatsapp-url", sim.url,
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output = Output(proc)
    url = output.wait_for("API REST:", timeout=60).split()[2]
    yield proc, output, url, data
    if proc.poll() is None:
        finish(proc, output, signal.SIGKILL, group=True)


def test_the_built_app_serves_links_a_number_and_stops_cleanly(running, sim) -> None:
    proc, output, url, data = running
    browser = Browser(url)

    with urllib.request.urlopen(url + "/health", timeout=10) as response:
        health = json.loads(response.read())
    page = urllib.request.urlopen(url + "/", timeout=10).read()
    owner = output.wait_for("Interface:").split("#owner=")[1].split()[0]  # the terminal's link
    login = browser.call("POST", "/auth/login", {"username": "admin", "password": "admin", "ownerToken": owner})
    changed = browser.call("POST", "/auth/password", {"oldPassword": "admin", "newPassword": "senha-forte-123"})
    created = browser.call("POST", "/clients", {"clientId": "vendas"})
    code, text, seconds = finish(proc, output, signal.SIGTERM, group=True)

    assert health["status"] == "ok" and b"<html" in page.lower()
    assert login[0] == 200 and login[1]["mustChangePassword"] is True and changed[0] == 200
    assert created[0] == 201 and created[1]["status"] == "qr_ready" and created[1]["qrCode"].startswith("data:")
    assert code == 0 and "Encerrado." in text and seconds < 10
    assert chromium_left(data) == ""
    assert (data / "logs" / "zapool.log").stat().st_size > 0


def test_a_second_launch_of_the_built_app_leaves_the_first_alone(running, app_path) -> None:
    proc, output, url, data = running
    wait_until(lambda: running_instance(data).url == url, what="the instance file")

    second = subprocess.run([str(app_path), "--headless", "--data", str(data), "--port", "0"],
                            capture_output=True, text=True, timeout=60)

    assert second.returncode == 0 and "já está aberto" in second.stdout and url in second.stdout
    with urllib.request.urlopen(url + "/health", timeout=10) as response:
        assert json.loads(response.read())["status"] == "ok", "the first one still serves"


def test_the_built_app_seals_a_folders_databases_with_sqlcipher(app_path, tmp_path: Path) -> None:
    """Issue 19: SQLCipher (sqlcipher3) is packed: the built app's `seal convert` seals a clear messages.db, and
    the built app opens it again to re-key it (rotate), and nothing is lost."""
    data, secret = tmp_path / "dados", "Pedido 7310 do app empacotado"
    store = MessageStore(data / "messages.db")
    store.add_outgoing("m1", client_id="loja", to_number="5511977776666", chat="5511977776666@c.us", type="text",
                       body=secret)
    store.close()
    env = {**os.environ, "ZAPOOL_PASSPHRASE": "frase do app",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    for command, said in (("convert", "pasta de dados selada"), ("rotate", "chave trocada")):
        done = subprocess.run([str(app_path), "seal", "--data", str(data), command], env=env, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL)
        assert done.returncode == 0 and said in done.stdout, done.stdout + done.stderr
    assert secret.encode() not in (data / "messages.db").read_bytes()
    SealedFolder(data).use(KeyFile(data, SealedFolder(data).write).unlock("frase do app"))
    store = MessageStore(data / "messages.db")
    assert store.get("m1").body == secret
    store.close()


def test_the_built_app_runs_the_demo_on_its_bundled_simulator(app_path, tmp_path: Path) -> None:
    """--simulator in the built app: the simulator ships inside it (not from tests/), and keeps its state in the
    data folder."""
    data = tmp_path / "dados"
    proc = subprocess.Popen([str(app_path), "--headless", "--simulator", "--data", str(data), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = Output(proc)
    try:
        sim_url = output.wait_for("Simulador do WhatsApp Web:", timeout=60).split()[4]
        output.wait_for("API REST:", timeout=60)
        with urllib.request.urlopen(sim_url + "_sim/phone", timeout=10) as response:
            phone_page = response.status, response.read()
    finally:
        code, text, _ = finish(proc, output, signal.SIGTERM, group=True)

    assert phone_page[0] == 200 and b"<html" in phone_page[1].lower()
    assert code == 0 and "Encerrado." in text
    assert (data / "simulator").is_dir(), "the demo keeps its simulator's state in the data folder"


@pytest.fixture(params=["offscreen", "x11"])
def screen(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Where the windows show: Qt offscreen, or an X server (Xvfb, when installed) as on a GNOME desktop, where
    Qt looks for the GTK theme the build leaves out."""
    if request.param == "offscreen":
        yield {}
        return
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb not installed (Debian: apt-get install xvfb)")
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield {"QT_QPA_PLATFORM": None, "DISPLAY": f":{xvfb.stdout.readline().strip()}",
               "XDG_CURRENT_DESKTOP": "GNOME"}
    finally:
        xvfb.terminate()
        xvfb.wait(10)


QT_APP = ROOT / "build" / "dist" / "qt" / "ZapPool" / "ZapPool"


@pytest.fixture(scope="module")
def qt_app_path() -> Path:
    """The Qt build (build/zapool.spec with ZAPOOL_GUI=qt), built now if missing or stale."""
    return built(QT_APP, "qt")


def built(app: Path, gui: str) -> Path:
    """`app`, built by PyInstaller with ZAPOOL_GUI=`gui` into its dist folder when missing or stale."""
    if not app.exists() or app.stat().st_mtime < newest_source():
        done = subprocess.run([sys.executable, "-m", "PyInstaller", "build/zapool.spec", "--noconfirm",
                               "--log-level", "WARN", "--workpath", f"build/.work/{gui}", "--distpath",
                               str(app.parent.parent)], cwd=ROOT, env={**os.environ, "ZAPOOL_GUI": gui},
                              capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return app


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Qt build is Linux's")
def test_the_qt_build_opens_its_window_on_its_login_page(qt_app_path, sim, screen, tmp_path: Path) -> None:
    """The windows from the built app (Qt, QtWebEngine and its helper process, resources and locales, the
    bridge): the main window shows the login page and its script talks to ZapPool through pywebview. French is
    asked for (as QtWebEngine does for a French desktop), a language whose locale file the build leaves out:
    Chromium looks for fr.pak and falls back to en-US."""
    devtools = f"http://127.0.0.1:{free_port()}"
    env = window_env(devtools)
    env["QTWEBENGINE_CHROMIUM_FLAGS"] += " --lang=fr"
    for name, value in screen.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    proc = subprocess.Popen([str(qt_app_path), "--data", str(tmp_path / "dados"), "--whatsapp-url", sim.url,
                             "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output = Output(proc)
    try:
        url = output.wait_for("API REST:", timeout=60).split()[2]
        page = wait_until(lambda: window_page(app_node(qt_app_path.parent), devtools), timeout=90,
                          what="the window's login page")
    finally:
        code, text, _ = finish(proc, output, signal.SIGTERM, group=True)

    assert "janelas abertas (qt)" in text and "janelas do ZapPool" in text
    assert page == {"url": url + "/", "title": "Entrar — ZapPool", "bridge": "function", "loading": False,
                    "form": True}
    assert code == 0 and "[Desktop] janelas fechadas" in text and "Encerrado." in text


def _webkitgtk_missing() -> str | None:
    """Why the WebKitGTK build's window cannot be shown here, or None."""
    try:
        import gi

        gi.require_version("WebKit2", "4.1")
    except (ImportError, ValueError) as exc:
        return f"WebKitGTK not importable (PyGObject, gir1.2-webkit2-4.1: scripts/setup.sh): {exc}"
    return None if shutil.which("Xvfb") else "Xvfb not installed"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the WebKitGTK build is Linux's")
def test_the_webkitgtk_build_opens_its_window_on_its_login_page(app_path, sim, tmp_path: Path) -> None:
    """scripts/build.sh's Linux build has no Qt: its window is WebKitGTK's (the system's, with its helper
    processes), shows the login page, and the page's script talks to ZapPool through pywebview (read through
    WebKit's inspector); SIGTERM closes the window and stops ZapPool cleanly."""
    if (why := _webkitgtk_missing()) is not None:
        pytest.skip(why)
    assert not (app_path.parent / "_internal" / "PyQt6").exists(), "no Qt in the WebKitGTK build"
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    inspector = f"127.0.0.1:{free_port()}"
    env = {**{k: v for k, v in os.environ.items() if k not in ("ZAPOOL_GUI", "WAYLAND_DISPLAY")},
           "DISPLAY": f":{xvfb.stdout.readline().strip()}", "WEBKIT_INSPECTOR_HTTP_SERVER": inspector}
    try:
        proc = subprocess.Popen([str(app_path), "--data", str(tmp_path / "dados"), "--whatsapp-url", sim.url,
                                 "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)
        output = Output(proc)
        try:
            url = output.wait_for("API REST:", timeout=60).split()[2]
            page = wait_until(lambda: webkit_window_page(app_node(app_path.parent), inspector), timeout=90,
                              what="the window's login page")
        finally:
            code, text, _ = finish(proc, output, signal.SIGTERM, group=False)
    finally:
        xvfb.terminate()
        xvfb.wait(10)

    assert "janelas abertas (gtk)" in text and "janelas do ZapPool" in text
    assert page == {"url": url + "/", "title": "Entrar — ZapPool", "bridge": "function", "loading": False,
                    "form": True}
    assert code == 0 and "[Desktop] sinal 15 recebido: fechando as janelas" in text, text[-3000:]
    assert "[Desktop] janelas fechadas" in text and "Encerrado." in text


def is_elf(path: Path) -> bool:
    """A Linux program or library (not a symbolic link)."""
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as file:
        return file.read(4) == b"\x7fELF"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd and the slimming are Linux only")
@pytest.mark.parametrize("gui", ["gtk", "qt"])
def test_every_program_and_library_in_the_built_app_finds_what_it_needs(request, gui) -> None:
    """The build leaves out the libraries no kept file needs (build/zapool.spec): every program, plugin and
    library left still finds each library it links to, inside the app (where its loader looks first) or on
    the system. Both Linux builds: the default (WebKitGTK) and the Qt one."""
    app = request.getfixturevalue("app_path" if gui == "gtk" else "qt_app_path")
    internal = app.parent / "_internal"
    missing = {}
    for path in filter(is_elf, [app, *internal.rglob("*")]):
        done = subprocess.run(["ldd", str(path)], check=False, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "LD_LIBRARY_PATH": str(internal)})
        if lost := [line.split()[0] for line in done.stdout.splitlines() if "not found" in line]:
            missing[str(path.relative_to(internal.parent))] = lost

    assert missing == {}
    assert not (internal / "PyQt6" / "Qt6" / "qml").exists(), "what no code path loads is left out"
