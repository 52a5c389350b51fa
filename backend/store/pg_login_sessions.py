"""The windows' login sessions of a cluster in its PostgreSQL (issue 20): a browser logged in through one node
is logged in on every node (a load balancer needs no sticky sessions), and a logout or a password change on one
node ends the session everywhere at once.

auth/sessions.py's SessionTable over `cluster_login_sessions`, keyed by the SHA-256 of the token (the token
itself is never stored: a copy of the table logs no one in). Every request of a window looks its session up
(one indexed read); the idle clock is written at most every TOUCH_S per session, not at every request: an hour
of idle time is judged within that much.
"""

from __future__ import annotations

from typing import Any

from .login_sessions import StoredSession
from .pg_db import PgDatabase

SCHEMA_V1 = """
CREATE TABLE cluster_login_sessions (
    key          text PRIMARY KEY,
    username     text NOT NULL,
    created_at   double precision NOT NULL,
    last_seen_at double precision NOT NULL,
    source       text
);
"""
MIGRATIONS = [SCHEMA_V1]
TOUCH_S = 30.0


class PgLoginSessions:
    """The cluster's login sessions; safe from any thread (the connection pool)."""

    def __init__(self, db: PgDatabase):
        self._db = db
        db.migrate("login_sessions", MIGRATIONS)

    def put(self, key: str, session: StoredSession) -> None:
        """Keep a new session."""
        self._db.one("INSERT INTO cluster_login_sessions VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING "
                     "RETURNING key", (key, *session))

    def get(self, key: str) -> StoredSession | None:
        """The session of `key`, or None."""
        row: Any = self._db.one("SELECT username, created_at, last_seen_at, source FROM cluster_login_sessions "
                                "WHERE key = %s", (key,))
        return StoredSession(*row) if row else None

    def touch(self, key: str, seen: float, now: float) -> None:
        """The session, last seen at `seen` (as get() read it), was used now: written only when that is TOUCH_S
        old or more, so most requests of a window cost one read and no write."""
        if now - seen < TOUCH_S:
            return
        self._db.one("UPDATE cluster_login_sessions SET last_seen_at = %s WHERE key = %s AND last_seen_at <= %s "
                     "RETURNING key", (now, key, now - TOUCH_S))

    def drop(self, key: str) -> None:
        """End one session (an unknown key is fine)."""
        self._db.one("DELETE FROM cluster_login_sessions WHERE key = %s RETURNING key", (key,))

    def drop_user(self, username: str, keep: str | None) -> None:
        """End every session of `username` but `keep`'s (its password changed)."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM cluster_login_sessions WHERE username = %s AND key IS DISTINCT FROM %s",
                         (username, keep))

    def drop_expired(self, idle_since: float, created_since: float) -> None:
        """Forget sessions last seen before `idle_since` or made before `created_since`."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM cluster_login_sessions WHERE last_seen_at < %s OR created_at < %s",
                         (idle_since, created_since))
