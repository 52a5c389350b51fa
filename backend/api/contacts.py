"""Contacts from WhatsApp: a number's address book (searchable, for the chat window's picker) and one contact's
details. The chat list and a chat's history from WhatsApp are GET /clients/{id}/chats[/{chatId}/messages?before=]
in messages.py, which hand over to the same capability (service.contacts)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .body import query_limit
from .clients import svc

bp = Blueprint("contacts", __name__)


@bp.get("/clients/<client:client_id>/contacts")
def list_contacts(client_id: str) -> Response:
    """The number's contacts, saved ones first; ?search= a name or a number."""
    return jsonify(svc().contacts.list_contacts(client_id, request.args.get("search"), query_limit(200)))


@bp.get("/clients/<client:client_id>/contacts/<contact_id>")
def get_contact(client_id: str, contact_id: str) -> Response:
    """One contact: names, business or not, profile picture URL."""
    return jsonify(svc().contacts.get_contact(client_id, contact_id))
