"""Accounts and API keys: who may use ZapPool, with no knowledge of Flask or pywebview.

One admin user logs in with a password (first run: admin/admin, which must be changed before anything else) and
gets an in-memory session; programs use API keys, created and revoked from the UI or `python -m
backend.auth`, shown once and stored hashed. The REST layer calls `authenticate()` on every request but
/health, and asks `may_listen_beyond_loopback()` before binding to anything but this computer.

Who is the owner: the desktop window (its logins come through the js_api bridge, source "desktop") and whoever
holds `owner_token`, made fresh at each start and printed only in the terminal that started ZapPool (app.py's
link). Only they may make the first admin/admin login, so another user of the same computer, who can reach
127.0.0.1 too, cannot claim a fresh ZapPool; and their failed logins are counted apart from everyone else's, so a
stranger's guessing never locks them out.

Password hashing, the rules for a new password and the login throttle are in passwords.py; the records in
store/accounts.py (dados/auth.json).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, NotFound, PasswordChangeRequired, StorageFull, Unauthorized, ZapPoolError
from ..store.accounts import AccountsStore, AdminRecord, ApiKeyRecord
from .keys import KEY_PREFIX, ApiKeyInfo, check_rate, key_digest, key_info
from .passwords import (DEFAULT_PASSWORD, DEFAULT_SCRYPT, LoginThrottle, ScryptParams, hash_password,
                        validate_new_password, verify_password)
from .sessions import MemorySessions, SessionTable, StoredSession

log = logging.getLogger(__name__)
AUTH_FILE = "auth.json"
TOUCH_EVERY_S = 60.0  # last_used_at is written at most this often per key: not one disk write per request
# The desktop window's logins (the js_api bridge, no HTTP) come with this source; REST's are IP addresses.
DESKTOP_SOURCE = "desktop"


class OwnerLinkRequired(ZapPoolError):
    """admin/admin over HTTP without the owner's link: another user of this computer may not claim ZapPool."""

    status = 403
    code = "owner_link_required"


def _iso(ts: float) -> str:
    """Epoch seconds as the UTC ISO text the data files use."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _epoch(text: str | None) -> float | None:
    """The epoch seconds of _iso's text (None stays None; unreadable text counts as never)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Session:
    """A logged-in admin: the token goes back to the caller; `must_change` is as of this lookup."""

    token: str
    username: str
    created_at: float
    last_seen_at: float
    source: str | None = None
    must_change: bool = False


@dataclass(frozen=True)
class Principal:
    """Who made a request: an API key (id) or a session (username)."""

    kind: str  # "api_key" or "session"
    id: str


class AuthService:
    """The admin password, login sessions and API keys of one data folder; safe to call from any thread."""

    def __init__(self, store: AccountsStore, *, clock: Callable[[], float] = time.time,
                 scrypt: ScryptParams = DEFAULT_SCRYPT, session_idle_s: float = 3600.0,
                 session_max_s: float = 12 * 3600.0, sessions: SessionTable | None = None):
        """`store`: where the password and the keys are kept (auth.json: see in_folder()); `sessions`: where
        the login sessions are (this process's memory unless given: a cluster's are in PostgreSQL)."""
        self._store = store
        self._clock = clock
        self._scrypt = scrypt
        self._idle_s, self._max_s = session_idle_s, session_max_s
        self._throttle = LoginThrottle()
        # Printed in the terminal that started ZapPool (app.py), never stored: whoever presents it is the owner.
        self.owner_token = secrets.token_urlsafe(24)
        self._hash_lock = threading.Lock()  # one scrypt at a time: 128 MiB each
        self._sessions: SessionTable = sessions if sessions is not None else MemorySessions()  # sessions.py

    @classmethod
    def in_folder(cls, data_dir: Path, *, clock: Callable[[], float] = time.time, **options: Any) -> AuthService:
        """The AuthService of a data folder: its accounts in <data_dir>/auth.json."""
        return cls(AccountsStore(Path(data_dir) / AUTH_FILE, clock), clock=clock, **options)

    @property
    def set_aside_as(self) -> Path | None:
        """Where a bad auth.json found at start was moved, if it was."""
        return self._store.set_aside_as

    # -- password -------------------------------------------------------------------------------------------

    def is_owner(self, source: str | None, owner_token: str | None = None) -> bool:
        """The desktop window, or a caller holding the token printed in the terminal that started ZapPool."""
        if source == DESKTOP_SOURCE:
            return True
        return isinstance(owner_token, str) and hmac.compare_digest(owner_token.encode(), self.owner_token.encode())

    def check_password(self, username: str, password: str, source: str | None = None, *,
                       owner: bool = False) -> bool:
        """True for the admin's password; TooManyAttempts while this source (or, for anyone but the owner, this
        username) is locked out. The owner's own attempts count against their source alone, and the username's
        lock does not apply to them: a stranger's failures never lock the owner's window or terminal out."""
        if owner:  # counted apart from strangers, even one at the same address (another user of this computer)
            keys = [f"owner:{source or ''}"]
        else:
            keys = [f"user:{str(username)[:64]}"] + ([f"source:{source}"] if source else [])
        self._throttle.check(keys, self._clock())
        admin = self._store.admin()
        ok = self._matches(admin, username, password)
        if ok:
            self._throttle.succeeded(keys)
            return True
        delay = self._throttle.failed(keys, self._clock())
        log.warning("[Auth] senha errada para %r%s%s", str(username)[:64], f" de {source}" if source else "",
                    f"; bloqueado por {delay:.0f} s" if delay else "")
        return False

    def _matches(self, admin: AdminRecord, username: str, password: str) -> bool:
        """Compare credentials; upgrade the stored hash when ZapPool's scrypt costs have changed."""
        # The only username is the well-known "admin", so skipping the hash for others leaks nothing and
        # keeps a stream of made-up usernames from costing 128 MiB each.
        if not isinstance(password, str) or not hmac.compare_digest(str(username).encode(), admin.username.encode()):
            return False
        if admin.password is None:
            return hmac.compare_digest(password.encode("utf-8"), DEFAULT_PASSWORD.encode())
        with self._hash_lock:
            ok = verify_password(password, admin.password)
            if ok and not self._scrypt.matches(admin.password):
                self._upgrade_hash(password)
        return ok

    def _upgrade_hash(self, password: str) -> None:
        """Store the password again at today's scrypt costs; on a full disk the old hash stays, and still works."""
        try:
            self._store.save_admin(replace(self._store.admin(), password=hash_password(password, self._scrypt)))
        except StorageFull as exc:
            log.warning("[Auth] hash da senha não atualizado: %s", exc.message)
            return
        log.info("[Auth] hash da senha atualizado para scrypt n=%d", self._scrypt.n)

    def must_change_password(self) -> bool:
        """True while the admin password is the first-run default or was flagged for change."""
        admin = self._store.admin()
        return admin.must_change or admin.password is None

    def change_password(self, old: str, new: str, *, token: str | None = None, username: str | None = None) -> None:
        """Set a new admin password, for a session (`token`) or a username; ends the user's other sessions."""
        if token is not None:
            current = self.session(token)
            if current is None:
                raise Unauthorized("Log in again: the session has expired")
            username = current.username
        if username is None:
            raise InvalidInput("Say whose password to change: a session token or a username")
        validate_new_password(new, username=username, old=old)
        # A session holder's wrong old passwords count against that session only, not the admin's name.
        source = f"session:{key_digest(token)[:16]}" if token is not None else None
        if not self.check_password(username, old, source, owner=token is not None):
            raise Unauthorized("The current password is wrong", code="wrong_password")
        self._set_password(username, new, keep_token=token)

    def reset_password(self, new: str) -> None:
        """Set the admin password without the old one: for the command line, whose user owns the data folder."""
        admin = self._store.admin()
        validate_new_password(new, username=admin.username)
        self._set_password(admin.username, new, keep_token=None)

    def _set_password(self, username: str, new: str, *, keep_token: str | None) -> None:
        """Store the new hash and end every session of `username` except `keep_token`'s."""
        with self._hash_lock:
            hashed = hash_password(new, self._scrypt)
        now = self._clock()
        self._store.save_admin(replace(self._store.admin(), password=hashed, must_change=False, changed_at=_iso(now)))
        self._sessions.drop_user(username, key_digest(keep_token) if keep_token else None)
        log.info("[Auth] senha de %s alterada", username)

    # -- sessions -------------------------------------------------------------------------------------------

    def login(self, username: str, password: str, source: str | None = None,
              owner_token: str | None = None) -> Session:
        """A new session; Unauthorized for wrong credentials, TooManyAttempts while locked out, OwnerLinkRequired
        for the first-run admin/admin from anyone but the owner (the desktop window, or the terminal's link)."""
        owner = self.is_owner(source, owner_token)
        if not self.check_password(username, password, source, owner=owner):
            raise Unauthorized("Wrong username or password", code="wrong_credentials")
        # No source: a caller in this process (the command line, a test), not one reached through the network.
        if source is not None and not owner and self._store.admin().password is None:
            log.warning("[Auth] primeiro acesso (admin/admin) recusado%s: falta o link do terminal",
                        f" de {source}" if source else "")
            raise OwnerLinkRequired("The first login with admin/admin needs the link ZapPool printed in the "
                                    "terminal that started it (or use its desktop window)")
        now = self._clock()
        token = secrets.token_urlsafe(32)
        session = Session(token, username, now, now, source)
        self._sessions.drop_expired(now - self._idle_s, now - self._max_s)
        self._sessions.put(key_digest(token), StoredSession(username, now, now, source))
        log.info("[Auth] login de %s%s", username, f" ({source})" if source else "")
        return replace(session, must_change=self.must_change_password())

    def logout(self, token: str) -> None:
        """End a session (an unknown token is fine: the result is the same)."""
        self._sessions.drop(key_digest(token))

    def session(self, token: str) -> Session | None:
        """The live session of `token`, its idle clock restarted; None if unknown or expired."""
        if not isinstance(token, str) or not token:
            return None
        now, key = self._clock(), key_digest(token)
        found = self._sessions.get(key)
        if found is None or self._expired(found, now):
            self._sessions.drop(key)
            return None
        self._sessions.touch(key, found.last_seen_at, now)
        return Session(token, found.username, found.created_at, now, found.source,
                       must_change=self.must_change_password())

    def _expired(self, session: StoredSession, now: float) -> bool:
        """Idle too long, or alive too long."""
        return now - session.last_seen_at > self._idle_s or now - session.created_at > self._max_s

    # -- API keys -------------------------------------------------------------------------------------------

    def create_api_key(self, name: str, rate_per_minute: int | None = None) -> tuple[str, str]:
        """A new key: (id, plaintext). The plaintext is returned this once and never stored. `rate_per_minute`:
        the requests a minute it may make (None: the API's default)."""
        rate_per_minute = check_rate(rate_per_minute)
        if self.must_change_password():
            raise PasswordChangeRequired("Change the admin password before creating API keys")
        name = name.strip() if isinstance(name, str) else ""
        if not 1 <= len(name) <= 64 or not name.isprintable():
            raise InvalidInput("A key name is 1 to 64 printable characters", details={"field": "name"})
        plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
        record = ApiKeyRecord(id=secrets.token_hex(6), name=name, prefix=plaintext[:len(KEY_PREFIX) + 8],
                              hash=key_digest(plaintext), created_at=_iso(self._clock()),
                              rate_per_minute=rate_per_minute)
        self._store.add_api_key(record)
        log.info("[Auth] chave de API %s (%s) criada", record.id, name)
        return record.id, plaintext

    def list_api_keys(self) -> list[ApiKeyInfo]:
        """Every key, revoked ones included, oldest first; no plaintext, no hash."""
        return [key_info(r) for r in self._store.api_keys()]

    def revoke_api_key(self, key_id: str) -> ApiKeyInfo:
        """Revoke a key at once (again is fine); NotFound for an unknown id."""
        record = self._store.revoke_api_key(str(key_id), _iso(self._clock()))
        if record is None:
            raise NotFound(f"No API key {str(key_id)[:40]!r}", details={"id": str(key_id)[:40]})
        log.info("[Auth] chave de API %s (%s) revogada", record.id, record.name)
        return key_info(record)

    def set_api_key_rate(self, key_id: str, rate_per_minute: int | None) -> ApiKeyInfo:
        """Change the requests a minute a key may make (None: the default); NotFound for an unknown id."""
        record = self._store.set_api_key_rate(str(key_id), check_rate(rate_per_minute))
        if record is None:
            raise NotFound(f"No API key {str(key_id)[:40]!r}", details={"id": str(key_id)[:40]})
        log.info("[Auth] chave de API %s (%s): %s requisições por minuto", record.id, record.name,
                 record.rate_per_minute or "padrão de")
        return key_info(record)

    def api_key_rate(self, key_id: str) -> int | None:
        """The rate set for a key (None: the default), read on every request through the store's cache."""
        return next((r.rate_per_minute for r in self._store.api_keys() if r.id == key_id), None)

    def verify_api_key(self, plaintext: str) -> str | None:
        """The id of the active key `plaintext` is, or None."""
        if not isinstance(plaintext, str) or not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 256:
            return None
        digest = key_digest(plaintext)
        found = None
        for record in self._store.api_keys():  # compare with every key, so timing says nothing about which
            if hmac.compare_digest(record.hash, digest) and record.active:
                found = record
        if found is None:
            return None
        now = self._clock()
        last = _epoch(found.last_used_at)
        if last is None or now - last >= TOUCH_EVERY_S or now < last:
            try:
                self._store.touch_api_key(found.id, _iso(now))
            except StorageFull as exc:  # a bookkeeping write must not turn every request into a 507
                log.warning("[Auth] uso da chave %s não registrado: %s", found.id, exc.message)
        return found.id

    # -- requests and listening -----------------------------------------------------------------------------

    def authenticate(self, *, api_key: str | None = None, session_token: str | None = None,
                     allow_password_change: bool = False) -> Principal:
        """Who is calling; Unauthorized without valid credentials, PasswordChangeRequired for a first-run session."""
        if api_key:
            key_id = self.verify_api_key(api_key)
            if key_id is None:
                raise Unauthorized("Invalid or revoked API key")
            return Principal("api_key", key_id)
        if session_token:
            current = self.session(session_token)
            if current is None:
                raise Unauthorized("Log in again: the session has expired")
            if current.must_change and not allow_password_change:
                raise PasswordChangeRequired("Change the admin password first")
            return Principal("session", current.username)
        raise Unauthorized("Send an API key (X-Api-Key or Authorization: Bearer) or log in")

    def may_listen_beyond_loopback(self) -> tuple[bool, str]:
        """Whether the API may listen on more than this computer, and a sentence saying why (not)."""
        admin = self._store.admin()
        if admin.password is None:
            return False, ("The admin password is still the default (admin/admin): change it before the API "
                           "listens beyond this computer; until then it listens on 127.0.0.1 only.")
        if admin.must_change:
            return False, ("The admin password must be changed before the API listens beyond this computer; "
                           "until then it listens on 127.0.0.1 only.")
        active = sum(1 for r in self._store.api_keys() if r.active)
        if not active:
            return False, ("No API key exists: create one (in the app, or `python -m backend.auth keys create "
                           "NAME`) before the API listens beyond this computer; until then it listens on "
                           "127.0.0.1 only.")
        return True, f"The admin password has been changed and {active} API key(s) are active."
