"""The admin user and the API keys of a cluster, in its PostgreSQL (issue 20: any node answers the API, so a key
made through one node works on every node, and one revoked on one stops on all).

The records are auth.json's document (store/accounts.py: the same shape, the same checks on reading), one row
with a version number. Reads happen on every API request, so a node keeps the document in memory and asks
the database for the version at most once a second (REFRESH_EVERY_S, as accounts.py looks at its file): a key
revoked through another node stops working here within a second, one revoked through this node at once. Every
change is read-modify-write on the row locked FOR UPDATE, so two nodes' changes never undo each other.

A node's own auth.json is merged in when it starts: the first node's admin becomes the cluster's, and each
node brings the keys the cluster does not know by id (a key revoked in the cluster stays revoked: known ids
are never replaced). Later changes are made through the API or the windows of any node.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from ..errors import Unavailable
from .accounts import REFRESH_EVERY_S, AccountsStore, AdminRecord, ApiKeyRecord, dump_auth, parse_auth
from .pg_db import PgDatabase

log = logging.getLogger(__name__)
SCHEMA_V1 = """
CREATE TABLE cluster_accounts (
    id      integer PRIMARY KEY CHECK (id = 1),  -- one document for the cluster
    version bigint NOT NULL,
    doc     jsonb NOT NULL
);
"""
MIGRATIONS = [SCHEMA_V1]
Records = tuple[AdminRecord, dict[str, ApiKeyRecord]]


class PgAccountsStore:
    """accounts.py's AccountsStore interface over the cluster's `cluster_accounts` row."""

    set_aside_as: Path | None = None  # a row is never set aside

    def __init__(self, db: PgDatabase, local: AccountsStore, clock: Callable[[], float] = time.monotonic):
        """`local`: this node's auth.json, merged into the cluster's records at start."""
        self._db = db
        self._clock = clock
        self._lock = threading.Lock()
        db.migrate("accounts", MIGRATIONS)
        self._version, (self._admin, self._keys) = self._change(lambda records: _merge(records, local))
        self._checked_at = clock()

    @staticmethod
    def _read(conn: Any) -> tuple[int, Records]:
        """The row's version and records, locked until the transaction ends."""
        row = conn.execute("SELECT version, doc FROM cluster_accounts WHERE id = 1 FOR UPDATE").fetchone()
        return int(row[0]), parse_auth(_raw(row[1]))

    def _change(self, change: Callable[[Records], Records]) -> tuple[int, Records]:
        """Apply `change` to the newest records under the row's lock and write them; returns the new state."""
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO cluster_accounts (id, version, doc) VALUES (1, 0, %s) ON CONFLICT DO NOTHING",
                         (Jsonb(_doc(AdminRecord(), {})),))
            version, records = self._read(conn)
            admin, keys = change(records)
            conn.execute("UPDATE cluster_accounts SET version = %s, doc = %s WHERE id = 1",
                         (version + 1, Jsonb(_doc(admin, keys))))
        with self._lock:
            self._version, (self._admin, self._keys) = version + 1, (admin, keys)
        return version + 1, (admin, keys)

    def _refresh(self) -> None:
        """Adopt another node's changes, looking at most once a second; while the database does not answer,
        what this node last read stays in force (a request is not refused for a bookkeeping read)."""
        now = self._clock()
        if 0 <= now - self._checked_at < REFRESH_EVERY_S:
            return
        self._checked_at = now
        try:
            row = self._db.one("SELECT version, doc FROM cluster_accounts WHERE id = 1")
        except Unavailable:
            return
        if row is not None and int(row[0]) != self._version:
            self._version, (self._admin, self._keys) = int(row[0]), parse_auth(_raw(row[1]))

    def admin(self) -> AdminRecord:
        """The cluster's admin record."""
        with self._lock:
            self._refresh()
            return self._admin

    def save_admin(self, admin: AdminRecord) -> None:
        """Replace the admin record."""
        self._change(lambda records: (admin, records[1]))

    def api_keys(self) -> list[ApiKeyRecord]:
        """Every key record, revoked ones included, oldest first."""
        with self._lock:
            self._refresh()
            return list(self._keys.values())

    def add_api_key(self, record: ApiKeyRecord) -> None:
        """Store a new key record; ValueError if its id is taken."""
        def add(records: Records) -> Records:
            if record.id in records[1]:
                raise ValueError(f"API key id {record.id!r} already exists")
            return records[0], {**records[1], record.id: record}
        self._change(add)

    def revoke_api_key(self, key_id: str, when: str) -> ApiKeyRecord | None:
        """Mark a key revoked (keeping the first revocation time); None if there is no such key."""
        _, (_, keys) = self._change(lambda r: _edit(r, key_id, lambda k: k if not k.active else
                                                      replace(k, revoked_at=when)))
        return keys.get(key_id)

    def set_api_key_rate(self, key_id: str, rate_per_minute: int | None) -> ApiKeyRecord | None:
        """Set a key's request rate (None: the default); None if there is no such key."""
        _, (_, keys) = self._change(lambda r: _edit(r, key_id, lambda k: replace(k, rate_per_minute=rate_per_minute)))
        return keys.get(key_id)

    def touch_api_key(self, key_id: str, when: str) -> None:
        """Set when a key was last used; only that field, so a revocation racing with it is never undone. Not
        written while the database does not answer (bookkeeping: the request goes on)."""
        try:
            self._change(lambda r: _edit(r, key_id, lambda k: replace(k, last_used_at=when)))
        except Unavailable:
            log.debug("[Auth] uso da chave %s não registrado: banco do cluster indisponível", key_id)


def _raw(doc: Any) -> bytes:
    """A jsonb value (psycopg gives a dict) as auth.json's bytes, for accounts.py's checks."""
    return json.dumps(doc).encode("utf-8")


def _doc(admin: AdminRecord, keys: dict[str, ApiKeyRecord]) -> dict[str, Any]:
    """The document stored for these records (auth.json's)."""
    return json.loads(dump_auth(admin, keys))


def _edit(records: Records, key_id: str, change: Callable[[ApiKeyRecord], ApiKeyRecord]) -> Records:
    """The records with one key changed (unchanged when there is no such key)."""
    admin, keys = records
    if key_id not in keys:
        return records
    return admin, {**keys, key_id: change(keys[key_id])}


def _merge(records: Records, local: AccountsStore) -> Records:
    """A node's own accounts into the cluster's: its admin if the cluster has none set yet, its unknown keys."""
    admin, keys = records
    mine = local.admin()
    if admin.password is None and mine.password is not None:
        admin = mine
    added = {k.id: k for k in local.api_keys() if k.id not in keys}
    if added:
        log.info("[Auth] %d chave(s) de API deste nó levadas ao cluster", len(added))
    return admin, {**keys, **added}
