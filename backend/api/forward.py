"""Any node answers for any number (issue 20): a call about a number another node of the cluster drives
(`/clients/<id>/...`: its info, QR code, disconnect, reconnect, logout, removal, limits, groups, chats...) is
passed to that node's API and its answer returned as it came, status and body.

The entry node checks the caller's credentials and counts its rate first; the call then goes to the owner with
the cluster's node token (`X-ZapPool-Node-Token`, a random secret every node reads from PostgreSQL), which the
owner accepts in place of a key and never forwards again. Where each node listens is what it wrote at its last
heartbeat (`--node-url`, default the address it listens on). A node that does not answer: 503 `unavailable`.

Headers: the caller's content and conditional headers go along (Range and If-None-Match, so a media download
resumes and a picture revalidates as on the owner); the owner's answer comes back with its headers (the media's
Content-Disposition and Content-Range, a picture's Cache-Control and Content-Security-Policy, Retry-After),
except those that describe one connection, which the entry node's server sets for its own.
"""

from __future__ import annotations

import hmac
import logging
import urllib.error
import urllib.request
from typing import Any

from flask import Flask, Response, current_app, request

from ..errors import Unavailable, ZapPoolError
from ..validation import CLIENT_ID_RE

log = logging.getLogger(__name__)
TOKEN_HEADER = "X-ZapPool-Node-Token"
PASSED_HEADERS = ("Content-Type", "Accept", "Accept-Language", "Range", "If-Range", "If-None-Match",
                  "If-Modified-Since")
# One connection's headers (RFC 9110 §7.6.1), and what the entry node's own server writes: not passed back.
CONNECTION_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
                                "trailer", "content-length", "date", "server", "set-cookie"})
TIMEOUT_S = 150  # longer than any call a node answers itself (a reconnect waits for the page to load)


def node_token_matches() -> bool:
    """Whether this request carries the cluster's node token (a call forwarded by another node)."""
    token = current_app.extensions["zapool.service"].node_token()
    given = request.headers.get(TOKEN_HEADER)
    return bool(token and given and hmac.compare_digest(given, token))


def forward_if_elsewhere() -> Response | None:
    """A call about another node's number: that node's answer; None to answer here."""
    client_id = (request.view_args or {}).get("client_id")
    if client_id is None or request.headers.get(TOKEN_HEADER):
        return None
    service = current_app.extensions["zapool.service"]
    target = service.forward_target(client_id)
    if target is None:
        return None
    return _pass_to(*target, service.node_token())


def forward_send_if_elsewhere() -> Response | None:
    """`POST /messages` with media (or a media template) for another node's number (`clientId`): passed whole to
    that node, as a `/clients/<id>/messages` call is, since the shared outbox carries no file between nodes; None
    to answer here. A text is not passed on: accepted here into the shared outbox, it is sent by whichever node
    drives the number, even if that node dies meanwhile (a forwarded call would then be 503)."""
    service = current_app.extensions["zapool.service"]
    if service.cluster is None or request.headers.get(TOKEN_HEADER):
        return None
    body = request.get_json(silent=True)
    client_id = body.get("clientId") if isinstance(body, dict) else None
    if not isinstance(client_id, str) or not CLIENT_ID_RE.fullmatch(client_id) or not _carries_media(service, body):
        return None
    target = service.forward_target(client_id)
    return _pass_to(*target, service.node_token()) if target is not None else None


def _carries_media(service: Any, body: dict[str, Any]) -> bool:
    """Whether the message is media: its own, or its template's (an unknown template is refused here)."""
    if body.get("media") is not None:
        return True
    template_id = body.get("templateId")
    if not isinstance(template_id, str):
        return False
    try:
        return service.templates.get(template_id).get("media") is not None
    except ZapPoolError:
        return False


def _pass_to(node: str, base: str, token: str) -> Response:
    """The same call on `base`, with the node token instead of the caller's credentials."""
    path = request.full_path if request.query_string else request.path
    headers = {name: request.headers[name] for name in PASSED_HEADERS if name in request.headers}
    outgoing = urllib.request.Request(base.rstrip("/") + path, data=request.get_data() or None,
                                      method=request.method, headers={**headers, TOKEN_HEADER: token})
    try:
        with urllib.request.urlopen(outgoing, timeout=TIMEOUT_S) as reply:
            status, body, answered = reply.status, reply.read(), reply.headers
    except urllib.error.HTTPError as answer:
        status, body, answered = answer.code, answer.read(), answer.headers
    except (OSError, ValueError) as exc:
        log.warning("[Cluster] chamada para o nó %s sem resposta: %s", node, exc)
        raise Unavailable(f"The node that drives this number ({node}) does not answer",
                          details={"node": node, "retryAfter": 5}) from None
    kept = [(name, value) for name, value in answered.items() if name.lower() not in CONNECTION_HEADERS]
    return Response(body, status=status, headers=kept)


def install(app: Flask) -> None:
    """After the credential check and the rate limit: forward what belongs to another node."""
    app.before_request(forward_if_elsewhere)
