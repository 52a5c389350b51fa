"""Issue 19: what SQLCipher's page HMAC costs, and whether HMAC-SHA256 (this CPU has SHA-NI) would save much.

One process, one 20,000-row table in WAL mode; per "message" a writer connection inserts and updates a row while
a reader connection, whose page cache each commit drops, reads the queue, the row and the newest page, as the
outbox's workers do. CPU microseconds per message (process time), median of the rounds, for plain SQLite and
SQLCipher with HMAC-SHA512 (its default, what ZapPool uses), HMAC-SHA256 and no HMAC.

    .venv/bin/python -m bench.sqlcipher_hmac --rounds 3 --messages 1500
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlcipher3 import dbapi2 as sqlite3

BODY = "Olá! Seu pedido 4471 foi confirmado e sai para entrega amanhã de manhã. Obrigado pela compra."
KINDS: dict[str, list[str] | None] = {"plain": None, "sha512": [],
                                      "sha256": ["PRAGMA cipher_hmac_algorithm = HMAC_SHA256"],
                                      "no hmac": ["PRAGMA cipher_use_hmac = OFF"]}


def connect(path: Path, settings: list[str] | None) -> sqlite3.Connection:
    """A connection, keyed with a raw key and `settings` unless plain (None)."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    if settings is not None:
        conn.execute(f"PRAGMA key = \"x'{'ab' * 32}'\"")
        for pragma in settings:
            conn.execute(pragma)
    return conn


def per_message_us(settings: list[str] | None, messages: int, rows: int = 20_000) -> float:
    """CPU µs per message of the writer-and-reader pattern on a fresh file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.db"
        writer = connect(path, settings)
        writer.execute("PRAGMA journal_mode = WAL")
        writer.execute("PRAGMA synchronous = NORMAL")
        writer.executescript("CREATE TABLE m (id TEXT PRIMARY KEY, body TEXT, st TEXT, t INT);"
                             "CREATE INDEX by_t ON m (t); CREATE INDEX by_st ON m (st, t);")
        writer.execute("BEGIN")
        for n in range(rows):
            writer.execute("INSERT INTO m VALUES (?, ?, 'sent', ?)", (os.urandom(16).hex(), BODY, n))
        writer.execute("COMMIT")
        reader = connect(path, settings)
        reader.execute("PRAGMA cache_size = -1000")
        started = time.process_time()
        for n in range(messages):
            mid = os.urandom(16).hex()
            writer.execute("INSERT INTO m VALUES (?, ?, 'queued', ?)", (mid, BODY, rows + n))
            reader.execute("SELECT * FROM m WHERE st = 'queued' ORDER BY t LIMIT 5").fetchall()
            writer.execute("UPDATE m SET st = 'sent' WHERE id = ?", (mid,))
            reader.execute("SELECT * FROM m WHERE id = ?", (mid,)).fetchall()
            reader.execute("SELECT * FROM m ORDER BY t DESC LIMIT 50").fetchall()
        spent = time.process_time() - started
        reader.close()
        writer.close()
    return spent / messages * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=1500)
    args = parser.parse_args()
    results: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(args.rounds):
        for kind, settings in KINDS.items():
            results[kind].append(per_message_us(settings, args.messages))
    for kind, values in results.items():
        print(f"{kind:8} {statistics.median(values):7.1f} µs CPU per message  (rounds: "
              f"{', '.join(f'{v:.0f}' for v in values)})")


if __name__ == "__main__":
    main()
