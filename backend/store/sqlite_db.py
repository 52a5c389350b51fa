"""One SQLite file in WAL mode: a writer connection behind a lock, one reader connection per thread.

Durability: `synchronous=FULL`. In WAL mode NORMAL survives a killed process but not a power cut or an OS
crash, which can drop the last commits: a message whose id was already returned to a caller, or the
"sending" mark that tells a restart a message may already be out. FULL fsyncs the WAL at every commit
(about 0.3 ms on this machine's disk), so anything a call reported as stored is still there after a crash.
A write whose loss a restart repairs asks for `durable=False`: it commits at synchronous=NORMAL (still atomic,
still there after a killed process; the next FULL commit fsyncs the WAL, its frames included), which saves the
fsync's CPU (~0.1 ms of system time per commit here) and wall time on the send path. Both kinds commit on the
one writer connection, which switches its `synchronous` between transactions: a second writer connection (as
before) had its page cache dropped by each commit of the other, and read every page again, which in a sealed
folder means decrypting it again (docs/PERFORMANCE.md, "Sealed send throughput").
A write that is one statement goes through `write_one`, SQLite's implicit transaction: no BEGIN and COMMIT
statements; statements from several threads at once are group-committed (one transaction, one fsync: see
`write_one`). On the send path each statement counts twice: SQLite's work, and the GIL handed to another thread
and back (docs/PERFORMANCE.md, "Item 1 again").

Readers never wait for the writer (WAL gives them a snapshot); the writer lock makes every write a short
`BEGIN IMMEDIATE ... COMMIT`. A file that is not SQLite, fails `quick_check`, or holds another schema is set
aside with a timestamp and a new one is started: losing the log is bad, refusing to start is worse. A bad -wal
alone is set aside and the main file kept (sqlite_check.py judges both without changing them).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StoreClosed, ZapPoolError
from .atomic import PRIVATE_FILE, private_file, private_folder, set_aside
from .full import refuse_when_full
from .sqlite_check import not_a_wal, problem, wal_of
from .sqlite_engine import connect, is_clear, keys_for, seal_in_place, sqlite3

log = logging.getLogger(__name__)
# Each thread that reads has its own connection (waitress's workers, a lane per number, the router, ...) and
# each connection its own page cache, which fills up to its size as the file grows: 8 MB each once made ZapPool's
# memory grow for as long as the log did (bench.chaos.soak; 28 readers of a 10 MB file: +148 MB). The file's
# pages stay in the OS cache anyway; a small private cache keeps the hot index pages.
READER_CACHE_KIB = 1_000


@dataclass(eq=False)
class _Queued:
    """A statement waiting in write_one's queue, and what came of it (set by the thread that committed it)."""

    sql: str
    args: tuple[Any, ...]
    durable: bool
    done: bool = False
    rows: list[sqlite3.Row] = field(default_factory=list)
    error: Exception | None = None


class Database:
    """A versioned SQLite database: `migrations[i]` takes the schema from version i to i + 1."""

    def __init__(self, path: Path, migrations: list[str], *, cache_kib: int = 16_000):
        self.path = path
        self.migrations = migrations
        self.cache_kib = cache_kib
        self.set_aside_as: Path | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self.generation = 0  # committed write transactions so far: lets readers cache until the next one
        private_folder(path.parent)
        self._key: bytes | None = None  # SQLCipher's raw key in a sealed folder (sqlite_engine.py), else None
        self._writer = self._open_checked()
        self._synchronous = "FULL"  # the writer's setting now (a relaxed write switches it to NORMAL)
        self._queue: list[_Queued] = []  # write_one's statements waiting for the next group commit
        self._queue_lock = threading.Lock()

    # -- opening --------------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        """A connection in autocommit mode (transactions are explicit), usable from any thread."""
        conn = connect(self.path, self._key, isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        return conn

    def _open_checked(self) -> sqlite3.Connection:
        """Judge the file as found (read-only: nothing changes before it is set aside), keep the main file when
        only its -wal is bad, then open, switch to WAL and migrate."""
        bad_wal = not_a_wal(self.path)
        if bad_wal:
            self._set_aside_wal(bad_wal)
        keys = keys_for(self.path)
        if keys:
            self._key = self._sealed(keys)
        why = problem(self.path, self.migrations, self.cache_kib, self._key)
        if why and wal_of(self.path).exists():
            # Another database's WAL (a backup restored over the file, say) is merged page by page: try without it.
            self._set_aside_wal(f"o banco não passa na verificação com ele ({why})")
            why = problem(self.path, self.migrations, self.cache_kib, self._key)
        if why:
            self._set_aside(f"não é um banco SQLite válido ({why})")
        self._make_private()
        conn = self._connect()
        try:
            self._prepare(conn)
        except sqlite3.DatabaseError as exc:  # e.g. a migration this file refuses
            conn.close()
            self._set_aside(f"não é um banco SQLite válido ({exc})")
            self._make_private()
            conn = self._connect()
            self._prepare(conn)
        return conn

    def _sealed(self, keys: list[bytes]) -> bytes:
        """A sealed folder's database brought to its current key (a clear one sealed, one under a rotation's old
        key re-keyed) and that key. A clear file too damaged to export is removed, not set aside as in a plain
        folder: nothing of a sealed folder stays in clear, and a new log is started as for any bad file."""
        if self.path.exists() and self.path.stat().st_size and is_clear(self.path):
            why = problem(self.path, self.migrations, self.cache_kib)
            if why:
                log.warning("[Store] %s: banco em claro danificado numa pasta selada (%s): removido", self.path.name,
                            why)
                for doomed in (self.path, wal_of(self.path), self.path.with_name(self.path.name + "-shm")):
                    doomed.unlink(missing_ok=True)
        seal_in_place(self.path, keys)
        return keys[0]

    def _make_private(self) -> None:
        """The file owner-only before SQLite opens it (it then makes -wal and -shm with the same mode), and a
        -wal or -shm an older ZapPool left readable fixed too."""
        private_file(self.path)
        for extra in (wal_of(self.path), self.path.with_name(self.path.name + "-shm")):
            if extra.exists() and os.name == "posix":
                os.chmod(extra, PRIVATE_FILE)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """WAL on, FULL sync, schema at the current version."""
        conn.execute(f"PRAGMA cache_size = -{self.cache_kib}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        self._migrate(conn)

    def _set_aside(self, why: str) -> None:
        """Move the file (and its WAL and shared-memory files) out of the way."""
        self.set_aside_as = set_aside(self.path, why)
        for suffix in ("-wal", "-shm"):
            extra = self.path.with_name(self.path.name + suffix)
            if extra.exists():
                os.replace(extra, self.set_aside_as.with_name(self.set_aside_as.name + suffix))

    def _set_aside_wal(self, why: str) -> None:
        """Move a bad -wal out of the way; the -shm beside it only indexes that WAL, so it goes too."""
        set_aside(wal_of(self.path), why)
        self.path.with_name(self.path.name + "-shm").unlink(missing_ok=True)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the schema to the newest version, one migration per transaction."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        newest = len(self.migrations)
        if version > newest:
            raise ZapPoolError(f"{self.path.name} was written by a newer ZapPool (schema {version}; this one "
                               f"knows up to {newest}): update ZapPool or move the file away",
                               code="store_too_new", details={"path": str(self.path)})
        for target in range(version + 1, newest + 1):
            # executescript commits what came before; the script itself runs in our transaction.
            conn.executescript(f"BEGIN IMMEDIATE;\n{self.migrations[target - 1]}\n"
                               f"PRAGMA user_version = {target};\nCOMMIT;")
            log.info("[Store] %s: esquema na versão %d", self.path.name, target)

    # -- using it -------------------------------------------------------------------------------------

    @contextmanager
    def write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction under the writer lock; committed (and fsynced, unless `durable` is False: see
        the module's doc) when the block ends."""
        with self._lock:
            if self._closed:
                raise StoreClosed(f"{self.path.name} is closed")
            conn = self._writer_at(durable)
            with refuse_when_full(self.path):
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    self._rollback(conn)
                    raise
            self.generation += 1

    def write_one(self, sql: str, args: Sequence[Any] = (), durable: bool = True) -> list[sqlite3.Row]:
        """One statement committed (fsynced unless `durable` is False) when this returns, and its rows (RETURNING).
        A failed statement leaves nothing behind.

        Group commit: statements from threads that arrive while another commit holds the writer lock wait in a
        queue, and whichever thread takes the lock next commits every queued one in one transaction with one
        fsync (the outbox's accepts from concurrent API requests, its lanes' claims and mark_sent). Each caller
        still returns only once its own statement is committed; no thread is added, so no hand-off either."""
        item = _Queued(sql, tuple(args), durable)
        with self._queue_lock:
            self._queue.append(item)
        with self._lock:
            if not item.done:  # else a thread that held the lock before us committed it
                self._commit_queued()
        if item.error is not None:
            raise item.error
        return item.rows

    def _commit_queued(self) -> None:
        """Commit every queued statement (caller holds the writer lock): together, or one by one if one fails."""
        with self._queue_lock:
            batch, self._queue = self._queue, []
        if len(batch) > 1:
            try:
                self._run_together(batch)
                return
            except Exception:  # noqa: BLE001 - rolled back: each statement is tried alone and fails alone
                pass
        for item in batch:
            self._run_alone(item)

    def _run_together(self, batch: list[_Queued]) -> None:
        """The statements in one transaction, fsynced if any asks for it; raises (rolled back) if one fails."""
        if self._closed:
            raise StoreClosed(f"{self.path.name} is closed")
        conn = self._writer_at(any(item.durable for item in batch))
        changes = conn.total_changes
        with refuse_when_full(self.path):
            conn.execute("BEGIN IMMEDIATE")
            try:
                results = [conn.execute(item.sql, item.args).fetchall() for item in batch]
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn)
                raise
        for item, rows in zip(batch, results):
            item.rows, item.done = rows, True
        if conn.total_changes != changes:
            self.generation += 1

    def _run_alone(self, item: _Queued) -> None:
        """One statement as its own transaction (SQLite's implicit one: no BEGIN and COMMIT statements); its
        rows, or its error, kept for the thread that asked."""
        try:
            if self._closed:
                raise StoreClosed(f"{self.path.name} is closed")
            conn = self._writer_at(item.durable)
            changes = conn.total_changes
            with refuse_when_full(self.path):
                item.rows = conn.execute(item.sql, item.args).fetchall()  # stepped to the end: committed
            if conn.total_changes != changes:  # a statement that changed nothing leaves readers' caches valid
                self.generation += 1
        except Exception as exc:  # noqa: BLE001 - raised in the caller's thread by write_one
            item.error = exc
        finally:
            item.done = True

    def _writer_at(self, durable: bool) -> sqlite3.Connection:
        """The writer connection, its next commit fsynced (FULL) or not (NORMAL); caller holds the lock and is
        outside a transaction (SQLite takes the setting between transactions only)."""
        wanted = "FULL" if durable else "NORMAL"
        if self._synchronous != wanted:
            self._writer.execute(f"PRAGMA synchronous = {wanted}")
            self._synchronous = wanted
        return self._writer

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        """Undo the open transaction. A failed COMMIT (a full disk) may leave it open, and SQLite may already
        have undone it: either way the connection must be clean for the next write."""
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("[Store] ROLLBACK falhou: %s", exc)

    def read(self) -> sqlite3.Connection:
        """This thread's reader connection (opened on first use)."""
        if self._closed:
            raise StoreClosed(f"{self.path.name} is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            conn.execute(f"PRAGMA cache_size = -{min(READER_CACHE_KIB, self.cache_kib // 2)}")
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection; the WAL is checkpointed into the main file by the last one."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with self._readers_lock:
                readers, self._readers = self._readers, []
            for conn in readers:
                conn.close()
            self._writer.close()
