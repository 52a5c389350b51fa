"""Fetching a profile picture from the URL WhatsApp Web gave (`WPP.contact.getProfilePictureUrl`), treating the
URL and everything the server answers as hostile: the URL comes out of a page we do not control, and the bytes
are served to our own windows.

The rules (each pinned by tests/test_picture_security.py):

- https only, and only to a host on ALLOWED_HOSTS: WhatsApp serves profile pictures from its CDN host
  `pps.whatsapp.net` (URLs like https://pps.whatsapp.net/v/t61.24694-24/..._n.jpg?ccb=11-4&oh=...&oe=...; seen
  in the blocklist discussion RPiList/specials#554, "pps.whatsapp.net handles profile pictures", and in the
  documented answers of go-whatsapp-web-multidevice and wawp). `mmg.whatsapp.net` and `media-*.cdn.whatsapp.net`
  carry message media, not profile pictures, so they are not allowed here.
- The simulator (tests, the demo) serves its pictures over http on loopback: allowed only for the exact origins
  given in Settings.picture_origins, empty by default.
- The host's addresses must all be public (no IP literal, no private, loopback or link-local answer), and the
  connection goes to an address so checked (the name is resolved once), with the certificate checked against the
  host name. No proxy, no redirect followed (a 3xx is a refusal), a connect and a read timeout, and a whole-fetch
  deadline against a server that trickles bytes.
- At most MAX_BYTES, stopped as soon as it is passed; the type is read from the bytes (JPEG, PNG or WebP magic),
  never from Content-Type; compressed transfer encodings are refused (Accept-Encoding: identity).

urllib3 (a dependency of the test tools, already in the venv; now pinned in pyproject.toml) rather than urllib or
requests: it connects to a pinned address while verifying the certificate for the host name
(server_hostname/assert_hostname), takes redirect=False and retries=False per request, separate connect and read
timeouts, and streams the body without decoding it.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from ..errors import ZapPoolError

ALLOWED_HOSTS = frozenset({"pps.whatsapp.net"})
MAX_BYTES = 1024 * 1024  # WhatsApp's profile pictures are 640x640 JPEGs of some tens of kB
CONNECT_S, READ_S, DEADLINE_S = 5.0, 10.0, 20.0
MAX_URL = 4096
SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


class PictureRefused(ZapPoolError):
    """WhatsApp's picture URL or its answer failed a check: nothing is served or kept; details.reason says which."""

    status = 502
    code = "picture_refused"


@dataclass(frozen=True)
class Fetched:
    """A picture that passed every check: its bytes and the type read from them."""

    data: bytes
    mimetype: str


def refuse(reason: str, message: str) -> PictureRefused:
    """The refusal for one rule."""
    return PictureRefused(message, details={"reason": reason})


def sniff(data: bytes) -> str | None:
    """The image type of `data` by its first bytes (JPEG, PNG, WebP), None for anything else."""
    for magic, mimetype in SIGNATURES:
        if data.startswith(magic):
            return mimetype
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class PictureFetcher:
    """Fetches picture URLs under the rules above; `origins` are the extra origins allowed (the simulator's)."""

    def __init__(self, origins: Sequence[str] = (), hosts: frozenset[str] = ALLOWED_HOSTS):
        self.origins = frozenset(_origin(o) for o in origins)
        self.hosts = hosts

    def fetch(self, url: str) -> Fetched:
        """The checked picture at `url`; PictureRefused naming the rule it broke."""
        scheme, host, port, target = self._check_url(url)
        if f"{scheme}://{host}:{port}" in self.origins:
            pool: urllib3.HTTPConnectionPool = urllib3.HTTPConnectionPool(host, port) if scheme == "http" else \
                urllib3.HTTPSConnectionPool(host, port)
        else:
            address = _public_address(host, port)
            pool = urllib3.HTTPSConnectionPool(address, port, server_hostname=host, assert_hostname=host)
        with pool:
            return _read(pool, target, host)

    def _check_url(self, url: str) -> tuple[str, str, int, str]:
        """(scheme, host, port, path?query) of an allowed URL; PictureRefused otherwise."""
        if not isinstance(url, str) or len(url) > MAX_URL or not url.isascii() or any(c.isspace() for c in url):
            raise refuse("bad_url", "WhatsApp gave a picture URL that is not a plain address")
        try:
            parts = urlsplit(url)
            scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise refuse("bad_url", "WhatsApp gave a picture URL that is not a valid address") from None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if parts.username is not None or parts.password is not None:
            raise refuse("bad_url", "A picture URL must not carry a user or password")
        if f"{scheme}://{host}:{port}" in self.origins:
            return scheme, host, port, target
        if scheme != "https":
            raise refuse("not_https", "Profile pictures are fetched over https only")
        if host not in self.hosts or port != 443:
            raise refuse("host_not_allowed", f"{host[:80] or 'no host'} is not a WhatsApp picture host")
        return scheme, host, port, target


def _origin(origin: str) -> str:
    """scheme://host:port of an origin or URL, with the default port written out."""
    parts = urlsplit(origin.strip())
    scheme = parts.scheme.lower()
    return f"{scheme}://{(parts.hostname or '').lower()}:{parts.port or (443 if scheme == 'https' else 80)}"


def _public_address(host: str, port: int) -> str:
    """One address of `host`, all of whose addresses are public; PictureRefused otherwise."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        raise refuse("host_not_allowed", "A picture host must be a name, not an address")
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise refuse("unreachable", f"{host[:80]} did not resolve") from None
    addresses = [ipaddress.ip_address(str(a[4][0]).split("%", 1)[0]) for a in answers]
    if not addresses or any(not a.is_global or a.is_multicast for a in addresses):
        raise refuse("host_not_allowed", f"{host[:80]} resolves to a private or local address")
    return str(addresses[0])


def _read(pool: urllib3.HTTPConnectionPool, target: str, host: str) -> Fetched:
    """GET `target` without redirects, at most MAX_BYTES within DEADLINE_S, and check what came."""
    try:
        response = pool.urlopen("GET", target, headers={"Host": host, "Accept": "image/*",
                                                        "Accept-Encoding": "identity"},
                                redirect=False, retries=False, preload_content=False,
                                timeout=urllib3.Timeout(connect=CONNECT_S, read=READ_S))
    except urllib3.exceptions.HTTPError as exc:
        raise refuse("unreachable", f"The picture server did not answer ({type(exc).__name__})") from None
    try:
        return _body(response)
    except urllib3.exceptions.HTTPError as exc:
        raise refuse("unreachable", f"The picture download failed ({type(exc).__name__})") from None
    finally:
        response.release_conn()
        response.close()


def _body(response: urllib3.BaseHTTPResponse) -> Fetched:
    """The answer's body under the rules: 200, no encoding, within the size and the deadline, an image."""
    if 300 <= response.status < 400:
        raise refuse("redirect", "The picture server answered with a redirect, which is not followed")
    if response.status != 200:
        raise refuse("status", f"The picture server answered {response.status}")
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        raise refuse("encoding", "The picture came compressed, which is refused")
    length = response.headers.get("Content-Length") or "0"
    if not length.isdigit() or int(length) > MAX_BYTES:
        raise refuse("too_large", f"The picture is larger than {MAX_BYTES // 1024} kB")
    parts, size, deadline = [], 0, time.monotonic() + DEADLINE_S
    for chunk in response.stream(64 * 1024, decode_content=False):
        size += len(chunk)
        if size > MAX_BYTES:
            raise refuse("too_large", f"The picture is larger than {MAX_BYTES // 1024} kB")
        if time.monotonic() > deadline:
            raise refuse("unreachable", "The picture took too long to arrive")
        parts.append(chunk)
    data = b"".join(parts)
    mimetype = sniff(data)
    if mimetype is None:
        raise refuse("not_an_image", "The picture is not a JPEG, PNG or WebP image")
    return Fetched(data, mimetype)
