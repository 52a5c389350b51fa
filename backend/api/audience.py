"""The business's customer list (issue 17 §2): /contacts and below, over service.audience.

Not WhatsApp's address book: a number's own contacts are /clients/{id}/contacts (api/contacts.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..errors import InvalidInput
from ..service import ZapPoolService
from .body import json_body, query_limit

bp = Blueprint("audience", __name__)


def audience() -> Any:
    """The audience capability of this app's service (backend/audience/)."""
    service: ZapPoolService = current_app.extensions["zapool.service"]
    return service.audience


def _uploaded() -> bytes:
    """The CSV file: the body itself (text/csv), or a multipart form's first file."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file") or next(iter(request.files.values()), None)
        if upload is None:
            raise InvalidInput("Send the CSV as the form's `file` field", details={"field": "file"})
        return upload.read()
    return request.get_data(cache=False)


def _tags_asked() -> list[str]:
    """?tags=a,b (or the form's `tags` field): applied to every imported row."""
    raw = request.args.get("tags") or (request.form.get("tags") if request.mimetype == "multipart/form-data"
                                       else None) or ""
    if len(raw) > 1000:
        raise InvalidInput("tags is longer than 1000 characters", details={"field": "tags"})
    return [t.strip() for t in raw.split(",") if t.strip()]


@bp.post("/contacts/import")
def import_contacts() -> Response:
    """Import a CSV (text/csv body or multipart `file`): {imported, merged, invalid: [{line, reason, message}]}."""
    data = _uploaded()
    return jsonify(audience().import_csv(data, _tags_asked()))


@bp.get("/contacts")
def list_contacts() -> Response:
    """Customers by id: ?q= (name or phone contains) &tag= &cursor= &limit=."""
    args = request.args
    return jsonify(audience().list(args.get("q", ""), args.get("tag", ""), args.get("cursor"), query_limit()))


@bp.post("/contacts")
def create_contact() -> tuple[Response, int]:
    """One customer {phone, name?, variables?, tags?}; the one with that phone is merged into."""
    return jsonify(audience().create(json_body())), 201


@bp.get("/contacts/tags")
def list_tags() -> Response:
    """Every tag and how many customers carry it."""
    return jsonify({"items": audience().tags()})


@bp.get("/contacts/<int:customer_id>")
def get_contact(customer_id: int) -> Response:
    """One customer."""
    return jsonify(audience().get(customer_id))


@bp.patch("/contacts/<int:customer_id>")
def change_contact(customer_id: int) -> Response:
    """{name?, variables?, addTags?, removeTags?}."""
    return jsonify(audience().update(customer_id, json_body()))


@bp.delete("/contacts/<int:customer_id>")
def delete_contact(customer_id: int) -> tuple[str, int]:
    """Forget a customer (an opt-out of the phone stays)."""
    audience().delete(customer_id)
    return "", 204


@bp.get("/contacts/optouts")
def list_optouts() -> Response:
    """Opt-outs in the order they came: ?cursor= &limit=."""
    return jsonify(audience().optouts(request.args.get("cursor"), query_limit()))


@bp.post("/contacts/optouts")
def add_optout() -> tuple[Response, int]:
    """{phone}: this phone receives nothing from now on."""
    return jsonify(audience().opt_out(json_body().get("phone"), "api")), 201


@bp.delete("/contacts/optouts/<phone>")
def remove_optout(phone: str) -> tuple[str, int]:
    """The phone may receive messages again."""
    audience().opt_in(phone)
    return "", 204


@bp.get("/contacts/settings")
def get_settings() -> Response:
    """The opt-out keywords and the confirmation text."""
    return jsonify(audience().optout_settings())


@bp.patch("/contacts/settings")
def change_settings() -> Response:
    """{keywords?, reply?}."""
    return jsonify(audience().optout_settings(json_body()))
