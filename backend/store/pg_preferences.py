"""The preferences of a cluster (issue 20): the person's choices in the cluster's PostgreSQL, the machine's on
the node.

Behind a load balancer the windows reach any node, so what the person chose (language, notifications, the pool
manager's card order) and how every node looks after its numbers (health checks, reconnection, the on-demand
numbers' quiet period) are one set for the cluster: a row of `cluster_preferences`. What describes one
machine stays in its own preferences.json: the browser's path and how many numbers it may run (`maxClients`,
beside its `--node-capacity`). PreferencesStore's interface, so the service and the windows do not tell the
two apart; other nodes apply a change of the shared pool limits at their next heartbeat (assembly.py).
"""

from __future__ import annotations

import logging
from typing import Any

from psycopg.types.json import Jsonb

from ..errors import InvalidInput
from .pg_db import PgDatabase
from .preferences import DEFAULTS, MACHINE_KEYS as MACHINE, PreferencesStore, validate

log = logging.getLogger(__name__)
SCHEMA_V1 = """
CREATE TABLE cluster_preferences (
    id    integer PRIMARY KEY CHECK (id = 1),
    prefs jsonb NOT NULL
);
"""


class PgPreferences:
    """The cluster's preferences over this node's own (PreferencesStore) for MACHINE."""

    def __init__(self, db: PgDatabase, local: PreferencesStore):
        self._db, self._local = db, local
        db.migrate("preferences", [SCHEMA_V1])

    def get(self) -> dict[str, Any]:
        """Every preference: the cluster's, and this machine's MACHINE ones."""
        own = self._local.get()
        return {**DEFAULTS, **self._shared(), **{k: own[k] for k in MACHINE}}

    def _shared(self) -> dict[str, Any]:
        """The cluster's row, checked as a request would be (any node, or anyone with the database, wrote it);
        the defaults when it is not valid."""
        row = self._db.one("SELECT prefs FROM cluster_preferences WHERE id = 1")
        stored = row[0] if row and isinstance(row[0], dict) else {}
        try:
            return {k: v for k, v in validate(stored).items() if k not in MACHINE}
        except InvalidInput as exc:
            log.warning("[Prefs] preferências do cluster inválidas (%s): usando as padrão", exc.message)
            return {}

    def update(self, changes: Any) -> dict[str, Any]:
        """Apply some preferences (all checked first: a bad value changes nothing) and return them all."""
        checked = validate(changes)
        machine = {k: v for k, v in checked.items() if k in MACHINE}
        shared = {k: v for k, v in checked.items() if k not in MACHINE}
        if shared:
            self._db.one("INSERT INTO cluster_preferences (id, prefs) VALUES (1, %s) ON CONFLICT (id) DO UPDATE "
                         "SET prefs = cluster_preferences.prefs || excluded.prefs RETURNING id", (Jsonb(shared),))
        if machine:
            self._local.update(machine)
        return self.get()
