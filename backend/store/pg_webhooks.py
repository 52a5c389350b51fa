"""The cluster's webhook subscriptions in its PostgreSQL (issue 20): a webhook added through any node gets the
events of every number, whichever node drives it.

Only the list is shared. Each node keeps its own queue of deliveries (store/webhooks.py) for the events of the
numbers it drives, so each delivery is sent once, by one node; a node copies the cluster's list into its own
`webhooks` table (WebhookStore.mirror) at every heartbeat. The secrets are stored as the local table stores them.
"""

from __future__ import annotations

from psycopg.types.json import Jsonb

from .pg_db import PgDatabase
from .webhooks import WebhookRecord

SCHEMA_V1 = """
CREATE TABLE cluster_webhooks (
    id         text PRIMARY KEY,
    url        text NOT NULL,
    events     jsonb NOT NULL,
    secret     text NOT NULL,
    created_at bigint NOT NULL,
    active     boolean NOT NULL DEFAULT true
);
"""
MIGRATIONS = [SCHEMA_V1]
INSERT = ("INSERT INTO cluster_webhooks (id, url, events, secret, created_at, active) VALUES (%s, %s, %s, %s, %s, %s) "
          "ON CONFLICT (id) DO NOTHING")


class PgWebhookList:
    """The cluster's subscriptions: added, removed, listed."""

    def __init__(self, db: PgDatabase):
        self._db = db
        db.migrate("webhooks", MIGRATIONS)

    def add(self, record: WebhookRecord) -> None:
        """Share a subscription (kept as it is if its id is already shared)."""
        with self._db.transaction() as conn:
            conn.execute(INSERT, (record.id, record.url, Jsonb(record.events), record.secret, record.created_at,
                                  record.active))

    def remove(self, webhook_id: str) -> bool:
        """Stop sharing a subscription; False if it was not shared."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM cluster_webhooks WHERE id = %s", (webhook_id,)).rowcount == 1

    def all(self) -> list[WebhookRecord]:
        """Every shared subscription, oldest first."""
        rows = self._db.all("SELECT id, url, events, secret, created_at, active FROM cluster_webhooks "
                            "ORDER BY created_at, id")
        return [WebhookRecord(r[0], r[1], list(r[2]), r[3], int(r[4]), bool(r[5])) for r in rows]
