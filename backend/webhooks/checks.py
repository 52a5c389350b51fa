"""Checks on what a caller sends to create a webhook: its URL, its events and its secret.

Every refusal is an InvalidInput whose details name the field, and echoes at most a short excerpt of the
input (it may be hostile: huge, binary, or built to fill a log).

URL decisions:
- http or https with a host; ASCII only (percent-encode the path, use the punycode form of a host), at most
  2,048 characters, no spaces or control characters.
- No credentials (`https://user:pass@host/`): the URL is shown back by `GET /webhooks` and written in the
  log, so a password in it would leak; urllib would not send it as Basic auth anyway. The signature is how a
  receiver knows the call is ours; a token in the path or query string works too (the log drops the query).
- No fragment: a `#...` never reaches the server, so it is a mistake.
- Private and loopback hosts are allowed while the API listens on loopback only: the CRM or ERP is often on the
  same machine or network, and only whoever can call the local API (trusted with this machine already) can
  register a URL. Once the API listens wider they are refused, here and at each delivery (targets.py), unless
  --allow-private-webhooks says otherwise.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from ..errors import InvalidInput
from .signing import whsec_problem
from .targets import TargetPolicy, TargetRefused

MAX_URL = 2048
MAX_EVENTS = 32
SECRET_MIN, SECRET_MAX = 16, 256
HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$")


def _refuse(field: str, message: str, **details: Any) -> InvalidInput:
    """The error for one bad field."""
    return InvalidInput(message, details={"field": field, **details})


def _excerpt(value: Any) -> str:
    """A short, printable piece of a bad value for an error message."""
    return repr(value)[:60]


def check_url(url: Any) -> str:
    """A webhook URL that urllib can POST to, stripped of surrounding spaces; InvalidInput otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise _refuse("url", "url is required: an http:// or https:// address")
    url = url.strip()
    if len(url) > MAX_URL:
        raise _refuse("url", f"url is longer than {MAX_URL} characters", length=len(url))
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise _refuse("url", "url must be ASCII without spaces or control characters (percent-encode the "
                             "rest, and use the punycode form of the host)", url=_excerpt(url))
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. brackets that do not hold an IPv6 address
        raise _refuse("url", "url is not a valid address", url=_excerpt(url)) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _refuse("url", "url must start with http:// or https://", url=_excerpt(url))
    if "@" in parts.netloc:
        raise _refuse("url", "url must not carry a user or password: check the X-ZapPool-Signature header, or "
                             "put a token in the path or query string", url=_excerpt(parts.scheme + "://…"))
    if parts.fragment or url.endswith("#"):
        raise _refuse("url", "url must not have a #fragment (it is never sent to the server)", url=_excerpt(url))
    _check_host(parts.hostname, parts.netloc)
    try:
        parts.port  # raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        raise _refuse("url", "url has an invalid port", url=_excerpt(url)) from None
    return url


def _check_host(host: str | None, netloc: str) -> None:
    """A DNS name, an IPv4 address or a bracketed IPv6 address."""
    if not host:
        raise _refuse("url", "url has no host", url=_excerpt(netloc))
    if netloc.startswith("["):
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
            return
        except ValueError:
            raise _refuse("url", "url has an invalid IPv6 address", url=_excerpt(netloc)) from None
    if len(host) > 253 or not HOST_NAME.match(host):
        raise _refuse("url", "url has an invalid host name", url=_excerpt(host))


def check_target(url: str, policy: TargetPolicy) -> str:
    """`url` (already checked by check_url) when the policy lets webhooks reach its host; InvalidInput naming
    the url field otherwise (the host is resolved: every DNS answer must be allowed)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        policy.check_host(parts.hostname or "", port)
    except TargetRefused as exc:
        raise _refuse("url", f"url not allowed: {exc}", url=_excerpt(parts.scheme + "://" + parts.netloc),
                      reason="private_target") from None
    return url


def check_events(events: Any, known: Sequence[str]) -> list[str]:
    """A non-empty list of known event names (or "*"), duplicates dropped; None means ["*"]."""
    if events is None:
        return ["*"]
    if isinstance(events, (str, bytes)) or not isinstance(events, (list, tuple)):
        raise _refuse("events", 'events must be a list of event names, e.g. ["message", "status"] or ["*"]')
    if not events:
        raise _refuse("events", 'events must name at least one event (["*"] for the default set)')
    if len(events) > MAX_EVENTS:
        raise _refuse("events", f"events lists at most {MAX_EVENTS} names", count=len(events))
    allowed = set(known) | {"*"}
    unknown = [_excerpt(name) for name in events if not isinstance(name, str) or name not in allowed]
    if unknown:
        raise _refuse("events", f"unknown events {', '.join(unknown[:5])}; known: *, {', '.join(known)}",
                      unknown=unknown[:5], known=["*", *known])
    return list(dict.fromkeys(events))


def check_secret(secret: Any) -> str:
    """A caller's secret: 16-256 printable ASCII characters without spaces (the same bytes in any language)."""
    if not isinstance(secret, str):
        raise _refuse("secret", "secret must be text (or left out, to have one generated)")
    if not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise _refuse("secret", f"secret must have {SECRET_MIN} to {SECRET_MAX} characters",
                      length=len(secret))
    if not secret.isascii() or not secret.isprintable() or any(ch.isspace() for ch in secret):
        raise _refuse("secret", "secret must be printable ASCII without spaces")
    problem = whsec_problem(secret)
    if problem:
        raise _refuse("secret", problem)
    return secret
