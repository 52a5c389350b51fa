"""Benchmark: the message log (dados/messages.db) at a million rows.

Fills a fresh messages.db to --rows with a realistic mix (10 numbers, 2,000 chats each, half incoming, half
outgoing in their final states), straight through SQL in 10,000-row transactions with the store's schema and
triggers. Then, through MessageStore itself (WAL, synchronous=FULL, one fsync per call):

- opening the file (schema check and quick_check: ZapPool's start-up cost),
- the reads the REST API and the outbox make, p50/p99 over --samples random numbers and chats,
- the outbox's per-message writes (accept, claim, sent, acks, incoming), at an empty file and at full size.

    .venv/bin/python -m bench.message_log --rows 1000000
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backend.store.messages import MessageStore
from backend.store.reports import ReportStore
from bench import message_reports

DAY_MS = 86_400_000
CLIENTS = [f"numero{i:02d}" for i in range(10)]
CHATS_PER_CLIENT = 2000
INSERT = ("INSERT INTO messages (id, direction, client_id, routing, chat, to_number, sender, type, body, status, ack,"
          " wa_id, attempts, created_at, updated_at, sent_at, delivered_at, read_at) "
          "VALUES (?, ?, ?, 'pinned', ?, ?, ?, 'chat', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def chat_of(client: int, chat: int) -> str:
    """A plausible Brazilian mobile chat id, unique per (number, chat)."""
    return f"55{11 + client}9{chat:08d}@c.us"


def fake_rows(count: int, start_ms: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """`count` log rows over 90 days, oldest first."""
    step = 90 * DAY_MS / count
    for i in range(count):
        client = rng.randrange(len(CLIENTS))
        chat = chat_of(client, min(int(rng.paretovariate(1.2)) - 1, CHATS_PER_CLIENT - 1))  # a few busy chats
        at = start_ms + int(i * step)
        if rng.random() < 0.5:
            status = rng.choices(["read", "delivered", "sent", "failed"], [70, 20, 8, 2])[0]
            ack = {"read": 3, "delivered": 2, "sent": 1, "failed": None}[status]
            yield (uuid.uuid4().hex, "out", CLIENTS[client], chat, chat[:13], None, f"mensagem {i}", status, ack,
                   f"true_{chat}_{i:020X}" if ack else None, 1, at, at, at + 500 if ack else None,
                   at + 900 if ack and ack >= 2 else None, at + 5000 if ack == 3 else None)
        else:
            status = "read" if rng.random() < 0.9 else "received"
            yield (uuid.uuid4().hex, "in", CLIENTS[client], chat, None, chat, f"resposta {i}", status, None,
                   f"false_{chat}_{i:020X}", 0, at, at, None, None, at + 60_000 if status == "read" else None)


def fill(path: Path, rows: int, start_ms: int, rng: random.Random, batch: int = 10_000) -> float:
    """Insert `rows` rows in `batch`-row transactions; returns rows per second."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -64000")
    started = time.perf_counter()
    generator = fake_rows(rows, start_ms, rng)
    for done in range(0, rows, batch):
        conn.execute("BEGIN")
        conn.executemany(INSERT, (next(generator) for _ in range(min(batch, rows - done))))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return rows / elapsed


def timed(fn: Callable[[], Any], samples: int) -> list[float]:
    """Milliseconds of `samples` calls."""
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def deep_page(store: MessageStore, client: str, pages: int) -> None:
    """Follow the cursor `pages` pages into a number's history."""
    cursor = None
    for _ in range(pages):
        cursor = store.list_messages(client_id=client, cursor=cursor, limit=50).next_cursor


def reads(store: MessageStore, rng: random.Random, samples: int, end_ms: int) -> list[tuple[str, list[float]]]:
    """The API's and the outbox's reads, each `samples` times on random numbers and chats."""
    def client() -> str:
        """A random number."""
        return rng.choice(CLIENTS)

    def chat() -> tuple[str, str]:
        """A random (number, chat), busy chats more often."""
        c = rng.randrange(len(CLIENTS))
        return CLIENTS[c], chat_of(c, min(int(rng.paretovariate(1.2)) - 1, CHATS_PER_CLIENT - 1))

    ids = [m.id for m in store.list_messages(limit=500).items]
    day = lambda: end_ms - rng.randrange(1, 90) * DAY_MS  # noqa: E731 - a one-line sampler
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("page 1, all numbers (50 newest)", lambda: store.list_messages(limit=50)),
        ("page 1 of one number", lambda: store.list_messages(client_id=client(), limit=50)),
        ("page 20 of one number (cursor walk, 20 queries)", lambda: deep_page(store, client(), 20)),
        ("page 1 of one number, outgoing only", lambda: store.list_messages(client_id=client(), direction="out")),
        ("page 1 of one number, one day", lambda: (lambda d: store.list_messages(
            client_id=client(), since=d, until=d + DAY_MS))(day())),
        ("page 1 of one chat of one number", lambda: store.chat_messages(*chat(), limit=50)),
        ("chats of one number (50 most recent)", lambda: store.list_chats(client(), limit=50)),
        ("get one message by id", lambda: store.get(rng.choice(ids))),
        ("counts per number", store.counts),
        ("totals (totalMessages)", store.totals),
        ("outbox: next queued message of a number", lambda: store.next_for_client(client())),
    ]
    return [(name, timed(fn, samples)) for name, fn in cases]


def writes(store: MessageStore, samples: int) -> list[tuple[str, list[float]]]:
    """One message's life through the store's API, `samples` times: each call is one fsynced commit."""
    ops: dict[str, list[float]] = {k: [] for k in ("accept (add_outgoing)", "claim (queued -> sending)",
                                                   "mark_sent", "ack 2 (delivered)", "ack 3 (read)",
                                                   "incoming message (add_incoming, one)")}
    for i in range(samples):
        message_id, wa_id = uuid.uuid4().hex, f"true_bench_{uuid.uuid4().hex}"
        steps = [lambda: store.add_outgoing(message_id, client_id=CLIENTS[0], to_number="5511988887777",
                                            chat="5511988887777@c.us", type="chat", body=f"bench {i}"),
                 lambda: store.claim(message_id, CLIENTS[0]),
                 lambda: store.mark_sent(message_id, wa_id=wa_id, chat=None, ack=1),
                 lambda: store.apply_acks([(CLIENTS[0], wa_id, 2)]),
                 lambda: store.apply_acks([(CLIENTS[0], wa_id, 3)]),
                 lambda: store.add_incoming([(CLIENTS[0], uuid.uuid4().hex, {"id": f"false_{wa_id}",
                                                                              "from": "5511988887777@c.us",
                                                                              "body": "oi"})])]
        for name, step in zip(ops, steps):
            ops[name] += timed(step, 1)
    return list(ops.items())


def table(title: str, rows: list[tuple[str, list[float]]]) -> str:
    """A Markdown table of p50/p99 per measure."""
    lines = [f"\n{title}\n", "| measure | samples | p50 | p99 |", "|---|---|---|---|"]
    for name, values in rows:
        lines.append(f"| {name} | {len(values)} | {pct(values, 50):.2f} ms | {pct(values, 99):.2f} ms |")
    return "\n".join(lines)


def main() -> None:
    """Fill, reopen, read, write; print Markdown tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=None, help="where to build messages.db (default: a temp dir)")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "messages.db"
        store = MessageStore(path)
        empty = writes(store, args.samples)
        store.close()
        end_ms = int(time.time() * 1000)
        rate = fill(path, args.rows, end_ms - 90 * DAY_MS, rng)
        started = time.perf_counter()
        store = MessageStore(path)
        open_s = time.perf_counter() - started
        read_rows = reads(store, rng, args.samples, end_ms)
        full = writes(store, args.samples)
        total = sum(c.sent + c.received + c.pending + c.failed for c in store.counts().values())
        rebuild_s = message_reports.rebuild_seconds(store)  # issue 18: the report tables, as the v4 migration
        report_rows = message_reports.report_reads(ReportStore(store.database), end_ms, args.samples, CLIENTS[0],
                                                   timed)
        trigger_rows = message_reports.trigger_cost(store, args.samples, writes)
        store.close()
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
    print(f"rows: {total:,}; file: {size_mb:,.0f} MB; bulk fill: {rate:,.0f} rows/s "
          f"(10,000 per transaction, triggers on); open at full size (quick_check included): {open_s:.2f} s")
    print(table(f"Reads at {total:,} rows", read_rows))
    print(table("Per-message writes through MessageStore, empty file (one fsync each)", empty))
    print(table(f"Per-message writes through MessageStore at {total:,} rows (one fsync each)", full))
    life = sum(statistics.median(v) for _, v in full[:5])
    print(f"\none outgoing message's whole life (accept, claim, sent, 2 acks) at full size: {life:.1f} ms of "
          f"store time at p50 -> about {1000 / life:,.0f} messages/s from one writer")
    print(f"\nreport tables rebuilt from the {total:,}-row log (the v4 migration's fill): {rebuild_s:.1f} s")
    print(table(f"Reports of 90 days at {total:,} rows (ReportService, tz America/Sao_Paulo)", report_rows))
    print(table("Per-message writes at full size, with and without the report triggers (alternating rounds)",
                trigger_rows))
    print("\n" + message_reports.summary_line(trigger_rows))


if __name__ == "__main__":
    main()
