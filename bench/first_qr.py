"""Benchmark: time from WhatsAppClient.initialize() to the first QR data URL, against the floor.

The floor is bare Playwright doing the least the job needs: start Playwright, launch Chromium on a fresh
persistent profile, open the simulator's WhatsApp Web page and read `WPP.conn.getAuthCode()`. ZapPool does the
same plus its engine thread, WA-JS event bridge, status machine and the QR PNG. Both run cold (new Playwright,
new browser, new profile) and alternate in one process, so machine noise hits both alike.

    .venv/bin/python -m bench.first_qr --runs 9
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from playwright.async_api import async_playwright

from backend.config import Settings
from backend.engine import EngineRuntime
from backend.engine.browser import CHROMIUM_ARGS, discover_browser, user_agent_for
from backend.whatsapp.client import WhatsAppClient
from wasim import SimServer


async def floor_once(url: str, profile: Path) -> float:
    """Bare Playwright: launch, open, read the auth code. Seconds."""
    choice = discover_browser(None, None, None)
    ua = user_agent_for(choice)
    start = time.perf_counter()
    pw = await async_playwright().start()
    context = await pw.chromium.launch_persistent_context(
        str(profile), headless=True, args=CHROMIUM_ARGS, user_agent=ua, **choice.launch_options())
    page = context.pages[0]
    await page.goto(url, wait_until="domcontentloaded")
    await page.wait_for_function("window.WPP && WPP.isReady === true", polling=10)
    code = None
    while not code:
        code = await page.evaluate("WPP.conn.getAuthCode()")
    elapsed = time.perf_counter() - start
    await context.close()
    await pw.stop()
    return elapsed


def zapool_once(url: str, data_dir: Path) -> float:
    """ZapPool: a new engine and client; initialize() returns with the QR data URL. Seconds."""
    settings = Settings(data_dir=data_dir, whatsapp_url=url)
    runtime = EngineRuntime(settings)
    client = WhatsAppClient("bench", runtime, settings)
    start = time.perf_counter()
    info = client.initialize()
    elapsed = time.perf_counter() - start
    assert info["qrCode"].startswith("data:image/png;base64,"), info
    runtime.stop()
    return elapsed


def main() -> None:
    """Alternate floor and ZapPool runs; print medians and the ratio as a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    floor, zapool = [], []
    with SimServer(port=0) as sim, tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs + 1):  # the first pair warms the disk cache and is dropped
            f = asyncio.run(floor_once(sim.url, Path(tmp) / f"floor{i}"))
            z = zapool_once(sim.url, Path(tmp) / f"zap{i}")
            if i:
                floor.append(f)
                zapool.append(z)
    mf, mz = statistics.median(floor), statistics.median(zapool)
    print("| measure | runs | median | min | max |\n|---|---|---|---|---|")
    print(f"| floor: bare Playwright to getAuthCode() | {len(floor)} | {mf * 1000:.0f} ms | "
          f"{min(floor) * 1000:.0f} ms | {max(floor) * 1000:.0f} ms |")
    print(f"| ZapPool: initialize() to QR data URL | {len(zapool)} | {mz * 1000:.0f} ms | "
          f"{min(zapool) * 1000:.0f} ms | {max(zapool) * 1000:.0f} ms |")
    print(f"\nratio of medians (ZapPool / floor): {mz / mf:.2f}x (target: within 1.5x)")


if __name__ == "__main__":
    main()
