"""Which SQLite the stores run on, and the keys of a sealed data folder's databases (issue 19, step 5).

`sqlite3` here is SQLCipher's build of SQLite (sqlcipher3-wheels: page-level AES-256 with an HMAC per page, the
WAL's frames included) when it is installed, else the standard library's. Every store imports it from here, so
one set of exception classes and one `Row` serve every connection: an unkeyed SQLCipher connection is plain SQLite
(3.51, newer than most Pythons' own), and a keyed one reads and writes a sealed file. Never open a store's file
with the standard library's sqlite3 in the same process while the store has it open: two SQLite libraries do not
see each other's POSIX locks within one process (and closing one's descriptor drops the other's locks).

A sealed folder (its `sealed.key` is there) registers its Sealer with `seal_folder`; each database then opens with
a raw 256-bit key derived from the data key for that file (`PRAGMA key = "x'...'"`: a passphrase key would run
SQLCipher's PBKDF2 at every connection open, 326 ms measured, docs/PERFORMANCE.md). `seal_in_place` brings a file
to the current key before it is used: a clear database is exported into a sealed copy beside it
(`sqlcipher_export`), fsynced, then renamed over it (a crash leaves the clear file whole, or the sealed one whole;
a half copy left by a crash is removed); a database under a key a rotation is replacing is re-keyed in place
(`PRAGMA rekey`, one transaction). A file no key opens raises SealedDatabaseUnreadable and is left as it is.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from ..sealing.errors import SealingError

try:
    from sqlcipher3 import dbapi2 as sqlite3
    SQLCIPHER = True
except ImportError:  # a platform without the wheel: plain folders only
    import sqlite3  # type: ignore[no-redef]
    SQLCIPHER = False

log = logging.getLogger(__name__)
KEY_FILE = "sealed.key"
CLEAR_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every clear SQLite file; a sealed one starts random
SEALING_SUFFIX = ".sealing"  # the sealed copy while it is written
UNSEALING_SUFFIX = ".unsealing"  # the clear copy while it is written (unseal_in_place)


class SealedDatabaseUnreadable(SealingError):
    """A database of a sealed folder that this folder's keys do not open (or no key was given): nothing touched."""

    status = 500
    code = "sealed_database_unreadable"


class DatabaseKeys(Protocol):
    """What the engine needs of a Sealer."""

    def database_keys(self, role: str) -> list[bytes]: ...


_folders: dict[Path, DatabaseKeys] = {}
_folders_lock = threading.Lock()


def seal_folder(folder: Path, keys: DatabaseKeys) -> None:
    """The databases in `folder` open with `keys` from now on (the folder's sealer, once unlocked)."""
    with _folders_lock:
        _folders[folder.resolve()] = keys


def keys_for(path: Path) -> list[bytes] | None:
    """The keys to try for the database at `path`, current first; None in a folder that is not sealed.
    SealedDatabaseUnreadable in a sealed folder whose keys were not given, or without SQLCipher."""
    folder = path.parent.resolve()
    with _folders_lock:
        keys = _folders.get(folder)
    if keys is None:
        if (folder / KEY_FILE).is_file():
            raise SealedDatabaseUnreadable(f"{path.name}: a pasta de dados está selada e não foi aberta com a "
                                           "frase-senha ou o chaveiro", details={"path": str(path)})
        return None
    if not SQLCIPHER:
        raise SealedDatabaseUnreadable("esta instalação não tem o SQLCipher (sqlcipher3-wheels): os bancos de "
                                       "uma pasta selada não abrem aqui", details={"path": str(path)})
    return keys.database_keys(path.name)


def key_pragma(key: bytes) -> str:
    """The raw-key form SQLCipher takes without a key derivation: x'<64 hex digits>'."""
    return f"x'{key.hex()}'"


def connect(path: Path | str, key: bytes | None = None, **kwargs: Any) -> sqlite3.Connection:
    """A connection to `path`, keyed when `key` is given (before anything reads the file)."""
    conn = sqlite3.connect(path, **kwargs)
    if key is not None:
        conn.execute(f'PRAGMA key = "{key_pragma(key)}"')
    return conn


def is_clear(path: Path) -> bool:
    """True when the file at `path` starts like a clear SQLite database."""
    with path.open("rb") as handle:
        return handle.read(len(CLEAR_HEADER)) == CLEAR_HEADER


def seal_in_place(path: Path, keys: list[bytes]) -> bool:
    """Make the database at `path` readable with keys[0] (see the module's doc); True when it had to change."""
    Path(str(path) + SEALING_SUFFIX).unlink(missing_ok=True)  # a half copy from a crash: the original is whole
    if not path.exists() or path.stat().st_size == 0:
        return False
    if is_clear(path):
        _export_sealed(path, keys[0])
        return True
    for index, key in enumerate(keys):
        if _opens(path, key):
            if index:
                _rekey(path, key, keys[0])
            return bool(index)
    raise SealedDatabaseUnreadable(f"{path.name}: as chaves desta pasta de dados não abrem este banco; nada foi "
                                   "alterado", details={"path": str(path)})


def _opens(path: Path, key: bytes) -> bool:
    """True when `key` decrypts the file's first page (read-only: a wrong key changes nothing)."""
    conn = connect(f"{path.resolve().as_uri()}?mode=ro", key, uri=True)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")  # a wrong key is expected here, not an error to print
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return True
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def _rekey(path: Path, old: bytes, new: bytes) -> None:
    """Re-encrypt every page under `new` (one transaction: a crash leaves it whole under `old`)."""
    conn = connect(path, old, isolation_level=None)
    try:
        conn.execute(f'PRAGMA rekey = "{key_pragma(new)}"')
    finally:
        conn.close()
    log.info("[Store] %s: banco selado com a chave nova", path.name)


def _export_sealed(path: Path, key: bytes) -> None:
    """A clear database sealed: its WAL merged in, everything exported into a sealed copy beside it, the copy
    fsynced and renamed over it; the clear WAL and shared-memory files go before the rename, so no clear frame
    is ever read against the sealed file."""
    copy = Path(str(path) + SEALING_SUFFIX)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("ATTACH DATABASE ? AS sealed KEY ?", (str(copy), key_pragma(key)))
        conn.execute("SELECT sqlcipher_export('sealed')")
        conn.execute(f"PRAGMA sealed.user_version = {int(version)}")  # sqlcipher_export copies rows, not this
        conn.execute("DETACH DATABASE sealed")
    finally:
        conn.close()
    _replace_with(copy, path)
    log.info("[Store] %s: banco convertido para selado", path.name)


def _replace_with(copy: Path, path: Path) -> None:
    """The exported copy takes the database's place: the old WAL and shared-memory files go first (no frame of
    the old file is ever read against the new one), the copy is fsynced, renamed over, and the folder fsynced."""
    for extra in ("-wal", "-shm"):
        Path(str(path) + extra).unlink(missing_ok=True)
    with copy.open("rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(copy, path)
    from .atomic import fsync_dir  # here: atomic -> full -> this module at import time
    fsync_dir(path.parent)


def unseal_in_place(path: Path, keys: list[bytes]) -> bool:
    """The way back (`app.py seal unseal`): a sealed database exported into a clear copy beside it, fsynced and
    renamed over it, as _export_sealed does the other way (a crash leaves one whole file, a half copy is
    removed next time); True when it had to change. SealedDatabaseUnreadable when no key opens it."""
    copy = Path(str(path) + UNSEALING_SUFFIX)
    copy.unlink(missing_ok=True)
    if not path.exists() or path.stat().st_size == 0 or is_clear(path):
        return False
    key = next((k for k in keys if _opens(path, k)), None)
    if key is None:
        raise SealedDatabaseUnreadable(f"{path.name}: as chaves desta pasta de dados não abrem este banco; nada "
                                       "foi alterado", details={"path": str(path)})
    conn = connect(path, key, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.execute("ATTACH DATABASE ? AS clear KEY ''", (str(copy),))
        conn.execute("SELECT sqlcipher_export('clear')")
        conn.execute(f"PRAGMA clear.user_version = {int(version)}")
        conn.execute("DETACH DATABASE clear")
    finally:
        conn.close()
    _replace_with(copy, path)
    log.info("[Store] %s: banco convertido de volta para sem selo", path.name)
    return True
