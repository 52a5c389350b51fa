"""Per-number send limits, kept in messages.db next to the messages they count.

`client_limits` holds what the owner set for a number (NULL columns: the defaults, decided in the outbox); the
caps are counted from the log itself (sent_at in a window), so a restart or a crash cannot reset them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .sqlite_db import Database


@dataclass(frozen=True)
class StoredLimits:
    """One number's row: None means "the default" for that field; a cap of 0 means no cap."""

    interval_s: float | None = None
    jitter_s: float | None = None
    hourly_cap: int | None = None
    daily_cap: int | None = None


class LimitStore:
    """Reads and writes `client_limits`; counts a number's sends in a window. Safe from any thread."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time):
        self._db = db
        self._clock = clock

    def all(self) -> dict[str, StoredLimits]:
        """Every number's stored limits (read once at start)."""
        rows = self._db.read().execute("SELECT client_id, interval_s, jitter_s, hourly_cap, daily_cap "
                                       "FROM client_limits").fetchall()
        return {row[0]: StoredLimits(row[1], row[2], row[3], row[4]) for row in rows}

    def put(self, client_id: str, limits: StoredLimits) -> None:
        """Store a number's limits (replacing what was there)."""
        with self._db.write() as conn:
            conn.execute("INSERT INTO client_limits VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE "
                         "SET interval_s = excluded.interval_s, jitter_s = excluded.jitter_s, "
                         "hourly_cap = excluded.hourly_cap, daily_cap = excluded.daily_cap, "
                         "updated_at = excluded.updated_at",
                         (client_id, limits.interval_s, limits.jitter_s, limits.hourly_cap, limits.daily_cap,
                          int(self._clock() * 1000)))

    def delete(self, client_id: str) -> None:
        """A number was removed: forget its limits."""
        with self._db.write() as conn:
            conn.execute("DELETE FROM client_limits WHERE client_id = ?", (client_id,))

    def sent_since(self, client_id: str, since_ms: int) -> int:
        """How many messages this number has sent since `since_ms` (epoch ms): what its caps count."""
        row = self._db.read().execute("SELECT count(*) FROM messages WHERE client_id = ? AND sent_at >= ?",
                                      (client_id, since_ms)).fetchone()
        return int(row[0])

    def note_held(self, message_id: str, code: str, reason: str) -> bool:
        """Show on a queued message why it waits (a cap); False if it is no longer queued. mark_sent clears it."""
        with self._db.write() as conn:
            cur = conn.execute("UPDATE messages SET error_code = ?, reason = ?, updated_at = ? "
                               "WHERE id = ? AND status = 'queued'",
                               (code, reason, int(self._clock() * 1000), message_id))
            return cur.rowcount == 1
