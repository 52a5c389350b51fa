"""Benchmark: the chat window of a number with 500 chats from WhatsApp, one of them 5,000 messages long.

A real `app.py --headless` on the simulator; the phone holds the chats before it links (WhatsApp's history
sync), so everything the window shows comes from WhatsApp through the page. In headless Chromium, times taken
inside the page (performance.now() from navigation start, a MutationObserver noting the moment the DOM has it):

- first paint: the list shows all 500 chats (chat.html?client=), and, opened on the long chat
  (chat.html?client=&chat=), the list plus that chat's newest page of messages; one navigation per round;
- history page: the person scrolls to the top of the thread; the time until the page before is in the DOM.
  The first look fetches each page from WhatsApp (and keeps it in the log); a second look (a new window on the
  same chat) reads the same pages from the log.

    .venv/bin/python -m bench.chat_window --rounds 5 --pages 10 [--before-tree /tmp/old-checkout]

With --before-tree (a checkout of another commit, .venv and node_modules linked in), that commit's app.py runs
beside this one, each with its own simulator, and the rounds alternate between them: the machine's load hits
both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

from bench.ui_app import ROOT, first_login, launch_browser, link_vendas, running_app
from wasim import SimServer

CHATS = 500
LONG = 5000
PAGE = 50
BIG = "5511900000000"
PHONE = "5511999990001"
SIM_TIMINGS = {"first_qr_ms": 30000, "qr_ms": 20000, "ack_delivered_ms": 100, "ack_read_ms": 200, "load_ms": 20}

# Records, in the page, when the list holds a screenful of chats (and all of them) with the thread's `bubbles`.
WATCH = """([screen, chats, bubbles]) => Promise.all([screen, chats].map((want) => new Promise((resolve) => {
  const done = () => document.querySelectorAll('.chat-item').length >= want
    && document.querySelectorAll('#thread .bubble').length >= bubbles;
  if (done()) { resolve(performance.now()); return; }
  new MutationObserver((_, obs) => { if (done()) { obs.disconnect(); resolve(performance.now()); } })
    .observe(document, { childList: true, subtree: true });  // the body may not be parsed yet
})))"""
SCREEN = 15  # chats a 860-pixel-high window shows
SCROLL = """(want) => new Promise((resolve) => {
  const box = document.querySelector('#thread-log');  // the box that scrolls (the thread fills the height)
  const list = document.querySelector('#thread');
  const start = performance.now();
  new MutationObserver((_, obs) => {
    if (list.querySelectorAll('.bubble').length >= want) { obs.disconnect(); resolve(performance.now() - start); }
  }).observe(list, { childList: true });
  box.scrollTop = 0;
  box.dispatchEvent(new Event('scroll'));
})"""


def fill_phone(sim: SimServer) -> None:
    """500 saved contacts and their chats, one message each, and one chat of 5,000 messages."""
    now = int(time.time()) - 86400
    sim.control.contacts(PHONE, [{"number": f"55119{i:08d}", "name": f"Cliente {i:03d}"} for i in range(CHATS)])
    for i in range(1, CHATS):
        sim.control.history(PHONE, f"55119{i:08d}", [{"text": f"olá {i}", "t": now + i}], unread=int(i % 7 == 0))
    sim.control.history(PHONE, BIG, [{"text": f"mensagem {i}", "t": now - LONG + i, "fromMe": i % 3 == 0}
                                     for i in range(LONG)], pinned=True)


# Where the first paint's time went: the page's own load (DOMContentLoaded), and the first read of the list
# (request sent to last byte: ZapPool reading WhatsApp's list through the page and merging it with the log).
PARTS = r"""() => {
  const first = performance.getEntriesByType('resource').find((e) => e.name.includes('/chats?limit='));
  const thread = performance.getEntriesByType('resource').find((e) => /\/chats\/[^/?]+\/messages$/.test(e.name));
  return [performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
          first ? first.responseEnd - first.requestStart : NaN, thread ? thread.startTime : NaN,
          thread ? thread.responseEnd : NaN, first ? first.startTime : NaN, first ? first.responseEnd : NaN];
}"""


def first_paint(page: Page, url: str, bubbles: int) -> list[float]:
    """ms from navigation start until a screenful of the list, and all of it, are in the DOM (with the
    thread's newest page, if asked); then the page's load and the first list read's server time."""
    page.goto(url, wait_until="commit")
    return page.evaluate(WATCH, [SCREEN, CHATS, bubbles]) + page.evaluate(PARTS)


# One load's requests (ms from navigation start: sent, first byte, last byte), to see what waits for what.
TIMELINE = r"""() => performance.getEntriesByType('resource').map((e) => [e.name.replace(location.origin, ''),
  e.startTime, e.responseStart, e.responseEnd])
  .concat([['DOMContentLoaded', 0, 0, performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd]])"""


def timeline(page: Page, url: str) -> list[list[Any]]:
    """The requests of one load of `url`, once a screenful of the list and the thread's newest page show, and
    the reads that follow (the event stream's open re-reads) had a second to go out."""
    page.goto(url, wait_until="commit")
    page.evaluate(WATCH, [SCREEN, CHATS, PAGE if "&chat=" in url else 0])
    page.wait_for_timeout(1000)
    return page.evaluate(TIMELINE)


def history_pages(page: Page, url: str, pages: int) -> list[float]:
    """ms per history page, scrolling up `pages` times from the newest page of the long chat."""
    page.goto(url)
    page.evaluate(WATCH, [SCREEN, CHATS, PAGE])
    return [page.evaluate(SCROLL, PAGE * (n + 2)) for n in range(pages)]


def _window(stack: ExitStack, pw: Any, root: Path) -> tuple[Page, str]:
    """A simulator with the filled phone, app.py from the checkout `root` linked to it, a logged-in page."""
    sim = stack.enter_context(SimServer(**SIM_TIMINGS))
    fill_phone(sim)
    data = Path(tempfile.mkdtemp(prefix="zapool-bench-")) / "dados"
    url, owner_link = stack.enter_context(running_app(data, sim.url, root=root))
    browser = launch_browser(pw)
    stack.callback(browser.close)
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    first_login(page, owner_link)
    link_vendas(page, sim, PHONE)
    return page, f"{url}/ui/chat.html?client=vendas"


def run(rounds: int, pages: int, before: Path | None = None, show_timeline: bool = False,
        settle_ms: int = 0) -> dict[str, Any]:
    """Every figure per checkout ("after": this one; "before": `before`, if given), rounds alternating between
    them, with the load average at the start."""
    load = os.getloadavg()
    trees = {"after": ROOT, **({"before": before} if before else {})}
    out: dict[str, Any] = {"load": load}
    with sync_playwright() as pw, ExitStack() as stack:
        windows = {name: _window(stack, pw, root) for name, root in trees.items()}
        for name, (page, base) in windows.items():
            out[name] = {"whatsapp": history_pages(page, f"{base}&chat={BIG}@c.us", pages),
                         "log": history_pages(page, f"{base}&chat={BIG}@c.us", pages), "list": [], "opened": []}
        for _ in range(rounds):
            for name, (page, base) in windows.items():
                out[name]["list"].append(first_paint(page, base, 0))
                page.wait_for_timeout(settle_ms)  # the reads after the first paint end before the next load
                out[name]["opened"].append(first_paint(page, f"{base}&chat={BIG}@c.us", PAGE))
                page.wait_for_timeout(settle_ms)
        if show_timeline:
            for name, (page, base) in windows.items():
                out[name]["timeline"] = timeline(page, f"{base}&chat={BIG}@c.us")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--before-tree", type=Path, default=None,
                        help="a checkout of another commit, measured side by side (rounds alternate)")
    parser.add_argument("--timeline", action="store_true",
                        help="also print one load's requests (opened on the long chat), per checkout")
    parser.add_argument("--settle-ms", type=int, default=0,
                        help="wait this long after each load (0: the next load starts at once, beside the late "
                             "reads of the one before)")
    args = parser.parse_args()
    result = run(args.rounds, args.pages, args.before_tree, args.timeline, args.settle_ms)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in result['load'])}, "
          f"at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for name in ("before", "after"):
        if name not in result:
            continue
        r = result[name]
        series = {"first paint, list (a screenful)": [v[0] for v in r["list"]],
                  "list, all 500 chats": [v[1] for v in r["list"]],
                  "first paint, opened on the long chat (screenful + its newest page)": [v[0] for v in r["opened"]],
                  "opened on the long chat, all 500 chats": [v[1] for v in r["opened"]],
                  "  of which the page's own load (DOMContentLoaded)": [v[2] for v in r["list"]],
                  "  of which the first read of the list (request to last byte)": [v[3] for v in r["list"]],
                  "  opened: DOMContentLoaded": [v[2] for v in r["opened"]],
                  "  opened: the conversation's first read sent at": [v[4] for v in r["opened"]],
                  "  opened: the conversation's first read answered at": [v[5] for v in r["opened"]],
                  "  opened: the list's first read sent at": [v[6] for v in r["opened"]],
                  "  opened: the list's first read answered at": [v[7] for v in r["opened"]],
                  "history page from WhatsApp": r["whatsapp"], "history page from the log": r["log"]}
        print(f"== {name}")
        for what, values in series.items():
            print(f"{what}: median {statistics.median(values):.1f} ms, max {max(values):.1f} ms "
                  f"(n={len(values)}: {', '.join(f'{v:.0f}' for v in values)})")
        for name_, sent, first, last in r.get("timeline", []):
            print(f"  {name_[:72]:<72} {sent:7.1f} {first:7.1f} {last:7.1f}")


if __name__ == "__main__":
    main()
