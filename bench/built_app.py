"""Benchmark: the built app's size and start times, beside app.py from source and, optionally, another build.

Start to a first /health: each starts headless on a fresh data folder (no numbers); the time is from the
process's start to the first 200 from GET /health. Start to the window: the built app with its windows (Qt
offscreen, as tests/test_built_app.py runs them), from the process's start to the main window showing the login
form, which its script shows once pywebview's bridge has answered (read through QtWebEngine's DevTools port).
Beside the wall time (noisy on a shared machine), the CPU time spent by then: utime+stime from /proc/<pid>/stat
of the app and every process below it (QtWebEngine's). Rounds alternate between the commands, in an order that
flips every round, `--runs` times.
Build first: `bash scripts/build.sh`.

    .venv/bin/python -m bench.built_app --runs 7
    .venv/bin/python -m bench.built_app --runs 7 --before /tmp/old-dist/ZapPool   # a build kept from main
    .venv/bin/python -m bench.built_app --runs 7 --before build/dist/qt/ZapPool --x11   # WebKitGTK beside Qt
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.polling import wait_until
from bench.procs import descendants
from bench.send_cost import cpu_s
from bench.webkit_page import webkit_window_page

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "build" / "dist" / "ZapPool"
# The windows offscreen (no X server needed), as tests/test_desktop_smoke.py runs them from source.
QT_ENV = {"QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox"}
# One Runtime.evaluate through the DevTools port, with Node's WebSocket (Playwright's connect_over_cdp cannot
# attach to QtWebEngine: "Browser context management is not supported").
CDP_EVALUATE = """
const [address, expression] = process.argv.slice(1);
const socket = new WebSocket(address);
socket.onopen = () => socket.send(JSON.stringify({id: 1, method: 'Runtime.evaluate',
                                                 params: {expression, returnByValue: true, awaitPromise: true}}));
socket.onmessage = (message) => {
  console.log(JSON.stringify(JSON.parse(message.data).result?.result?.value ?? null));  // null: it threw
  socket.close();
};
socket.onerror = () => process.exit(1);
"""
# The login page once its script has run: pywebview's bridge answered api.me() (unauthorized), so the form shows.
# Waited for in the page (one DevTools call, not a poll from here that would load the machine it measures).
LOGIN_STATE = """new Promise((resolve) => {
  const check = () => {
    const form = document.querySelector('#login-form');
    if (!form || form.hidden) return setTimeout(check, 10);
    resolve({title: document.title, bridge: typeof window.pywebview?.api?.login,
             loading: !document.querySelector('#login-loading').hidden, form: true});
  };
  check();
})"""


def folder_size(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def window_env(devtools: str) -> dict[str, str]:
    """This environment with Qt offscreen and QtWebEngine's DevTools port at `devtools` (http://host:port)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, **QT_ENV, "QTWEBENGINE_REMOTE_DEBUGGING": devtools.removeprefix("http://")}


def window_page(node: Path, devtools: str) -> dict | None:
    """The window's page (its address and LOGIN_STATE) once the login form shows, else None; `node` runs the
    DevTools call (the built app's own Node)."""
    try:
        with urllib.request.urlopen(devtools + "/json/list", timeout=5) as response:
            pages = [t for t in json.loads(response.read()) if t["type"] == "page"]
    except OSError:
        return None
    if not pages:
        return None
    try:
        done = subprocess.run([str(node), "-e", CDP_EVALUATE, pages[0]["webSocketDebuggerUrl"], LOGIN_STATE],
                              check=False, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    state = json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None
    return {"url": pages[0]["url"], **state} if state and state["form"] else None


def app_node(app_dir: Path) -> Path:
    """The Node.js inside a built app."""
    return app_dir / "_internal" / "playwright" / "driver" / "node"


def timed_start(command: list[str], ready: Callable[[str], Any],
                env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, CPU seconds of the process and its descendants) from starting `command` (on a fresh data
    folder, port 0) until `ready(api_url)` is true; then the process group is stopped."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        proc = subprocess.Popen([*command, "--no-restore", "--data", f"{tmp}/dados", "--port", "0"], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            url = next(line.split()[2] for line in proc.stdout if line.startswith("API REST:"))
            wait_until(lambda: ready(url), timeout=120, what="the start", every=0.01)
            seconds = time.perf_counter() - started
            return seconds, sum(cpu_s(pid) for pid in [proc.pid, *descendants(proc.pid)])
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)


def health(url: str) -> bool:
    """Does GET /health answer 200?"""
    try:
        with urllib.request.urlopen(url + "/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def to_health(command: list[str]) -> tuple[float, float]:
    """Seconds to a first /health, headless."""
    return timed_start([*command, "--headless"], health)


def is_gtk(app_dir: Path) -> bool:
    """Is this the WebKitGTK build (no Qt inside)?"""
    return not (app_dir / "_internal" / "PyQt6").exists()


@contextlib.contextmanager
def x_server() -> Iterator[str]:
    """An X server of its own (Xvfb; it picks a free display) for the windows: its DISPLAY value."""
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        yield f":{xvfb.stdout.readline().strip()}"
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def to_window(app_dir: Path, display: str | None) -> tuple[float, float]:
    """Seconds to the built app's main window showing the login form: Qt offscreen, or both GUIs on the X server
    `display`. A GTK window is read through WebKit's inspector, which cannot wait in the page: it is asked
    again until the form shows (each ask starts a Node process, ≈0.1 s, outside the app's CPU)."""
    command = [str(app_dir / "ZapPool")]
    if is_gtk(app_dir):
        inspector = f"127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "ZAPOOL_GUI")}
        env.update(DISPLAY=display or "", WEBKIT_INSPECTOR_HTTP_SERVER=inspector)
        return timed_start(command, lambda _: webkit_window_page(app_node(app_dir), inspector), env=env)
    devtools = f"http://127.0.0.1:{free_port()}"
    env = window_env(devtools)
    if display:  # xcb on the same X server as GTK's, not offscreen
        env.pop("QT_QPA_PLATFORM")
        env["DISPLAY"] = display
    return timed_start(command, lambda _: window_page(app_node(app_dir), devtools), env=env)


def main() -> None:
    """Measure, alternating, and print Markdown tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another build (its ZapPool folder), measured alongside")
    parser.add_argument("--x11", action="store_true", help="every window on an Xvfb server (a GTK build's always "
                                                           "is): Qt on xcb, as on a desktop, not offscreen")
    args = parser.parse_args()
    apps = {"built app": APP_DIR, **({"before": args.before} if args.before else {})}
    with x_server() if args.x11 or any(map(is_gtk, apps.values())) else contextlib.nullcontext() as display:
        measure(apps, args.runs, display)


def measure(apps: dict[str, Path], runs: int, display: str | None) -> None:
    """The rounds, then the tables."""
    load = os.getloadavg()[0]
    starts: dict[str, list[tuple[float, float]]] = {}
    for run in range(runs):
        # The order flips every round (A B, B A, ...): whichever runs right after another's Qt processes are
        # torn down would otherwise pay for it every time.
        order = list(apps.items())[:: 1 if run % 2 == 0 else -1]
        for name, folder in order:
            starts.setdefault(f"{name}: to /health (headless)", []).append(to_health([str(folder / "ZapPool")]))
        starts.setdefault("app.py from source: to /health (headless)", []).append(to_health([sys.executable,
                                                                                              "app.py"]))
        for name, folder in order:
            gui = "WebKitGTK" if is_gtk(folder) else ("Qt, xcb" if display else "Qt, offscreen")
            starts.setdefault(f"{name} ({gui}): to the window's login form", []).append(to_window(folder, display))
    print(f"load average at the start: {load:.2f}\n")
    for name, folder in apps.items():
        print(f"{name}: {folder_size(folder) / 1e6:.1f} MB in {sum(1 for _ in folder.rglob('*'))} files")
    print("\n| start | runs | median | worst | CPU by then: median |\n|---|---|---|---|---|")
    for name, values in starts.items():
        walls, cpus = [w for w, _ in values], [c for _, c in values]
        print(f"| {name} | {len(values)} | {statistics.median(walls):.2f} s | {max(walls):.2f} s | "
              f"{statistics.median(cpus):.2f} s |")

if __name__ == "__main__":
    main()
