"""Browser discovery, the user agent, and errors when no browser can be used."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backend.config import Settings
from backend.engine import EngineRuntime
from backend.engine.browser import discover_browser, use_sandbox, user_agent_for
from backend.engine.wpp import ATTACHED, CDP_CALL_MAX, WppPage
from backend.errors import BrowserNotFound, EngineError
from backend.whatsapp.client import WhatsAppClient
from tests.conftest import PHONE, Recorder, connect, link, running_pool, wait_until


def test_an_installed_chromium_is_found():
    choice = discover_browser(None, None, None)

    assert choice.executable_path and choice.executable_path.endswith("chromium")
    assert choice.source == "installed"


def test_a_configured_path_comes_first():
    choice = discover_browser("/usr/lib/chromium/chromium", None, "/usr/bin/chromium")

    assert (choice.executable_path, choice.source) == ("/usr/lib/chromium/chromium", "configured")


def test_playwrights_own_chromium_comes_before_installed_ones(tmp_path):
    fake_bundled = tmp_path / "chrome"
    fake_bundled.write_text("")

    choice = discover_browser(None, None, str(fake_bundled))

    assert choice.source == "playwright"


def test_headless_numbers_get_the_headless_shell_and_a_shown_browser_the_full_chromium(tmp_path):
    # This machine has Debian's chromium-headless-shell (scripts/setup.sh installs it) beside chromium.
    headless = EngineRuntime(Settings(data_dir=tmp_path, headless=True)).ensure_browser()
    shown = EngineRuntime(Settings(data_dir=tmp_path, headless=False)).ensure_browser()
    configured = EngineRuntime(Settings(data_dir=tmp_path, browser_path="/usr/bin/chromium")).ensure_browser()

    assert (headless.source, Path(headless.executable_path).name) == ("headless-shell", "chromium-headless-shell")
    assert (shown.source, Path(shown.executable_path).name) == ("installed", "chromium")
    assert configured.executable_path == "/usr/bin/chromium", "a configured browser still wins"


def test_a_configured_channel_is_passed_to_playwright():
    assert discover_browser(None, "msedge", None).launch_options() == {"channel": "msedge", "chromium_sandbox": use_sandbox()}


def test_a_bad_configured_path_says_what_to_install():
    with pytest.raises(BrowserNotFound) as err:
        discover_browser("/nao/existe/chrome", None, None)

    assert "apt-get install chromium" in err.value.message and err.value.status == 503


def test_no_browser_at_all_says_what_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")

    with pytest.raises(BrowserNotFound) as err:
        discover_browser(None, None, None)

    assert "Chromium" in err.value.message and "Microsoft Edge" in err.value.message


@pytest.mark.browser
def test_user_agent_is_a_normal_chrome_of_the_installed_version():
    choice = discover_browser(None, None, None)
    version = subprocess.run([choice.executable_path, "--version"], capture_output=True, text=True).stdout
    major = re.search(r"(\d+)\.\d+\.\d+\.\d+", version).group(1)

    ua = user_agent_for(choice)

    assert "HeadlessChrome" not in ua
    assert f"Chrome/{major}.0.0.0 Safari/537.36" in ua


@pytest.mark.browser
def test_client_without_a_browser_ends_in_error_with_the_reason(sim, tmp_path):
    settings = Settings(data_dir=tmp_path, whatsapp_url=sim.url, browser_path="/nao/existe/chrome")
    engine = EngineRuntime(settings)
    client = WhatsAppClient("c1", engine, settings)
    try:
        with pytest.raises(BrowserNotFound):
            client.initialize()
    finally:
        engine.stop()

    info = client.get_info()
    assert (info["status"], info["reason"]) == ("error", "browser_not_found")
    assert "apt-get install chromium" in info["metadata"]["lastError"]


def browser_tree(profile: Path) -> list[list[str]]:
    """The command lines of a number's browser process and of every process below it (renderers of the headless
    shell do not repeat --user-data-dir, so they are found through their parents)."""
    pids = subprocess.run(["pgrep", "-f", f"user-data-dir={profile}"], capture_output=True, text=True,
                          check=False).stdout.split()
    parents = {}
    for entry in Path("/proc").iterdir():
        try:
            parents[entry.name] = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):  # not a process, or gone meanwhile
            continue
    tree, todo = set(pids), list(pids)
    while todo:
        parent = todo.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        todo.extend(children)
    # Chromium's children rewrite their command line as one string; the browser process keeps its argv.
    cmdlines = []
    for pid in tree:
        try:
            cmdlines.append(Path(f"/proc/{pid}/cmdline").read_bytes().decode().replace("\0", " ").split())
        except OSError:  # gone meanwhile
            continue
    return [c for c in cmdlines if c]


def test_the_browser_really_runs_with_the_memory_flags(make_client, sim, settings):
    client, rec = make_client("leve")
    client.initialize()
    cmdlines = browser_tree(settings.sessions_dir / "leve")
    (browser_cmd,) = [c for c in cmdlines if "crashpad" not in c[0] and not any(a.startswith("--type=") for a in c)]

    disabled = [a for a in browser_cmd if a.startswith("--disable-features=")][-1]  # Chromium keeps the last
    enabled = [a for a in browser_cmd if a.startswith("--enable-features=")][-1]

    assert "WebUIOmniboxPopup" in disabled and "HttpsUpgrades" in disabled, "ours, with Playwright's kept"
    assert "NetworkServiceInProcess2" in enabled and "CDPScreenshotNewSurface" in enabled
    renderers = [c for c in cmdlines if "--type=renderer" in c]  # before: 3 (the page, a spare, the popup)
    assert len(renderers) == 1, "one renderer per number: no spare, no address-bar popup"


def test_chromium_skips_its_on_device_model_benchmark(sim, settings):
    # The full Chromium (a shown browser, or no headless shell installed) is the one with an on-device model.
    full = Settings(**{**settings.__dict__, "browser_path": discover_browser(None, None, None).executable_path})
    engine = EngineRuntime(full)
    client = WhatsAppClient("sem-ia", engine, full)
    try:
        client.initialize()
        client.disconnect()  # Chromium writes its Local State on the way out
    finally:
        engine.stop()

    state = json.loads((settings.sessions_dir / "sem-ia" / "Local State").read_text())
    # Recorded at start from our switch: the benchmark (a process of ~17 MB kept per number, a few minutes
    # after a profile's first start) has nothing left to find out, so it is never launched.
    assert state["optimization_guide"]["on_device"]["performance_class"] == 1


def test_a_number_runs_logs_in_sends_and_receives_in_the_headless_shell(make_client, sim, settings):
    client, rec = make_client("shell")
    link(client, rec, sim)
    (browser_cmd,) = [c for c in browser_tree(settings.sessions_dir / "shell") if "--type=renderer" not in c
                      and not any(a.startswith("--type=") for a in c)]
    assert Path(browser_cmd[0]).name == "chromium-headless-shell"

    sim.control.incoming(PHONE, "5521977776666", "Oi, tudo bem?")
    assert rec.wait_for("message").data["message"]["body"] == "Oi, tudo bem?"
    sent = client.send_message("5521977776666", "Tudo ótimo!")
    rec.wait_for("message_ack", lambda d: d["id"] == sent["id"] and d["ack"] == 3)
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["Tudo ótimo!"]


def test_page_events_reach_python_without_our_own_sends_and_survive_junk_and_reloads(runtime, sim, tmp_path):
    events: list[tuple[str, Any]] = []

    def record(name: str, payload: Any) -> None:
        events.append((name, payload))

    def wait_for(match: Callable[[str, Any], bool]) -> Any:
        wait_until(lambda: any(match(n, p) for n, p in list(events)), 15, what="page event")
        return next(p for n, p in list(events) if match(n, p))

    context = runtime.call(runtime.launch_profile(tmp_path / "profile"), 30)
    wpp = WppPage(context, sim.url, record, lambda _r: None, 20)
    try:
        runtime.call(wpp.open(20), 30)
        code = wait_for(lambda n, p: n == "conn.auth_code_change" and p)["fullCode"]
        sim.control.scan(code, PHONE)
        # The bridge listens from the page's first moment, so it hears the QR screen's conn.main_ready too.
        wait_for(lambda n, p: n == "conn.authenticated")
        # The page's own scripts can call the binding too: junk is dropped, the events go on.
        runtime.call(wpp.page.evaluate("window.__zapEvents('nada'); window.__zapEvents('[[1]]')"), 10)
        sent = runtime.call(wpp.call("chat.sendTextMessage", "5521977776666@c.us", "oi", {"createChat": True}), 30)
        wait_for(lambda n, p: n == "chat.msg_ack_change" and p["ack"] == 3 and sent["id"] in p["ids"])
        sim.control.incoming(PHONE, "5521977776666", "Oi, tudo bem?")
        incoming = wait_for(lambda n, p: n == "chat.new_message")

        assert (incoming["body"], incoming["fromMe"]) == ("Oi, tudo bem?", False)
        assert [p for n, p in events if n == "chat.new_message"] == [incoming], "our own send stays in the page"

        sim.control.reset()  # the linked tab logs out and reloads: the binding still reaches the new document
        events.clear()
        assert wait_for(lambda n, p: n == "conn.auth_code_change" and p)["fullCode"] != code
        assert (ATTACHED, None) in events
    finally:
        runtime.call(wpp.close(), 30)


def test_the_bridge_hears_the_events_of_the_boot_before_wpp_is_ready(runtime, sim, tmp_path):
    # The real WA-JS fires conn.main_ready on the QR screen right as it becomes ready (the simulator too, with
    # main_ready_on_qr): a listener attached only once isReady is true misses such events; ours is there before.
    events: list[tuple[str, Any]] = []
    context = runtime.call(runtime.launch_profile(tmp_path / "profile"), 30)
    wpp = WppPage(context, sim.url, lambda name, payload: events.append((name, payload)), lambda _r: None, 20)
    try:
        runtime.call(wpp.open(20), 30)
        wait_until(lambda: ("conn.main_ready", None) in events, 5, what="the QR screen's conn.main_ready")
        assert events.index(("conn.main_ready", None)) < events.index((ATTACHED, None)), "heard before ready"
    finally:
        runtime.call(wpp.close(), 30)


def test_a_number_linked_in_the_full_chromium_is_restored_in_the_shell_and_sends_and_receives(make_pool, sim,
                                                                                               settings):
    # Profiles made before the headless shell was preferred: the next start opens them in the shell, no scan.
    full = Settings(**{**settings.__dict__, "browser_path": "/usr/bin/chromium", "send_interval_s": 0,
                       "send_jitter_s": 0, "restore_on_start": False})
    engine = EngineRuntime(full)
    try:
        before = running_pool(full, engine)
        connect(before, sim, "loja", PHONE)
        before.shutdown()
        before.outbox.store.close()
    finally:
        engine.stop()

    pool = make_pool()
    assert pool.restore_persisted_sessions() == {"restored": 1, "total": 1}
    assert pool.get("loja").qr is None and pool.runtime.browser.source == "headless-shell"
    rec = Recorder(pool.get("loja"))
    pool.send_message("loja", "5521977776666", "de volta")
    sim.control.incoming(PHONE, "5521977776666", "que bom")

    assert [m["text"] for m in sim.control.sent(PHONE)] == ["de volta"]
    assert rec.wait_for("message").data["message"]["body"] == "que bom"


def test_an_event_whose_handling_fails_does_not_drop_the_rest_of_its_batch(runtime, sim, tmp_path, caplog):
    seen: list[str] = []

    def record(name: str, _payload: Any) -> None:
        seen.append(name)
        if name == "quebra":
            raise RuntimeError("handler bug")

    context = runtime.call(runtime.launch_profile(tmp_path / "profile"), 30)
    wpp = WppPage(context, sim.url, record, lambda _r: None, 20)
    try:
        runtime.call(wpp.open(20), 30)
        runtime.call(wpp.page.evaluate("window.__zapEvents(JSON.stringify([['quebra', 1], ['depois', 2]]))"), 10)
        wait_until(lambda: "depois" in seen, 10, what="the event after the failing one")
    finally:
        runtime.call(wpp.close(), 30)
    assert seen[-2:] == ["quebra", "depois"]
    assert "Falha ao tratar o evento quebra" in caplog.text


def test_page_calls_small_and_large_answer_alike_and_a_page_failure_is_an_engine_error(runtime, sim, tmp_path):
    # Small calls go as DevTools' Runtime.evaluate on our own session, larger ones through Playwright's evaluate
    # (CDP_CALL_MAX): both answer WhatsApp's receipt; a page whose own code throws outside bridge.js's answers
    # is a Browser error saying what was being done, as Playwright's was.
    context = runtime.call(runtime.launch_profile(tmp_path / "profile"), 30)
    wpp = WppPage(context, sim.url, lambda _n, _p: None, lambda _r: None, 20)
    try:
        runtime.call(wpp.open(20), 30)
        runtime.call(wpp.page.evaluate("window.__zap.callMany = null"), 10)
        with pytest.raises(EngineError) as err:
            runtime.call(wpp.call("conn.isAuthenticated"), 10)
        assert err.value.message.startswith("Browser error while calling WPP.conn.isAuthenticated: TypeError")
        runtime.call(wpp.page.reload(), 30)  # bridge.js again; the code (conn.auth_code_change) on screen
        wait_until(lambda: runtime.call(wpp.call("conn.getAuthCode"), 10), 15, what="a QR code")
        sim.control.scan(runtime.call(wpp.call("conn.getAuthCode"), 10)["fullCode"], PHONE)
        wait_until(lambda: runtime.call(wpp.call("conn.isMainLoaded"), 10), 15, what="the main screen")
        small = runtime.call(wpp.call("chat.sendTextMessage", "5521977776666@c.us", "oi", {"createChat": True}), 30)
        large_text = "x" * (CDP_CALL_MAX + 1)
        large = runtime.call(wpp.call("chat.sendTextMessage", "5521977776666@c.us", large_text, {}), 30)
    finally:
        runtime.call(wpp.close(), 30)
    assert small["id"] and large["id"] and small["id"] != large["id"]
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["oi", large_text]


def test_the_acks_of_a_burst_cross_to_python_a_few_per_call(runtime, sim, tmp_path):
    # Each call of the page's events binding costs the driver and the engine loop alike (issue 15, item 1): acks
    # wait up to ACK_BATCH_MS in the page (other events EVENT_BATCH_MS), so acks 40 ms apart share calls.
    sim.control.configure(ack_delivered_ms=300, ack_read_ms=0)
    events: list[tuple[str, Any]] = []
    context = runtime.call(runtime.launch_profile(tmp_path / "profile"), 30)
    wpp = WppPage(context, sim.url, lambda name, payload: events.append((name, payload)), lambda _r: None, 20)
    try:
        runtime.call(wpp.open(20), 30)
        wait_until(lambda: any(n == "conn.auth_code_change" and p for n, p in list(events)), 15, what="a QR code")
        sim.control.scan(next(p for n, p in list(events) if n == "conn.auth_code_change" and p)["fullCode"], PHONE)
        wait_until(lambda: runtime.call(wpp.call("conn.isMainLoaded"), 10), 15, what="the main screen")
        runtime.call(wpp.page.evaluate("""() => {
            window.__zapCalls = [];
            const send = window.__zapEvents;
            window.__zapEvents = (b) => { window.__zapCalls.push(JSON.parse(b).map((e) => e[0])); send(b); };
        }"""), 10)
        sent = []
        for n in range(8):
            call = wpp.call("chat.sendTextMessage", "5521977776666@c.us", f"m{n}", {"createChat": True})
            sent.append(runtime.call(call, 10)["id"])
            time.sleep(0.04)
        def delivered() -> set[str]:
            return {i for n, p in list(events) if n == "chat.msg_ack_change" and p["ack"] == 2 for i in p["ids"]}

        wait_until(lambda: set(sent) <= delivered(), 15, what="every delivered ack")
        calls = runtime.call(wpp.page.evaluate("window.__zapCalls"), 10)
    finally:
        runtime.call(wpp.close(), 30)
    acks = sum(batch.count("chat.msg_ack_change") for batch in calls)
    with_acks = sum(1 for batch in calls if "chat.msg_ack_change" in batch)
    assert acks >= 8 and with_acks <= acks / 2, f"{acks} acks crossed in {with_acks} calls: {calls}"


@pytest.mark.skipif(not shutil.which("node"), reason="needs node to parse the scripts")
@pytest.mark.parametrize("script", ["backend/engine/bridge.js", *sorted(
    str(p) for p in Path("wasim/static").glob("*.js"))])
def test_the_scripts_put_into_pages_parse(script: str):
    """A script that does not parse (two merges each declaring the same const) never runs in the page: every
    number then waits 90 s for a bridge that never attaches. Parsing catches it before any browser starts."""
    result = subprocess.run(["node", "--check", script], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
