"""Benchmark: ZapPool's own CPU and latency per sent message, before and after issue 15's send-path changes,
side by side in one run.

The simulator runs in its own process (`python -m wasim --port 0`); the pool runs here, built as app.py builds
it, with pacing off. Rounds alternate two configurations on the same linked numbers and the same browsers:

- before: every send asks WhatsApp for the number's id (the look-up cache disabled: LookUpCache with zero
  expiry) and rewrites whatsapp-sessions.json after each send (the old deliver_text's `_persist`, put back by
  wrapping the pool's deliver_text here, not in production code);
- no-cache: the sessions file as now (state changes only) but the look-up cache off: the persist's share apart;
- after: the code as it is (answers kept, the sessions file written on state changes only).

CPU is utime+stime from /proc/<pid>/stat, read before and after each round: ZapPool's own = this process (the
pool, the outbox, the engine loop) + Playwright's node driver; Chromium (every process of ours) and the
simulator apart. Latency: from enqueue_text to the simulator's record of the message (`at`), same clock.

    .venv/bin/python -m bench.send_cost --numbers 3 --messages 300 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from backend.config import Settings
from backend.whatsapp.lookups import LookUpCache
from backend.whatsapp.pool import WhatsAppPool
from bench.procs import descendants, is_chromium
from bench.restore import link_numbers, open_pool
from wasim.control import SimControl

TICK = os.sysconf("SC_CLK_TCK")
RECIPIENTS = [f"55119888{n:05d}" for n in range(20)]


def cpu_s(pid: int) -> float:
    """utime+stime of one process, in seconds (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def exe_name(pid: int) -> str:
    """The process's executable's name ('' if it is gone)."""
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return ""


def cpu_by_part(sim_pid: int) -> dict[str, float]:
    """CPU seconds so far: ZapPool's own (this process + node driver), Chromium, the simulator."""
    ours = [p for p in descendants(os.getpid()) if p != sim_pid and p not in descendants(sim_pid)]
    chromium = [p for p in ours if is_chromium(p)]
    driver = [p for p in ours if not is_chromium(p) and exe_name(p) == "node"]
    return {"zappool": cpu_s(os.getpid()) + sum(map(cpu_s, driver)), "chromium": sum(map(cpu_s, chromium)),
            "simulator": cpu_s(sim_pid)}


def start_simulator(tree: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """`python -m wasim --port 0` in its own process (from `tree`'s checkout if given); its URL from the first
    line it prints."""
    proc = subprocess.Popen([sys.executable, "-m", "wasim", "--port", "0"], stdout=subprocess.PIPE, text=True,
                            cwd=tree)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, line.split(": ", 1)[1].strip()


CONFIGS = {"before": (False, True), "no-cache": (False, False), "after": (True, False)}  # (cache, persist)


def configure(pool: WhatsAppPool, name: str) -> None:
    """Switch the pool between the old send path, the current one and the one between (see the module's doc)."""
    cache, persist = CONFIGS[name]
    for client in pool.clients():
        client.lookups = LookUpCache() if cache else LookUpCache(found_s=0, missing_s=0)
    if persist:
        def deliver_text(client_id: str, to: Any, text: str, attempt: Any = None) -> dict[str, Any]:
            receipt = WhatsAppPool.deliver_text(pool, client_id, to, text, attempt)
            pool._persist(pool.get(client_id))
            return receipt
        pool.deliver_text = deliver_text  # type: ignore[method-assign]
    else:
        pool.__dict__.pop("deliver_text", None)


def one_round(pool: WhatsAppPool, control: SimControl, sim_pid: int, messages: int) -> dict[str, float]:
    """Send `messages` texts to 20 recipients; CPU per message (ms) by part and latency p50 (ms)."""
    done = pool.outbox.totals().sent
    cpu0 = cpu_by_part(sim_pid)
    accepted: dict[str, float] = {}
    for n in range(messages):
        accepted[pool.outbox.enqueue_text(None, RECIPIENTS[n % 20], f"mensagem {n}")] = time.time()
    deadline = time.monotonic() + 600
    while pool.outbox.totals().sent < done + messages and time.monotonic() < deadline:
        time.sleep(0.05)
    cpu1 = cpu_by_part(sim_pid)
    phones = {c.metadata.phone_number for c in pool.clients()}
    received = {r["id"]: r["at"] / 1000 for p in phones for r in control.sent(p)}
    latencies = [received[pool.outbox.get(m).wa_id] - at for m, at in accepted.items()]
    result = {part: (cpu1[part] - cpu0[part]) * 1000 / messages for part in cpu0}
    return {**result, "p50": statistics.median(latencies) * 1000}


def main() -> None:
    """Link the numbers, then alternate before/after rounds; print each round and the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=3)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sim_proc, url = start_simulator()
    try:
        control = SimControl(url)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "dados"
            link_numbers(SimpleNamespace(url=url, control=control), data, args.numbers)  # type: ignore[arg-type]
            settings = Settings(data_dir=data, whatsapp_url=url, send_interval_s=0, send_jitter_s=0)
            with open_pool(settings) as pool:
                assert pool.restore_persisted_sessions()["restored"] == args.numbers
                configure(pool, "after")
                one_round(pool, control, sim_proc.pid, 60)  # warm-up: pages, code paths, the database
                rows: dict[str, list[dict[str, float]]] = {name: [] for name in CONFIGS}
                for _ in range(args.rounds):
                    for name in CONFIGS:
                        configure(pool, name)
                        look0 = control.state()["lookups"]
                        rows[name].append({**one_round(pool, control, sim_proc.pid, args.messages),
                                           "lookups": control.state()["lookups"] - look0})
                        print(name, {k: round(v, 2) for k, v in rows[name][-1].items()}, flush=True)
    finally:
        sim_proc.terminate()
        sim_proc.wait(10)
    report(rows, args)


def report(rows: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    """The medians of the rounds, and after/before ratios."""
    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in rows.items()}
    print(f"\n{args.numbers} numbers, {args.messages} messages per round to 20 recipients, {args.rounds} rounds each "
          "(medians)\n")
    print("| | ZapPool's own CPU/msg | Chromium CPU/msg | simulator CPU/msg | p50 latency | look-ups per round |")
    print("|---|---|---|---|---|---|")
    for name in CONFIGS:
        m = med[name]
        print(f"| {name} | {m['zappool']:.2f} ms | {m['chromium']:.2f} ms | {m['simulator']:.2f} ms | "
              f"{m['p50']:.0f} ms | {m['lookups']:.0f} |")
    b, a = med["before"], med["after"]
    print(f"| after/before | {a['zappool'] / b['zappool']:.2f} | {a['chromium'] / b['chromium']:.2f} | "
          f"{a['simulator'] / b['simulator']:.2f} | {a['p50'] / b['p50']:.2f} | |")


if __name__ == "__main__":
    main()
