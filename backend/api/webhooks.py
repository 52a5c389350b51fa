"""Webhooks: subscribe a URL to pool events, list and remove subscriptions, read their deliveries."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .body import field, json_body, query_limit
from .clients import svc

bp = Blueprint("webhooks", __name__)


@bp.get("/webhooks")
def list_webhooks() -> Response:
    """Every webhook, oldest first; the secret only as a hint."""
    return jsonify(svc().list_webhooks())


@bp.post("/webhooks")
def add_webhook() -> tuple[Response, int]:
    """Subscribe {url, events?, secret?}: the answer shows the secret, this once (one is made if not given)."""
    body = json_body()
    return jsonify(svc().add_webhook(field(body, "url", str, required=True), field(body, "events", list),
                                     field(body, "secret", str))), 201


@bp.get("/webhooks/<webhook_id>")
def get_webhook(webhook_id: str) -> Response:
    """One webhook."""
    return jsonify(svc().get_webhook(webhook_id))


@bp.delete("/webhooks/<webhook_id>")
def remove_webhook(webhook_id: str) -> tuple[str, int]:
    """Delete a webhook with its secret and its deliveries, queued ones included."""
    svc().remove_webhook(webhook_id)
    return "", 204


@bp.get("/webhooks/<webhook_id>/deliveries")
def deliveries(webhook_id: str) -> Response:
    """A webhook's deliveries, newest first: ?limit= (1-200) &cursor= (the last page's nextCursor)."""
    return jsonify(svc().webhook_deliveries(webhook_id, query_limit(), request.args.get("cursor") or None))
