"""dados/auth.json: the admin user and the API keys, one small JSON file written atomically under one lock.

    {"version": 1,
     "admin": {"username": "admin", "must_change": false, "changed_at": "2025-01-01T12:00:00.000Z",
               "password": {"algorithm": "scrypt", "n": 131072, "r": 8, "p": 1,
                            "salt": "<base64>", "hash": "<base64>"}},
     "api_keys": [{"id": "3f9c0a1b2c4d", "name": "erp", "prefix": "zp_AbCd1234", "hash": "<sha256 hex>",
                   "created_at": "...", "last_used_at": null, "revoked_at": null}]}

Nothing in it can be replayed: the password is a salted scrypt hash (parameters kept beside it, so they can be
raised later), each API key only its SHA-256. `"password": null` is the first run: the default password
`admin`, which must be changed. A missing file is a first run and is not written until something changes.
A bad file is set aside and ZapPool starts from those defaults: see AccountsStore._load for what that means.
The command line (backend/auth/cli.py) edits the same file while ZapPool may be running, so calls check the
file's identity (inode, size, mtime) and reload it when another process has replaced it: every change checks
first, reads at most once a second (REFRESH_EVERY_S). Reads run on every API request, and a stat() there costs
more than its few microseconds: it releases the GIL, and under load the request thread then waits its turn
behind the others (bench/api.py measured /stats at 0.63x of bare Flask with the check on every request, 0.85x
without). So a key revoked from the command line stops working within a second; one revoked in the app, at once.
Hashing and every rule live in backend/auth.py; this module only keeps records.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .atomic import set_aside, write_atomic

log = logging.getLogger(__name__)
REFRESH_EVERY_S = 1.0  # reads look for another process's changes at most this often
FORMAT_VERSION = 1
DEFAULT_USERNAME = "admin"


class AuthFileError(ValueError):
    """auth.json is not in the expected shape."""


@dataclass(frozen=True)
class PasswordHash:
    """A password as scrypt left it: algorithm, cost parameters, salt and derived key (base64)."""

    algorithm: str
    n: int
    r: int
    p: int
    salt: str
    hash: str


@dataclass(frozen=True)
class AdminRecord:
    """The one user; `password` None means the first-run default, which must be changed."""

    username: str = DEFAULT_USERNAME
    password: PasswordHash | None = None
    must_change: bool = True
    changed_at: str | None = None


@dataclass(frozen=True)
class ApiKeyRecord:
    """One API key as stored: never the key itself, only its SHA-256 and a short prefix to recognise it."""

    id: str
    name: str
    prefix: str
    hash: str
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None
    rate_per_minute: int | None = None  # requests a minute this key may make (None: the API's default)

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None


# field -> (type, may be null); the file is checked field by field so a hand-edited typo is caught at start.
_HASH_FIELDS = {"algorithm": (str, False), "n": (int, False), "r": (int, False), "p": (int, False),
                "salt": (str, False), "hash": (str, False)}
_ADMIN_FIELDS = {"username": (str, False), "must_change": (bool, False), "changed_at": (str, True)}
_KEY_FIELDS = {"id": (str, False), "name": (str, False), "prefix": (str, False), "hash": (str, False),
               "created_at": (str, False), "last_used_at": (str, True), "revoked_at": (str, True),
               "rate_per_minute": (int, True)}  # absent in files from before the per-key rate: the default


def _fields(raw: Any, spec: dict[str, tuple[type, bool]], where: str) -> dict[str, Any]:
    """The fields of `spec` from a JSON object, each of the right type; AuthFileError otherwise."""
    if not isinstance(raw, dict):
        raise AuthFileError(f"{where} is not an object")
    values: dict[str, Any] = {}
    for name, (kind, nullable) in spec.items():
        value = raw.get(name)
        # bool is an int in Python; a `true` where a number belongs is still a typo.
        wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        if wrong and not (nullable and value is None):
            raise AuthFileError(f"{where}.{name} is missing or not a {kind.__name__}")
        values[name] = value
    return values


def parse_auth(raw: bytes) -> tuple[AdminRecord, dict[str, ApiKeyRecord]]:
    """The records in a file's bytes; AuthFileError when they are not auth.json's shape."""
    if not raw.strip():
        raise AuthFileError("empty file")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise AuthFileError(f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION:
        raise AuthFileError(f"not an auth file of version {FORMAT_VERSION}")
    raw_admin = doc.get("admin")
    admin = _fields(raw_admin, _ADMIN_FIELDS, "admin")
    raw_hash = raw_admin.get("password")
    password = None if raw_hash is None else PasswordHash(**_fields(raw_hash, _HASH_FIELDS, "admin.password"))
    if not isinstance(doc.get("api_keys"), list):
        raise AuthFileError("api_keys is not a list")
    keys = [ApiKeyRecord(**_fields(k, _KEY_FIELDS, f"api_keys[{i}]")) for i, k in enumerate(doc["api_keys"])]
    return AdminRecord(password=password, **admin), {k.id: k for k in keys}


def dump_auth(admin: AdminRecord, keys: dict[str, ApiKeyRecord]) -> bytes:
    """auth.json's bytes for these records."""
    doc = {"version": FORMAT_VERSION, "admin": asdict(admin), "api_keys": [asdict(k) for k in keys.values()]}
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


class AccountsStore:
    """The admin record and the API key records; every change is on disk when the call returns."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic):
        self.path = path
        self.set_aside_as: Path | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._admin, self._keys = self._load()
        self._seen = self._signature()
        self._checked_at = clock()

    def _load(self) -> tuple[AdminRecord, dict[str, ApiKeyRecord]]:
        """Read the file; a missing one is a first run, a bad one is set aside and replaced by the defaults."""
        if not self.path.exists():
            log.info("[Auth] %s não existe: primeiro uso, login admin/admin (troca de senha obrigatória)",
                     self.path.name)
            return AdminRecord(), {}
        # An unreadable file (permissions) raises: better not to start than to fall back to admin/admin.
        raw = self.path.read_bytes()
        try:
            return parse_auth(raw)
        except AuthFileError as exc:
            self.set_aside_as = set_aside(self.path, f"arquivo inválido: {exc}")
        # Starting over means the admin password is admin/admin again and every API key stops working.
        # Anyone who can corrupt this file could do that, so say it loudly; may_listen_beyond_loopback()
        # is False in this state, so the API falls back to this computer until the password is changed.
        log.error("[Auth] SEGURANÇA: %s foi descartado; a senha do admin voltou a ser admin/admin e todas as "
                  "chaves de API foram invalidadas. Troque a senha e crie novas chaves. Cópia: %s",
                  self.path.name, self.set_aside_as)
        return AdminRecord(), {}

    def _signature(self) -> tuple[int, int, int] | None:
        """The file's identity: write_atomic replaces it, so any write changes the inode (or index on Windows)."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def _refresh(self, *, force: bool = True) -> None:
        """Adopt what another process (the command line) wrote since this one last read or wrote the file;
        unless `force`, only if the last look is REFRESH_EVERY_S old."""
        now = self._clock()
        if not force and 0 <= now - self._checked_at < REFRESH_EVERY_S:
            return
        self._checked_at = now
        seen = self._signature()
        if seen is None or seen == self._seen:
            return  # unchanged; or deleted while running: keep what is in memory, it is written back next time
        try:
            self._admin, self._keys = parse_auth(self.path.read_bytes())
            log.info("[Auth] %s alterado por outro processo: recarregado", self.path.name)
        except AuthFileError as exc:
            # Keep the working state rather than fall back to admin/admin while running; the next write
            # replaces the bad file, so keep a copy of it first.
            set_aside(self.path, f"arquivo inválido: {exc}")
            log.error("[Auth] %s inválido durante a execução: mantidos a senha e as chaves em memória",
                      self.path.name)
            seen = None
        self._seen = seen

    def _write(self, admin: AdminRecord, keys: dict[str, ApiKeyRecord]) -> None:
        """Write first, then adopt: if the disk refuses, memory still matches the file."""
        write_atomic(self.path, dump_auth(admin, keys))
        self._admin, self._keys = admin, keys
        self._seen = self._signature()

    def admin(self) -> AdminRecord:
        """The admin record (immutable, so it can be handed out as is)."""
        with self._lock:
            self._refresh(force=False)
            return self._admin

    def save_admin(self, admin: AdminRecord) -> None:
        """Replace the admin record."""
        with self._lock:
            self._refresh()
            self._write(admin, self._keys)

    def api_keys(self) -> list[ApiKeyRecord]:
        """Every key record, revoked ones included, oldest first."""
        with self._lock:
            self._refresh(force=False)
            return list(self._keys.values())

    def add_api_key(self, record: ApiKeyRecord) -> None:
        """Store a new key record; ValueError if its id is taken."""
        with self._lock:
            self._refresh()
            if record.id in self._keys:
                raise ValueError(f"API key id {record.id!r} already exists")
            self._write(self._admin, {**self._keys, record.id: record})

    def revoke_api_key(self, key_id: str, when: str) -> ApiKeyRecord | None:
        """Mark a key revoked (keeping the first revocation time); None if there is no such key."""
        with self._lock:
            self._refresh()
            record = self._keys.get(key_id)
            if record is None or not record.active:
                return record
            record = replace(record, revoked_at=when)
            self._write(self._admin, {**self._keys, key_id: record})
            return record

    def set_api_key_rate(self, key_id: str, rate_per_minute: int | None) -> ApiKeyRecord | None:
        """Set a key's request rate (None: the default); None if there is no such key."""
        with self._lock:
            self._refresh()
            record = self._keys.get(key_id)
            if record is not None:
                record = replace(record, rate_per_minute=rate_per_minute)
                self._write(self._admin, {**self._keys, key_id: record})
            return record

    def touch_api_key(self, key_id: str, when: str) -> None:
        """Set when a key was last used; only that field, so a revocation racing with it is never undone."""
        with self._lock:
            self._refresh()
            record = self._keys.get(key_id)
            if record is not None:
                self._write(self._admin, {**self._keys, key_id: replace(record, last_used_at=when)})
