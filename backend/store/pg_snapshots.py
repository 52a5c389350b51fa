"""The numbers' login snapshots in the cluster's PostgreSQL (issue 20: failover without a scan), and the key that
seals them.

A snapshot is what a sealed data folder keeps in `snapshots/<id>` (whatsapp/profiles.py: the profile parts
WhatsApp Web needs, a tar sealed with AES-256-GCM), kept here instead so whichever node takes a number next
restores it. Writing one is fenced (`zapool_fence`, store/pg_cluster.py): a node that lost the number's lease,
even one paused past it, cannot overwrite what the new owner saved. A snapshot that does not open is moved to
`profile_snapshots_aside`, never deleted.

The cluster's snapshot key is random, made by the first node, and kept in `cluster_keys` only wrapped under the
cluster's passphrase (scrypt, sealing/wrapping.py): the database alone does not open a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg.types.json import Jsonb

from .pg_cluster import stale_lease_refused
from .pg_db import PgDatabase

SCHEMA_V1 = """
CREATE TABLE profile_snapshots (
    client_id text PRIMARY KEY,
    sealed    bytea NOT NULL,
    token     bigint NOT NULL,         -- the lease it was written under
    saved_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE profile_snapshots_aside (
    id        bigserial PRIMARY KEY,
    client_id text NOT NULL,
    sealed    bytea NOT NULL,
    set_aside_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE cluster_keys (
    name    text PRIMARY KEY,
    key_id  text NOT NULL,
    wrapped jsonb NOT NULL
);
"""
MIGRATIONS = [SCHEMA_V1]
SAVE = """
INSERT INTO profile_snapshots (client_id, sealed, token) VALUES (%(client)s, %(sealed)s, %(token)s)
ON CONFLICT (client_id) DO UPDATE SET sealed = excluded.sealed, token = excluded.token, saved_at = clock_timestamp()
"""


class PgSnapshotShelf:
    """whatsapp/profiles.py's SnapshotShelf on PostgreSQL; `fence(client_id)` gives the token of this node's
    lease on the number (LeaseLost when it holds none)."""

    def __init__(self, db: PgDatabase, fence: Callable[[str], int]):
        self._db = db
        self._fence = fence
        db.migrate("snapshots", MIGRATIONS)

    def read(self, client_id: str) -> bytes | None:
        """The number's sealed snapshot, or None."""
        row = self._db.one("SELECT sealed FROM profile_snapshots WHERE client_id = %s", (client_id,))
        return bytes(row[0]) if row else None

    def write(self, client_id: str, sealed: bytes) -> None:
        """Replace the snapshot, only under the number's current lease (LeaseLost otherwise, nothing written)."""
        token = self._fence(client_id)
        with stale_lease_refused(client_id), self._db.transaction() as conn:
            conn.execute("SELECT zapool_fence(%s, %s)", (client_id, token))
            conn.execute(SAVE, {"client": client_id, "sealed": sealed, "token": token})

    def set_aside(self, client_id: str) -> None:
        """Move the unreadable snapshot to profile_snapshots_aside (kept for whoever investigates)."""
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO profile_snapshots_aside (client_id, sealed) SELECT client_id, sealed "
                         "FROM profile_snapshots WHERE client_id = %s", (client_id,))
            conn.execute("DELETE FROM profile_snapshots WHERE client_id = %s", (client_id,))

    def remove(self, client_id: str) -> None:
        """Forget the number's snapshot (logged out or removed)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM profile_snapshots WHERE client_id = %s", (client_id,))

    def saved_at(self) -> dict[str, Any]:
        """When each number's snapshot was last written (the database's clock), by number."""
        return dict(self._db.all("SELECT client_id, saved_at FROM profile_snapshots ORDER BY client_id"))


class PgClusterKeys:
    """Wrapped keys shared by the nodes, by name: the first node to start stores one, the others read it."""

    def __init__(self, db: PgDatabase):
        self._db = db
        db.migrate("snapshots", MIGRATIONS)

    def get(self, name: str) -> tuple[str, dict[str, Any]] | None:
        """(key id, wrapped entry), or None when no node stored it yet."""
        row = self._db.one("SELECT key_id, wrapped FROM cluster_keys WHERE name = %s", (name,))
        return (str(row[0]), dict(row[1])) if row else None

    def put_first(self, name: str, key_id: str, wrapped: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """Store this key unless another node stored one first; returns the one that is kept."""
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO cluster_keys (name, key_id, wrapped) VALUES (%s, %s, %s) "
                         "ON CONFLICT (name) DO NOTHING", (name, key_id, Jsonb(wrapped)))
            row = conn.execute("SELECT key_id, wrapped FROM cluster_keys WHERE name = %s", (name,)).fetchone()
        return str(row[0]), dict(row[1])
