"""Benchmark: what N on-demand numbers cost asleep against N always-on numbers, and how long a sleeping number
takes from a queued message to the simulator's receipt, side by side in one run.

The simulator runs in its own process (`python -m wasim --port 0`); the pool runs here, built as app.py builds
it, pacing off. N numbers are linked once; then rounds alternate on the same pool and profiles:

- always-on: every number ready (switched off on demand, so each connects again from its profile); after a
  settling pause, Chromium's memory (PSS summed over this run's Chromium processes, bench/procs.py) and the idle
  CPU over a window (utime+stime from /proc/<pid>/stat: ZapPool's own = this process + Playwright's node driver;
  Chromium apart; the simulator apart) per number;
- on-demand: every number switched on demand with a 1 s quiet period; once all sleep, the same memory and idle
  CPU; then each number in turn gets one queued message, timed from enqueue_text to the simulator's record of it
  (`at`, same clock), and is left to fall asleep again; the CPU of those wake-ups (ZapPool, Chromium) per number.

    .venv/bin/python -m bench.on_demand --numbers 5 --window 20 --rounds 3

With `--sleepers K`, instead: how many sleeping numbers ZapPool itself carries. A pool on a folder whose
sessions file lists K linked on-demand numbers (written here: asleep, they need no browser and no profile)
against a pool on an empty folder, alternating: seconds to start the pool (load the file, list the numbers,
start the outbox), ZapPool's idle CPU over the window, and the growth of this process's RSS over the first start.

    .venv/bin/python -m bench.on_demand --sleepers 490 --window 20 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from backend.config import Settings
from backend.store.sessions import SessionStore
from backend.whatsapp.pool import WhatsAppPool
from bench.procs import MB, become_subreaper, descendants, measure
from bench.restore import link_numbers, open_pool
from bench.send_cost import TICK, cpu_by_part, exe_name, start_simulator
from wasim.control import SimControl

CONTACT = "5511988887777"


def wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll until `predicate()`; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def cpu_parts(sim_pid: int) -> dict[str, float]:
    """bench.send_cost's CPU by part, Chromium's including its processes that have exited: a closed browser's
    whole tree is reaped into Playwright's node driver (cutime+cstime), which started it."""
    parts = cpu_by_part(sim_pid)
    for pid in descendants(os.getpid()):
        if pid != sim_pid and exe_name(pid) == "node":
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            parts["chromium"] += (int(fields[13]) + int(fields[14])) / TICK
    return parts


def idle_cost(pool: WhatsAppPool, sim_pid: int, window_s: float) -> dict[str, float]:
    """Per number: Chromium PSS (MB) now, and idle CPU (% of one core) of ZapPool and Chromium over the window."""
    n = len(pool.clients())
    pss = measure().pss_kb / MB
    cpu0 = cpu_parts(sim_pid)
    time.sleep(window_s)
    cpu1 = cpu_parts(sim_pid)
    per = {part: (cpu1[part] - cpu0[part]) * 100 / window_s / n for part in ("zappool", "chromium")}
    return {"pss_mb": pss / n, "zappool_pct": per["zappool"], "chromium_pct": per["chromium"]}


def always_on(pool: WhatsAppPool, sim_pid: int, window_s: float) -> dict[str, float]:
    """Every number connected, settled, measured."""
    for client in pool.clients():
        pool.set_on_demand(client.client_id, False)
    wait(lambda: len(pool.get_ready_clients()) == len(pool.clients()), 180, "every number ready")
    time.sleep(5)  # the pages' start-up work is over
    return idle_cost(pool, sim_pid, window_s)


def on_demand(pool: WhatsAppPool, control: SimControl, sim_pid: int, window_s: float) -> dict[str, float]:
    """Every number asleep, measured; then one message to each in turn, timed from enqueue to the receipt."""
    for client in pool.clients():
        pool.set_on_demand(client.client_id, True)
    wait(lambda: all(c.sleeping for c in pool.clients()), 60, "every number asleep")
    time.sleep(2)  # the closed browsers' processes have exited
    cost = idle_cost(pool, sim_pid, window_s)
    wakes = []
    cpu0 = cpu_parts(sim_pid)
    for client in pool.clients():
        start = time.time()
        message_id = pool.outbox.enqueue_text(client.client_id, CONTACT, f"acorda {start}")
        phone = client.metadata.phone_number
        wait(lambda m=message_id: pool.outbox.get(m).wa_id is not None, 120, "the message sent")
        wa_id = pool.outbox.get(message_id).wa_id
        wait(lambda w=wa_id, p=phone: any(r["id"] == w for r in control.sent(p)), 30, "the receipt")
        at = next(r["at"] for r in control.sent(phone) if r["id"] == wa_id) / 1000
        wakes.append(at - start)
        wait(lambda c=client: c.sleeping, 60, "asleep again")
    cpu1 = cpu_parts(sim_pid)
    n = len(wakes)
    return {**cost, "wake_s": statistics.median(wakes), "wake_zappool_cpu_s": (cpu1["zappool"] - cpu0["zappool"]) / n,
            "wake_chromium_cpu_s": (cpu1["chromium"] - cpu0["chromium"]) / n}


def sleeping_records(data: Path, count: int) -> None:
    """A sessions file listing `count` linked on-demand numbers, asleep (as a restart finds them)."""
    store = SessionStore(data / "whatsapp-sessions.json")
    for n in range(count):
        store.save({"clientId": f"s{n}", "name": None, "status": "disconnected", "reason": "sleeping",
                    "phoneNumber": f"55119{n:08d}", "metadata": {}, "onDemand": True})


def rss_mb() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sleepers_round(data: Path, window_s: float) -> dict[str, float]:
    """Start a pool on `data` (no browser is started): start time, ZapPool's idle CPU, asleep count."""
    settings = Settings(data_dir=data, whatsapp_url="http://127.0.0.1:9", max_clients=500, restore_on_start=False)
    start = time.perf_counter()
    with open_pool(settings) as pool:
        started = time.perf_counter() - start
        restored = pool.restore_persisted_sessions()["total"]  # none: a sleeping number stays asleep
        cpu0 = cpu_parts(0)["zappool"]
        time.sleep(window_s)
        cpu1 = cpu_parts(0)["zappool"]
        asleep = sum(c.sleeping for c in pool.clients())
    return {"start_s": started, "zappool_pct": (cpu1 - cpu0) * 100 / window_s, "asleep": asleep,
            "restored": restored}


def sleepers(count: int, window_s: float, rounds: int) -> None:
    """Empty folder against K sleeping numbers, alternating; print each round and the medians."""
    rows: dict[str, list[dict[str, float]]] = {"0 numbers": [], f"{count} asleep": []}
    with tempfile.TemporaryDirectory() as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        full.mkdir()
        sleeping_records(full, count)
        file_kb = (full / "whatsapp-sessions.json").stat().st_size / 1024
        rss0 = rss_mb()
        sleepers_round(full, 0.1)
        grown = rss_mb() - rss0
        for _ in range(rounds):
            for name, data in (("0 numbers", empty), (f"{count} asleep", full)):
                rows[name].append(sleepers_round(data, window_s))
                print(name, {k: round(v, 3) for k, v in rows[name][-1].items()}, flush=True)
    print(f"\nmedians of {rounds} rounds, idle window {window_s:g} s\n")
    print("| | pool start | ZapPool idle CPU (whole process) | asleep | restored at start |\n|---|---|---|---|---|")
    for name, runs in rows.items():
        print(f"| {name} | {statistics.median(r['start_s'] for r in runs):.3f} s | "
              f"{statistics.median(r['zappool_pct'] for r in runs):.2f}% | {runs[0]['asleep']:.0f} | "
              f"{runs[0]['restored']:.0f} |")
    print(f"\nRSS growth of this process over the first start with {count} asleep: {grown:.1f} MB; sessions file "
          f"{file_kb:.0f} kB")


def main() -> None:
    """Link the numbers, then alternate always-on and on-demand rounds; print each round and the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=5)
    parser.add_argument("--window", type=float, default=20.0, help="seconds of idle CPU measured per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sleepers", type=int, default=0, help="measure K sleeping numbers instead (no browser)")
    args = parser.parse_args()
    if args.sleepers:
        print(f"load average at start: {os.getloadavg()}", flush=True)
        sleepers(args.sleepers, args.window, args.rounds)
        return
    become_subreaper()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    sim_proc, url = start_simulator()
    rows: dict[str, list[dict[str, float]]] = {"always-on": [], "on-demand": []}
    try:
        control = SimControl(url)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "dados"
            link_numbers(SimpleNamespace(url=url, control=control), data, args.numbers)  # type: ignore[arg-type]
            profile_mb = sum(f.stat().st_size for f in (data / "sessions").rglob("*") if f.is_file()) / 2**20
            settings = Settings(data_dir=data, whatsapp_url=url, send_interval_s=0, send_jitter_s=0,
                                on_demand_idle_s=1.0)
            with open_pool(settings) as pool:
                for _ in range(args.rounds):
                    rows["always-on"].append(always_on(pool, sim_proc.pid, args.window))
                    print("always-on", {k: round(v, 3) for k, v in rows["always-on"][-1].items()}, flush=True)
                    rows["on-demand"].append(on_demand(pool, control, sim_proc.pid, args.window))
                    print("on-demand", {k: round(v, 3) for k, v in rows["on-demand"][-1].items()}, flush=True)
    finally:
        sim_proc.terminate()
        sim_proc.wait(10)
    report(rows, args, profile_mb)


def report(rows: dict[str, list[dict[str, float]]], args: argparse.Namespace, profile_mb: float) -> None:
    """Medians of the rounds, per number."""
    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in rows.items()}
    print(f"\n{args.numbers} numbers, {args.rounds} rounds each, idle window {args.window:g} s (medians, per number)\n")
    print("| | Chromium PSS | Chromium idle CPU | ZapPool idle CPU | wake-up to delivered (median) |")
    print("|---|---|---|---|---|")
    for name, m in med.items():
        wake = f"{m['wake_s']:.2f} s" if "wake_s" in m else "—"
        print(f"| {name} | {m['pss_mb']:.1f} MB | {m['chromium_pct']:.3f}% | {m['zappool_pct']:.3f}% | {wake} |")
    m = med["on-demand"]
    print(f"\nCPU per wake-up (start, one message, quiet period, close): ZapPool {m['wake_zappool_cpu_s']:.2f} CPU-s, "
          f"Chromium {m['wake_chromium_cpu_s']:.2f} CPU-s")
    print(f"\nbrowser profiles on disk: {profile_mb / args.numbers:.1f} MB per number")


if __name__ == "__main__":
    main()
