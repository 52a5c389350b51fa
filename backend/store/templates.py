"""TemplateStore: dados/templates.db, the named message templates (issue 17 §1) and quick replies.

Its own file rather than a table of messages.db: the templates are the owner's writing, small and precious,
and must not share the fate of the message log (a damaged log is set aside with everything in it); a file of
their own also keeps their schema's versions apart from the log's migrations. Times are epoch milliseconds.
The name is unique without regard to case, so "Boas-vindas" and "boas-vindas" cannot both exist.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .sqlite_db import Database
from .sqlite_engine import sqlite3

SCHEMA_V1 = """
CREATE TABLE templates (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    text       TEXT NOT NULL,
    media      TEXT,                 -- JSON {"data", "mimetype", "filename"?, "caption"?} or NULL
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
"""
MIGRATIONS = [SCHEMA_V1]
COLUMNS = "id, name, text, media, created_at, updated_at"


class NameTaken(Exception):
    """Another template already has this name (the service turns it into its 409)."""


@dataclass(frozen=True)
class StoredTemplate:
    """One row, as stored."""

    id: str
    name: str
    text: str
    media: dict[str, Any] | None
    created_at: int
    updated_at: int

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> StoredTemplate:
        """A row read with COLUMNS."""
        media = json.loads(row["media"]) if row["media"] else None
        return cls(row["id"], row["name"], row["text"], media, row["created_at"], row["updated_at"])


class TemplateStore:
    """Reads and writes `templates`; safe from any thread (Database's locking)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time):
        self.path = path
        self._clock = clock
        self._db = Database(path, MIGRATIONS, cache_kib=2_000)

    def close(self) -> None:
        """Close the database; later calls raise."""
        self._db.close()

    def all(self) -> list[StoredTemplate]:
        """Every template, by name (the list the windows and the quick replies show)."""
        rows = self._db.read().execute(f"SELECT {COLUMNS} FROM templates ORDER BY name COLLATE NOCASE").fetchall()
        return [StoredTemplate.from_row(row) for row in rows]

    def get(self, template_id: str) -> StoredTemplate | None:
        """One template, or None."""
        row = self._db.read().execute(f"SELECT {COLUMNS} FROM templates WHERE id = ?", (template_id,)).fetchone()
        return StoredTemplate.from_row(row) if row else None

    def insert(self, template_id: str, name: str, text: str, media: dict[str, Any] | None) -> StoredTemplate:
        """A new template; NameTaken if its name is in use."""
        now = int(self._clock() * 1000)
        try:
            self._db.write_one("INSERT INTO templates VALUES (?, ?, ?, ?, ?, ?)",
                               (template_id, name, text, _json(media), now, now))
        except sqlite3.IntegrityError:
            raise NameTaken(name) from None
        return StoredTemplate(template_id, name, text, media, now, now)

    def update(self, template_id: str, name: str, text: str, media: dict[str, Any] | None) -> StoredTemplate | None:
        """Replace a template's fields (None if it does not exist); NameTaken if the new name is in use."""
        now = int(self._clock() * 1000)
        try:
            rows = self._db.write_one(f"UPDATE templates SET name = ?, text = ?, media = ?, updated_at = ? "
                                      f"WHERE id = ? RETURNING {COLUMNS}",
                                      (name, text, _json(media), now, template_id))
        except sqlite3.IntegrityError:
            raise NameTaken(name) from None
        return StoredTemplate.from_row(rows[0]) if rows else None

    def delete(self, template_id: str) -> bool:
        """Remove a template; False if there was none."""
        rows = self._db.write_one("DELETE FROM templates WHERE id = ? RETURNING id", (template_id,))
        return bool(rows)


def _json(media: dict[str, Any] | None) -> str | None:
    """The media column's text."""
    return json.dumps(media, ensure_ascii=False) if media is not None else None
