"""The HTTP POST of a delivery, and what of its outcome is kept: a status and a reason ZapPool wrote.

Why only that: `lastError` is shown to whoever can call the API, and the log may be read by others. A receiver's
answer (its body, its reason phrase, a malformed status line) is not ZapPool's to repeat: a webhook aimed at an
internal service would otherwise read that service back, 200 characters at a time. So the body is read (to end
the connection cleanly) and dropped, and every failure is described by ZapPool's own words.
"""

from __future__ import annotations

import http
import http.client
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from .targets import NotResolved, TargetPolicy, TargetRefused


@dataclass(frozen=True)
class Response:
    """What one attempt got back: an HTTP status, or None when no answer came (then `error` says why).
    `refused`: the target may not be called at all (failed at once, not retried)."""

    status: int | None
    error: str | None = None
    retry_after: str | None = None
    refused: bool = False


Transport = Callable[[str, bytes, dict[str, str], float], Response]


def status_reason(code: int) -> str:
    """`HTTP 503 Service Unavailable`: the status and the standard phrase, never the receiver's own."""
    try:
        return f"HTTP {code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def failure_reason(exc: BaseException, timeout_s: float) -> str:
    """A failure without an HTTP status, in ZapPool's words (exception texts may quote the receiver)."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no answer within {timeout_s:g} s"
    if isinstance(exc, socket.gaierror | NotResolved):
        return "the host name did not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError | http.client.RemoteDisconnected | BrokenPipeError):
        return "the connection was closed before an answer"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "TLS: the certificate could not be verified"
    if isinstance(exc, ssl.SSLError):
        return "TLS: the secure connection failed"
    if isinstance(exc, http.client.HTTPException):
        return "the answer was not valid HTTP"
    if isinstance(exc, ValueError):
        return "the URL cannot be used"
    if isinstance(exc, OSError) and exc.errno:
        return f"connection failed ({exc.strerror or 'errno ' + str(exc.errno)})"
    return "connection failed"


class HttpTransport:
    """POST with urllib (the standard library: nothing to install) through the policy's opener; every failure
    becomes a Response."""

    def __init__(self, policy: TargetPolicy):
        self.policy = policy

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Response:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self.policy.opener().open(request, timeout=timeout_s) as answer:
                _drain(answer, 65_536)
                return Response(answer.status)
        except urllib.error.HTTPError as exc:
            _drain(exc, 65_536)
            exc.close()
            return Response(exc.code, status_reason(exc.code),
                            exc.headers.get("Retry-After") if exc.headers else None)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # URLError (carrying a TargetRefused, a refused connection...), timeouts; ValueError: a bad URL.
            reason = getattr(exc, "reason", None)
            cause = reason if isinstance(reason, BaseException) else exc
            if isinstance(cause, TargetRefused) and not isinstance(cause, NotResolved):
                return Response(None, f"target refused: {cause}"[:300], refused=True)
            return Response(None, failure_reason(cause, timeout_s))


def _drain(answer: object, limit: int) -> None:
    """Read (part of) an answer's body so the connection ends cleanly; what it says is not kept."""
    try:
        answer.read(limit)  # type: ignore[attr-defined]
    except (OSError, http.client.HTTPException):
        pass
