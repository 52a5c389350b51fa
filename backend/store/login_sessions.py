"""A window's login session as kept, by either table (auth/sessions.py's in memory, pg_login_sessions.py's in a
cluster's PostgreSQL): a record of its own here, so the stores need nothing from backend/auth/."""

from __future__ import annotations

from typing import NamedTuple


class StoredSession(NamedTuple):
    """A session as kept: who, since when, last seen when (epoch seconds), from where."""

    username: str
    created_at: float
    last_seen_at: float
    source: str | None
