"""Passwords: scrypt hashing, the rules for a new password, and the throttle that slows down guessing.

scrypt (hashlib), N=2**17, r=8, p=1, 16-byte salt, 32-byte key: OWASP's minimum for scrypt, about 0.6 s and
128 MiB on the development machine. ZapPool has one admin who logs in rarely and keeps a long session, so the
cost falls on whoever guesses. The parameters are stored with each hash, so raising them later upgrades old
hashes at the next login instead of locking anyone out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import secrets
import threading
from dataclasses import dataclass

from ..errors import InvalidInput, TooManyAttempts
from ..store.accounts import PasswordHash

log = logging.getLogger(__name__)
DEFAULT_PASSWORD = "admin"
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # hashing a megabyte "password" is an easy way to burn CPU


@dataclass(frozen=True)
class ScryptParams:
    """scrypt's cost: memory is 128 * r * n bytes; time grows with n and p."""

    n: int = 2 ** 17
    r: int = 8
    p: int = 1
    salt_bytes: int = 16
    dklen: int = 32

    def matches(self, stored: PasswordHash) -> bool:
        """True when a stored hash was made with these costs (else it is upgraded at the next login)."""
        return (stored.algorithm, stored.n, stored.r, stored.p) == ("scrypt", self.n, self.r, self.p)


DEFAULT_SCRYPT = ScryptParams()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    """scrypt with room for its memory (OpenSSL's default limit of 32 MiB is below N=2**17)."""
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=2 * 128 * r * n * p + (1 << 20))


def hash_password(password: str, params: ScryptParams = DEFAULT_SCRYPT) -> PasswordHash:
    """A fresh salted scrypt hash of `password`."""
    salt = secrets.token_bytes(params.salt_bytes)
    key = _scrypt(password, salt, params.n, params.r, params.p, params.dklen)
    return PasswordHash("scrypt", params.n, params.r, params.p,
                        base64.b64encode(salt).decode("ascii"), base64.b64encode(key).decode("ascii"))


def verify_password(password: str, stored: PasswordHash) -> bool:
    """True when `password` matches; False (and an error log) for a hash ZapPool cannot or will not compute."""
    # Costs come from the file: refuse absurd ones instead of letting an edited file exhaust memory.
    if stored.algorithm != "scrypt" or not (2 <= stored.n <= 2 ** 20 and 1 <= stored.r <= 32 and 1 <= stored.p <= 16):
        log.error("[Auth] hash de senha com parâmetros não suportados: %s n=%s r=%s p=%s",
                  stored.algorithm, stored.n, stored.r, stored.p)
        return False
    try:
        salt, expected = base64.b64decode(stored.salt, validate=True), base64.b64decode(stored.hash, validate=True)
        key = _scrypt(password, salt, stored.n, stored.r, stored.p, len(expected))
    except (ValueError, MemoryError) as exc:
        log.error("[Auth] hash de senha ilegível: %s", exc)
        return False
    return hmac.compare_digest(key, expected)


def validate_new_password(new: str, *, username: str, old: str | None = None) -> None:
    """InvalidInput saying why `new` may not be the admin password; `details.rule` (and `minLength`/`maxLength`)
    name the reason in stable words, so the windows say it in their own language."""
    rule, reason = None, ""
    if not isinstance(new, str) or len(new) < MIN_PASSWORD:
        rule, reason = "too_short", f"The new password needs at least {MIN_PASSWORD} characters"
    elif len(new) > MAX_PASSWORD:
        rule, reason = "too_long", f"The new password may have at most {MAX_PASSWORD} characters"
    elif new.strip().casefold() == DEFAULT_PASSWORD:
        rule, reason = "default", "The new password cannot be the default 'admin'"
    elif new.strip().casefold() == username.casefold():
        rule, reason = "username", "The new password cannot be the username"
    elif isinstance(old, str) and hmac.compare_digest(new.encode("utf-8"), old.encode("utf-8")):
        rule, reason = "unchanged", "The new password must differ from the current one"
    if rule:
        raise InvalidInput(reason, details={"field": "newPassword", "rule": rule,
                                            "minLength": MIN_PASSWORD, "maxLength": MAX_PASSWORD})


@dataclass
class _Failures:
    """Failed logins for one username or one source."""

    count: int = 0
    last_at: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """After FREE_TRIES failures a key is locked for 1 s, then 2, 4, ... up to 5 min; success clears it.

    A lock is a time to compare, not a sleep: the request thread answers 429 at once and stays free.
    """

    FREE_TRIES = 5
    MAX_DELAY_S = 300.0
    # Failures more than an hour apart start the count again, so typos weeks apart never add up to a lock;
    # a guesser, locked for at most 5 minutes at a time, never gets that far apart.
    FORGET_AFTER_S = 3600.0
    MAX_ENTRIES = 4096  # bounds memory when someone sprays usernames or sources

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: dict[str, _Failures] = {}

    def check(self, keys: list[str], now: float) -> None:
        """TooManyAttempts (with retryAfter seconds) while any of `keys` is locked."""
        with self._lock:
            until = max((f.locked_until for k in keys if (f := self._table.get(k))), default=0.0)
        if until > now:
            wait = max(1, math.ceil(until - now))
            raise TooManyAttempts(f"Too many failed logins: try again in {wait} s", details={"retryAfter": wait})

    def failed(self, keys: list[str], now: float) -> float:
        """Count a failure against each key; the longest lock it starts, in seconds (0: none yet)."""
        longest = 0.0
        with self._lock:
            for key in keys:
                entry = self._table.setdefault(key, _Failures())
                if now - entry.last_at > self.FORGET_AFTER_S:
                    entry.count = 0
                entry.count, entry.last_at = entry.count + 1, now
                if entry.count >= self.FREE_TRIES:
                    # The exponent is capped too: 2.0 ** 1024 overflows, and a patient guesser gets there.
                    delay = min(2.0 ** min(entry.count - self.FREE_TRIES, 30), self.MAX_DELAY_S)
                    entry.locked_until, longest = now + delay, max(longest, delay)
            self._prune(now)
        return longest

    def succeeded(self, keys: list[str]) -> None:
        """Forget the failures of these keys."""
        with self._lock:
            for key in keys:
                self._table.pop(key, None)

    def _prune(self, now: float) -> None:
        """Drop stale entries, then the oldest unlocked ones, once the table is too big."""
        if len(self._table) <= self.MAX_ENTRIES:
            return
        unlocked = sorted((f.last_at, k) for k, f in self._table.items() if f.locked_until <= now)
        for last_at, key in unlocked:
            if len(self._table) <= self.MAX_ENTRIES // 2 and now - last_at <= self.FORGET_AFTER_S:
                break
            del self._table[key]
