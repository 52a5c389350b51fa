"""The sessions registry's one interface: the desktop's TinyDB file (sessions.py) and the cluster's PostgreSQL
table (pg_sessions.py) implement it method for method, so SavedNumbers and the pool run on either."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol


class SessionRecords(Protocol):
    """Client records in the seed's shape (clientId, status, phoneNumber, metadata), keyed by clientId."""

    @property
    def set_aside_as(self) -> Path | None:
        """Where a bad store found at start was moved, if any."""
        ...

    def all(self) -> list[dict[str, Any]]:
        """Every record, in the order clients were first saved."""
        ...

    def get(self, client_id: str) -> dict[str, Any] | None:
        """One record, or None."""
        ...

    def save(self, record: dict[str, Any]) -> None:
        """Insert or replace the record with this clientId."""
        ...

    def update(self, client_id: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply `change` to one stored record in place (no-op when absent)."""
        ...

    def remove(self, client_id: str) -> None:
        """Forget a client."""
        ...
