"""Webhook signatures: the Standard Webhooks headers (https://www.standardwebhooks.com/) and ZapPool's first ones.

Why Standard Webhooks: the old X-ZapPool-Signature covers the body only, so a captured delivery can be replayed
for ever. The standard signs `webhook-id.webhook-timestamp.body`, and a receiver's library (standardwebhooks,
svix) refuses a timestamp more than 5 minutes from its clock and a changed one (the signature breaks), and
dedupes by webhook-id. Each attempt is signed again with its own timestamp; the id stays the delivery's.

Secrets: generated ones are `whsec_` + base64 of 32 random bytes, the form those libraries take as is; the HMAC
key is the decoded bytes. A caller may bring a `whsec_` secret, or (as before) any 16-256 printable characters:
then the key is the secret's bytes (a library takes `whsec_` + base64 of them). The old headers keep being sent
for one release (X-ZapPool-Signature: `sha256=` + hex HMAC-SHA256 of the body, keyed with the whole secret text,
`whsec_` included): a receiver moves to the new ones, then the old ones go.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
KEY_BYTES = 32
KEY_MIN, KEY_MAX = 24, 64  # bytes a caller's whsec_ secret may decode to


def new_secret() -> str:
    """A fresh secret in the Standard Webhooks form."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def standard_key(secret: str) -> bytes:
    """The HMAC key of the webhook-signature header: a whsec_ secret's decoded bytes, else the text's bytes."""
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            pass  # only secrets stored before whsec_ was checked: sign with the text, as below
    return secret.encode("utf-8")


def whsec_problem(secret: str) -> str | None:
    """Why a caller's `whsec_...` secret is unusable, or None (secrets without the prefix are not concerned)."""
    if not secret.startswith(PREFIX):
        return None
    try:
        key = base64.b64decode(secret[len(PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return "a whsec_ secret must be whsec_ followed by standard base64"
    if not KEY_MIN <= len(key) <= KEY_MAX:
        return f"a whsec_ secret must decode to {KEY_MIN} to {KEY_MAX} bytes"
    return None


def legacy_signature(secret: str, body: bytes) -> str:
    """The X-ZapPool-Signature value: `sha256=` and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`."""
    signed = f"{delivery_id}.{timestamp}.".encode("utf-8") + body
    return "v1," + base64.b64encode(hmac.new(standard_key(secret), signed, hashlib.sha256).digest()).decode()


def delivery_headers(secret: str, delivery_id: str, event: str, attempt: int, timestamp: int,
                     body: bytes) -> dict[str, str]:
    """Every signature header of one attempt: the standard three and, for one release, ZapPool's own."""
    return {"webhook-id": delivery_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_signature(secret, delivery_id, timestamp, body),
            "X-ZapPool-Event": event, "X-ZapPool-Delivery": delivery_id,
            "X-ZapPool-Signature": legacy_signature(secret, body), "X-ZapPool-Timestamp": str(timestamp),
            "X-ZapPool-Attempt": str(attempt)}
