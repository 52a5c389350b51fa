"""dados/whatsapp-sessions.json: one record per client, through TinyDB, in the seed's shape.

The file looks exactly as the seed documents it::

    {"updatedAt": "...", "sessions": [{"clientId": ..., "status": ..., "phoneNumber": ..., "metadata": {...}}]}

TinyDB keeps its own layout in memory; SeedShapeStorage converts on the way in and out, and writes
atomically (temp file, fsync, rename). TinyDB is not thread-safe, so every access takes one lock. In a sealed
data folder (issue 19) that JSON is sealed on the way out and opened on the way in (store/sealed.py).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tinydb import Query, TinyDB
from tinydb.storages import Storage

from ..sealing import SealedFileUnreadable, Sealer
from .atomic import set_aside
from .sealed import open_sealed, write_sealed

log = logging.getLogger(__name__)
TABLE = "_default"
ROLE = "whatsapp-sessions.json"  # its role when sealed, whatever the file is called on disk


def _now_iso() -> str:
    """UTC now as the seed writes it."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SessionsFileError(ValueError):
    """The sessions file is not in the expected shape."""


def _parse(raw: bytes) -> list[dict[str, Any]]:
    """The session records of a file's bytes; SessionsFileError when it is not the seed's shape."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SessionsFileError(f"not valid JSON ({exc})") from None
    sessions = doc.get("sessions") if isinstance(doc, dict) else None
    if not isinstance(sessions, list) or not all(
            isinstance(s, dict) and isinstance(s.get("clientId"), str) for s in sessions):
        raise SessionsFileError("not a sessions file: expected {\"sessions\": [{\"clientId\": ...}]}")
    return sessions


class SeedShapeStorage(Storage):
    """A TinyDB storage over the seed's JSON shape, written atomically; a bad file is set aside."""

    def __init__(self, path: str, sealer: Sealer | None = None):
        self.path = Path(path)
        self.sealer = sealer
        self.set_aside_as: Path | None = None

    def read(self) -> dict[str, dict[str, Any]] | None:
        """TinyDB's layout ({table: {doc_id: doc}}), or None for a missing or empty file."""
        if not self.path.exists():
            return None
        raw = self.path.read_bytes()
        if not raw.strip():
            self.set_aside_as = set_aside(self.path, "arquivo vazio")
            return None
        try:
            sessions = _parse(open_sealed(raw, self.sealer, ROLE))
        except (SessionsFileError, SealedFileUnreadable) as exc:
            self.set_aside_as = set_aside(self.path, f"arquivo corrompido: {exc}")
            return None
        return {TABLE: {str(i): s for i, s in enumerate(sessions, start=1)}}

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        """Write the seed's shape: updatedAt and the list of sessions."""
        sessions = list(data.get(TABLE, {}).values())
        doc = {"updatedAt": _now_iso(), "sessions": sessions}
        write_sealed(self.path, json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8"), self.sealer, ROLE)

    def close(self) -> None:
        """Nothing held open between writes."""


class SessionStore:
    """Client records by clientId; every change is on disk when the call returns."""

    def __init__(self, path: Path, sealer: Sealer | None = None):
        self.path = path
        self._lock = threading.Lock()
        self._storage: SeedShapeStorage | None = None

        def storage_factory(p: str) -> SeedShapeStorage:
            self._storage = SeedShapeStorage(p, sealer)
            return self._storage

        self._db = TinyDB(str(path), storage=storage_factory)
        with self._lock:
            count = len(self._db)  # reads now, so a bad file is found (and set aside) at start
        log.info("[Pool] %d sessões persistidas", count)

    @property
    def set_aside_as(self) -> Path | None:
        """Where a bad file found at start was moved, if any."""
        return self._storage.set_aside_as if self._storage else None

    def all(self) -> list[dict[str, Any]]:
        """Every record, in the order clients were first saved."""
        with self._lock:
            return [dict(doc) for doc in self._db.all()]

    def get(self, client_id: str) -> dict[str, Any] | None:
        """One record, or None."""
        with self._lock:
            doc = self._db.get(Query().clientId == client_id)
            return dict(doc) if doc else None

    def save(self, record: dict[str, Any]) -> None:
        """Insert or replace the record with this clientId."""
        with self._lock:
            self._db.upsert(record, Query().clientId == record["clientId"])

    def update(self, client_id: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply `change` to one stored record in place (no-op when absent)."""
        with self._lock:
            doc = self._db.get(Query().clientId == client_id)
            if doc is not None:
                record = dict(doc)
                change(record)
                self._db.update(record, doc_ids=[doc.doc_id])

    def remove(self, client_id: str) -> None:
        """Forget a client."""
        with self._lock:
            self._db.remove(Query().clientId == client_id)
