"""A full disk, said once: the one place where "no space left" becomes ZapPool's StorageFull.

The OS says it with ENOSPC (or EDQUOT, a quota), SQLite with SQLITE_FULL. Every write in store/ runs inside
`refuse_when_full(path)`, so the REST API and the desktop answer 507 storage_full naming the file, and callers
can tell a full disk (nothing written, try again once space is freed) from a bug.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StorageFull
from .sqlite_engine import sqlite3

FULL_ERRNOS = frozenset(n for n in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if n is not None)


def is_full(exc: BaseException) -> bool:
    """Is this the OS or SQLite saying the disk is full."""
    if isinstance(exc, OSError):
        return exc.errno in FULL_ERRNOS
    return isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


@contextmanager
def refuse_when_full(path: Path) -> Iterator[None]:
    """Run a write to `path`; a full disk raises StorageFull naming the file, other errors pass unchanged."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        if not is_full(exc):
            raise
        raise StorageFull(f"The disk holding ZapPool's data is full: {path.name} was not written. Free some space "
                          "and try again", details={"file": path.name}) from exc
