"""PgLimitStore: per-number send limits in the cluster's PostgreSQL, next to the messages they count (the same
interface as limits.LimitStore; message_protocol.SendLimits), so every node paces and caps a number alike."""

from __future__ import annotations

import time
from collections.abc import Callable

from .limits import StoredLimits
from .pg_db import PgDatabase


class PgLimitStore:
    """Reads and writes `client_limits`; counts a number's sends in a window. Safe from any thread and node."""

    def __init__(self, db: PgDatabase, *, clock: Callable[[], float] = time.time):
        self._db = db
        self._clock = clock

    def all(self) -> dict[str, StoredLimits]:
        """Every number's stored limits (read once at start)."""
        rows = self._db.all("SELECT client_id, interval_s, jitter_s, hourly_cap, daily_cap FROM client_limits")
        return {row[0]: StoredLimits(row[1], row[2], row[3], row[4]) for row in rows}

    def put(self, client_id: str, limits: StoredLimits) -> None:
        """Store a number's limits (replacing what was there)."""
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO client_limits VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (client_id) DO "
                         "UPDATE SET interval_s = excluded.interval_s, jitter_s = excluded.jitter_s, "
                         "hourly_cap = excluded.hourly_cap, daily_cap = excluded.daily_cap, "
                         "updated_at = excluded.updated_at",
                         (client_id, limits.interval_s, limits.jitter_s, limits.hourly_cap, limits.daily_cap,
                          int(self._clock() * 1000)))

    def delete(self, client_id: str) -> None:
        """A number was removed: forget its limits."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM client_limits WHERE client_id = %s", (client_id,))

    def sent_since(self, client_id: str, since_ms: int) -> int:
        """How many messages this number has sent since `since_ms` (epoch ms): what its caps count."""
        row = self._db.one("SELECT count(*) FROM messages WHERE client_id = %s AND sent_at >= %s",
                           (client_id, since_ms))
        return int(row[0]) if row else 0

    def note_held(self, message_id: str, code: str, reason: str) -> bool:
        """Show on a queued message why it waits (a cap); False if it is no longer queued. mark_sent clears it."""
        row = self._db.one("UPDATE messages SET error_code = %s, reason = %s, updated_at = %s "
                           "WHERE id = %s AND status = 'queued' RETURNING 1",
                           (code, reason, int(self._clock() * 1000), message_id))
        return row is not None
