"""Phone side: a device unlinked from the phone, and a QR code nobody scans, watched for minutes.

app.py runs with one linked number (n0), a webhook receiver subscribed to every event and the QR code
(`["*", "qr"]`), and the real site's QR timings (first code 60 s, then 20 s each, 6 codes, then idle). A new
number `semscan` is added and never scanned; n0 is unlinked from the phone. Once both have settled, the app is
watched for `--observe` seconds (default health check: every 60 s): browser launches in the log, simulator
tabs open, statuses. The webhook deliveries are counted per number and event against the status changes the
log shows: at most one `status` per change, one `disconnected`/`ready`/`qr` per status.

    .venv/bin/python -m bench.chaos.phone --observe 180
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.chaos.harness import App, phone_for, prepare, reap_zombies, status_changes, wait_until
from bench.procs import become_subreaper
from bench.webhook_receiver import Receiver
from wasim import SimServer

REAL_QR = {"first_qr_ms": 60000, "qr_ms": 20000, "max_qrs": 6, "ack_delivered_ms": 100, "ack_read_ms": 200,
           "load_ms": 20}
SECRET = "chaos-webhook-secret-0123456789"


def settle(app: App, sim: SimServer) -> dict[str, float]:
    """Unlink n0 from the phone and add semscan; seconds until each reaches its final status and reason."""
    started = time.monotonic()
    status, body = app.call("POST", "/clients", {"clientId": "semscan"}, timeout=120)
    assert status == 201, (status, body)
    sim.control.unlink(phone_for(0))
    final = {"n0": ("disconnected", "logged_out"), "semscan": ("disconnected", "qr_timeout")}
    took: dict[str, float] = {}

    def settled() -> bool:
        for cid, info in app.clients().items():
            if cid in final and cid not in took and (info["status"], info["reason"]) == final[cid]:
                took[cid] = time.monotonic() - started
        return len(took) == len(final)

    wait_until(settled, 400, "logged_out and qr_timeout", interval=0.2)
    return took


def watch(app: App, sim: SimServer, seconds: float) -> dict:
    """Sample statuses and open simulator tabs every second for `seconds`."""
    statuses: Counter[tuple[str, str, str]] = Counter()
    most_tabs = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for cid, info in app.clients().items():
            statuses[(cid, info["status"], str(info["reason"]))] += 1
        most_tabs = max(most_tabs, len(sim.control.state()["sessions"]))
        time.sleep(1)
    return {"statuses": sorted(statuses), "most_tabs": most_tabs}


def webhook_counts(receiver: Receiver) -> tuple[Counter[tuple[str, str]], int, int]:
    """(client, event) -> deliveries received; deliveries seen twice (same delivery id); bad signatures."""
    hits = receiver.on("/hook")
    counts = Counter((h.json["clientId"], h.json["event"]) for h in hits)
    ids = Counter(h.headers.get("X-ZapPool-Delivery") for h in hits)
    return counts, sum(n - 1 for n in ids.values()), sum(not h.valid for h in hits)


def periods(changes: list[tuple[str, str, str]], client: str, status: str) -> int:
    """How many times `client` entered `status`."""
    return sum(1 for cid, old, new in changes if cid == client and new == status and old != status)


def run(observe: float, first_qr_ms: int, qr_ms: int) -> bool:
    """The scenario; prints the report; True when every check passed."""
    become_subreaper()
    receiver = Receiver()
    receiver.secrets["/hook"] = SECRET
    with SimServer(port=0, **{**REAL_QR, "first_qr_ms": first_qr_ms, "qr_ms": qr_ms}) as sim, \
            tempfile.TemporaryDirectory(prefix="chaos-", ignore_cleanup_errors=True) as tmp:
        data = Path(tmp) / "dados"
        key = prepare(sim, data, 1)
        app = App(data, sim.url, key).start()
        try:
            app.wait_ready(1)
            status, _ = app.call("POST", "/webhooks", {"url": receiver.url("/hook"), "events": ["*", "qr"],
                                                         "secret": SECRET})
            assert status == 201
            log_start = len(app.log())
            took = settle(app, sim)
            closing = time.monotonic()  # each settled number closes its browser: its tab leaves the simulator
            sim.control.wait_for(lambda state: not state["sessions"], timeout=30)
            took["closed"] = time.monotonic() - closing
            settled_log = len(app.log())
            seen = watch(app, sim, observe)
            log_text = app.log()
            changes = [c for c in status_changes(log_text[log_start:]) if c[1] != c[2]]
            launches_after = sum(1 for c in status_changes(log_text[settled_log:]) if c[2] == "initializing")
            qr_shown = app.output().count("[semscan] Escaneie")
            final = {cid: (c["status"], c["reason"]) for cid, c in app.clients().items()}
            app.stop()
            counts, repeated, unsigned = webhook_counts(receiver)
        finally:
            app.ensure_stopped()
            receiver.close()
            reap_zombies()
    checks = []
    for cid in ("n0", "semscan"):
        made = [c for c in changes if c[0] == cid]
        checks += [counts[(cid, "status")] == len(made),
                   counts[(cid, "disconnected")] <= periods(changes, cid, "disconnected"),
                   counts[(cid, "qr")] <= periods(changes, cid, "qr_ready")]
    ok = (all(checks) and launches_after == 0 and repeated == 0 and unsigned == 0 and seen["most_tabs"] == 0
          and final == {"n0": ("disconnected", "logged_out"), "semscan": ("disconnected", "qr_timeout")})
    print(f"\n### Phone side: unlinked from the phone, QR never scanned; watched {observe:g} s after\n")
    print(f"- n0 unlinked -> disconnected (logged_out) after {took['n0']:.2f} s; semscan -> disconnected "
          f"(qr_timeout) after {took['semscan']:.1f} s and {qr_shown} QR codes (codes live {first_qr_ms / 1000:g} s, "
          f"then {qr_ms / 1000:g} s each)")
    print(f"- both browsers closed (no simulator tab left) {took['closed']:.2f} s after the second settled")
    print(f"- while watched: statuses seen {seen['statuses']}; simulator tabs open at most {seen['most_tabs']}; "
          f"browser launches (reconnect attempts) {launches_after}; final {final}")
    print("\n| number | status changes (log) | `status` webhooks | `disconnected` webhooks | `qr` webhooks | "
          "QR codes shown |")
    print("|---|---|---|---|---|---|")
    for cid in ("n0", "semscan"):
        made = [f"{old}->{new}" for c, old, new in changes if c == cid]
        print(f"| {cid} | {len(made)} ({', '.join(made)}) | {counts[(cid, 'status')]} | "
              f"{counts[(cid, 'disconnected')]} | {counts[(cid, 'qr')]} | {qr_shown if cid == 'semscan' else 0} |")
    print(f"\n- every webhook delivery: {dict(counts)}; same delivery twice: {repeated}; bad signature: {unsigned}")
    print(f"- result: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--observe", type=float, default=180, help="seconds to watch once both have settled")
    parser.add_argument("--first-qr-ms", type=int, default=60000, help="life of the first QR code (real: 60 s)")
    parser.add_argument("--qr-ms", type=int, default=20000, help="life of each later code (real: 20 s)")
    args = parser.parse_args()
    raise SystemExit(0 if run(args.observe, args.first_qr_ms, args.qr_ms) else 1)


if __name__ == "__main__":
    main()
