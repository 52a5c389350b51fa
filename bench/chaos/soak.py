"""Soak: 10 numbers with steady traffic both ways for 30 minutes; memory, threads and file descriptors sampled.

app.py runs with 10 linked numbers, pacing off, and a webhook receiver subscribed to `message`, `message_ack`
and `status`. Time is compressed: acks come after 0.1 and 0.3 s instead of the real seconds, and the traffic
is denser than one office's (2 messages a second posted to the REST API, auto-routed and pinned; 2 a second
written to the linked phones by 50 contacts). Every 30 s: ZapPool's RSS (and of it the anonymous memory, the
heaps), threads and open file descriptors (/proc/<pid>), the RSS of Playwright's driver (node, a child of
ZapPool), and the PSS summed over every Chromium process of the run (bench.procs; the bench is their
subreaper), and of it the renderers (the pages) and the browser processes. Reported: start, end, max, and the
slope of a least-squares line over the whole run and over its second half.

    .venv/bin/python -m bench.chaos.soak --minutes 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.chaos.harness import SIM_TIMINGS, App, phone_for, prepare, reap_zombies, wait_until
from bench.chaos.traffic import Incoming, Outgoing, wait_all_sent
from bench.procs import become_subreaper, descendants, measure
from bench.webhook_receiver import Receiver
from wasim import SimServer

MB = 1024  # /proc figures are in kB
COLUMNS = (("rss", "ZapPool RSS MB"), ("anon", "of it anon MB"), ("threads", "threads"), ("fds", "fds"),
           ("driver", "driver RSS MB"), ("pss", "Chromium PSS MB"), ("renderer", "of it renderers MB"), ("browser", "of it browsers MB"),
           ("procs", "Chromium procs"))


def _status_fields(pid: int) -> dict[str, int]:
    """VmRSS and RssAnon (kB) and Threads of a process from /proc/<pid>/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "Threads"):
            fields[key] = int(value.split()[0])
    return fields


def _driver_rss(app_pid: int) -> int:
    """RSS (kB) of Playwright's node driver below the app."""
    total = 0
    for pid in descendants(app_pid):
        try:
            if os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "node":
                total += _status_fields(pid).get("VmRSS", 0)
        except OSError:
            continue
    return total


def metric(app: App, name: str) -> int:
    """One zapool_pool_messages{kind=...} value from GET /metrics."""
    for line in app.text("/metrics").splitlines():
        if line.startswith(f'zapool_pool_messages{{kind="{name}"}}'):
            return int(float(line.split()[-1]))
    return -1


def sample(app: App, started: float) -> dict[str, float]:
    """One row: minutes since the start and every column."""
    fields = _status_fields(app.pid)
    chromium = measure()
    return {"t": (time.monotonic() - started) / 60, "rss": fields["VmRSS"] / MB, "anon": fields["RssAnon"] / MB,
            "threads": fields["Threads"],
            "fds": len(os.listdir(f"/proc/{app.pid}/fd")), "driver": _driver_rss(app.pid) / MB,
            "pss": chromium.pss_kb / MB, "renderer": chromium.kinds.get("renderer", (0, 0))[1] / MB,
            "browser": chromium.kinds.get("browser", (0, 0))[1] / MB, "procs": chromium.processes,
            "sent": metric(app, "sent"),
            "received": metric(app, "received")}


def slope(rows: list[dict[str, float]], key: str) -> float:
    """Least-squares growth per hour of one column."""
    if len(rows) < 3:
        return float("nan")
    return statistics.linear_regression([r["t"] for r in rows], [r[key] for r in rows]).slope * 60


def run(minutes: float, numbers: int, every: float, out_rate: float, in_rate: float) -> bool:
    """The soak; prints the samples and the summary; True when nothing was lost and fds/threads stayed flat."""
    become_subreaper()
    receiver = Receiver()
    with SimServer(port=0, **SIM_TIMINGS) as sim, \
            tempfile.TemporaryDirectory(prefix="chaos-", ignore_cleanup_errors=True) as tmp:
        data = Path(tmp) / "dados"
        key = prepare(sim, data, numbers)
        phones = [phone_for(i) for i in range(numbers)]
        app = App(data, sim.url, key).start()
        outgoing = incoming = None
        rows: list[dict[str, float]] = []
        try:
            app.wait_ready(numbers)
            app.call("POST", "/webhooks", {"url": receiver.url("/soak"), "events": ["message", "message_ack",
                                                                                    "status"]})
            outgoing = Outgoing(app, out_rate, [None, *(f"n{i}" for i in range(numbers))], "soak").start()
            incoming = Incoming(sim, phones, in_rate).start()
            started = time.monotonic()
            while True:
                rows.append(sample(app, started))
                print(" ".join(f"{k}={v:.1f}" for k, v in rows[-1].items()), flush=True)
                if rows[-1]["t"] >= minutes:
                    break
                time.sleep(max(0.0, started + len(rows) * every - time.monotonic()))
                reap_zombies(keep=(app.pid,))
            outgoing.stop()
            incoming.stop()
            drain = wait_all_sent(app, outgoing.accepted, 300)
            wait_until(lambda: metric(app, "received") >= incoming.written, 60, "every incoming message logged")
            received = metric(app, "received")
            ready = list(app.statuses().values()).count("ready")
            code, took = app.stop()
            files = {p.name: p.stat().st_size / 2**20 for p in sorted(data.glob("*.db*"))}
        finally:
            for worker in (outgoing, incoming):
                if worker is not None:
                    worker.stop()
            app.ensure_stopped()
            receiver.close()
    half = [r for r in rows if r["t"] >= minutes / 2]
    flat = not any(slope(half, key) * (minutes / 2) / 60 >= 5 for key in ("fds", "threads"))  # nan: too short
    ok = flat and ready == numbers and received >= incoming.written and code == 0
    print(f"\n### Soak: {numbers} numbers, {minutes:g} min, {out_rate:g} msg/s out + {in_rate:g} msg/s in, "
          f"sampled every {every:g} s\n")
    print("| measure | start | end | min | max | slope, whole run (/h) | slope, second half (/h) |")
    print("|---|---|---|---|---|---|---|")
    for key, label in COLUMNS:
        values = [r[key] for r in rows]
        print(f"| {label} | {values[0]:.1f} | {values[-1]:.1f} | {min(values):.1f} | {max(values):.1f} | "
              f"{slope(rows, key):+.1f} | {slope(half, key):+.1f} |")
    print(f"\n- messages: {len(outgoing.accepted)} accepted, all sent {drain:.1f} s after traffic stopped; "
          f"{incoming.written} written to the phones, {received} logged; {len(receiver.hits)} webhook deliveries; "
          f"{ready}/{numbers} ready at the end; clean stop in {took:.1f} s (exit {code})")
    print("- SQLite files at the end (MB; their page caches live in ZapPool's anonymous memory): "
          + ", ".join(f"{name} {size:.1f}" for name, size in files.items()))
    print(f"- result: {'PASS' if ok else 'FAIL'}")
    print("\n<details><summary>samples</summary>\n")
    print("| min | " + " | ".join(label for _k, label in COLUMNS) + " | sent | received |")
    print("|---" * (len(COLUMNS) + 3) + "|")
    for r in rows:
        print(f"| {r['t']:.1f} | " + " | ".join(f"{r[k]:.1f}" if isinstance(r[k], float) else str(r[k])
                                             for k, _l in COLUMNS) + f" | {r['sent']} | {r['received']} |")
    print("\n</details>")
    return ok


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--numbers", type=int, default=10)
    parser.add_argument("--every", type=float, default=30, help="seconds between samples")
    parser.add_argument("--out-rate", type=float, default=2.0, help="messages posted per second")
    parser.add_argument("--in-rate", type=float, default=2.0, help="messages to the phones per second")
    args = parser.parse_args()
    raise SystemExit(0 if run(args.minutes, args.numbers, args.every, args.out_rate, args.in_rate) else 1)


if __name__ == "__main__":
    main()
