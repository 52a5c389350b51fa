"""Events between the nodes of a cluster over PostgreSQL's LISTEN/NOTIFY, and each node's view of its numbers.

A node sends what happened on its numbers (the pool's events, as SSE shows them) with `pg_notify` on one
channel; every node LISTENs on it with one connection of its own, outside the pool (a pooled connection is
lent to others between calls and would lose the LISTEN). NOTIFY is delivered only to sessions listening at
commit time and is not kept: a node that is not listening (PostgreSQL restarting, the node's connection being
re-made) misses what was sent meanwhile (docs/CLUSTER.md, "Events across nodes").

A notification's payload is at most 8000 bytes (PostgreSQL's limit). Most envelopes fit (bench/cluster_events.py:
an ack ~190 bytes, a received text ~430, a message_status ~700); one that does not (a long text, a big
location or vCard) is written to `cluster_events` and only its row id goes over NOTIFY, read by the listeners.
Those rows are deleted after EVENT_ROWS_KEPT.

Event ids (SSE's `id:`, what a reconnecting client resumes after) are numbered by each node's bus. Each node run
takes the first id of a block of ID_BLOCK ids no other run of the cluster ever takes (a PostgreSQL sequence),
so an id one node gave is never one another node holds: a stream resumed on another node is told to read the
state again (a `reset`), never handed the events after some unrelated event of that node's.

`node_views` holds each node's numbers (GET /clients/all's items) and its statistics (GET /stats), written by
the node on every change and heartbeat, so any node answers for the whole cluster in one query.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ..errors import Unavailable
from .pg_db import RETRY_AFTER_S, PgDatabase

CHANNEL = "zapool_events"
NOTIFY_LIMIT = 8000  # bytes: PostgreSQL refuses a longer payload ("payload string too long")
# The listening connection only reads: without TCP keepalives a silently cut network (a partition) would leave it
# waiting forever. With these, libpq notices within ~25 s and the relay connects again.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3}
EVENT_ROWS_KEPT = "1 hour"  # an envelope too big for NOTIFY is read within milliseconds; kept for late readers

SCHEMA_V1 = """
CREATE TABLE cluster_events (
    id         bigserial PRIMARY KEY,
    node       text NOT NULL,
    envelope   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ix_cluster_events_created ON cluster_events (created_at);
CREATE TABLE node_views (
    node       text PRIMARY KEY,
    clients    jsonb NOT NULL,   -- GET /clients/all's items of this node's pool
    stats      jsonb NOT NULL,   -- GET /stats of this node's pool
    updated_at timestamptz NOT NULL
);
"""
# v2: every node run's event ids come from a block of its own (first_event_id).
SCHEMA_V2 = "CREATE SEQUENCE event_id_blocks START 1000;"
MIGRATIONS = [SCHEMA_V1, SCHEMA_V2]
ID_BLOCK = 2 ** 32  # ids per node run; 2^53 (JavaScript's exact integers) / 2^32 leaves ~2 million runs


def encode(envelope: dict[str, Any]) -> str:
    """An envelope as compact JSON (what NOTIFY carries)."""
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class NodeView:
    """One node's numbers and statistics as it last wrote them; `alive` per its heartbeat in `nodes`."""

    node: str
    clients: list[dict[str, Any]]
    stats: dict[str, Any]
    alive: bool


class EventStore:
    """Sending envelopes to every node (NOTIFY, or a row for a big one) and the nodes' views."""

    def __init__(self, db: PgDatabase):
        self._db = db
        db.migrate("events", MIGRATIONS)

    def first_event_id(self) -> int:
        """The first event id of this node's run: the start of a block of ids no other run has had (above any
        embedded run's ids too: those are epoch milliseconds, under 1000 * 2^32 until the year 2106)."""
        row = self._db.one("SELECT nextval('event_id_blocks')")
        assert row is not None
        return int(row[0]) * ID_BLOCK

    def publish(self, node: str, envelopes: Sequence[dict[str, Any]]) -> int:
        """Send envelopes to every listening node, in order, in one transaction (delivered at its commit).
        Returns how many went by reference (a row) because they were too big for a notification."""
        by_ref = 0
        with self._db.transaction() as conn:
            for envelope in envelopes:
                text = encode(envelope)
                if len(text.encode()) >= NOTIFY_LIMIT:
                    row = conn.execute("INSERT INTO cluster_events (node, envelope) VALUES (%s, %s) RETURNING id",
                                       (node, Jsonb(envelope, encode))).fetchone()
                    text, by_ref = encode({"node": node, "ref": row[0] if row else 0}), by_ref + 1
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, text))
            if by_ref:
                conn.execute("DELETE FROM cluster_events WHERE created_at < clock_timestamp() - %s::interval",
                             (EVENT_ROWS_KEPT,))
        return by_ref

    def envelope(self, ref: int) -> dict[str, Any] | None:
        """A big envelope sent by reference (None once deleted)."""
        row = self._db.one("SELECT envelope FROM cluster_events WHERE id = %s", (ref,))
        return row[0] if row and isinstance(row[0], dict) else None

    def save_view(self, node: str, clients: list[dict[str, Any]], stats: dict[str, Any]) -> None:
        """This node's numbers and statistics, as they are now."""
        self._db.one("INSERT INTO node_views (node, clients, stats, updated_at) "
                     "VALUES (%s, %s, %s, clock_timestamp()) ON CONFLICT (node) DO UPDATE SET "
                     "clients = excluded.clients, stats = excluded.stats, updated_at = excluded.updated_at "
                     "RETURNING 1", (node, Jsonb(clients, encode), Jsonb(stats, encode)))

    def views(self, ttl_s: float) -> list[NodeView]:
        """Every node's last view, by node name; alive when its heartbeat is younger than `ttl_s`."""
        rows = self._db.all(
            "SELECT v.node, v.clients, v.stats, "
            "coalesce(n.heartbeat_at > clock_timestamp() - make_interval(secs => %s), false) "
            "FROM node_views v LEFT JOIN nodes n ON n.name = v.node ORDER BY v.node", (ttl_s,))
        return [NodeView(node, list(clients), dict(stats), bool(alive)) for node, clients, stats, alive in rows]

    def reachable(self, timeout_s: int = 2) -> bool:
        """Whether the database answers now (GET /health): a connection of its own, made within `timeout_s`, so
        a down server is told in seconds (the pool would wait its full wait for a connection) and a busy pool
        is not mistaken for a down server."""
        try:
            with psycopg.connect(self._db.url, connect_timeout=timeout_s, autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True


class Listener:
    """This node's one LISTEN connection (outside the pool); `receive()` hands each payload to a callback."""

    def __init__(self, url: str, *, connect_timeout_s: int = 5):
        self.url = url
        self._connect_timeout_s = connect_timeout_s
        self._conn: psycopg.Connection[Any] | None = None

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is open now."""
        return self._conn is not None and not self._conn.closed

    def connect(self) -> None:
        """Open the connection and LISTEN (Unavailable while PostgreSQL does not answer)."""
        self.close()
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self._connect_timeout_s, **KEEPALIVES)
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.OperationalError as exc:
            raise Unavailable("The cluster's database does not answer",
                              details={"retryAfter": RETRY_AFTER_S, "reason": str(exc)[:200]}) from None
        self._conn = conn

    def receive(self, handle: Callable[[str], None], timeout_s: float) -> None:
        """Hand each notification's payload to `handle` as it arrives, for up to `timeout_s`. A lost connection
        is closed and raises Unavailable (connect() again)."""
        if self._conn is None:
            self.connect()
        assert self._conn is not None
        try:
            for notify in self._conn.notifies(timeout=timeout_s):
                handle(notify.payload)
        except psycopg.OperationalError as exc:
            self.close()
            raise Unavailable("The cluster's database does not answer",
                              details={"retryAfter": RETRY_AFTER_S, "reason": str(exc)[:200]}) from None

    def close(self) -> None:
        """Close the connection (UNLISTEN with it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass
