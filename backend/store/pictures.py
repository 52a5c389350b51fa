"""dados/pictures/: contacts' profile pictures as ZapPool's proxy fetched them (backend/contacts/pictures.py), and
the misses (no picture, or hidden by the contact's privacy), so a chat list of 500 chats does not ask WhatsApp 500
times each time it opens.

Files only, no index: one folder per number (named by a hash of its id, so removing a number removes its pictures
with one rmtree) and one file per contact, named by a hash of (number, contact): a contact id never becomes a path.
`<hash>.img` holds the bytes as fetched, `<hash>.miss` is empty; the file's modification time is when it was
fetched, so expiry needs nothing else. Every file is owner-only (0600, written atomically like the rest of the
data folder): who a number talks to is private. In a sealed data folder (issue 19) a picture's bytes are sealed
like media, with the file's place as its role.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..sealing import SealedFileUnreadable, Sealer
from .atomic import private_folder
from .sealed import open_sealed, write_sealed

log = logging.getLogger(__name__)
IMAGE, MISS = ".img", ".miss"


@dataclass(frozen=True)
class KeptPicture:
    """What the cache holds for one contact: its bytes (None for a miss) and when they were fetched."""

    data: bytes | None
    fetched_at: float


class PictureFiles:
    """The picture cache on disk; thread-safe through atomic renames (two writers of one file: the last wins)."""

    def __init__(self, folder: Path, clock: Callable[[], float] = time.time, sealer: Sealer | None = None):
        self.folder = private_folder(folder)
        self._clock = clock
        self._sealer = sealer

    def _role(self, path: Path) -> str:
        """A sealed picture's role: its place in the folder, so one contact's file cannot pass for another's."""
        return "pictures/" + path.relative_to(self.folder).as_posix()

    def _path(self, client_id: str, contact_id: str, suffix: str) -> Path:
        """The file of a contact of a number: hashes only, whatever the ids hold."""
        number = hashlib.sha256(client_id.encode()).hexdigest()[:32]
        contact = hashlib.sha256(f"{client_id}\n{contact_id}".encode()).hexdigest()
        return self.folder / number / f"{contact}{suffix}"

    def read(self, client_id: str, contact_id: str, image_s: float, miss_s: float) -> KeptPicture | None:
        """The kept picture (or miss) of a contact while younger than its expiry, else None."""
        now = self._clock()
        for suffix, max_age in ((IMAGE, image_s), (MISS, miss_s)):
            path = self._path(client_id, contact_id, suffix)
            try:
                fetched = path.stat().st_mtime
                if now - fetched < max_age:
                    data = open_sealed(path.read_bytes(), self._sealer, self._role(path)) if suffix == IMAGE else None
                    return KeptPicture(data, fetched)
            except FileNotFoundError:
                continue
            except SealedFileUnreadable:  # kept before the folder was sealed, or damaged: fetch it again
                path.unlink(missing_ok=True)
        return None

    def keep(self, client_id: str, contact_id: str, data: bytes | None) -> None:
        """Keep a contact's picture (or, data None, that it has none), replacing what was kept before."""
        keep, drop = (IMAGE, MISS) if data is not None else (MISS, IMAGE)
        path = self._path(client_id, contact_id, keep)
        private_folder(path.parent)
        if data is None:
            write_sealed(path, b"", None, "")  # a miss is an empty file: nothing in it to seal
        else:
            write_sealed(path, data, self._sealer, self._role(path))
        now = self._clock()
        os.utime(path, (now, now))
        self._path(client_id, contact_id, drop).unlink(missing_ok=True)

    def drop(self, client_id: str, contact_id: str) -> None:
        """Forget what was kept of one contact's (or group's) picture: it changed."""
        for suffix in (IMAGE, MISS):
            self._path(client_id, contact_id, suffix).unlink(missing_ok=True)

    def forget(self, client_id: str) -> None:
        """Remove every picture of a number (it was removed from ZapPool)."""
        folder = self._path(client_id, "", IMAGE).parent
        shutil.rmtree(folder, ignore_errors=True)

    def sweep(self, max_age_s: float) -> int:
        """Delete files older than `max_age_s` (expired: they would be fetched again anyway); how many went."""
        removed, limit = 0, self._clock() - max_age_s
        for path in self.folder.glob("*/*"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        if removed:
            log.info("[Pool] %d foto(s) de perfil expirada(s) removida(s) do cache", removed)
        return removed
