"""Judging a SQLite file found at start without changing it: damaged, another program's, or a bad -wal beside it.

A read-write connection that closes checkpoints its WAL into the main file, so a file found bad would already
be changed when it is set aside (and another database's WAL merged into it). These checks use a read-only
connection, which never writes: what is set aside is exactly what was found.
"""

from __future__ import annotations

from pathlib import Path

from .sqlite_engine import connect, sqlite3

WAL_MAGIC = (0x377F0682, 0x377F0683)  # the first 4 bytes of every WAL SQLite writes (two checksum byte orders)
WAL_HEADER_BYTES = 32


def wal_of(path: Path) -> Path:
    """The write-ahead log beside a database file."""
    return path.with_name(path.name + "-wal")


def not_a_wal(path: Path) -> str | None:
    """Why the -wal beside `path` is not one SQLite wrote; None when it is absent, empty or a WAL."""
    try:
        with wal_of(path).open("rb") as handle:
            head = handle.read(WAL_HEADER_BYTES)
    except FileNotFoundError:
        return None
    if head and (len(head) < WAL_HEADER_BYTES or int.from_bytes(head[:4], "big") not in WAL_MAGIC):
        return "não é um WAL do SQLite"
    return None


def _tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Each table of a database with its column names, SQLite's own tables left out."""
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: [col[1] for col in conn.execute(f'PRAGMA table_info("{name}")')] for name in names}


def _expected(migrations: list[str], version: int) -> dict[str, list[str]]:
    """The tables a database at schema `version` has: the migrations replayed in memory."""
    conn = sqlite3.connect(":memory:")
    try:
        for script in migrations[:version]:
            conn.executescript(script)
        return _tables(conn)
    finally:
        conn.close()


def problem(path: Path, migrations: list[str], cache_kib: int, key: bytes | None = None) -> str | None:
    """Why the file (with its WAL) is not a sound database of this schema; None when it is, when it is new or
    empty, and when a newer ZapPool wrote it (that one is refused, never set aside: see above). `key`: a sealed
    folder's SQLCipher key for it."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = connect(f"{path.resolve().as_uri()}?mode=ro", key, uri=True)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    try:
        conn.execute(f"PRAGMA cache_size = -{cache_kib}")
        found = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        if found != ["ok"]:
            return "; ".join(found)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        have = _tables(conn)
        if version > len(migrations):
            # A newer ZapPool only adds to the schema: its file still has every table and column of ours. One
            # without them is another file at a higher version (messages.db where webhooks.db belongs, say).
            want = _expected(migrations, len(migrations))
            wrong = sorted(name for name, columns in want.items() if not set(columns) <= set(have.get(name, ())))
            return f"tabelas de outro arquivo (versão {version}): {', '.join(wrong[:5])}" if wrong else None
        want = _expected(migrations, version)
        # Version 0 is a file nothing was written to yet: any table in it belongs to another program.
        wrong = sorted(name for name, columns in want.items() if have.get(name) != columns) if want else sorted(have)
        return f"tabelas de outro programa ou de outro arquivo: {', '.join(wrong[:5])}" if wrong else None
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()
