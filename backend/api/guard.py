"""What every request passes before any view: the Host it names, the size and type of its body; and the headers
every answer carries.

Host: a web page elsewhere can rebind its own name to 127.0.0.1 and then call ZapPool as a same-origin page of
that name (DNS rebinding). Its requests still say `Host: evil.example`, so a request naming any host other than
this computer's loopback names (or the ones given with `--allowed-host`) is answered 421 before any view.

Bodies: each route's cap is checked against Content-Length before Flask reads a byte (waitress has already
spooled a large body to a temporary file, not to memory); only the two send routes, whose JSON carries media in
base64, may be large. A JSON route takes `application/json` only, so a plain HTML form or a `text/plain` fetch
from another site cannot reach it without a CORS preflight, which ZapPool never grants.

Cookies are `Secure` when ZapPool is served behind HTTPS: `--behind-https`, or `X-Forwarded-Proto: https` from a
proxy named with `--trusted-proxy` (waitress drops that header from anyone else).
"""

from __future__ import annotations

import re

from flask import Flask, Response, current_app, request

from ..errors import ZapPoolError

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SMALL_BODY = 64 * 1024  # a login, a webhook, a preference: a few hundred bytes; room to spare
MEDIA_BODY = 150 * 1024 * 1024  # a 100 MB document in base64 (4/3) plus the JSON around it
BODY_LIMITS = {"messages.send_message": MEDIA_BODY, "messages.send_message_from": MEDIA_BODY}
MEDIA_PATHS = re.compile(r"/messages|/clients/[^/]+/messages")  # the same two routes, for waitress (server.py)
# Issue 17 §1: a template may carry media (an image or video of up to 16 MB, in base64), on create and change.
TEMPLATE_BODY = 23 * 1024 * 1024
BODY_LIMITS.update({f"templates.{name}": TEMPLATE_BODY for name in ("create_template", "replace_template",
                                                                     "change_template")})
TEMPLATE_PATHS = re.compile(r"/templates(?:/[^/?]+)?(?:\?.*)?")
JSON_TYPE = "application/json"
# issue 17 §2: POST /contacts/import takes the CSV file itself (text/csv, or a form's multipart upload); a
# cookie session still needs the app's own Origin for it (security.py), as for every change.
IMPORT_BODY = 8 * 1024 * 1024 + 64 * 1024  # the importer's 8 MiB file cap and a multipart envelope
BODY_LIMITS["audience.import_contacts"] = IMPORT_BODY
BODY_TYPES = {"audience.import_contacts": frozenset({"text/csv", "multipart/form-data"})}
IMPORT_PATH = "/contacts/import"
DOCS_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


class HostNotAllowed(ZapPoolError):
    """The request names a host this server is not meant to be reached by (DNS rebinding)."""

    status = 421
    code = "host_not_allowed"


class BodyTooLarge(ZapPoolError):
    """The declared body is over this route's cap."""

    status = 413
    code = "body_too_large"


class UnsupportedMediaType(ZapPoolError):
    """A JSON route was sent something that does not say it is JSON."""

    status = 415
    code = "unsupported_media_type"


def body_limit(endpoint: str | None) -> int:
    """The body cap of a route, in bytes (the OpenAPI document states the same numbers)."""
    return BODY_LIMITS.get(endpoint or "", SMALL_BODY)


def path_body_limit(method: str, path: str) -> int:
    """The body cap of a request line, before Flask routes it (waitress checks it: server.py)."""
    if method.upper() == "POST" and path.partition("?")[0] == IMPORT_PATH:
        return IMPORT_BODY
    if method.upper() in ("POST", "PUT", "PATCH") and TEMPLATE_PATHS.fullmatch(path):
        return TEMPLATE_BODY
    return MEDIA_BODY if method.upper() == "POST" and MEDIA_PATHS.fullmatch(path) else SMALL_BODY


def host_name(host: str) -> str:
    """The name part of a Host header: 'localhost:3000' -> 'localhost', '[::1]:3000' -> '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def allowed_hosts(app: Flask) -> frozenset[str]:
    """The names this server answers to: loopback, the address it listens on, and `--allowed-host`."""
    extra = {host_name(h) for h in app.config.get("ALLOWED_HOSTS", ())}
    return LOOPBACK_NAMES | extra


def is_https() -> bool:
    """The client reached ZapPool over HTTPS: configured so, or said so by a trusted proxy."""
    # waitress believes X-Forwarded-Proto from TRUSTED_PROXY only (server.py), and then sets the scheme from it.
    return bool(current_app.config.get("BEHIND_HTTPS")) or request.scheme == "https"


def _check_host() -> None:
    """421 for a Host that is not one of ours (also a missing one: HTTP/1.1 requires it)."""
    name = host_name(request.host or "")
    if name not in allowed_hosts(current_app):
        raise HostNotAllowed("This server is not reachable by that name: open it at http://127.0.0.1 or "
                             "start ZapPool with --allowed-host NAME", details={"host": (request.host or "")[:100]})


def _check_body() -> None:
    """413 over the route's cap (from Content-Length, before reading); 415 for a non-JSON body."""
    limit = body_limit(request.endpoint)
    request.max_content_length = limit  # a chunked body has no Content-Length: Werkzeug stops reading here
    length = request.content_length or 0
    if length > limit:
        raise BodyTooLarge(f"The body is larger than ZapPool's limit of {limit:,} bytes for this route",
                           details={"limit": limit, "contentLength": length})
    allowed = BODY_TYPES.get(request.endpoint or "", frozenset({JSON_TYPE}))
    if length and request.mimetype not in allowed:
        raise UnsupportedMediaType(f"Send the body as {' or '.join(sorted(allowed))}",
                                   details={"contentType": request.mimetype[:100]})


def _headers(response: Response) -> Response:
    """nosniff on every answer; /docs (HTML built from the document) may load nothing and run nothing."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.endpoint == "meta.docs":
        response.headers["Content-Security-Policy"] = DOCS_CSP
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


def install(app: Flask) -> None:
    """Register the checks first, so they run before the credential check and every view."""
    app.before_request(_check_host)
    app.before_request(_check_body)
    app.after_request(_headers)
