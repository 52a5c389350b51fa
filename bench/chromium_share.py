"""Benchmark: how much of Chromium's CPU per sent message is ZapPool's own injected code (issue 15, item 2).

The simulator runs in its own process (`python -m wasim --port 0`); N linked numbers, pacing off, bursts of
texts through `outbox.enqueue_text` to 20 recipients (as bench/send_cost.py). Each round opens a new pool on the
same dados/ (restore, warm-up burst, measured burst, close), the page driver set to one of, alternating:

- before: main as it was (BEFORE): the full Chromium, and the event forwarding as it was (its bridge.js,
  Playwright's expose_binding: one binding call per WA-JS event, each answered by an evaluate in the page; our
  own sends' chat.new_message forwarded too), put back by a subclass here, not in production code;
- before_silent: the full Chromium, no message event listened to (chat.*): that browser's floor for these
  sends, the page's work alone;
- after: the code as it is (the headless shell; a DevTools binding that answers nothing, one call per batch,
  own sends filtered);
- after_per_task: as after, but events batched only within one task (no waiting window in the page);
- after_100ms: as after, but events wait up to 100 ms (not 25) to cross together;
- silent: the code as it is with no message event listened to: the headless shell's floor.
Ours = a configuration's Chromium CPU minus its floor's.

CPU from /proc/<pid>/stat (utime+stime) of every Chromium process of ours, ZapPool's own (this process + the node
driver) and the simulator apart. Then one profiled burst per configuration: the DevTools Protocol's sampling
Profiler on every page (a CDP session from Playwright), each sample's self time given to the nearest frame with
a script URL: `zapool-bridge.js` (bridge.js's sourceURL), the page's scripts, Playwright's injected scripts
(no URL), V8's (program)/(garbage collector).

    .venv/bin/python -m bench.chromium_share --numbers 3 --messages 300 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import backend.whatsapp.session as session_module
from backend.config import Settings
from backend.engine.wpp import ATTACHED, WppPage
from backend.whatsapp.pool import WhatsAppPool
from bench.restore import link_numbers, open_pool
from bench.send_cost import one_round, start_simulator
from wasim.control import SimControl

BEFORE = "3159efd"  # main before issue 15's Chromium-side changes
OLD_BRIDGE = subprocess.run(["git", "show", f"{BEFORE}:backend/engine/bridge.js"], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).parent).stdout + "//# sourceURL=zapool-bridge.js\n"


class BeforePage(WppPage):
    """The forwarding as it was: Playwright's binding, one call (and one reply) per event."""

    async def _install_bridge(self, page: Any, event_names: list[str]) -> None:
        await self.context.expose_binding("__zapEvent", self._old_binding)
        await self.context.add_init_script(f"window.__zapEventNames = {json.dumps(event_names)};\n{OLD_BRIDGE}")

    def _old_binding(self, _source: Any, name: str, payload: Any) -> None:
        if name == ATTACHED:
            self._attached.set()
        self._on_event(name, payload)


class SilentPage(WppPage):
    """As it is, but no message event is listened to: the page's own work for the sends."""

    async def _install_bridge(self, page: Any, event_names: list[str]) -> None:
        await super()._install_bridge(page, [n for n in event_names if not n.startswith("chat.")])


class PerTaskPage(WppPage):
    """As it is, but the page's events batched only within one task (no waiting window)."""

    async def _install_bridge(self, page: Any, event_names: list[str], batch_ms: int = 0) -> None:
        await super()._install_bridge(page, event_names, 0)


class Window100Page(WppPage):
    """As it is, but events wait up to 100 ms in the page (not 25) to cross together."""

    async def _install_bridge(self, page: Any, event_names: list[str], batch_ms: int = 100) -> None:
        await super()._install_bridge(page, event_names, 100)


FULL = "/usr/bin/chromium"  # the browser the engine launched before it preferred the headless shell
# name -> (page driver, browser: None for the one the engine picks now, the headless shell here)
CONFIGS: dict[str, tuple[type[WppPage], str | None]] = {
    "before": (BeforePage, FULL), "before_silent": (SilentPage, FULL),
    "after": (WppPage, None), "after_per_task": (PerTaskPage, None), "after_100ms": (Window100Page, None),
    "silent": (SilentPage, None),
}
# ours = a configuration minus its floor
FLOORS = {"before": "before_silent", "after": "silent", "after_per_task": "silent", "after_100ms": "silent"}


def category(url: str, name: str, page_url: str) -> str:
    """Which code a sample belongs to, from the nearest frame with a script URL (or V8's own entries)."""
    if "zapool-bridge.js" in url:
        return "ours: bridge.js"
    if url.startswith(page_url.rstrip("/")):
        return "page: " + url.rsplit("/", 1)[-1].split("?")[0]
    if url:
        return "other: " + url
    return "V8: " + name if name.startswith("(") else "Playwright's injected scripts (no URL)"


def attribute(profile: dict[str, Any], page_url: str, messages: int) -> dict[str, float]:
    """Self ms per message by category; a native or URL-less frame counts for its nearest caller with a URL."""
    frames = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    parent = {child: n["id"] for n in profile["nodes"] for child in n.get("children", [])}
    owner: dict[int, str] = {}
    for node_id, frame in frames.items():
        walk, name = node_id, frame.get("functionName", "")
        while walk is not None and not frames[walk].get("url"):
            walk = parent.get(walk)
        owner[node_id] = category(frames[walk]["url"] if walk is not None else "", name, page_url)
    by_cat: dict[str, float] = defaultdict(float)
    for node_id, delta_us in zip(profile["samples"], profile["timeDeltas"][1:] + [0]):
        by_cat[owner[node_id]] += delta_us / 1000 / messages
    return by_cat


def profiled_burst(pool: WhatsAppPool, control: SimControl, sim_pid: int, messages: int,
                   page_url: str) -> dict[str, float]:
    """One burst under the sampling profiler on every page: self ms per message by category."""
    sessions: list[Any] = []

    async def start() -> None:
        for client in pool.clients():
            cdp = await client._wpp.page.context.new_cdp_session(client._wpp.page)
            for method, params in (("Profiler.enable", {}), ("Profiler.setSamplingInterval", {"interval": 200}),
                                   ("Profiler.start", {})):
                await cdp.send(method, params)
            sessions.append(cdp)

    async def stop() -> list[dict[str, Any]]:
        profiles = [(await cdp.send("Profiler.stop"))["profile"] for cdp in sessions]
        for cdp in sessions:
            await cdp.detach()
        return profiles

    pool.runtime.call(start(), 30)
    one_round(pool, control, sim_pid, messages)
    total: dict[str, float] = defaultdict(float)
    for profile in pool.runtime.call(stop(), 60):
        for name, ms in attribute(profile, page_url, messages).items():
            total[name] += ms
    return total


def with_page(config: str, settings: Settings, numbers: int, work: Callable[[WhatsAppPool], Any]) -> Any:
    """A new pool on the linked dados/ whose numbers' pages are driven by this configuration's page class."""
    page, browser = CONFIGS[config]
    session_module.WppPage = page  # type: ignore[misc]
    try:
        with open_pool(Settings(**{**settings.__dict__, "browser_path": browser})) as pool:
            assert pool.restore_persisted_sessions()["restored"] == numbers
            return work(pool)
    finally:
        session_module.WppPage = WppPage  # type: ignore[misc]


def main() -> None:
    """Link, alternate the configurations round by round, then one profiled burst each; print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=3)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    args = parser.parse_args()
    configs = args.configs.split(",")
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    sim_proc, url = start_simulator()
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    profiles: dict[str, dict[str, float]] = {}
    try:
        control = SimControl(url)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "dados"
            link_numbers(SimpleNamespace(url=url, control=control), data, args.numbers)  # type: ignore[arg-type]
            settings = Settings(data_dir=data, whatsapp_url=url, send_interval_s=0, send_jitter_s=0)

            def measured(pool: WhatsAppPool) -> dict[str, float]:
                one_round(pool, control, sim_proc.pid, 60)  # warm-up: the page's code paths, the database
                return one_round(pool, control, sim_proc.pid, args.messages)

            for _ in range(args.rounds):
                for name in configs:
                    rows[name].append(with_page(name, settings, args.numbers, measured))
                    print(name, {k: round(v, 2) for k, v in rows[name][-1].items()}, flush=True)
            for name in configs:
                profiles[name] = with_page(name, settings, args.numbers, lambda pool: profiled_burst(
                    pool, control, sim_proc.pid, args.messages, url))
    finally:
        sim_proc.terminate()
        sim_proc.wait(10)
    report(rows, profiles, args)


def report(rows: dict[str, list[dict[str, float]]], profiles: dict[str, dict[str, float]],
           args: argparse.Namespace) -> None:
    """Medians of the side-by-side rounds, ours as a share of Chromium's CPU, and the profiles by category."""
    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in rows.items()}
    print(f"\n{args.numbers} numbers, {args.messages} messages per round, {args.rounds} rounds each (medians)\n")
    print("| | Chromium CPU/msg | ours in it (minus its floor) | ZapPool's own CPU/msg | simulator CPU/msg | p50 |")
    print("|---|---|---|---|---|---|")
    for name, m in med.items():
        ours = m["chromium"] - med.get(FLOORS.get(name, name), m)["chromium"]
        print(f"| {name} | {m['chromium']:.2f} ms | {ours:.2f} ms ({ours / m['chromium']:.0%}) | "
              f"{m['zappool']:.2f} ms | {m['simulator']:.2f} ms | {m['p50']:.0f} ms |")
    print("\nprofiled bursts (profiler on), renderer main thread, self ms per message:\n")
    names = sorted({c for p in profiles.values() for c in p}, key=lambda c: -max(p.get(c, 0) for p in profiles.values()))
    print("| code | " + " | ".join(profiles) + " |\n|---|" + "---|" * len(profiles))
    for cat in names:
        if cat != "V8: (idle)":
            print(f"| {cat} | " + " | ".join(f"{p.get(cat, 0):.3f}" for p in profiles.values()) + " |")


if __name__ == "__main__":
    main()
