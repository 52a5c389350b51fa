"""A request rate per API key: a moving window (the maintained `limits` library) checked after the credential
check, so an integration in a loop, or a leaked key, cannot flood the numbers or starve the desktop windows.

Each key may make `ratePerMinute` requests in any 60 s (set per key: PUT /auth/keys/{id}/rate-limit from the
owner's window, or `python -m backend.auth keys create NAME --rate N`; None: the app's API_KEY_RATE_PER_MINUTE).
Over it: 429 with Retry-After. Every key request answers with the IETF draft's RateLimit-Limit,
RateLimit-Remaining, RateLimit-Reset (seconds) and RateLimit-Policy ("600;w=60"). Only API keys count: the
owner's logged-in windows are not limited (they are the one person at the machine). Counts live in memory:
a restart starts every key afresh, which costs at most one more minute's worth of requests.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, g, jsonify
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from ..auth.service import AuthService
from ..errors import NotFound, TooManyAttempts, ZapPoolError
from .body import field, json_body

log = logging.getLogger(__name__)
DEFAULT_RATE_PER_MINUTE = 600  # 10 numbers sending at the default pacing need ~300; the rest is for reads
WINDOW_S = 60

bp = Blueprint("ratelimit", __name__)


class RateLimited(TooManyAttempts):
    """An API key made more requests than its rate allows; details.retryAfter: seconds to wait."""

    code = "rate_limited"


class SessionRequired(ZapPoolError):
    """Only the owner's logged-in window may do this, not an API key."""

    status = 403
    code = "session_required"


@dataclass(frozen=True)
class Usage:
    """Where a key stands after a request: its limit, what is left, and seconds until a slot frees."""

    limit: int
    remaining: int
    reset_s: int


class SweepingMemoryStorage(MemoryStorage):
    """`limits`' in-memory storage, with its expired entries swept on the caller's thread at most once a second.

    MemoryStorage (limits 5.8.0, pinned) starts a new threading.Timer 10 ms after a hit whenever none is running,
    so at a steady request rate it starts and ends one thread per request: ~0.2 ms of CPU each, a twentieth of
    ZapPool's CPU per sent message (docs/PERFORMANCE.md, issue 15). The sweep itself is the library's; only when
    it runs changes. tests/test_ratelimit_storage.py fails if a new `limits` stops calling this hook."""

    SWEEP_EVERY_S = 1.0

    def __init__(self) -> None:
        super().__init__()
        self._swept_at = 0.0
        self._sweeping = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - the name MemoryStorage calls
        now = time.monotonic()
        if now - self._swept_at >= self.SWEEP_EVERY_S and self._sweeping.acquire(blocking=False):
            try:
                self._swept_at = now
                self._MemoryStorage__expire_events()
            finally:
                self._sweeping.release()


class KeyRateLimiter:
    """One moving window per API key, in memory; the rate of each key is read from the auth store."""

    def __init__(self, auth: AuthService, default_per_minute: int = DEFAULT_RATE_PER_MINUTE):
        self.auth = auth
        self.default = default_per_minute
        self._limiter = MovingWindowRateLimiter(SweepingMemoryStorage())
        self._items: dict[int, RateLimitItem] = {}
        self._refusing: set[str] = set()  # keys refused since their last allowed request: logged once, not per 429

    def _item(self, rate: int) -> RateLimitItem:
        """The `limits` item for `rate` a minute (made once per rate)."""
        item = self._items.get(rate)
        if item is None:
            item = self._items[rate] = RateLimitItemPerMinute(rate)
        return item

    def hit(self, key_id: str) -> Usage:
        """Count one request of this key; RateLimited (nothing counted) when its window is full."""
        rate = self.auth.api_key_rate(key_id) or self.default
        item = self._item(rate)
        allowed = self._limiter.hit(item, "key", key_id)
        stats = self._limiter.get_window_stats(item, "key", key_id)
        reset_s = max(0, math.ceil(stats.reset_time - time.time()))
        if not allowed:
            if key_id not in self._refusing:  # a flood must not flood the log as well
                self._refusing.add(key_id)
                log.warning("[API] chave %s passou de %d requisições por minuto: 429 até liberar (%d s)", key_id,
                            rate, reset_s)
            raise RateLimited(f"This API key may make {rate} requests a minute: try again in {reset_s} s",
                              details={"retryAfter": max(0, reset_s - 1), "limit": rate, "keyId": key_id})
        self._refusing.discard(key_id)
        return Usage(rate, stats.remaining, reset_s)


def install(app: Flask, auth: AuthService) -> None:
    """Count every API-key request after the credential check (security.install runs first)."""
    limiter = KeyRateLimiter(auth, app.config.get("API_KEY_RATE_PER_MINUTE", DEFAULT_RATE_PER_MINUTE))
    app.extensions["zapool.ratelimit"] = limiter
    app.register_blueprint(bp)

    @app.before_request
    def limit_api_key() -> None:
        principal = g.get("principal")
        if principal is not None and principal.kind == "api_key":
            g.rate_usage = None
            try:
                g.rate_usage = limiter.hit(principal.id)
            except RateLimited as exc:
                details = exc.details
                g.rate_usage = Usage(details["limit"], 0, details["retryAfter"] + 1)
                raise

    @app.after_request
    def rate_headers(response: Response) -> Response:
        usage = g.get("rate_usage")
        if usage is not None:
            response.headers["RateLimit-Limit"] = str(usage.limit)
            response.headers["RateLimit-Remaining"] = str(usage.remaining)
            response.headers["RateLimit-Reset"] = str(usage.reset_s)
            response.headers["RateLimit-Policy"] = f"{usage.limit};w={WINDOW_S}"
        return response


@bp.put("/auth/keys/<key_id>/rate-limit")
def set_key_rate(key_id: str) -> Response:
    """Set a key's requests a minute (null: the default): only from the owner's logged-in window, so a key
    can never raise its own limit (or another's)."""
    auth: AuthService = current_app.extensions["zapool.auth"]
    if not any(key.id == key_id for key in auth.list_api_keys()):  # any caller may list the ids (GET /auth/keys)
        raise NotFound(f"No API key {key_id[:40]!r}", details={"id": key_id[:40]})
    if g.principal.kind != "session":
        raise SessionRequired("Only the owner's logged-in window may change an API key's rate, not an API key")
    rate = field(json_body(), "ratePerMinute", int)
    return jsonify(auth.set_api_key_rate(key_id, rate).to_dict())
