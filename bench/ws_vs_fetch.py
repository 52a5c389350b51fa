"""Benchmark: what one page round trip to its server costs Playwright's node driver and Chromium, by transport.

Why: ZapPool's own CPU per message (issue 15 item 1) counts the node driver, and the driver tracks every HTTP
request a page makes (a request, a response and its end, each an object in the driver) whether or not anyone
listens. The simulator used to take each page action as an HTTP request (two per sent text), WhatsApp Web
sends everything over one WebSocket; this measures the gap, apart from ZapPool and the simulator.

One headless Chromium page on a local server (in this process: only the driver's and Chromium's CPU are
reported, from /proc/<pid>/stat), `--calls` page.evaluate calls per variant, variants alternating over
`--rounds`, medians:
- `evaluate`: the call alone (the floor);
- `fetch`: the call makes one POST of 100 bytes and reads the answer, as the old simulator's page did;
- `websocket`: the call sends 100 bytes on an open WebSocket and awaits the echo, as WhatsApp Web does.

    .venv/bin/python -m bench.ws_vs_fetch --calls 1500 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from playwright.async_api import async_playwright
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

from backend.engine.browser import headless_shell
from bench.procs import descendants, is_chromium
from bench.send_cost import cpu_s, exe_name

VARIANTS = {
    "evaluate": "() => 1",
    "fetch": "() => fetch('/echo', {method: 'POST', body: 'a'.repeat(100)}).then((r) => r.text())",
    "websocket": "() => new Promise((ok) => { waiters.push(ok); ws.send('a'.repeat(100)); })",
}
OPEN_SOCKET = """() => new Promise((ok) => {
  window.ws = new WebSocket(`ws://${location.host}/ws`);
  window.waiters = [];
  ws.onmessage = () => waiters.shift()();
  ws.onopen = ok;
})"""


class Echo(BaseHTTPRequestHandler):
    """`/`: an empty page; POST `/echo`: the body back; `/ws`: a WebSocket that echoes each message."""

    protocol_version = "HTTP/1.1"  # keep-alive, as browsers and real servers use

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path == "/ws":
            return self._echo_socket()
        self._answer(b"<!doctype html><title>bench</title>", "text/html")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._answer(self.rfile.read(int(self.headers["Content-Length"])), "text/plain")

    def _answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _echo_socket(self) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        head = self.requestline + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.headers.items()) + "\r\n"
        ws.receive_data(head.encode("latin-1"))
        assert any(isinstance(e, Request) for e in ws.events())
        self.connection.sendall(ws.send(AcceptConnection()))
        self.close_connection = True
        while data := self.connection.recv(1 << 16):
            ws.receive_data(data)
            for event in ws.events():
                if isinstance(event, CloseConnection):
                    return
                if isinstance(event, TextMessage) and event.message_finished:
                    self.connection.sendall(ws.send(TextMessage(data=event.data)))


def cpu_of(root: int) -> tuple[float, float]:
    """(node driver, Chromium) CPU seconds so far, of this process's descendants."""
    below = descendants(root)
    driver = sum(cpu_s(p) for p in below if not is_chromium(p) and exe_name(p) == "node")
    return driver, sum(cpu_s(p) for p in below if is_chromium(p))


async def measure(url: str, calls: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """ms of CPU per call, per variant and round."""
    found: dict[str, dict[str, list[float]]] = {name: {"driver": [], "chromium": []} for name in VARIANTS}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=headless_shell() or "/usr/bin/chromium",
                                           args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(url)
        await page.evaluate(OPEN_SOCKET)
        for _ in range(rounds):
            for name, script in VARIANTS.items():
                driver0, chromium0 = cpu_of(os.getpid())
                for _ in range(calls):
                    await page.evaluate(script)
                driver1, chromium1 = cpu_of(os.getpid())
                found[name]["driver"].append(1000 * (driver1 - driver0) / calls)
                found[name]["chromium"].append(1000 * (chromium1 - chromium0) / calls)
        await browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"load average at the start: {os.getloadavg()}")
    found = asyncio.run(measure(f"http://127.0.0.1:{server.server_port}/", args.calls, args.rounds))
    print(f"load average at the end: {os.getloadavg()}")
    print(f"\n{args.calls} calls per variant and round, {args.rounds} rounds, medians (ms of CPU per call)\n")
    print("| variant | node driver | Chromium | driver above `evaluate` | Chromium above `evaluate` |")
    print("|---|---|---|---|---|")
    med = {n: {k: statistics.median(v) for k, v in f.items()} for n, f in found.items()}
    for name, m in med.items():
        print(f"| {name} | {m['driver']:.3f} | {m['chromium']:.3f} | {m['driver'] - med['evaluate']['driver']:+.3f} "
              f"| {m['chromium'] - med['evaluate']['chromium']:+.3f} |")
    server.shutdown()


if __name__ == "__main__":
    main()
