"""Messages: send (queued, or waited for), look one up, list the log, chats for the chat window."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ..errors import InvalidInput
from ..status import Direction
from .body import field, json_body, query_limit
from .clients import svc
from .forward import forward_send_if_elsewhere

bp = Blueprint("messages", __name__)
WAIT_TIMEOUT_S = 60.0


def _payload() -> dict[str, Any]:
    """The message fields of the body, each checked for its type."""
    body = json_body()
    media = field(body, "media", dict)
    if media is not None:
        for name in ("data", "mimetype"):
            field(media, name, str, required=True)
        for name in ("filename", "caption"):
            field(media, name, str)
    payload = {"to": field(body, "to", str, required=True), "text": field(body, "text", str), "media": media,
               "clientId": field(body, "clientId", str)}
    if body.get("templateId") is not None:  # issue 17 §1: the template rendered here, sent as its text (or media)
        if payload["text"] is not None or media is not None:
            raise InvalidInput("Send either a template or text/media", details={"field": "templateId"})
        payload.update(svc().templates.message_fields(body["templateId"], body.get("variables")))
    return payload


def _send(client_id: str | None) -> tuple[Response, int]:
    """202 with the accepted message, or (wait=true) 200 once sent; a failure is its error."""
    wait = request.args.get("wait", "false").lower() in ("1", "true", "yes")
    record = svc().send(_payload(), client_id, wait=wait, timeout_s=WAIT_TIMEOUT_S)
    return jsonify(record), 200 if wait else 202


@bp.post("/messages")
def send_message() -> tuple[Response, int]:
    """Send through `clientId`, or through the next ready number in turn. In a cluster, a `clientId` another
    node drives: that node's answer (api/forward.py)."""
    forwarded = forward_send_if_elsewhere()
    if forwarded is not None:
        return forwarded, forwarded.status_code
    return _send(None)


@bp.post("/clients/<client:client_id>/messages")
def send_message_from(client_id: str) -> tuple[Response, int]:
    """Send through this number."""
    return _send(client_id)


@bp.get("/messages/<message_id>")
def get_message(message_id: str) -> Response:
    """One message: status, ack, reason."""
    return jsonify(svc().get_message(message_id))


def _time(name: str) -> int | None:
    """?since= / ?until= as ISO 8601 or epoch milliseconds, returned in epoch milliseconds."""
    raw = request.args.get(name)
    if not raw:
        return None
    if raw.isdigit():
        return int(raw)
    try:
        return int(datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        raise InvalidInput(f"'{name}' must be an ISO 8601 time or epoch milliseconds", details={"field": name}) from None


@bp.get("/messages")
def list_messages() -> Response:
    """The message log, newest first: ?clientId= &chat= &direction=in|out &since= &until= &cursor= &limit=."""
    direction = request.args.get("direction")
    if direction not in (None, *Direction):
        raise InvalidInput("'direction' is 'in' or 'out'", details={"field": "direction"})
    return jsonify(svc().list_messages(client_id=request.args.get("clientId"), chat=request.args.get("chat"),
                                       direction=direction, since=_time("since"), until=_time("until"),
                                       cursor=request.args.get("cursor"), limit=query_limit()))


@bp.get("/clients/<client:client_id>/chats")
def list_chats(client_id: str) -> Response:
    """A number's conversations: WhatsApp's chat list merged with the log's while it is ready, else the log's."""
    return jsonify(svc().contacts.list_chats(client_id, request.args.get("cursor"), query_limit()))


@bp.get("/clients/<client:client_id>/chats/<chat_id>/messages")
def chat_messages(client_id: str, chat_id: str) -> Response:
    """One conversation, newest first; ?before=<waMessageId>|now: the page before it, from WhatsApp."""
    if "before" in request.args:
        return jsonify(svc().contacts.history(client_id, chat_id, request.args["before"], query_limit()))
    return jsonify(svc().chat_messages(client_id, chat_id, request.args.get("cursor"), query_limit()))


@bp.post("/clients/<client:client_id>/chats/<chat_id>/read")
def mark_chat_read(client_id: str, chat_id: str) -> Response:
    """The conversation was seen: its incoming messages are read, its unread count drops to 0."""
    return jsonify(svc().mark_chat_read(client_id, chat_id))
