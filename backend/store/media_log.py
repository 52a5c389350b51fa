"""The media of the message log: what each message's media is (kind, mimetype, filename, size, sha256), whether
its file is here, and, for media still on WhatsApp, when to try the download again. A table of messages.db,
beside the messages it describes; the files themselves live in media/kept/ (media_files.py).

`message_key` is a number's own name for the message: the WhatsApp id (`false_<chat>_<id>`) of an incoming one,
ZapPool's message id of one it sent. The message's own row (messages.media, JSON) gets the same facts, so the
log read through the API says what the media is and whether it can be shown.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .sqlite_db import Database

SCHEMA = """CREATE TABLE IF NOT EXISTS media_files (
    client_id    TEXT NOT NULL,
    message_key  TEXT NOT NULL,              -- the WhatsApp id (incoming) or ZapPool's message id (sent)
    direction    TEXT NOT NULL,              -- 'in' | 'out'
    kind         TEXT NOT NULL,              -- image, audio, ptt, video, document, sticker
    mimetype     TEXT,
    filename     TEXT,                       -- as the sender named it (never used as a path)
    size         INTEGER,                    -- announced by WhatsApp until the file is here, then the real one
    sha256       TEXT,                       -- hex, of the file as stored
    filehash     TEXT,                       -- WhatsApp's base64 SHA-256, checked against the download
    state        TEXT NOT NULL,              -- pending | present | unavailable | too_large | removed
    file         TEXT,                       -- name in media/kept/ once present
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_try_at  INTEGER,                    -- epoch ms, while pending
    error        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (client_id, message_key)
);
CREATE INDEX IF NOT EXISTS media_files_due ON media_files (next_try_at) WHERE state = 'pending';"""
FIELDS = ("client_id, message_key, direction, kind, mimetype, filename, size, sha256, filehash, state, file, "
          "attempts, next_try_at, error")


@dataclass(frozen=True)
class MediaRow:
    """One message's media as the log has it."""

    client_id: str
    message_key: str
    direction: str
    kind: str
    mimetype: str | None
    filename: str | None
    size: int | None
    sha256: str | None
    filehash: str | None
    state: str
    file: str | None
    attempts: int
    next_try_at: int | None
    error: str | None

    @property
    def present(self) -> bool:
        """The bytes are here (the file may still have been removed by hand: the server checks)."""
        return self.state == "present" and self.file is not None


class MediaLog:
    """Reads and writes `media_files`; safe from any thread (messages.db's own locking)."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time):
        self._db = db
        self._clock = clock
        with self._db.write() as conn:
            for statement in SCHEMA.split(";"):  # a table of its own beside the messages (no migration)
                if statement.strip():
                    conn.execute(statement)

    def _now(self) -> int:
        """The clock in epoch milliseconds."""
        return int(self._clock() * 1000)

    def expect(self, row: MediaRow) -> bool:
        """Record a message's media (first time only: a repeat changes nothing); True when it is new."""
        now = self._now()
        found = self._db.write_one(
            f"INSERT INTO media_files ({FIELDS}, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            (row.client_id, row.message_key, row.direction, row.kind, row.mimetype, row.filename, row.size,
             row.sha256, row.filehash, row.state, row.file, row.attempts, row.next_try_at, row.error, now, now))
        return bool(found)

    def get(self, client_id: str, message_key: str) -> MediaRow | None:
        """A message's media by the number and the message's key."""
        row = self._db.read().execute(f"SELECT {FIELDS} FROM media_files WHERE client_id = ? AND message_key = ?",
                                      (client_id, message_key)).fetchone()
        return MediaRow(*row) if row else None

    def due(self, limit: int = 20) -> list[MediaRow]:
        """Pending downloads whose time has come, oldest first."""
        rows = self._db.read().execute(f"SELECT {FIELDS} FROM media_files WHERE state = 'pending' AND "
                                       "next_try_at <= ? ORDER BY next_try_at LIMIT ?", (self._now(), limit))
        return [MediaRow(*r) for r in rows.fetchall()]

    def next_due_at(self) -> int | None:
        """When the next pending download is due (epoch ms), None when none is pending."""
        row = self._db.read().execute("SELECT min(next_try_at) FROM media_files WHERE state = 'pending'").fetchone()
        return row[0] if row else None

    def update(self, client_id: str, message_key: str, **changes: Any) -> None:
        """Change a row's state fields (state, file, size, sha256, mimetype, attempts, next_try_at, error) and
        mirror what a reader of the message log needs into messages.media."""
        allowed = {"state", "file", "size", "sha256", "mimetype", "attempts", "next_try_at", "error"}
        assert set(changes) <= allowed, changes
        sets = ", ".join(f"{k} = ?" for k in changes)
        with self._db.write() as conn:
            conn.execute(f"UPDATE media_files SET {sets}, updated_at = ? WHERE client_id = ? AND message_key = ?",
                         (*changes.values(), self._now(), client_id, message_key))
            row = conn.execute(f"SELECT {FIELDS} FROM media_files WHERE client_id = ? AND message_key = ?",
                               (client_id, message_key)).fetchone()
            if row is not None:
                _mirror(conn, MediaRow(*row))

    def retry_now(self, client_id: str) -> int:
        """A number is connected again: its pending downloads are due now. How many there are."""
        rows = self._db.write_one("UPDATE media_files SET next_try_at = ? WHERE client_id = ? AND "
                                  "state = 'pending' RETURNING 1", (self._now(), client_id))
        return len(rows)

    def removed(self, files: list[str]) -> int:
        """Files the retention sweep deleted: their rows say so (the media shows as expired)."""
        if not files:
            return 0
        with self._db.write() as conn:
            rows = conn.execute(f"UPDATE media_files SET state = 'removed', updated_at = ? WHERE file IN "
                                f"({','.join('?' * len(files))}) RETURNING {FIELDS}", (self._now(), *files)).fetchall()
            for row in rows:  # the message log says so too
                _mirror(conn, MediaRow(*row))
            return len(rows)


def _mirror(conn: Any, row: MediaRow) -> None:
    """The message's own row (messages.media) gets the media's facts: kind, sha256, size, present."""
    column = "wa_id" if row.direction == "in" else "id"
    facts = json.dumps({"kind": row.kind, "sha256": row.sha256, "size": row.size, "present": row.present,
                        "state": row.state})
    conn.execute(f"UPDATE messages SET media = json_patch(coalesce(media, '{{}}'), ?) "
                 f"WHERE client_id = ? AND {column} = ?", (facts, row.client_id, row.message_key))
