"""API keys as callers and the API see them: how a request carries one, what may be shown of one, its rate.

The keys themselves are made, checked and revoked by AuthService (service.py); this module holds the pieces
the REST layer needs too, without the service.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..store.accounts import ApiKeyRecord

KEY_PREFIX = "zp_"


@dataclass(frozen=True)
class ApiKeyInfo:
    """What may be shown about a key: never the key, never its hash."""

    id: str
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    rate_per_minute: int | None = None  # None: the API's default (api/ratelimit.py)

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None

    def to_dict(self) -> dict[str, object]:
        """The JSON shape for the REST API and the desktop bridge."""
        return {"id": self.id, "name": self.name, "prefix": self.prefix, "createdAt": self.created_at,
                "lastUsedAt": self.last_used_at, "revokedAt": self.revoked_at, "active": self.active,
                "ratePerMinute": self.rate_per_minute}


def key_info(record: ApiKeyRecord) -> ApiKeyInfo:
    """The showable part of a key record."""
    return ApiKeyInfo(record.id, record.name, record.prefix, record.created_at, record.last_used_at,
                      record.revoked_at, record.rate_per_minute)


def key_digest(secret: str) -> str:
    """SHA-256 hex of a key or token.

    A fast hash is enough here, unlike for passwords: keys and tokens are 32 random bytes, so there is nothing
    to guess and no dictionary to try; a slow hash would only slow down every API request.
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def api_key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The API key of a request: `X-Api-Key: <key>` or `Authorization: Bearer <key>` (any header case)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("x-api-key", "").strip():
        return lowered["x-api-key"].strip()
    scheme, _, value = lowered.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


MAX_RATE_PER_MINUTE = 100_000


def check_rate(rate: Any) -> int | None:
    """A key's requests a minute: a whole number from 1 to MAX_RATE_PER_MINUTE, or None (the default)."""
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_RATE_PER_MINUTE:
        raise InvalidInput(f"'ratePerMinute' must be a whole number from 1 to {MAX_RATE_PER_MINUTE:,}, or null",
                           details={"field": "ratePerMinute"})
    return rate
