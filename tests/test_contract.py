"""The contract between the engine, the real WA-JS bundle and the simulator.

Every WPP name the engine uses (backend/engine/wpp.py) must exist in the pinned `wppconnect-wa.js` and be
declared in its `.d.ts`; the simulator must implement every one of them.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from backend.engine.browser import CHROMIUM_ARGS
from backend.engine.wajs import bundle_path
from backend.engine.wpp import WPP_EVENTS, WPP_FUNCTIONS, WPP_GLOBALS, WppPage
from backend.errors import EngineTimeout

NORMAL_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/156.0.0.0 Safari/537.36")
DIST = bundle_path().parent

MISSING = """([functions, globals]) => [
  ...functions.filter((name) => {
    const [ns, fn] = name.split('.');
    return !(window.WPP && WPP[ns] && typeof WPP[ns][fn] === 'function');
  }),
  ...globals.filter((name) => !(window.WPP && name in WPP)),
]"""


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Page]:
    """A plain Playwright page in Debian's Chromium with a normal user agent."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(user_agent=NORMAL_UA)
        yield page
        browser.close()


def test_the_bundle_is_the_pinned_version():
    import json

    pinned = json.loads((Path(__file__).parents[1] / "package.json").read_text())["dependencies"]
    assert pinned["@wppconnect/wa-js"] == json.loads((DIST.parent / "package.json").read_text())["version"]


def test_every_function_the_engine_calls_exists_in_the_real_wa_js(browser_page: Page):
    browser_page.set_content("<html><body>blank</body></html>")
    browser_page.add_script_tag(path=str(bundle_path()))

    assert browser_page.evaluate("WPP.version") == "4.6.0"
    assert browser_page.evaluate(MISSING, [list(WPP_FUNCTIONS), list(WPP_GLOBALS)]) == []


def _declared_events() -> set[str]:
    """Event names declared in WA-JS's dist/**/eventTypes.d.ts."""
    names: set[str] = set()
    for dts in DIST.rglob("eventTypes.d.ts"):
        names.update(re.findall(r"^\s*'([a-z_]+\.[a-z_]+)'\s*:", dts.read_text(), flags=re.M))
    return names


def test_every_event_the_engine_listens_to_is_declared_by_wa_js():
    declared = _declared_events()
    assert len(declared) > 20, "the parser found the event tables"
    assert sorted(set(WPP_EVENTS) - declared) == []


def test_the_simulator_implements_every_function(browser_page: Page, sim):
    browser_page.goto(sim.url)
    browser_page.wait_for_function("window.WPP && WPP.isReady === true")

    assert browser_page.evaluate(MISSING, [list(WPP_FUNCTIONS), list(WPP_GLOBALS)]) == []


def test_the_simulator_emits_every_event():
    source = "\n".join(p.read_text() for p in (Path(__file__).parents[1] / "wasim" / "static").glob("*.js"))

    missing = [name for name in WPP_EVENTS if f"'{name}'" not in source and f'"{name}"' not in source]

    assert missing == []


class _BlankHandler(http.server.BaseHTTPRequestHandler):
    """A site with no WPP at all, as the real WhatsApp Web is before injection."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"<html><head><title>Not WhatsApp</title></head><body>plain page</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_engine_injects_the_pinned_bundle_when_the_page_has_no_wpp(runtime, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BlankHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    async def attempt() -> tuple[str, str]:
        context = await runtime.launch_profile(tmp_path / "profile")
        wpp = WppPage(context, url, lambda *_: None, lambda _r: None, 5)
        try:
            with pytest.raises(EngineTimeout) as err:
                await wpp.open(load_timeout_s=2)  # the bundle loads but WhatsApp never boots here
            version = await wpp.page.evaluate("window.WPP && WPP.version")
            return version, err.value.message
        finally:
            await wpp.close()

    try:
        version, message = runtime.call(attempt(), 30)
    finally:
        server.shutdown()
    assert version == "4.6.0"
    assert "Not WhatsApp" in message, "the error names the page that failed to load"


def test_our_copy_of_playwrights_feature_switches_is_current():
    # Chromium keeps only the last --disable-features/--enable-features switch: ours replace Playwright's, so
    # they must carry its list, or its fixes (HTTPS upgrades off, storage partitioning off...) silently vanish.
    import playwright

    from backend.engine.browser import PLAYWRIGHT_FEATURES_OFF, PLAYWRIGHT_FEATURES_ON

    bundle = (Path(playwright.__file__).parent / "driver/package/lib/coreBundle.js").read_text()
    block = re.search(r"disabledFeatures = \[(.*?)\]\.filter", bundle, re.S).group(1)
    enabled = re.search(r"enabledFeatures = \(\) => \[(.*?)\]\.filter", bundle, re.S).group(1)

    assert tuple(re.findall(r'^\s*"(\w+)"', block, re.M)) == PLAYWRIGHT_FEATURES_OFF
    assert set(re.findall(r'"(\w+)"', enabled)) == set(PLAYWRIGHT_FEATURES_ON)
