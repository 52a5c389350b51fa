"""A number's browser profile in a sealed data folder (issue 19): while it runs, the live Chromium profile sits in
a private runtime folder (0700; on Linux in $XDG_RUNTIME_DIR or /dev/shm, both RAM, when they have room, else in
the data folder); at rest only a sealed snapshot of it is in the data folder, `snapshots/<client id>`.

Only what WhatsApp Web needs to stay logged in is kept: `Default/IndexedDB` and `Default/Local Storage`. Measured
on the simulator (bench/profile_parts.py: IndexedDB alone brings the number back without a scan, Local Storage
alone does not; the rest of a fresh profile, ~1.8 MB of GPU and code caches, cookies, is not needed) and what the
real site keeps there: its login and Signal keys in IndexedDB, some tokens in localStorage, the two folders
whatsapp-web.js's RemoteAuth keeps to restore a session. A snapshot is a tar of those two, sealed whole and
written atomically (temp + fsync + rename: the previous snapshot stays until the new one is complete).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ..errors import ZapPoolError
from ..sealing import SealedFileUnreadable, Sealer
from ..store.atomic import private_folder, set_aside, write_atomic
from ..store.sealed import KEPT_PARTS, pack_profile, snapshot_role, unpack_profile

log = logging.getLogger(__name__)
MIN_ROOM = 256 * 1024 * 1024  # a RAM folder with less free room than this is not used for live profiles


def runtime_root(data_dir: Path) -> Path:
    """Where live profiles run: a private folder in $XDG_RUNTIME_DIR or /dev/shm (RAM, gone at reboot) when
    there is room, else `<data>/runtime/` (the profile is then on disk while the number runs)."""
    tag = f"zapool-{os.getuid() if hasattr(os, 'getuid') else 0}-" + hashlib.sha256(
        str(data_dir.resolve()).encode()).hexdigest()[:12]
    if sys.platform.startswith("linux"):
        for base in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):
            if base and os.path.isdir(base) and os.access(base, os.W_OK) and _room(Path(base)) >= MIN_ROOM:
                return private_folder(Path(base) / tag)
    return private_folder(data_dir / "runtime")


def _room(folder: Path) -> int:
    """Free bytes where `folder` is."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


class SnapshotShelf(Protocol):
    """Where sealed snapshots rest: the data folder's `snapshots/` (FileShelf), or in cluster mode the cluster's
    PostgreSQL (store/pg_snapshots.py), where whichever node takes the number next finds it."""

    def read(self, client_id: str) -> bytes | None:
        """The number's sealed snapshot, or None."""
        ...

    def write(self, client_id: str, sealed: bytes) -> None:
        """Keep this sealed snapshot in place of the previous one, whole or not at all."""
        ...

    def set_aside(self, client_id: str) -> None:
        """Move an unreadable snapshot out of the way, never deleting it."""
        ...

    def remove(self, client_id: str) -> None:
        """Forget the number's snapshot."""
        ...


class FileShelf:
    """Sealed snapshots as files, `<data>/snapshots/<client id>`, written atomically."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, client_id: str) -> Path:
        """The number's snapshot file."""
        return self.folder / client_id

    def read(self, client_id: str) -> bytes | None:
        """The file's bytes, or None when there is none."""
        try:
            return self.path(client_id).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, client_id: str, sealed: bytes) -> None:
        """Temp + fsync + rename: the previous file stays until the new one is complete."""
        write_atomic(self.path(client_id), sealed)

    def set_aside(self, client_id: str) -> None:
        """Renamed beside, never deleted."""
        set_aside(self.path(client_id), "instantâneo do perfil ilegível")

    def remove(self, client_id: str) -> None:
        """The file deleted."""
        self.path(client_id).unlink(missing_ok=True)


class ProfileSnapshots:
    """Live profiles in the runtime folder and their sealed snapshots on a shelf (`<data>/snapshots/` unless
    another is given)."""

    def __init__(self, data_dir: Path, sealer: Sealer, root: Path | None = None, shelf: SnapshotShelf | None = None):
        self.folder = data_dir / "snapshots"
        self.shelf: SnapshotShelf = shelf or FileShelf(self.folder)
        self.sealer = sealer
        self.root = root or runtime_root(data_dir)

    def live_dir(self, client_id: str) -> Path:
        """Where this number's browser runs."""
        return self.root / client_id

    def snapshot_path(self, client_id: str) -> Path:
        """Its sealed snapshot's file (on the data folder's shelf)."""
        return self.folder / client_id

    def prepare(self, client_id: str) -> Path:
        """The live profile to launch: the one still in the runtime folder (a crash without a reboot leaves it,
        newer than the snapshot), else one unpacked from the snapshot, else a new empty one. A snapshot that does
        not open is set aside (never deleted) and SealedFileUnreadable raised."""
        live = self.live_dir(client_id)
        if (live / KEPT_PARTS[0]).is_dir():
            return live
        return self.restore(client_id)

    def restore(self, client_id: str) -> Path:
        """A live profile unpacked from the number's snapshot (any live one replaced), or a new empty one."""
        live = self.live_dir(client_id)
        sealed = self.shelf.read(client_id)
        if sealed is not None:
            try:
                packed = self.sealer.open(sealed, snapshot_role(client_id))
            except SealedFileUnreadable:
                self.shelf.set_aside(client_id)
                raise
            shutil.rmtree(live, ignore_errors=True)
            unpack_profile(packed, private_folder(live))
            log.info("[Client %s] perfil restaurado do instantâneo selado", client_id)
        return private_folder(live)

    def save(self, client_id: str) -> tuple[int, float] | None:
        """Seal the live profile's kept parts into the snapshot; (bytes written, seconds), or None when there is
        no live profile to save."""
        live = self.live_dir(client_id)
        if not (live / KEPT_PARTS[0]).is_dir():
            return None
        started = time.perf_counter()
        sealed = self.sealer.seal(pack_profile(live), snapshot_role(client_id))
        self.shelf.write(client_id, sealed)
        size, took = len(sealed), time.perf_counter() - started
        log.info("[Client %s] instantâneo selado do perfil: %d KiB em %.0f ms", client_id, size // 1024, took * 1000)
        return size, took

    def close(self, client_id: str, keep: bool) -> None:
        """The browser closed: snapshot it when `keep` (it was logged in), then remove the live profile."""
        try:
            if keep:
                self.save(client_id)
        finally:
            shutil.rmtree(self.live_dir(client_id), ignore_errors=True)

    def forget(self, client_id: str) -> None:
        """Logged out or removed: no snapshot and no live profile left."""
        self.shelf.remove(client_id)
        shutil.rmtree(self.live_dir(client_id), ignore_errors=True)


async def keep_snapshots(snapshots: ProfileSnapshots, client_id: str, first_s: float, every_s: float,
                         ready: Callable[[], bool]) -> None:
    """While the number stays ready: a snapshot `first_s` after login (WhatsApp Web writes its keys then), then
    every `every_s`. A failed one (a full disk) is said and tried again next time; the previous one stays."""
    await asyncio.sleep(first_s)
    while ready():
        try:
            await asyncio.to_thread(snapshots.save, client_id)
        except (OSError, ZapPoolError) as exc:
            log.warning("[Client %s] instantâneo do perfil não gravado: %s", client_id, exc)
        await asyncio.sleep(every_s)
