"""Sealed files (issue 19): a file's bytes sealed with the data folder's key before they reach the disk, written
atomically (temp + fsync + rename: the previous file stays whole until the new one is complete), and opened with
their role checked, so a sealed file swapped for another fails instead of being read as the wrong thing.

The role is the file's place in the data folder (`whatsapp-sessions.json`, `media/<name>`); a media file keeps one
role whether it waits in media/ or is kept in media/kept/ (`out-<id>` is the kept name of the queued `<id>`), so
moving it there is a rename, not a re-seal. With no sealer (sealing off) these are plain reads and writes.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

from ..sealing import Sealer, is_sealed
from ..sealing.cipher import HEADER_BYTES
from .atomic import write_atomic
from .sqlite_engine import is_clear, seal_folder, seal_in_place, unseal_in_place


# The parts of a Chromium profile WhatsApp Web needs to stay logged in (whatsapp/profiles.py says how this was
# measured): a number's sealed snapshot holds these, nothing else.
KEPT_PARTS = ("Default/IndexedDB", "Default/Local Storage")


def snapshot_role(client_id: str) -> str:
    """A profile snapshot's role: one number's snapshot cannot pass for another's."""
    return f"snapshot/{client_id}"


def pack_profile(profile: Path) -> bytes:
    """A tar of the profile's kept parts (LevelDB's LOCK files left out: they belong to a running browser)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:") as tar:
        for part in KEPT_PARTS:
            if (profile / part).exists():
                tar.add(profile / part, arcname=part,
                        filter=lambda info: None if info.name.endswith("/LOCK") else info)
    return buffer.getvalue()


def unpack_profile(packed: bytes, profile: Path) -> None:
    """A snapshot's tar into an empty profile folder (tarfile's `data` filter: no path leaves the folder)."""
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:") as tar:
        tar.extractall(profile, filter="data")


def media_role(name: str) -> str:
    """The role of a media file, the same queued (`<id>`) and kept (`out-<id>`)."""
    return "media/" + name.removeprefix("out-")


def write_sealed(path: Path, data: bytes, sealer: Sealer | None, role: str) -> None:
    """`data` sealed for `role` (clear when `sealer` is None), written atomically at `path`."""
    write_atomic(path, sealer.seal(data, role) if sealer else data)


def open_sealed(raw: bytes, sealer: Sealer | None, role: str) -> bytes:
    """The clear bytes of a file's content (SealedFileUnreadable when sealing is on and the check fails)."""
    return sealer.open(raw, role) if sealer else raw


def read_sealed(path: Path, sealer: Sealer | None, role: str) -> bytes:
    """The clear bytes of the file at `path` (FileNotFoundError when it is gone)."""
    return open_sealed(path.read_bytes(), sealer, role)


class SealedFolder:
    """The files of a data folder that are sealed when sealing is on, each with its role: converting a folder
    (clear files sealed) and finishing a rotation (files sealed with an old key sealed again) are one walk,
    file by file, each written atomically, so a crash half-way leaves every file whole and the walk can run
    again. The databases (`*.db`) are sealed by SQLCipher page by page instead (sqlite_engine.py): converting or
    rotating brings each one to the current key, itself resumable."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir

    def write(self, path: Path, data: bytes) -> None:
        """The key file's writer: atomic, owner-only."""
        write_atomic(path, data)

    def use(self, sealer: Sealer) -> None:
        """The folder is unlocked: its databases open with keys derived from `sealer`'s from now on."""
        seal_folder(self.data_dir, sealer)

    def databases(self) -> list[Path]:
        """The folder's SQLite databases (messages.db, webhooks.db, schedules.db, ...)."""
        return sorted(p for p in self.data_dir.glob("*.db") if p.is_file())

    def files(self) -> list[tuple[Path, str]]:
        """(path, role) of every file to seal: whatsapp-sessions.json, queued and kept media, contacts' pictures,
        profile snapshots."""
        found: list[tuple[Path, str]] = []
        sessions = self.data_dir / "whatsapp-sessions.json"
        if sessions.is_file():
            found.append((sessions, "whatsapp-sessions.json"))
        for folder in (self.data_dir / "media", self.data_dir / "media" / "kept"):
            if folder.is_dir():
                found += [(p, media_role(p.name)) for p in sorted(folder.iterdir())
                          if p.is_file() and not p.name.startswith(".")]
        pictures = self.data_dir / "pictures"  # contacts' profile pictures (store/pictures.py; misses are empty)
        found += [(p, "pictures/" + p.relative_to(pictures).as_posix()) for p in sorted(pictures.glob("*/*.img"))]
        snapshots = self.data_dir / "snapshots"
        if snapshots.is_dir():
            found += [(p, snapshot_role(p.name)) for p in sorted(snapshots.iterdir())
                      if p.is_file() and not p.name.startswith(".") and ".bad-" not in p.name]
        return found

    def has_data(self) -> bool:
        """True when the folder already holds numbers or media (a new sealed folder must start empty)."""
        return bool(self.files()) or any((self.data_dir / "sessions").glob("*"))

    def reseal(self, sealer: Sealer) -> int:
        """Seal every clear file and re-seal every file sealed with another key; how many were written. A plain
        profile folder (sessions/<id>/) becomes a sealed snapshot, and is removed only once that is on disk."""
        self.use(sealer)
        written = self._seal_profiles(sealer)
        for path in self.databases():  # clear ones exported sealed, a rotation's old key replaced
            written += seal_in_place(path, sealer.database_keys(path.name))
        for path, role in self.files():
            raw = path.read_bytes()
            if sealer.needs_reseal(raw):
                write_sealed(path, sealer.open(raw, role) if is_sealed(raw) else raw, sealer, role)
                written += 1
        return written

    def _seal_profiles(self, sealer: Sealer) -> int:
        """Each number's plain profile folder packed into its sealed snapshot, then removed."""
        profiles = self.data_dir / "sessions"
        done = 0
        for profile in sorted(p for p in profiles.iterdir() if p.is_dir()) if profiles.is_dir() else []:
            write_sealed(self.data_dir / "snapshots" / profile.name, pack_profile(profile), sealer,
                         snapshot_role(profile.name))
            shutil.rmtree(profile)
            done += 1
        return done

    def unseal(self, sealer: Sealer) -> int:
        """The way back: every database and file written clear, each snapshot unpacked into the number's plain
        profile folder (sessions/<id>/) and removed once that is on disk; how many were written. Each step is
        whole or not done, so a crash half-way is finished by running it again."""
        written = 0
        for path in self.databases():
            written += unseal_in_place(path, sealer.database_keys(path.name))
        for path, role in self.files():
            raw = path.read_bytes()
            if not is_sealed(raw):
                continue
            if role.startswith("snapshot/"):
                self._unpack_snapshot(path, sealer.open(raw, role))
            else:
                write_atomic(path, sealer.open(raw, role))
            written += 1
        return written

    def _unpack_snapshot(self, path: Path, packed: bytes) -> None:
        """A number's snapshot back into sessions/<id>/ (beside first, then renamed), then the snapshot removed."""
        profile = self.data_dir / "sessions" / path.name
        beside = profile.with_name(profile.name + ".unsealing")
        shutil.rmtree(beside, ignore_errors=True)
        beside.mkdir(parents=True)
        unpack_profile(packed, beside)
        shutil.rmtree(profile, ignore_errors=True)
        os.replace(beside, profile)
        path.unlink()

    def clear_files(self, sealer: Sealer) -> list[Path]:
        """The files still clear or under an old key (none, once a conversion or rotation has finished)."""
        profiles = self.data_dir / "sessions"
        plain = sorted(p for p in profiles.iterdir() if p.is_dir()) if profiles.is_dir() else []
        clear_databases = [p for p in self.databases() if p.stat().st_size and is_clear(p)]
        return plain + clear_databases + [path for path, _ in self.files() if sealer.needs_reseal(_head(path))]


def _head(path: Path) -> bytes:
    """The first bytes of a file: enough to tell clear from sealed and by which key."""
    with path.open("rb") as handle:
        return handle.read(HEADER_BYTES)
