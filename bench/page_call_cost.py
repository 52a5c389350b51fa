"""Benchmark: one page call as Playwright's page.evaluate and as DevTools' Runtime.evaluate on a session of our own.

Why (issue 15, item 1): every sent message is one page call (WPP.chat.sendTextMessage through bridge.js); the
engine makes small calls as Runtime.evaluate on its own DevTools session (backend/engine/wpp.py, CDP_CALL_MAX)
instead of Playwright's evaluate, which adds its own serialisation in the page and a handler in the driver.
One headless Chromium page (this process: the asyncio loop thread's CPU is the Python side, as ZapPool's engine
thread), `--calls` calls of a send-sized JSON argument per variant and round, variants alternating; CPU of this
thread, the node driver and Chromium from /proc, medians of `--rounds`, ms per call.

    .venv/bin/python -m bench.page_call_cost --calls 1000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from playwright.async_api import async_playwright

from backend.engine.browser import headless_shell
from backend.engine.wpp import _as_json
from bench.ws_vs_fetch import cpu_of

SCRIPT = _as_json("(a) => ({ok: {id: 'true_5511@c.us_' + a[0][1][2].messageId, ack: 1}})")
ARG = json.dumps([["chat.sendTextMessage", ["5511999999999@c.us", "Olá, tudo bem? " * 4,
                                            {"createChat": True, "waitForAck": True, "messageId": "3EB0ABCDEF"}]]])


async def measure(calls: int, rounds: int) -> dict[str, list[tuple[float, float, float]]]:
    """(Python, driver, Chromium) ms of CPU per call, per variant and round."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=headless_shell() or "/usr/bin/chromium",
                                           args=["--no-sandbox"])
        page = await browser.new_page()
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Runtime.enable")

        async def playwright_evaluate() -> object:
            return json.loads(await page.evaluate(SCRIPT, ARG))

        async def runtime_evaluate() -> object:
            reply = await cdp.send("Runtime.evaluate", {"expression": f"({SCRIPT})({json.dumps(ARG)})",
                                                        "awaitPromise": True, "returnByValue": True})
            return json.loads(reply["result"]["value"])

        variants: dict[str, Callable[[], Awaitable[object]]] = {"page.evaluate": playwright_evaluate,
                                                                 "Runtime.evaluate": runtime_evaluate}
        found: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
        for _ in range(rounds):
            for name, call in variants.items():
                driver0, chromium0 = cpu_of(os.getpid())
                python0 = time.thread_time()
                for _ in range(calls):
                    await call()
                driver1, chromium1 = cpu_of(os.getpid())
                found[name].append((1000 * (time.thread_time() - python0) / calls,
                                    1000 * (driver1 - driver0) / calls, 1000 * (chromium1 - chromium0) / calls))
        await browser.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    found = asyncio.run(measure(args.calls, args.rounds))
    print(f"load average at the end: {os.getloadavg()}")
    print(f"\n{args.calls} calls per variant and round, {args.rounds} rounds, medians (ms of CPU per call)\n")
    print("| variant | Python (loop thread) | node driver | Chromium |")
    print("|---|---|---|---|")
    for name, rows in found.items():
        python, driver, chromium = (statistics.median(r[i] for r in rows) for i in range(3))
        print(f"| {name} | {python:.3f} | {driver:.3f} | {chromium:.3f} |")


if __name__ == "__main__":
    main()
