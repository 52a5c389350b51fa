"""Issue 19 step 5: what sealing the databases would cost, measured side by side in one process.

SQLCipher (the `sqlcipher3-wheels` package, SQLCipher 4 over its own SQLite) against the stdlib's sqlite3, on the
message log's shape and settings (WAL, synchronous=FULL, one durable commit per accepted message), and, as the
alternative, field-level AES-256-GCM (cryptography) of a message's sensitive columns (body, chat, sender).

    python -m bench.sqlcipher_cost --rows 2000        (a Python with sqlcipher3-wheels and/or cryptography)
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SCHEMA = ("CREATE TABLE messages (id TEXT PRIMARY KEY, client_id TEXT, chat TEXT, sender TEXT, body TEXT, "
          "status TEXT, created_at INTEGER); CREATE INDEX by_time ON messages (created_at);")
BODY = "Olá! Seu pedido 4471 foi confirmado e sai para entrega amanhã de manhã. Obrigado pela compra."


def run(module: Any, path: Path, rows: int, key: str | None) -> dict[str, float]:
    """Durable inserts, point reads and newest-first pages; their rates."""
    conn = module.connect(str(path), isolation_level=None)
    if key:
        conn.execute(f"PRAGMA key = '{key}'")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(SCHEMA)
    ids = [os.urandom(16).hex() for _ in range(rows)]
    started = time.perf_counter()
    for n, mid in enumerate(ids):
        conn.execute("INSERT INTO messages VALUES (?, 'loja', '5511988887777@c.us', '5511988887777@c.us', ?, "
                     "'queued', ?)", (mid, BODY, n))
    inserted = time.perf_counter()
    for mid in random.sample(ids, min(rows, 2000)):
        conn.execute("SELECT * FROM messages WHERE id = ?", (mid,)).fetchone()
    read = time.perf_counter()
    for _ in range(200):
        conn.execute("SELECT * FROM messages ORDER BY created_at DESC LIMIT 50").fetchall()
    paged = time.perf_counter()
    conn.close()
    return {"insert/s": rows / (inserted - started), "read/s": min(rows, 2000) / (read - inserted),
            "page/s": 200 / (paged - read)}


def field_cost(rounds: int = 20000) -> tuple[float, float]:
    """Microseconds to seal and to open one message's three sensitive columns with AES-256-GCM."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    aead, values = AESGCM(AESGCM.generate_key(bit_length=256)), [BODY.encode(), b"5511988887777@c.us"] * 2
    sealed = []
    started = time.perf_counter()
    for _ in range(rounds):
        sealed = [(nonce := os.urandom(12)) + aead.encrypt(nonce, v, b"messages.body") for v in values[:3]]
    middle = time.perf_counter()
    for _ in range(rounds):
        [aead.decrypt(s[:12], s[12:], b"messages.body") for s in sealed]
    ended = time.perf_counter()
    return (middle - started) / rounds * 1e6, (ended - middle) / rounds * 1e6


def main() -> None:
    """Alternate the engines round by round; medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engines = {"sqlite3": (importlib.import_module("sqlite3"), None)}
    try:
        engines["sqlcipher3"] = (importlib.import_module("sqlcipher3"), "bench passphrase")
    except ImportError:
        print("sqlcipher3 not installed here: SQLite only")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in engines}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, (module, key) in engines.items():
                results[name].append(run(module, Path(tmp) / f"{name}-{r}.db", args.rows, key))
    print(f"load average: {os.getloadavg()}")
    print("| engine | durable inserts/s | point reads/s | 50-row pages/s |\n|---|---|---|---|")
    for name, rows in results.items():
        print(f"| {name} | " + " | ".join(f"{statistics.median(r[m] for r in rows):.0f}"
                                           for m in ("insert/s", "read/s", "page/s")) + " |")
    try:
        seal_us, open_us = field_cost()
        print(f"\nfield-level AES-256-GCM of 3 columns: seal {seal_us:.1f} µs, open {open_us:.1f} µs per message")
    except ImportError:
        pass


if __name__ == "__main__":
    main()
