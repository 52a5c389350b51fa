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
"""

from __future__ import annotations

import argparse
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.polling import wait_until
from bench.procs import descendants
from bench.send_cost import cpu_s

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


def to_window(app_dir: Path) -> tuple[float, float]:
    """Seconds to the built app's main window showing the login form (Qt offscreen)."""
    devtools = f"http://127.0.0.1:{free_port()}"
    return timed_start([str(app_dir / "ZapPool")], lambda _: window_page(app_node(app_dir), devtools),
                       env=window_env(devtools))


def main() -> None:
    """Measure, alternating, and print Markdown tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", type=Path, help="another build (its ZapPool folder), measured alongside")
    args = parser.parse_args()
    apps = {"built app": APP_DIR, **({"before": args.before} if args.before else {})}
    load = os.getloadavg()[0]
    starts: dict[str, list[tuple[float, float]]] = {}
    for run in range(args.runs):
        # The order flips every round (A B, B A, ...): whichever runs right after another's Qt processes are
        # torn down would otherwise pay for it every time.
        order = list(apps.items())[:: 1 if run % 2 == 0 else -1]
        for name, folder in order:
            starts.setdefault(f"{name}: to /health (headless)", []).append(to_health([str(folder / "ZapPool")]))
        starts.setdefault("app.py from source: to /health (headless)", []).append(to_health([sys.executable,
                                                                                              "app.py"]))
        for name, folder in order:
            starts.setdefault(f"{name}: to the window's login form", []).append(to_window(folder))
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
