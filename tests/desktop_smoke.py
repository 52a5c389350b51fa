"""The desktop smoke run, in a process of its own (tests/test_desktop_smoke.py starts it): the real windows.

Pool on the simulator, REST server, and backend.desktop.runner.run_windows: real pywebview over Qt (offscreen),
the main window on ZapPool's own page with its real Content-Security-Policy. Once the GUI is up, JavaScript in
that window drives `window.pywebview.api` (log in, change the password, create a number, read the stats) and
collects the events pushed into the page; the answers are printed as one line `SMOKE <json>` and the windows
closed, which ends the run as closing the main window ends ZapPool.

    python tests/desktop_smoke.py DATA_DIR
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.assembly import build_pool, build_service  # noqa: E402
from backend.api import create_app  # noqa: E402
from backend.api.server import ApiServer  # noqa: E402
from backend.auth.passwords import ScryptParams  # noqa: E402
from backend.auth.service import AuthService  # noqa: E402
from backend.config import Settings  # noqa: E402
from backend.desktop.runner import run_windows  # noqa: E402
from backend.desktop.windows import WindowManager  # noqa: E402
from backend.engine import EngineRuntime  # noqa: E402
from wasim import SimServer  # noqa: E402

ANSWER_TIMEOUT_S = 90.0
NEW_PASSWORD = "Senha-forte-123"
# Runs in the page. Everything the page gets comes through pywebview's bridge and push, as in the app.
SCRIPT = """
(async () => {
  const api = window.pywebview.api;
  const events = [];
  // The page's own script (api.js) sets its hook once pywebview is ready, which may come after this script
  // starts (WebKitGTK often runs it first): wait for it, then listen beside it, or it would replace this one.
  const waited = Date.now();
  while (!window.__zapoolEvent && Date.now() - waited < 10000) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const pageHook = window.__zapoolEvent;
  window.__zapoolEvent = (event) => { events.push(event); if (pageHook) pageHook(event); };
  const page = await fetch(location.href);
  const out = {csp: page.headers.get('content-security-policy'), title: document.title};
  out.before = await api.get_pool_stats();
  out.login = await api.login('admin', 'admin');
  out.blocked = await api.get_pool_stats();
  out.changed = await api.change_password('admin', '%(password)s');
  out.created = await api.create_client('loja', null);
  out.stats = await api.get_pool_stats();
  out.me = await api.me();
  out.badArguments = await api.get_client();
  const started = Date.now();
  while (!events.some((e) => e.type === 'qr') && Date.now() - started < 30000) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  out.events = events.map((e) => [e.type, e.clientId]);
  return out;
})()
""" % {"password": NEW_PASSWORD}


def drive(windows: WindowManager, answer: dict[str, Any]) -> None:
    """Run SCRIPT in the main window, keep its answer, close the windows."""
    done = threading.Event()

    def finished(result: Any) -> None:
        answer["result"] = result
        done.set()

    try:
        windows.window("main").evaluate_js(SCRIPT, finished)
        if not done.wait(ANSWER_TIMEOUT_S):
            answer["error"] = f"no answer from the page in {ANSWER_TIMEOUT_S} s"
    except Exception as exc:  # noqa: BLE001 - reported to the test, which shows it
        answer["error"] = repr(exc)
    finally:
        windows.close_all()


def main(data: Path) -> int:
    """Build ZapPool's parts, run the windows, print the page's answer."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    sim = SimServer(port=0, first_qr_ms=20000, load_ms=20).start()
    settings = Settings(data_dir=data, whatsapp_url=sim.url, load_timeout_s=30, restore_on_start=False)
    engine = EngineRuntime(settings)
    pool = build_pool(settings, engine)
    pool.start()
    auth = AuthService.in_folder(data, scrypt=ScryptParams(n=2 ** 10, r=8, p=1))
    service = build_service(pool, auth)
    api = ApiServer(create_app(service, auth), auth, port=0).start()
    answer: dict[str, Any] = {}
    try:
        run_windows(service, auth, api.url, on_started=lambda windows: drive(windows, answer))
    finally:
        api.stop()
        pool.shutdown()
        engine.stop()
        sim.stop()
    print("SMOKE " + json.dumps(answer), flush=True)
    return 0 if "result" in answer else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
