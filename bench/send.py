"""Benchmark: send throughput and latency through the outbox with pacing off.

10 numbers linked to the simulator; 1,000 text messages accepted through `outbox.enqueue_text` (round-robin:
no client id) as fast as the caller can; latency is from the call to the moment the simulated phone's server
recorded the message (its `at`), both read from the same machine's clock.

    .venv/bin/python -m bench.send --numbers 10 --messages 1000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from backend.config import Settings
from bench.restore import link_numbers, open_pool
from wasim import SimServer


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main() -> None:
    """Link, send, wait for every receipt, print the table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    with SimServer(port=0, ack_delivered_ms=None, ack_read_ms=None) as sim, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "dados"
        link_numbers(sim, data, args.numbers)
        settings = Settings(data_dir=data, whatsapp_url=sim.url, send_interval_s=0, send_jitter_s=0)
        with open_pool(settings) as pool:
            assert pool.restore_persisted_sessions()["restored"] == args.numbers
            accepted: dict[str, float] = {}
            start = time.time()
            for n in range(args.messages):
                accepted[pool.outbox.enqueue_text(None, "5511988887777", f"mensagem {n}")] = time.time()
            deadline = time.monotonic() + 600
            while pool.outbox.totals().sent < args.messages and time.monotonic() < deadline:
                time.sleep(0.2)
            phones = {c.metadata.phone_number for c in pool.clients()}
            received = {r["id"]: r["at"] / 1000 for p in phones for r in sim.control.sent(p)}
            latencies = []
            for message_id, at in accepted.items():
                wa_id = pool.outbox.get(message_id).wa_id
                latencies.append(received[wa_id] - at)
            elapsed = max(received.values()) - start
            per_number = sorted(len(sim.control.sent(p)) for p in phones)
    print("| numbers | messages | throughput | latency p50 | latency p99 | per number (min-max) |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.numbers} | {len(latencies)} | {len(latencies) / elapsed:.1f} msg/s | "
          f"{statistics.median(latencies) * 1000:.0f} ms | {percentile(latencies, 99) * 1000:.0f} ms | "
          f"{per_number[0]}-{per_number[-1]} |")


if __name__ == "__main__":
    main()
