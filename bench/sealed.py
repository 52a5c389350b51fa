"""Benchmark (issue 19): a sealed data folder against a plain one, side by side in one run.

Both folders get the same numbers linked on one simulator. Then, round after round, alternating: start -> all
numbers ready (a new pool on the folder, as a restart does; sealed: the passphrase's scrypt unlock first, then
each profile unpacked from its sealed snapshot into the RAM runtime folder), and the send throughput of
`--messages` texts and `--documents` documents (pacing off) from call to the simulated phone's receipt. Then the
snapshot of each ready number, sealed: its size and time.

The simulator runs in its own process (`python -m wasim`), so what is measured is ZapPool: this process and its
Chromium. Their CPU time (utime+stime of the process tree, from /proc) is read before and after each round's
sends and reported per message: on this 2-core machine the run's 10 Chromium saturate the CPU, so wall-clock
throughput moves with whatever else the machine does, and CPU per message is the steadier figure of what
sealing costs (throughput on a CPU-bound machine goes as its inverse).

    .venv/bin/python -m bench.sealed --numbers 10 --rounds 3 --messages 300 --documents 30 [--keyring]

--keyring: the data key wrapped by a keyring instead of a passphrase (keyrings.alt's file backend, chosen with
PYTHON_KEYRING_BACKEND, in the run's temp folder: the desktop app's unattended start, without scrypt).
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backend.assembly import build_pool
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.sealing import KeyFile, Sealer
from backend.store.atomic import write_atomic
from backend.whatsapp.pool import WhatsAppPool
from bench.cluster_throughput import cpu_seconds, start_simulator
from bench.polling import wait_until

PASSPHRASE: str | None = "frase do benchmark"
DOC = base64.b64encode(os.urandom(200_000)).decode()


@contextmanager
def open_pool(settings: Settings, sealer: Sealer | None) -> Iterator[WhatsAppPool]:
    """A started pool with its own engine, as app.py builds it; shut down (sealed: snapshots written) after."""
    engine = EngineRuntime(settings)
    pool = build_pool(settings, engine, sealer)
    pool.start()
    try:
        yield pool
    finally:
        pool.shutdown(timeout_s=60)
        engine.stop()


def settings_for(sim_url: str, data: Path) -> Settings:
    """No pacing, no periodic snapshot during the measures (the one at close is what a stop costs)."""
    return Settings(data_dir=data, whatsapp_url=sim_url, send_interval_s=0, send_jitter_s=0,
                    snapshot_first_s=3600, snapshot_interval_s=3600)


def link(sim: Simulator, data: Path, sealer: Sealer | None, count: int, offset: int) -> None:
    """`count` numbers linked in `data` (phones numbered from `offset`), then a clean stop."""
    with open_pool(settings_for(sim.url, data), sealer) as pool:
        for n in range(count):
            pool.create_and_initialize(f"n{n}")
            sim.control.scan(pool.get(f"n{n}").qr.code, f"55119{offset + n:06d}")
        wait_until(lambda: len(pool.get_ready_clients()) == count, 180, "all linked")


def start_once(sim: Simulator, data: Path, sealed: bool, count: int, messages: int, documents: int
               ) -> dict[str, float]:
    """One restart: unlock (sealed), restore until all ready, then the sends; seconds and msg/s."""
    began = time.perf_counter()
    sealer = KeyFile(data, write_atomic).unlock(PASSPHRASE) if sealed else None
    unlocked = time.perf_counter()
    with open_pool(settings_for(sim.url, data), sealer) as pool:
        result = pool.restore_persisted_sessions()
        ready = time.perf_counter()
        assert result == {"restored": count, "total": count}, result
        sent_before = pool.outbox.totals().sent
        start, cpu_start = time.perf_counter(), cpu_seconds([os.getpid()])
        for n in range(messages):
            pool.outbox.enqueue_text(None, "5511988887777", f"mensagem {n}")
        for n in range(documents):
            pool.outbox.enqueue_media(None, "5511988887777", {"mimetype": "application/pdf",
                                                               "filename": f"d{n}.pdf", "data": DOC})
        total = messages + documents
        wait_until(lambda: pool.outbox.totals().sent - sent_before >= total, 600, "all sent", every=0.1)
        sent, cpu_sent = time.perf_counter(), cpu_seconds([os.getpid()])
    return {"unlock": unlocked - began, "ready": ready - began, "send": total / (sent - start),
            "cpu_ms": (cpu_sent - cpu_start) / total * 1000}


def snapshots(sim: Simulator, data: Path, sealer: Sealer, count: int) -> list[tuple[int, float]]:
    """Each ready number's sealed snapshot: (bytes, seconds)."""
    with open_pool(settings_for(sim.url, data), sealer) as pool:
        pool.restore_persisted_sessions()
        return [pool.saved.profiles.save(f"n{n}") for n in range(count)]


class Simulator:
    """`python -m wasim` in its own process, without delivery or read receipts (the sends are what is timed)."""

    def __init__(self) -> None:
        self.proc, self.control, self.url = start_simulator()
        self.control.configure(ack_delivered_ms=0, ack_read_ms=0)

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def main() -> None:
    """Link both folders, alternate the rounds, print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--documents", type=int, default=30)
    parser.add_argument("--keyring", action="store_true")
    args = parser.parse_args()
    global PASSPHRASE  # noqa: PLW0603 - one run, one way of unlocking
    if args.keyring:
        PASSPHRASE = None
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "sealed": []}
    with Simulator() as sim, tempfile.TemporaryDirectory() as tmp:
        folders = {"plain": Path(tmp) / "plain", "sealed": Path(tmp) / "sealed"}
        folders["sealed"].mkdir()
        os.environ["XDG_DATA_HOME"] = str(Path(tmp) / "keyring")  # keyrings.alt's file, when --keyring
        sealer = KeyFile(folders["sealed"], write_atomic).create(PASSPHRASE, use_keyring=args.keyring)
        link(sim, folders["plain"], None, args.numbers, 0)
        link(sim, folders["sealed"], sealer, args.numbers, 1000)
        print(f"load average before: {os.getloadavg()}", flush=True)
        for _ in range(args.rounds):
            for kind, folder in folders.items():
                runs[kind].append(start_once(sim, folder, kind == "sealed", args.numbers, args.messages,
                                             args.documents))
                print(kind, runs[kind][-1], flush=True)
        sizes = snapshots(sim, folders["sealed"], KeyFile(folders["sealed"], write_atomic).unlock(PASSPHRASE),
                          args.numbers)
        print(f"load average after: {os.getloadavg()}")
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("unlock", "ready", "send", "cpu_ms")} for k, v in runs.items()}
    print(f"\n| {args.numbers} numbers, {args.rounds} rounds (medians) | plain | sealed | sealed/plain |")
    print("|---|---|---|---|")
    print(f"| start -> all ready | {med['plain']['ready']:.2f} s | {med['sealed']['ready']:.2f} s "
          f"(unlock {med['sealed']['unlock']:.2f} s) | {med['sealed']['ready'] / med['plain']['ready']:.2f}x |")
    bare = {k: statistics.median(r["ready"] - r["unlock"] for r in v) for k, v in runs.items()}
    print(f"| the same without the unlock | {bare['plain']:.2f} s | {bare['sealed']:.2f} s | "
          f"{bare['sealed'] / bare['plain']:.2f}x |")
    print(f"| send throughput ({args.messages} texts + {args.documents} documents of 200 KB) | "
          f"{med['plain']['send']:.1f} msg/s | {med['sealed']['send']:.1f} msg/s | "
          f"{med['sealed']['send'] / med['plain']['send']:.2f}x |")
    print(f"| CPU per message, ZapPool and its Chromium (from /proc) | {med['plain']['cpu_ms']:.2f} ms | "
          f"{med['sealed']['cpu_ms']:.2f} ms | {med['sealed']['cpu_ms'] / med['plain']['cpu_ms']:.2f}x |")
    rounds = [s["send"] / p["send"] for p, s in zip(runs["plain"], runs["sealed"])]
    print(f"\nrounds' own send ratios (sealed/plain): {', '.join(f'{r:.2f}' for r in rounds)}; "
          f"median {statistics.median(rounds):.2f}")
    kib, ms = [s / 1024 for s, _ in sizes], [t * 1000 for _, t in sizes]
    print(f"\nsnapshot per number: size median {statistics.median(kib):.1f} KiB (max {max(kib):.1f}), "
          f"time median {statistics.median(ms):.0f} ms (max {max(ms):.0f} ms)")


if __name__ == "__main__":
    main()
