"""The cluster's message templates and quick replies in its PostgreSQL (issue 20): a template written through any
node (or its windows) is the same on every node, so an integration behind a load balancer sends it by id
whichever node answers, and a schedule or a campaign made on one node finds it on another.

TemplateStore's interface (store/templates.py) over the table `cluster_templates`, with the same rules: a name
unique without regard to case (a unique index on lower(name)), times in epoch milliseconds, the media a JSON
value. The templates are the owner's writing and are kept as written (in clear, as the cluster's message log
is: PostgreSQL's own access control and disk encryption guard them; docs/CLUSTER.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .pg_db import PgDatabase
from .templates import NameTaken, StoredTemplate

SCHEMA_V1 = """
CREATE TABLE cluster_templates (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    text       text NOT NULL,
    media      jsonb,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);
CREATE UNIQUE INDEX cluster_templates_name ON cluster_templates (lower(name));
"""
MIGRATIONS = [SCHEMA_V1]
COLUMNS = "id, name, text, media, created_at, updated_at"


class PgTemplateStore:
    """Reads and writes `cluster_templates`; safe from any thread (the connection pool)."""

    def __init__(self, db: PgDatabase, *, clock: Callable[[], float] = time.time):
        self._db = db
        self._clock = clock
        db.migrate("templates", MIGRATIONS)

    def close(self) -> None:
        """Nothing of its own to close: the cluster's database is closed with the node."""

    def all(self) -> list[StoredTemplate]:
        """Every template, by name without regard to case (the list the windows and the quick replies show)."""
        rows = self._db.all(f"SELECT {COLUMNS} FROM cluster_templates ORDER BY lower(name), name")
        return [_template(row) for row in rows]

    def get(self, template_id: str) -> StoredTemplate | None:
        """One template, or None."""
        row = self._db.one(f"SELECT {COLUMNS} FROM cluster_templates WHERE id = %s", (template_id,))
        return _template(row) if row else None

    def insert(self, template_id: str, name: str, text: str, media: dict[str, Any] | None) -> StoredTemplate:
        """A new template; NameTaken if its name is in use (by any node)."""
        now = int(self._clock() * 1000)
        try:
            self._db.one("INSERT INTO cluster_templates VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                         (template_id, name, text, _jsonb(media), now, now))
        except psycopg.errors.UniqueViolation:
            raise NameTaken(name) from None
        return StoredTemplate(template_id, name, text, media, now, now)

    def update(self, template_id: str, name: str, text: str, media: dict[str, Any] | None) -> StoredTemplate | None:
        """Replace a template's fields (None if it does not exist); NameTaken if the new name is in use."""
        now = int(self._clock() * 1000)
        try:
            row = self._db.one(f"UPDATE cluster_templates SET name = %s, text = %s, media = %s, updated_at = %s "
                               f"WHERE id = %s RETURNING {COLUMNS}", (name, text, _jsonb(media), now, template_id))
        except psycopg.errors.UniqueViolation:
            raise NameTaken(name) from None
        return _template(row) if row else None

    def delete(self, template_id: str) -> bool:
        """Remove a template; False if there was none."""
        return self._db.one("DELETE FROM cluster_templates WHERE id = %s RETURNING id", (template_id,)) is not None


def _template(row: tuple[Any, ...]) -> StoredTemplate:
    """A row read with COLUMNS (psycopg gives the jsonb media as a dict)."""
    return StoredTemplate(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]))


def _jsonb(media: dict[str, Any] | None) -> Jsonb | None:
    """The media column's value."""
    return Jsonb(media) if media is not None else None
