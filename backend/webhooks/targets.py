"""Where webhooks may go: once the API listens beyond loopback, not to this machine or the networks around it.

Why: a webhook is a request ZapPool makes, from inside the network, to a URL a caller chose (SSRF). While the
API answers on loopback only, every caller already runs on this machine and can reach what ZapPool reaches. Once
it listens wider, a caller on the LAN with an API key could aim webhooks at 127.0.0.1 services, the router's admin
page or a cloud metadata address (169.254.169.254). Then (the policy is "guarding"):

- at creation, the URL's host is refused when it is such an address, or when any address its name resolves to is
  (every DNS answer counts: one private answer among public ones is enough to refuse);
- at every delivery, again, on the addresses the connection really uses: the name is resolved once, every answer
  is checked, and the socket connects to a checked address. A name whose answer changes between creation and
  delivery (DNS rebinding), or between the check and the connection, cannot slip through.

Refused: every address that is not globally routable (ipaddress's `is_global`: loopback, RFC 1918, link-local,
CGNAT, unique-local, documentation, unspecified 0.0.0.0 and ::), multicast, and IPv6 forms that carry one
(::ffff:10.0.0.1, 6to4, Teredo, NAT64 64:ff9b::a00:1). `--allow-private-webhooks` turns the policy off for a CRM
on the LAN. While guarding, environment proxies (HTTP_PROXY) are not used: the check would see the proxy, not the
target.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import threading
import urllib.request
from typing import Any

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: an IPv4 address in its last 32 bits


class TargetRefused(OSError):
    """A webhook target this ZapPool must not call; an OSError so urllib carries it through as a URLError."""


class NotResolved(TargetRefused):
    """The target's name has no address (now): a passing failure, retried, not a refusal."""


def refused_address(address: IpAddress) -> bool:
    """True for an address a guarded webhook must not reach (not public, or multicast)."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None and refused_address(inner):
            return True
    return address.is_multicast or not address.is_global


def resolve(host: str, port: int) -> list[IpAddress]:
    """Every address `host` stands for (an address literal is itself); TargetRefused when the name has none."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise NotResolved(f"the name {host[:80]} did not resolve") from None
    found = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in answers]
    return list(dict.fromkeys(found))


def checked_addresses(host: str, port: int) -> list[IpAddress]:
    """The addresses of `host`, all of them allowed; TargetRefused naming the first one that is not."""
    addresses = resolve(host, port)
    for address in addresses:
        if refused_address(address):
            raise TargetRefused(f"{host[:80]} is (or resolves to) {address}, a private, loopback or link-local "
                                "address; webhooks may not target those while the API listens beyond loopback")
    return addresses


class TargetPolicy:
    """Whether webhook targets are checked (`guarding`), and the urllib openers that go with it."""

    def __init__(self, guarding: bool = False):
        self._lock = threading.Lock()
        self._guarding = guarding
        self.plain_opener = urllib.request.build_opener(NoRedirect)
        self.guarded_opener = urllib.request.build_opener(
            NoRedirect, urllib.request.ProxyHandler({}), GuardedHTTPHandler, GuardedHTTPSHandler)

    @property
    def guarding(self) -> bool:
        """True when private, loopback and link-local targets are refused."""
        with self._lock:
            return self._guarding

    def set_guarding(self, guarding: bool) -> None:
        """Turn the checks on or off (app.py: on when the API listens beyond loopback and no setting allows)."""
        with self._lock:
            self._guarding = guarding

    def check_host(self, host: str, port: int) -> None:
        """At creation: TargetRefused when guarding and `host` is, or resolves to, a refused address. A name that
        does not resolve now passes (it is checked again at each delivery)."""
        if not self.guarding:
            return
        try:
            checked_addresses(host, port)
        except NotResolved:
            pass

    def opener(self) -> urllib.request.OpenerDirector:
        """The opener for one delivery: the guarded one connects only to checked addresses."""
        return self.guarded_opener if self.guarding else self.plain_opener


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answered, not followed: urllib would replay a POST as a GET without the body (and a
    redirect could point a checked public URL at a private one)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Refuse every redirect, so the 3xx surfaces as an HTTPError."""
        return None


def _pinned_connection(address: tuple[str, int], timeout: Any = None,
                       source_address: Any = None) -> socket.socket:
    """socket.create_connection, but only to addresses that passed the check (resolved once, here)."""
    host, port = address
    last: OSError = TargetRefused(f"no address for {host[:80]}")
    for ip in checked_addresses(host, port):
        try:
            return socket.create_connection((str(ip), port), timeout, source_address)
        except OSError as exc:
            last = exc
    raise last


class GuardedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection that connects only to checked addresses."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._create_connection = _pinned_connection


class GuardedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection that connects only to checked addresses (the certificate is still checked against
    the URL's host name: HTTPSConnection wraps the pinned socket with server_hostname=host)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._create_connection = _pinned_connection


class GuardedHTTPHandler(urllib.request.HTTPHandler):
    """urllib's http:// handler over GuardedHTTPConnection."""

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(GuardedHTTPConnection, req)


class GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    """urllib's https:// handler over GuardedHTTPSConnection."""

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(GuardedHTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]
