"""Benchmark: the API request alone, POST /messages into an app with no number, two app.py processes side by side.

Why (issue 15, item 1): the request is about a quarter of ZapPool's own CPU per sent message (waitress, Flask,
the credential check, the rate limiter, the accept with its fsync, the `queued` event). With no number linked,
the message is accepted and waits (no browser starts: Playwright's driver is lazy), so the app's CPU is the
request's and the router's look for a number. "before" runs from a checkout of another commit (`--before-tree`,
.venv symlinked), "after" from this tree; rounds alternate. Each round: `--requests` calls from 4 keep-alive
client threads; CPU of the app process from /proc, per request.

    .venv/bin/python -m bench.api_request_cost --before-tree /tmp/old-main --requests 1000 --rounds 5
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.api_send_cost import CLIENT_THREADS, RECIPIENTS, App, api_key
from bench.send_cost import cpu_s

ROOT = Path(__file__).resolve().parents[1]


def start(name: str, tree: Path, data: Path) -> App:
    """`app.py --headless` from `tree` on an empty data folder (no number), with an API key."""
    key = api_key(data)
    proc = subprocess.Popen([str(ROOT / ".venv/bin/python"), "app.py", "--headless", "--data", str(data),
                             "--whatsapp-url", "http://127.0.0.1:9/", "--port", "0", "--send-interval", "0",
                             "--log-level", "warning"], cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    assert proc.stdout is not None
    url = next(m.group(0) for line in proc.stdout if (m := re.search(r"http://127\.0\.0\.1:\d+", line)))
    app = App(name, proc, url, key, [])
    threading.Thread(target=lambda: app.output.extend(proc.stdout or []), daemon=True).start()
    return app


def burst(app: App, requests: int) -> None:
    """POST /messages `requests` times from CLIENT_THREADS keep-alive clients."""
    def worker(first: int) -> None:
        conn = app.connection()
        for n in range(first, requests, CLIENT_THREADS):
            app.call(conn, "POST", "/messages", {"to": RECIPIENTS[n % len(RECIPIENTS)], "text": f"t {n}"})
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-tree", type=Path, required=True, help="a checkout of the commit to compare with")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="api-request-") as tmp:
        apps = {name: start(name, tree, Path(tmp) / name) for name, tree in
                (("before", args.before_tree), ("after", ROOT))}
        try:
            for app in apps.values():
                burst(app, 100)  # warm-up
            found: dict[str, list[float]] = {name: [] for name in apps}
            for _ in range(args.rounds):
                for name, app in apps.items():
                    cpu0 = cpu_s(app.proc.pid)
                    burst(app, args.requests)
                    time.sleep(0.3)  # the router's look after the last one
                    found[name].append(1000 * (cpu_s(app.proc.pid) - cpu0) / args.requests)
        finally:
            for app in apps.values():
                app.proc.terminate()
                app.proc.wait(30)
    print(f"load average at the end: {os.getloadavg()}")
    med = {name: statistics.median(values) for name, values in found.items()}
    for name, values in found.items():
        print(f"{name}: median {med[name]:.3f} ms of app CPU per request (rounds: "
              f"{', '.join(f'{v:.3f}' for v in values)})")
    print(f"after/before: {med['after'] / med['before']:.2f}")


if __name__ == "__main__":
    main()
