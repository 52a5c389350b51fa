"""Files that are never half-written, and bad files set aside instead of lost; and everything in the data folder
readable by its owner only (0600 files, 0700 folders on POSIX, whatever the umask): it holds the message log,
webhook secrets in clear and every number's WhatsApp login."""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .full import refuse_when_full

log = logging.getLogger(__name__)
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def private_folder(folder: Path) -> Path:
    """Make `folder` owner-only, and any missing folder above it, and return it. An existing `folder` is fixed
    too (one made by an older ZapPool, or under a looser umask, is 0755); existing folders above it are not
    ZapPool's to change."""
    for missing in reversed([f for f in (folder, *folder.parents) if not f.exists()]):
        missing.mkdir(mode=PRIVATE_FOLDER, exist_ok=True)
        _chmod(missing, PRIVATE_FOLDER)
    _chmod(folder, PRIVATE_FOLDER)
    return folder


def _chmod(path: Path, mode: int) -> None:
    """POSIX modes (Windows keeps a user's profile folders to that user by their ACLs)."""
    if os.name == "posix":
        os.chmod(path, mode)


def private_file(path: Path) -> None:
    """Create `path` empty when missing, and make it owner-only either way (before SQLite opens a database:
    SQLite gives its -wal and -shm files the database's own mode)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    _chmod(path, PRIVATE_FILE)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file beside `path`, fsync it, then rename over `path` (atomic on POSIX and Windows).
    On a full disk: StorageFull, the temp file removed and `path` as it was."""
    with refuse_when_full(path):
        if not path.parent.is_dir():
            private_folder(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles to sync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def set_aside(path: Path, why: str) -> Path:
    """Rename a bad file to `<name>.bad-<UTC timestamp>` so nothing is lost, and say so in the log."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.bad-{stamp}")
    os.replace(path, target)
    log.error("[Store] %s: %s; guardado como %s e iniciado um arquivo novo", path.name, why, target.name)
    return target
