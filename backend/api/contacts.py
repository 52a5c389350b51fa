"""Contacts from WhatsApp: a number's address book (searchable, for the chat window's picker) and one contact's
details. The chat list and a chat's history from WhatsApp are GET /clients/{id}/chats[/{chatId}/messages?before=]
in messages.py, which hand over to the same capability (service.contacts). A contact's profile picture is served
through ZapPool (backend/contacts/pictures.py says why): the image bytes, never WhatsApp's URL to load."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .body import query_limit
from .clients import svc

bp = Blueprint("contacts", __name__)
PICTURE_CSP = "default-src 'none'"
PICTURE_MAX_AGE_S = 3600  # the browser keeps it an hour; ZapPool's own copy is kept a day


@bp.get("/clients/<client:client_id>/contacts")
def list_contacts(client_id: str) -> Response:
    """The number's contacts, saved ones first; ?search= a name or a number."""
    return jsonify(svc().contacts.list_contacts(client_id, request.args.get("search"), query_limit(200)))


@bp.get("/clients/<client:client_id>/contacts/<contact_id>")
def get_contact(client_id: str, contact_id: str) -> Response:
    """One contact: names, business or not, profile picture URL."""
    return jsonify(svc().contacts.get_contact(client_id, contact_id))


@bp.get("/clients/<client:client_id>/contacts/<contact_id>/picture")
def contact_picture(client_id: str, contact_id: str) -> Response:
    """The contact's profile picture: image bytes of the type read from them, or 404 picture_not_found."""
    found = svc().contacts.picture(client_id, contact_id)
    return image_response(found.data, found.mimetype)


@bp.get("/picture-links/<token>/<contact_id>")
def picture_link(token: str, contact_id: str) -> Response:
    """A picture through a desktop window's signed link (the link is the credential: contacts/pictures.py)."""
    found = svc().contacts.picture_by_link(token, contact_id)
    return image_response(found.data, found.mimetype)


def image_response(data: bytes, mimetype: str) -> Response:
    """Checked image bytes, which no browser may take for anything else or run."""
    response = Response(data, mimetype=mimetype)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = PICTURE_CSP
    response.headers["Cache-Control"] = f"private, max-age={PICTURE_MAX_AGE_S}"
    return response
