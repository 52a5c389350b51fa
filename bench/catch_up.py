"""What the catch-up at connect costs: one read of WhatsApp's unread chats and their unread messages
(`WppPage.unread_messages`, WPP.chat.list + WPP.chat.getMessages), then the log's look-up of their ids, as a
number runs them each time it becomes ready. The simulator runs in its own process (`python -m wasim --port 0`);
one number is linked; the rounds alternate between accounts with 0, 10 and 100 unread chats (one unread message
each, already logged: the steady case, where the catch-up finds nothing new).

    .venv/bin/python -m bench.catch_up --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from backend.assembly import build_pool
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.whatsapp.pool import WhatsAppPool
from bench.polling import wait_until
from bench.send_cost import start_simulator
from wasim.control import SimControl

PHONE = "5511999990001"


def contacts(n: int) -> list[str]:
    """n distinct senders."""
    return [f"55219{7000000 + i:08d}" for i in range(n)]


def one_round(pool: WhatsAppPool, control: SimControl, unread: int, reads: int = 10) -> tuple[float, float]:
    """Make `unread` chats unread (one message each), then time the page read and the log look-up (ms)."""
    client = pool.get("bench")
    before = pool.outbox.totals().received
    for sender in contacts(unread):
        control.incoming(PHONE, sender, "oi")
    wait_until(lambda: pool.outbox.flush() and pool.outbox.totals().received >= before + unread, 30, what="logged")
    page_ms, log_ms = [], []
    for _ in range(reads):
        t0 = time.perf_counter()
        found = pool.runtime.call(client._wpp.unread_messages(), 60)
        t1 = time.perf_counter()
        client.known_messages([m["id"] for m in found])
        t2 = time.perf_counter()
        assert len(found) == unread, (len(found), unread)
        page_ms.append((t1 - t0) * 1000)
        log_ms.append((t2 - t1) * 1000)
    for sender in contacts(unread):
        client.mark_chat_read(f"{sender}@c.us")
    return statistics.median(page_ms), statistics.median(log_ms)


def main() -> None:
    """Alternate 0, 10 and 100 unread chats for --rounds rounds; print medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("load average at start:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    sim, url = start_simulator()
    control = SimControl(url)
    control.configure(load_ms=20)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "dados", whatsapp_url=url, restore_on_start=False,
                            send_interval_s=0, send_jitter_s=0)
        runtime = EngineRuntime(settings)
        pool = build_pool(settings, runtime)
        pool.start()
        try:
            pool.create_and_initialize("bench")
            control.scan(pool.get("bench").qr.code, PHONE)
            wait_until(lambda: pool.get("bench").status.value == "ready", 30, what="ready")
            rows: dict[int, list[tuple[float, float]]] = {0: [], 10: [], 100: []}
            for _ in range(args.rounds):
                for unread, values in rows.items():
                    values.append(one_round(pool, control, unread))
        finally:
            pool.shutdown()
            runtime.stop()
            sim.terminate()
    print("| unread chats | page read (ms), median of rounds | log look-up (ms) |")
    print("|---|---|---|")
    for unread, values in rows.items():
        print(f"| {unread} | {statistics.median(v[0] for v in values):.1f} "
              f"(rounds: {', '.join(f'{v[0]:.1f}' for v in values)}) | {statistics.median(v[1] for v in values):.2f} |")


if __name__ == "__main__":
    main()
