"""Benchmark: contacts' profile pictures in the chat window of a number with 500 chats (issue 16 §1, §4).

A real `app.py --headless --allow-picture-origin <simulator>` on the simulator; the phone holds 500 saved contacts
with a chat each, every second one with a picture the simulator hosts. In headless Chromium (1280x860):

- what opening the window asks of WhatsApp: `getProfilePictureUrl` calls and picture downloads the simulator
  counted (`state()['pictures']`, running totals) once the window has settled, at the first open, at a second
  open (a reload), after scrolling through the whole list, and after a reload and a second scroll through it;
- the proxy route's time per picture, from the page (`fetch`, one at a time, timed with performance.now()):
  contacts not asked before (cold: a page call, the download, the checks, the file written) beside the same
  contacts asked again (warm: the file read), in one run; medians.

    .venv/bin/python -m bench.pictures --cold 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from bench.ui_app import first_login, launch_browser, link_vendas, running_app
from wasim import SimServer

CHATS = 500
PHONE = "5511999990001"
SIM_TIMINGS = {"first_qr_ms": 30000, "qr_ms": 20000, "ack_delivered_ms": 100, "ack_read_ms": 200, "load_ms": 20}
SETTLE_S = 3.0  # the window has asked for what it shows well within this

TIMED = """async (paths) => {
  const times = [];
  for (const path of paths) {
    const start = performance.now();
    const r = await fetch(path);
    await r.arrayBuffer();
    times.push([r.status, performance.now() - start]);
  }
  return times;
}"""
SCROLL_ALL = """async () => {
  const list = document.querySelector('#chats');
  for (let y = 0; y <= list.scrollHeight; y += list.clientHeight) {
    list.scrollTop = y;
    await new Promise((r) => setTimeout(r, 50));
  }
}"""


def number(i: int) -> str:
    """The phone number of contact i."""
    return f"55119{i:08d}"


def fill_phone(sim: SimServer) -> None:
    """500 saved contacts with a chat each; the even ones with a picture."""
    now = int(time.time()) - 86400
    sim.control.contacts(PHONE, [{"number": number(i), "name": f"Cliente {i:03d}", **({"picture": True} if i % 2 == 0
                                                                                       else {})} for i in range(CHATS)])
    for i in range(CHATS):
        sim.control.history(PHONE, number(i), [{"text": f"olá {i}", "t": now + i}])


def settled(page: Page, sim: SimServer) -> dict[str, int]:
    """The simulator's picture counts once the window has had SETTLE_S to ask for what it shows."""
    time.sleep(SETTLE_S)
    return dict(sim.control.state()["pictures"])


def opening(page: Page, sim: SimServer, url: str) -> dict[str, Any]:
    """The counts after the first open, a second open, and a scroll through the whole list."""
    page.goto(url)
    page.wait_for_function("n => document.querySelectorAll('.chat-item').length >= n", arg=CHATS, timeout=60_000)
    first = settled(page, sim)
    shown = page.locator(".avatar.has-picture").count()
    page.reload()
    page.wait_for_function("n => document.querySelectorAll('.chat-item').length >= n", arg=CHATS, timeout=60_000)
    second = settled(page, sim)
    return {"first": first, "shown": shown, "second": second}


def scrolling(page: Page, sim: SimServer) -> dict[str, Any]:
    """The counts after a scroll through the whole list, then after a reload and another scroll."""
    page.evaluate(SCROLL_ALL)
    scrolled = settled(page, sim)
    page.reload()
    page.wait_for_function("n => document.querySelectorAll('.chat-item').length >= n", arg=CHATS, timeout=60_000)
    page.evaluate(SCROLL_ALL)
    return {"scrolled": scrolled, "again": settled(page, sim)}


def latency(page: Page, base: str, cold: int) -> dict[str, list[float]]:
    """ms per picture from the page: contacts the window never showed (cold), then the same again (warm)."""
    picks = [number(i) for i in range(CHATS - 1, -1, -1)][:cold]  # the bottom of the list: not asked yet
    paths = [f"{base}/clients/vendas/contacts/{n}/picture" for n in picks]
    out: dict[str, list[float]] = {}
    for name in ("cold", "warm"):
        answers = page.evaluate(TIMED, paths)
        out[name] = [ms for _status, ms in answers]
        out[f"{name}_status"] = sorted({status for status, _ms in answers})  # type: ignore[assignment]
    return out


def run(cold: int) -> dict[str, Any]:
    """Every figure, with the load average at the start and the end."""
    load = os.getloadavg()
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        fill_phone(sim)
        data = Path(tempfile.mkdtemp(prefix="zapool-bench-")) / "dados"
        with running_app(data, sim.url, "--allow-picture-origin", sim.url) as (url, owner_link):
            browser = launch_browser(pw)
            try:
                page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
                first_login(page, owner_link)
                link_vendas(page, sim, PHONE)
                counts = opening(page, sim, f"{url}/ui/chat.html?client=vendas")
                times = latency(page, url, cold)  # before the scroll: the bottom's contacts were never asked
                counts.update(scrolling(page, sim))
            finally:
                browser.close()
    return {"load": load, "end_load": os.getloadavg(), **counts, **times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", type=int, default=100, help="pictures timed cold, then warm")
    args = parser.parse_args()
    r = run(args.cold)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in r['load'])}, "
          f"at the end: {' '.join(f'{x:.2f}' for x in r['end_load'])}")
    print(f"first open of {CHATS} chats: {r['first']['calls']} URL asks, {r['first']['fetches']} downloads, "
          f"{r['shown']} pictures shown")
    print(f"second open: {r['second']['calls']} URL asks, {r['second']['fetches']} downloads in all (no new ones: "
          f"{r['second'] == r['first']})")
    print(f"after scrolling the whole list: {r['scrolled']['calls']} URL asks, {r['scrolled']['fetches']} downloads; "
          f"after a reload and another scroll: {r['again']['calls']} and {r['again']['fetches']}")
    for name in ("cold", "warm"):
        ms = r[name]
        print(f"{name}: {len(ms)} pictures (status {r[f'{name}_status']}), median {statistics.median(ms):.1f} ms, "
              f"min {min(ms):.1f}, max {max(ms):.1f}")


if __name__ == "__main__":
    main()
