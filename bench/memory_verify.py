"""Stability checks for a memory flag set of bench.memory: media, rendering, crash, restore; N real clients.

For each configuration: link N clients against the simulator (as bench.memory does), then
  media    every client sends a text and a 5 MB video; the simulator's sent() records match byte for byte (sha256)
  render   the page still draws: a 2D canvas reads back the pixel it painted, and page.screenshot() works
  crash    kill -9 one client's Chromium processes: that client goes disconnected (browser_closed/crashed), the
           others stay ready and can still send; the killed one reconnects from its profile without a QR code
  restore  disconnect every client and stop the engine; a new engine and new WhatsAppClient objects on the same
           profiles go initializing -> authenticated -> ready with no QR code, and can send
Only processes of this run are killed: the victim is found by its own temp --user-data-dir.

    .venv/bin/python -m bench.memory_verify --configs baseline,recommended,single_lean
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.engine import EngineRuntime
from backend.whatsapp.client import WhatsAppClient
from bench.memory import CONFIGS, phone_for, start_fleet, stop_fleet, wait_until
from bench.procs import become_subreaper, descendants, kind, our_chromium
from wasim import SimServer

CONTACT = "5511988887777"
VIDEO = os.urandom(5 * 1024 * 1024 + 7)  # crosses the page bridge in two chunks
CANVAS_JS = """() => {
  const c = document.createElement('canvas'); c.width = c.height = 64;
  const g = c.getContext('2d'); g.fillStyle = '#ff0000'; g.fillRect(0, 0, 64, 64);
  return Array.from(g.getImageData(10, 10, 1, 1).data).join(',');
}"""

Result = tuple[str, bool, str]


def send_checked(client: WhatsAppClient, sim: SimServer, phone: str, with_video: bool) -> str:
    """Send a text (and the video); return '' if the simulator got them intact, else what went wrong."""
    text = f"memory check from {client.client_id} at {time.time():.0f}"
    client.send_message(CONTACT, text)
    if with_video:
        client.send_media(CONTACT, {"mimetype": "video/mp4", "data": base64.b64encode(VIDEO).decode(),
                                    "filename": "video.mp4"}, {"caption": "video"})
    sent = sim.control.sent(phone)
    if not any(r["type"] == "chat" and r["text"] == text for r in sent):
        return f"{client.client_id}: text missing"
    if with_video and not any(r["type"] == "video" and r["sha256"] == hashlib.sha256(VIDEO).hexdigest()
                              and r["size"] == len(VIDEO) for r in sent):
        return f"{client.client_id}: video missing or altered"
    return ""


def check(results: list[Result], name: str, work: Callable[[], str]) -> None:
    """Run one check: `work()` returns '' for success or a description of the failure."""
    start = time.monotonic()
    try:
        problem = work()
    except Exception as exc:  # noqa: BLE001 - a check that raises has failed; keep going with the others
        problem = f"{type(exc).__name__}: {exc}"
    results.append((name, not problem, problem or f"ok in {time.monotonic() - start:.1f} s"))


def render_check(runtime: EngineRuntime, client: WhatsAppClient) -> str:
    """Canvas pixel read-back and a screenshot in the client's page."""
    page = client._wpp.page  # noqa: SLF001 - a benchmark may look inside
    pixel = runtime.call(page.evaluate(CANVAS_JS), 30)
    shot = runtime.call(page.screenshot(), 30)
    if pixel != "255,0,0,255":
        return f"canvas read back {pixel}"
    return "" if shot.startswith(b"\x89PNG") and len(shot) > 1000 else f"screenshot of {len(shot)} bytes"


def kill_browser(profile: Path) -> None:
    """SIGKILL the browser process whose --user-data-dir is `profile`, and everything below it."""
    browser = [pid for pid in our_chromium() if kind(pid) == "browser"
               and f"--user-data-dir={profile}" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
    if len(browser) != 1:
        raise RuntimeError(f"expected one browser for {profile}, found {browser}")
    victims = [browser[0], *descendants(browser[0])]
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    print(f"killed {len(victims)} processes of {profile.name}", file=sys.stderr, flush=True)


def crash_check(sim: SimServer, clients: list[WhatsAppClient]) -> str:
    """Kill client 0's browser; it must be noticed, the others unaffected, and it must come back without a QR."""
    victim, others = clients[0], clients[1:]
    kill_browser(victim.profile_dir)
    wait_until(lambda: victim.get_info()["status"] == "disconnected", 20, "killed client not disconnected")
    if victim.get_info()["reason"] not in ("browser_closed", "browser_crashed"):
        return f"killed client's reason is {victim.get_info()['reason']}"
    time.sleep(3)
    not_ready = [c.client_id for c in others if c.get_info()["status"] != "ready"]
    if not_ready:
        return f"{not_ready} not ready after the kill"
    problems = [p for i, c in enumerate(others, 1) if (p := send_checked(c, sim, phone_for(i), False))]
    if problems:
        return "; ".join(problems)
    qr_seen: list[Any] = []
    unsubscribe = victim.on("qr", qr_seen.append)
    info = victim.reconnect()
    unsubscribe()
    if info["status"] != "ready" or qr_seen:
        return f"after the kill, reconnect gave {info['status']} ({len(qr_seen)} QR codes)"
    return send_checked(victim, sim, phone_for(0), False)


def restore_check(sim: SimServer, runtime: EngineRuntime, clients: list[WhatsAppClient],
                  engines: list[EngineRuntime]) -> str:
    """Disconnect all, stop the engine; new engine and clients on the same profiles must be ready without QR."""
    for client in clients:
        client.disconnect()
    runtime.stop()
    fresh = EngineRuntime(runtime.settings)
    engines.append(fresh)
    problems = []
    for i, old in enumerate(clients):
        client = WhatsAppClient(old.client_id, fresh, runtime.settings)
        statuses: list[str] = []
        client.on("status", lambda event, statuses=statuses: statuses.append(event.data["status"]))
        qr_seen: list[Any] = []
        client.on("qr", qr_seen.append)
        info = client.initialize()
        if info["status"] != "ready" or qr_seen or statuses != ["initializing", "authenticated", "ready"]:
            problems.append(f"{client.client_id}: {statuses}, {len(qr_seen)} QR codes")
        elif problem := send_checked(client, sim, phone_for(i), False):
            problems.append(problem)
    return "; ".join(problems)


def verify(sim: SimServer, flags: list[str], n: int, browser: str | None = None) -> list[Result]:
    """Every check for one flag set, in order: media, render, crash, restore."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="zapmem-") as tmp:
        runtime, clients = start_fleet(sim, Path(tmp), flags, n, browser)
        engines = [runtime]
        try:
            check(results, "media: text + 5 MB video from every client, sha256 checked", lambda: "; ".join(
                p for i, c in enumerate(clients) if (p := send_checked(c, sim, phone_for(i), True))))
            check(results, "render: 2D canvas read-back and screenshot", lambda: render_check(runtime, clients[0]))
            check(results, "crash: kill -9 one browser; others stay ready; it reconnects without QR",
                  lambda: crash_check(sim, clients))
            check(results, f"restore: engine restart, {n} new clients on the same profiles ready without QR",
                  lambda: restore_check(sim, runtime, clients, engines))
        finally:
            stop_fleet(*engines)
            sim.control.reset()
    return results


def main() -> None:
    """Run the checks for each named configuration and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--configs", default="recommended", help="comma-separated names from bench.memory")
    parser.add_argument("--browser", help="browser executable (default: the engine's discovery)")
    args = parser.parse_args()
    become_subreaper()
    rows = ["| config | check | result | detail |", "|---|---|---|---|"]
    with SimServer(first_qr_ms=60000, qr_ms=20000, load_ms=20, ack_delivered_ms=100, ack_read_ms=200) as sim:
        for name in args.configs.split(","):
            try:
                results = verify(sim, CONFIGS[name], args.clients, args.browser)
            except Exception as exc:  # noqa: BLE001 - linking itself failed under these flags
                results = [("link N clients", False, f"{type(exc).__name__}: {exc}")]
            for check_name, ok, detail in results:
                rows.append(f"| {name} | {check_name} | {'PASS' if ok else 'FAIL'} | {detail} |")
                print(rows[-1], flush=True)
    print(f"\nN = {args.clients} clients\n\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
