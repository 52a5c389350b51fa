"""dados/media/<message id>: the bytes of outgoing media while their message waits; dados/media/kept/: the media
kept to be shown (what numbers received, and what they sent, moved there once sent), within a retention bound.

SQLite holds the message, not the file: a 100 MB document in the database would bloat the WAL and every
checkpoint. Each file is written atomically and fsynced before its message is accepted; once the message is
sent or has failed it moves to kept/ (when kept media is on) or is deleted. In a sealed data folder (issue 19)
every file is sealed (store/sealed.py): a queued `<id>` and its kept `out-<id>` share one role, so the move stays
a rename.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..sealing import Sealer
from ..sealing.cipher import OVERHEAD
from .atomic import fsync_dir, private_folder
from .full import refuse_when_full
from .sealed import media_role, read_sealed, write_sealed

log = logging.getLogger(__name__)


class MediaFiles:
    """One file per pending media message, named by the message id."""

    def __init__(self, folder: Path, kept: KeptMedia | None = None, sealer: Sealer | None = None):
        self.folder = private_folder(folder)  # a file's bytes are a customer's document: owner-only
        self.kept = kept  # where sent media goes to be shown later; None: deleted once sent
        self.sealer = sealer  # None: sealing off

    def finish(self, message_id: str) -> None:
        """The message was sent or failed: keep its bytes in kept/ (to be shown in the chat), or delete them."""
        if self.kept is None:
            return self.delete(message_id)
        try:
            os.replace(self.path(message_id), self.kept.path(sent_name(message_id)))
        except FileNotFoundError:
            return
        fsync_dir(self.kept.folder)

    def path(self, message_id: str) -> Path:
        """Where a message's bytes live (ids are hex, so they name files safely)."""
        return self.folder / message_id

    def write(self, message_id: str, data: bytes) -> None:
        """Store the bytes durably (temp file, fsync, rename, fsync the folder), sealed when sealing is on."""
        write_sealed(self.path(message_id), data, self.sealer, media_role(message_id))

    def read(self, message_id: str) -> bytes:
        """The bytes of a pending message; FileNotFoundError if they are gone."""
        return read_sealed(self.path(message_id), self.sealer, media_role(message_id))

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


def sent_name(message_id: str) -> str:
    """The kept file of a message ZapPool sent (ids are hex)."""
    return f"out-{message_id}"


def received_name(client_id: str, wa_id: str) -> str:
    """The kept file of a message a number received: a hash, since WhatsApp ids come from outside."""
    return "in-" + hashlib.sha256(f"{client_id}\0{wa_id}".encode()).hexdigest()[:40]


class KeptMedia:
    """dados/media/kept/: media files to show, each written whole or not at all, within a retention bound."""

    def __init__(self, folder: Path, sealer: Sealer | None = None):
        self.folder = private_folder(folder)
        self.sealer = sealer  # None: sealing off

    def path(self, name: str) -> Path:
        """Where a kept file lives (names come from sent_name/received_name only)."""
        return self.folder / name

    def read(self, name: str) -> bytes:
        """A kept file's clear bytes (FileNotFoundError when it is gone)."""
        return read_sealed(self.path(name), self.sealer, media_role(name))

    def size(self, name: str) -> int:
        """A kept file's clear size, without opening it."""
        size = self.path(name).stat().st_size
        return size - OVERHEAD if self.sealer else size

    def exists(self, name: str) -> bool:
        """True when the file is there."""
        return self.path(name).is_file()

    def write_stream(self, name: str, chunks: Iterable[bytes], max_bytes: int) -> tuple[int, str]:
        """Write the chunks to a temp file beside `name`, fsync it, rename it into place, fsync the folder; returns
        (size, sha256 hex). More than `max_bytes` raises ValueError; any failure leaves no file under `name` (a
        kill -9 leaves only a `.tmp`, which sweep_temps() removes). Sealed: the chunks are gathered (at most
        `max_bytes`) and sealed whole, then written the same way."""
        if self.sealer:
            return self._write_sealed(name, chunks, max_bytes)
        target = self.path(name)
        digest, size = hashlib.sha256(), 0
        with refuse_when_full(target):
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    for chunk in chunks:
                        size += len(chunk)
                        if size > max_bytes:
                            raise ValueError(f"more than {max_bytes} bytes")
                        digest.update(chunk)
                        handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            fsync_dir(self.folder)
        return size, digest.hexdigest()

    def _write_sealed(self, name: str, chunks: Iterable[bytes], max_bytes: int) -> tuple[int, str]:
        """write_stream() in a sealed folder: one AES-GCM seal over the whole file (bounded by `max_bytes`)."""
        data = bytearray()
        for chunk in chunks:
            if len(data) + len(chunk) > max_bytes:
                raise ValueError(f"more than {max_bytes} bytes")
            data += chunk
        write_sealed(self.path(name), bytes(data), self.sealer, media_role(name))
        return len(data), hashlib.sha256(data).hexdigest()

    def sweep_temps(self) -> int:
        """Remove what downloads cut short left (a kill -9 mid-write): never shown, never complete."""
        removed = 0
        for entry in self.folder.glob(".*.tmp"):
            entry.unlink(missing_ok=True)
            removed += 1
        return removed

    def sweep(self, keep_days: float, keep_bytes: int, now: float | None = None) -> list[str]:
        """Delete files older than keep_days, then the oldest until the rest fit in keep_bytes; their names."""
        now = time.time() if now is None else now
        files = sorted((e.stat().st_mtime, e.stat().st_size, e.name) for e in self._entries())
        removed: list[str] = []
        total = sum(size for _, size, _ in files)
        for mtime, size, name in files:
            if now - mtime <= keep_days * 86400 and total <= keep_bytes:
                break
            self.path(name).unlink(missing_ok=True)
            removed.append(name)
            total -= size
        if removed:
            log.info("[Media] %d arquivo(s) de mídia antigos removidos (retenção)", len(removed))
        return removed

    def _entries(self) -> Iterator[os.DirEntry[str]]:
        """The kept files (not the temp files of writes under way)."""
        with os.scandir(self.folder) as it:
            yield from (e for e in list(it) if e.is_file() and not e.name.startswith("."))
