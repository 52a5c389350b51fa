"""ClusterStore: the nodes of a cluster and their leases on the numbers, in PostgreSQL, with fencing tokens.

A node drives a number only while it holds that number's lease: a row of `leases` naming the node, with an
expiry the node pushes forward on every heartbeat. A lease whose expiry has passed is free; whoever takes it
next (another node, or the same one after a pause) gets the number's fencing token plus one. Every write made
for a number under its lease passes the token, and the database itself refuses it when the token is no longer
the number's current one or the lease has expired (`zapool_fence`, below, run in the write's own transaction;
it also share-locks the lease row, so the lease cannot change hands until that transaction ends). A node that
was paused or cut off past its expiry therefore cannot write, whatever it believes.

Every time is the database's clock (clock_timestamp()), never a node's: the nodes' clocks may disagree, the
database is one. TTLs are seconds (floats: tests use fractions of a second).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from ..errors import LeaseLost
from .pg_db import PgDatabase

# The SQLSTATE zapool_fence raises (class ZP: ZapPool's own; PostgreSQL leaves unknown classes to applications).
STALE_LEASE = "ZP001"

SCHEMA_V1 = """
CREATE TABLE nodes (
    name         text PRIMARY KEY,
    capacity     integer NOT NULL CHECK (capacity >= 0),  -- how many numbers this node may drive
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,                    -- alive while this is within its lease TTL
    draining     boolean NOT NULL DEFAULT false           -- leaving: takes no new numbers
);
CREATE TABLE leases (
    client_id   text PRIMARY KEY,
    node        text NOT NULL,
    token       bigint NOT NULL CHECK (token > 0),        -- fencing token: +1 on every new owner
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX ix_leases_node ON leases (node);

-- Raises ZP001 unless (client, token) is the number's current, unexpired lease; share-locks that lease row
-- until the caller's transaction ends, so the lease cannot be taken over while the fenced write is made.
CREATE FUNCTION zapool_fence(p_client text, p_token bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM leases WHERE client_id = p_client AND token = p_token AND expires_at > clock_timestamp()
        FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'stale lease on % (token %)', p_client, p_token USING ERRCODE = 'ZP001';
    END IF;
END $$;
-- The same as a condition, for a row's own claim: true, or ZP001 (never false).
CREATE FUNCTION zapool_fence_ok(p_client text, p_token bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM zapool_fence(p_client, p_token);
    RETURN true;
END $$;
"""
# v2: each node's API address (another node forwards there the calls about the numbers it drives), and the
# cluster's shared secrets (the token a forwarded call carries between nodes).
SCHEMA_V2 = """
ALTER TABLE nodes ADD COLUMN api_url text;
CREATE TABLE cluster_secrets (name text PRIMARY KEY, value text NOT NULL);
"""
MIGRATIONS = [SCHEMA_V1, SCHEMA_V2]

ACQUIRE = """
INSERT INTO leases AS l (client_id, node, token, acquired_at, expires_at)
VALUES (%(client)s, %(node)s, 1, clock_timestamp(), clock_timestamp() + make_interval(secs => %(ttl)s))
ON CONFLICT (client_id) DO UPDATE
    SET node = excluded.node, token = l.token + 1, acquired_at = excluded.acquired_at,
        expires_at = excluded.expires_at
    WHERE l.expires_at <= clock_timestamp()
RETURNING client_id, node, token, expires_at"""
HEARTBEAT = """
INSERT INTO nodes (name, capacity, started_at, heartbeat_at, api_url)
VALUES (%s, %s, clock_timestamp(), clock_timestamp(), %s)
ON CONFLICT (name) DO UPDATE SET capacity = excluded.capacity, heartbeat_at = excluded.heartbeat_at,
    api_url = coalesce(excluded.api_url, nodes.api_url)"""
RENEW = """
UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => %s)
WHERE node = %s AND expires_at > clock_timestamp()
RETURNING client_id, node, token, expires_at"""


@dataclass(frozen=True)
class Lease:
    """A node's right to drive one number until `expires_at` (the database's clock), under `token`."""

    client_id: str
    node: str
    token: int
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape /cluster shows."""
        return {"clientId": self.client_id, "node": self.node, "token": self.token,
                "expiresAt": self.expires_at.isoformat().replace("+00:00", "Z")}


@dataclass(frozen=True)
class NodeRecord:
    """A node as the cluster sees it: alive while its heartbeat is recent, and how many numbers it holds."""

    name: str
    capacity: int
    started_at: datetime
    heartbeat_at: datetime
    draining: bool
    alive: bool
    leases: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape /cluster shows."""
        return {"name": self.name, "capacity": self.capacity, "alive": self.alive, "draining": self.draining,
                "leases": self.leases, "startedAt": self.started_at.isoformat().replace("+00:00", "Z"),
                "heartbeatAt": self.heartbeat_at.isoformat().replace("+00:00", "Z")}


@contextmanager
def stale_lease_refused(client_id: str | None) -> Iterator[None]:
    """Turn the database's refusal of a stale lease (ZP001, from zapool_fence) into LeaseLost."""
    try:
        yield
    except psycopg.Error as exc:
        if exc.sqlstate == STALE_LEASE:
            raise LeaseLost("This node no longer holds the number's lease",
                            details={"clientId": client_id}) from None
        raise


class ClusterStore:
    """Nodes, heartbeats and fenced leases over one PostgreSQL database (shared with the other stores)."""

    def __init__(self, db: PgDatabase):
        self._db = db
        db.migrate("cluster", MIGRATIONS)

    def heartbeat(self, node: str, capacity: int, ttl_s: float, api_url: str | None = None) -> list[Lease]:
        """The node is alive: record it (and its API's address) and push forward every lease it still holds, in
        one transaction. Returns the leases renewed; one the node believed it held and is missing here has
        expired or changed hands."""
        with self._db.transaction() as conn:
            conn.execute(HEARTBEAT, (node, capacity, api_url))
            return [Lease(*row) for row in conn.execute(RENEW, (ttl_s, node))]

    def acquire(self, client_id: str, node: str, ttl_s: float) -> Lease | None:
        """Take a number's lease if it is free (never held, released or expired), with a token higher than any
        before; None while another node (or this one) holds it unexpired."""
        row = self._db.one(ACQUIRE, {"client": client_id, "node": node, "ttl": ttl_s})
        return Lease(*row) if row else None

    def release(self, lease: Lease) -> bool:
        """Give a lease up now (a drained number): it expires at once, so another node may take it. False if it
        was no longer this lease."""
        row = self._db.one("UPDATE leases SET expires_at = clock_timestamp() WHERE client_id = %s AND token = %s "
                           "AND expires_at > clock_timestamp() RETURNING 1", (lease.client_id, lease.token))
        return row is not None

    @contextmanager
    def fenced(self, lease: Lease) -> Iterator[psycopg.Connection[Any]]:
        """A transaction that only commits under this lease: the database checks the token first (and holds the
        lease until the end); LeaseLost when the lease has expired or another node took it."""
        with stale_lease_refused(lease.client_id), self._db.transaction() as conn:
            conn.execute("SELECT zapool_fence(%s, %s)", (lease.client_id, lease.token))
            yield conn

    def leases(self) -> list[Lease]:
        """Every unexpired lease, by number."""
        rows = self._db.all("SELECT client_id, node, token, expires_at FROM leases "
                            "WHERE expires_at > clock_timestamp() ORDER BY client_id")
        return [Lease(*row) for row in rows]

    def holder(self, client_id: str) -> str | None:
        """The node holding the number's live lease, or None."""
        row = self._db.one("SELECT node FROM leases WHERE client_id = %s AND expires_at > clock_timestamp()",
                           (client_id,))
        return str(row[0]) if row else None

    def api_url(self, node: str) -> str | None:
        """The API address a node gave at its last heartbeat, or None."""
        row = self._db.one("SELECT api_url FROM nodes WHERE name = %s", (node,))
        return row[0] if row else None

    def secret(self, name: str) -> str:
        """A random secret shared by the nodes, made by the first one to ask."""
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO cluster_secrets (name, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (name, secrets.token_urlsafe(32)))
            return conn.execute("SELECT value FROM cluster_secrets WHERE name = %s", (name,)).fetchone()[0]

    def nodes(self, ttl_s: float) -> list[NodeRecord]:
        """Every node that ever joined, alive when its heartbeat is younger than `ttl_s`, with its live leases."""
        rows = self._db.all(
            "SELECT n.name, n.capacity, n.started_at, n.heartbeat_at, n.draining, "
            "n.heartbeat_at > clock_timestamp() - make_interval(secs => %s), "
            "(SELECT count(*) FROM leases l WHERE l.node = n.name AND l.expires_at > clock_timestamp()) "
            "FROM nodes n ORDER BY n.name", (ttl_s,))
        return [NodeRecord(*row) for row in rows]
