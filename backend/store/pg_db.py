"""One PostgreSQL database shared by the nodes of a cluster: a connection pool and versioned migrations.

psycopg 3 with psycopg_pool (the maintained driver and its own pool, rather than a pool of our own): each call
borrows a connection for one transaction and gives it back, so every thread (waitress's, the lanes, the
heartbeat) shares a few connections. The pool checks a connection before lending it, so after PostgreSQL
restarts the dead ones are replaced instead of failing the next call; while the server is down every call
raises Unavailable (503, with retryAfter), which the workers retry on their own (worker.py) and the API shows.

Migrations are per component ("cluster", "messages", ...): `migrations[i]` takes a component from version i to
i + 1, recorded in `schema_migrations`. Nodes starting at once serialise on an advisory lock, so each step runs
exactly once in the cluster, in the same transaction that records it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import StoreClosed, Unavailable

log = logging.getLogger(__name__)
# pg_advisory_xact_lock's key for "someone is migrating": any constant, the same on every node.
MIGRATION_LOCK = 0x5A50_4D49  # "ZPMI"
LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    component  text NOT NULL,
    version    integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version))"""
RETRY_AFTER_S = 1
# The pool retries a lost connection with a doubling delay for this long, then gives that attempt up; the next
# call that finds no connection starts a fresh one at once. Short, so a restarted server is used again within
# seconds (psycopg_pool's default, 5 minutes, let the delay grow to minutes during a long outage).
RECONNECT_S = 5.0


class PgDatabase:
    """A pool of connections to one PostgreSQL database, every call one transaction."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8, wait_s: float = 10.0):
        """`url`: a libpq URL (postgresql://user@host:port/db); `wait_s`: how long a call waits for a free or new
        connection before it gives up with Unavailable."""
        self.url = url
        self._wait_s = wait_s
        self._closed = False
        self._pool = ConnectionPool(url, min_size=min_size, max_size=max_size, open=False, name="zapool",
                                    check=ConnectionPool.check_connection, kwargs={"autocommit": False},
                                    reconnect_timeout=RECONNECT_S)

    def open(self, *, timeout_s: float = 30.0) -> PgDatabase:
        """Open the pool, waiting up to `timeout_s` for the first connection; Unavailable if none comes."""
        self._pool.open(wait=False)
        try:
            self._pool.wait(timeout=timeout_s)
        except PoolTimeout as exc:
            self._pool.close()
            raise Unavailable("The cluster's database does not answer", details={"retryAfter": RETRY_AFTER_S,
                                                                                 "reason": str(exc)[:200]}) from None
        return self

    def migrate(self, component: str, migrations: Sequence[str]) -> int:
        """Bring `component` up to len(migrations); returns the version it was at."""
        with self.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(LEDGER)
            row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = %s",
                               (component,)).fetchone()
            start = int(row[0]) if row else 0
            for version in range(start, len(migrations)):
                conn.execute(migrations[version])
                conn.execute("INSERT INTO schema_migrations (component, version) VALUES (%s, %s)",
                             (component, version + 1))
                log.info("[Store] PostgreSQL: %s migrado para a versão %d", component, version + 1)
        return start

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection inside one transaction: committed when the block ends, rolled back if it raises.
        PostgreSQL down or unreachable: Unavailable (the block's writes were not made)."""
        if self._closed:
            raise StoreClosed("The cluster's database was closed")
        try:
            with self._pool.connection(timeout=self._wait_s) as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            if self._closed:
                raise StoreClosed("The cluster's database was closed") from None
            raise Unavailable("The cluster's database does not answer",
                              details={"retryAfter": RETRY_AFTER_S, "reason": str(exc)[:200]}) from None

    def one(self, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> tuple[Any, ...] | None:
        """The first row of one statement, in its own transaction."""
        with self.transaction() as conn:
            return conn.execute(sql, args).fetchone()

    def all(self, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of one statement, in its own transaction."""
        with self.transaction() as conn:
            return conn.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close every connection; later calls raise StoreClosed."""
        self._closed = True
        self._pool.close()
