"""PgSessionStore: the cluster's numbers in its PostgreSQL (issue 20), the same interface as sessions.py's
TinyDB file (session_protocol.SessionRecords), so every node knows every number and its desired state: a
number added through any node's API exists cluster-wide, and removed likewise. Each record is kept whole as
jsonb in the seed's shape; `position` keeps the order clients were first saved."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from .pg_db import PgDatabase

log = logging.getLogger(__name__)

SCHEMA_V1 = """
CREATE TABLE sessions (
    client_id TEXT PRIMARY KEY,
    position BIGSERIAL NOT NULL,
    record JSONB NOT NULL
);
"""
MIGRATIONS = [SCHEMA_V1]


class PgSessionStore:
    """Client records by clientId in `sessions`; every change is committed when the call returns."""

    def __init__(self, db: PgDatabase):
        self._db = db
        db.migrate("sessions", MIGRATIONS)
        row = db.one("SELECT count(*) FROM sessions")
        log.info("[Pool] %d sessões no cluster", int(row[0]) if row else 0)

    @property
    def set_aside_as(self) -> Path | None:
        """A table is never set aside (the TinyDB file may be): always None."""
        return None

    def all(self) -> list[dict[str, Any]]:
        """Every record, in the order clients were first saved."""
        return [dict(row[0]) for row in self._db.all("SELECT record FROM sessions ORDER BY position")]

    def get(self, client_id: str) -> dict[str, Any] | None:
        """One record, or None."""
        row = self._db.one("SELECT record FROM sessions WHERE client_id = %s", (client_id,))
        return dict(row[0]) if row else None

    def save(self, record: dict[str, Any]) -> None:
        """Insert or replace the record with this clientId (its first position kept)."""
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO sessions (client_id, record) VALUES (%s, %s) "
                         "ON CONFLICT (client_id) DO UPDATE SET record = excluded.record",
                         (str(record["clientId"]), Jsonb(record)))

    def update(self, client_id: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply `change` to one stored record (no-op when absent); the row is locked meanwhile, so two nodes'
        changes to one number apply one after the other, neither lost."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT record FROM sessions WHERE client_id = %s FOR UPDATE",
                               (client_id,)).fetchone()
            if row is None:
                return
            record = dict(row[0])
            change(record)
            conn.execute("UPDATE sessions SET record = %s WHERE client_id = %s", (Jsonb(record), client_id))

    def remove(self, client_id: str) -> None:
        """Forget a client, cluster-wide."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE client_id = %s", (client_id,))
