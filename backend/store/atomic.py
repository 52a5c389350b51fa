"""Files that are never half-written, and bad files set aside instead of lost."""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from .full import refuse_when_full

log = logging.getLogger(__name__)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file beside `path`, fsync it, then rename over `path` (atomic on POSIX and Windows).
    On a full disk: StorageFull, the temp file removed and `path` as it was."""
    with refuse_when_full(path):
        path.parent.mkdir(parents=True, exist_ok=True)
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
        _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
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
