"""What the windows' icon font costs a first visit (issue 16, section 4): font bytes fetched, first paint.

Each round, for each checkout (this one, "after", and with --before-tree another commit's, "before"), a new
browser context (an empty cache) opens the login page, logs in to the main screen, then opens the pool manager,
as a person does; per window it reads from the page's own resource timing the bytes of icon font that came over
the network (transferSize of the served Noto Emoji's pieces and js/icon-font.js: 0 from the cache, the headers
only for a 304) and the first contentful paint. Rounds alternate between the checkouts, each a real
`app.py --headless` on its own simulator.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from bench.ui_app import PASSWORD, ROOT, first_login, launch_browser, running_app
from wasim import SimServer

WINDOWS = ["login", "main", "pool"]
# (font bytes fetched, first contentful paint in ms) of the page as it is now.
READ_PAGE = """() => {
    const fonts = performance.getEntriesByType('resource')
      .filter((r) => r.name.includes('/noto-emoji/files/') || r.name.endsWith('/icon-font.js'));
    const paint = performance.getEntriesByName('first-contentful-paint')[0];
    return [fonts.reduce((sum, r) => sum + r.transferSize, 0), paint ? paint.startTime : -1];
}"""


def _settled(page: Page) -> list[float]:
    """The page's figures once it has drawn and asked for what its first layouts need."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(700)
    return page.evaluate(READ_PAGE)


def one_visit(browser: Browser, url: str) -> dict[str, list[float]]:
    """Login page, main screen, pool manager, in a context with nothing cached."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url + "/")
        page.locator("#username").wait_for()
        login = _settled(page)
        page.locator("#username").fill("admin")
        page.locator("#password").fill(PASSWORD)
        page.locator("#login-submit").click()
        page.wait_for_url("**/ui/main.html")
        main = _settled(page)
        page.goto(url + "/ui/pool.html")
        return {"login": login, "main": main, "pool": _settled(page)}
    finally:
        context.close()


def _app(stack: ExitStack, pw: Any, root: Path) -> tuple[Browser, str]:
    """app.py from the checkout `root` on its own simulator, its first login done; a browser for the visits."""
    sim = stack.enter_context(SimServer())
    data = Path(tempfile.mkdtemp(prefix="zapool-bench-")) / "dados"
    url, owner_link = stack.enter_context(running_app(data, sim.url, root=root))
    browser = launch_browser(pw)
    stack.callback(browser.close)
    first_login(browser.new_page(), owner_link)
    return browser, url


def run(rounds: int, before: Path | None) -> dict[str, Any]:
    """Every visit's figures per checkout, rounds alternating, with the load average at the start."""
    out: dict[str, Any] = {"load": os.getloadavg()}
    trees = {"after": ROOT, **({"before": before} if before else {})}
    with sync_playwright() as pw, ExitStack() as stack:
        apps = {name: _app(stack, pw, root) for name, root in trees.items()}
        for name in apps:
            out[name] = []
        for _ in range(rounds):
            for name, (browser, url) in apps.items():
                out[name].append(one_visit(browser, url))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--before-tree", type=Path, default=None,
                        help="a checkout of another commit, measured side by side (rounds alternate)")
    args = parser.parse_args()
    result = run(args.rounds, args.before_tree)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in result['load'])}, "
          f"at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| checkout | window | icon font bytes over the network (transferSize) "
          "| first contentful paint, median (min-max) |")
    print("|---|---|---|---|")
    for name in ("before", "after"):
        for window in WINDOWS if name in result else []:
            sizes = {v[window][0] for v in result[name]}
            paints = [v[window][1] for v in result[name]]
            print(f"| {name} | {window} | {', '.join(f'{s:,}' for s in sorted(sizes))} | "
                  f"{statistics.median(paints):.0f} ms ({min(paints):.0f}-{max(paints):.0f}, n={len(paints)}) |")


if __name__ == "__main__":
    main()
