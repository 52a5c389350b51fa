"""Where the windows' login sessions are kept, by the SHA-256 of their token (a lookup compares no secret, and a
copy of the table gives no one a session).

MemorySessions: this process's memory, the embedded default (a restart logs everyone out, as before). In a
cluster, store/pg_login_sessions.py keeps them in PostgreSQL with the same methods (issue 20): a browser logged
in through one node is logged in on every node, so a load balancer needs no sticky sessions, and a logout or a
password change on one node ends the session on all of them.
"""

from __future__ import annotations

import threading
from typing import Protocol

from ..store.login_sessions import StoredSession

__all__ = ["MemorySessions", "SessionTable", "StoredSession"]


class SessionTable(Protocol):
    """The methods AuthService uses; `key` is the SHA-256 of the session's token."""

    def put(self, key: str, session: StoredSession) -> None: ...

    def get(self, key: str) -> StoredSession | None: ...

    def touch(self, key: str, seen: float, now: float) -> None: ...

    def drop(self, key: str) -> None: ...

    def drop_user(self, username: str, keep: str | None) -> None: ...

    def drop_expired(self, idle_since: float, created_since: float) -> None: ...


class MemorySessions:
    """SessionTable in this process's memory; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, StoredSession] = {}

    def put(self, key: str, session: StoredSession) -> None:
        """Keep a new session."""
        with self._lock:
            self._rows[key] = session

    def get(self, key: str) -> StoredSession | None:
        """The session of `key`, or None."""
        with self._lock:
            return self._rows.get(key)

    def touch(self, key: str, seen: float, now: float) -> None:
        """The session, last seen at `seen`, was used now (its idle clock restarts)."""
        with self._lock:
            if key in self._rows:
                self._rows[key] = self._rows[key]._replace(last_seen_at=now)

    def drop(self, key: str) -> None:
        """End one session (an unknown key is fine)."""
        with self._lock:
            self._rows.pop(key, None)

    def drop_user(self, username: str, keep: str | None) -> None:
        """End every session of `username` but `keep`'s (its password changed)."""
        with self._lock:
            self._rows = {k: s for k, s in self._rows.items() if s.username != username or k == keep}

    def drop_expired(self, idle_since: float, created_since: float) -> None:
        """Forget sessions last seen before `idle_since` or made before `created_since`."""
        with self._lock:
            self._rows = {k: s for k, s in self._rows.items()
                          if s.last_seen_at >= idle_since and s.created_at >= created_since}
