"""dados/media/<message id>: the bytes of outgoing media while their message waits.

SQLite holds the message, not the file: a 100 MB document in the database would bloat the WAL and every
checkpoint. Each file is written atomically and fsynced before its message is accepted, and deleted once
the message is sent or has failed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from .atomic import private_folder, write_atomic

log = logging.getLogger(__name__)


class MediaFiles:
    """One file per pending media message, named by the message id."""

    def __init__(self, folder: Path):
        self.folder = private_folder(folder)  # a file's bytes are a customer's document: owner-only

    def path(self, message_id: str) -> Path:
        """Where a message's bytes live (ids are hex, so they name files safely)."""
        return self.folder / message_id

    def write(self, message_id: str, data: bytes) -> None:
        """Store the bytes durably (temp file, fsync, rename, fsync the folder)."""
        write_atomic(self.path(message_id), data)

    def read(self, message_id: str) -> bytes:
        """The bytes of a pending message; FileNotFoundError if they are gone."""
        return self.path(message_id).read_bytes()

    def delete(self, message_id: str) -> None:
        """Forget a message's bytes (no error if already gone)."""
        try:
            os.unlink(self.path(message_id))
        except FileNotFoundError:
            pass

    def sweep(self, keep: Iterable[str]) -> int:
        """Delete files no pending message needs (left by a crash between writing and accepting)."""
        wanted = set(keep)
        removed = 0
        for entry in self.folder.iterdir():
            if entry.is_file() and entry.name not in wanted:
                entry.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("[Outbox] %d arquivo(s) de mídia órfão(s) removido(s)", removed)
        return removed
