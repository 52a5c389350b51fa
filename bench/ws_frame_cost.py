"""Benchmark: what one WebSocket frame a page receives costs the Python side of Playwright and its node driver.

Why (issue 15, item 1): Playwright's driver reports every frame of every WebSocket a page opens to the Python
client (a `frameReceived` event on a WebSocket object), whether or not anything listens; its protocol has no
subscription to turn that off. WhatsApp Web, and the simulator like it, talk to their server over one WebSocket,
so each sent message brings a few frames (the server's answer and the acks) through the driver and the engine
loop. This measures one frame's cost apart from ZapPool: one headless Chromium page on a local echo server (in
this process), `--frames` frames per evaluate sent and echoed back, against an evaluate alone; CPU of this
thread (the asyncio loop that runs Playwright's client, as ZapPool's engine thread does) and of the driver
from /proc, per frame above the evaluate's own, medians of `--rounds`.

    .venv/bin/python -m bench.ws_frame_cost --frames 50 --calls 40 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import threading
import time
from http.server import ThreadingHTTPServer

from playwright.async_api import Page, async_playwright

from backend.engine.browser import headless_shell
from bench.ws_vs_fetch import OPEN_SOCKET, Echo, cpu_of

# n frames out, n echoes back; resolves once the last echo is in.
BURST = """(n) => new Promise((ok) => { let left = n; ws.onmessage = () => { if (--left === 0) ok(); };
  for (let i = 0; i < n; i++) ws.send('a'.repeat(100)); })"""


async def _cost(page: Page, frames: int, calls: int) -> tuple[float, float]:
    """(Python loop thread, driver) CPU ms for `calls` evaluates of `frames` echoed frames each."""
    driver0, _ = cpu_of(os.getpid())
    python0 = time.thread_time()
    for _ in range(calls):
        if frames:
            await page.evaluate(BURST, frames)
        else:
            await page.evaluate("() => 1")
    await asyncio.sleep(0.3)  # the last frames' events reach this side
    driver1, _ = cpu_of(os.getpid())
    return 1000 * (time.thread_time() - python0), 1000 * (driver1 - driver0)


async def measure(url: str, frames: int, calls: int, rounds: int) -> dict[str, list[float]]:
    """ms of CPU per received frame, Python and driver, per round."""
    found: dict[str, list[float]] = {"python": [], "driver": []}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=headless_shell() or "/usr/bin/chromium",
                                           args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(url)
        await page.evaluate(OPEN_SOCKET)
        for _ in range(rounds):
            bare_python, bare_driver = await _cost(page, 0, calls)
            python, driver = await _cost(page, frames, calls)
            found["python"].append((python - bare_python) / (frames * calls))
            found["driver"].append((driver - bare_driver) / (frames * calls))
        await browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=50, help="frames echoed per evaluate")
    parser.add_argument("--calls", type=int, default=40, help="evaluates per round and variant")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"load average at the start: {os.getloadavg()}")
    found = asyncio.run(measure(f"http://127.0.0.1:{server.server_port}/", args.frames, args.calls, args.rounds))
    print(f"load average at the end: {os.getloadavg()}")
    print(f"\n{args.frames} frames echoed per evaluate, {args.calls} evaluates, {args.rounds} rounds: ms of CPU per "
          f"received frame (each also sent one), above an evaluate alone")
    for part, values in found.items():
        print(f"  {part}: median {statistics.median(values):.4f} (rounds: {', '.join(f'{v:.4f}' for v in values)})")
    server.shutdown()


if __name__ == "__main__":
    main()
