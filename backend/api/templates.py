"""Templates (issue 17 §1): /templates and below, over service.templates; a template sent by POST /messages
is rendered there (messages.py asks `message_fields`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from werkzeug.routing import BaseConverter

from ..errors import InvalidInput
from ..service import ZapPoolService
from .body import json_body


class TemplateIdConverter(BaseConverter):
    """`<template:template_id>`: a template's id, so /templates/preview is never read as one and a path that
    could not name a template is a plain 404."""

    regex = r"tpl_[0-9a-f]{16}"  # what TemplatesService.create makes ("tpl_" + 8 random bytes in hex)


bp = Blueprint("templates", __name__)
bp.record_once(lambda state: state.app.url_map.converters.setdefault("template", TemplateIdConverter))
FIELDS = ("name", "text", "media")


def templates() -> Any:
    """The templates capability of this app's service (backend/templates/)."""
    service: ZapPoolService = current_app.extensions["zapool.service"]
    return service.templates


def _fields(*, partial: bool) -> dict[str, Any]:
    """The body's template fields; unknown keys are refused (a typo must not silently drop a change)."""
    body = json_body()
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown field '{unknown[0]}'", details={"field": unknown[0]})
    if not partial:
        for name in ("name", "text"):
            if body.get(name) is None:
                raise InvalidInput(f"'{name}' is required", details={"field": name})
    return {k: v for k, v in body.items() if not (partial and v is None and k != "media")}


@bp.get("/templates")
def list_templates() -> Response:
    """Every template, by name."""
    return jsonify(templates().list())


@bp.post("/templates")
def create_template() -> tuple[Response, int]:
    """A new template {"name", "text", "media"?}: 201 with its variables."""
    return jsonify(templates().create(_fields(partial=False))), 201


@bp.post("/templates/preview")
def preview_text() -> Response:
    """Unsaved text rendered with sample values (the Templates page's live preview)."""
    body = json_body()
    return jsonify(templates().preview_text(body.get("text"), body.get("variables")))


@bp.get("/templates/<template:template_id>")
def get_template(template_id: str) -> Response:
    """One template."""
    return jsonify(templates().get(template_id))


@bp.put("/templates/<template:template_id>")
def replace_template(template_id: str) -> Response:
    """Replace name and text (and media: left out or null, none)."""
    return jsonify(templates().update(template_id, _fields(partial=False), partial=False))


@bp.patch("/templates/<template:template_id>")
def change_template(template_id: str) -> Response:
    """Change the fields given; media null removes it."""
    return jsonify(templates().update(template_id, _fields(partial=True), partial=True))


@bp.delete("/templates/<template:template_id>")
def delete_template(template_id: str) -> tuple[str, int]:
    """Remove a template."""
    templates().delete(template_id)
    return "", 204


@bp.post("/templates/<template:template_id>/preview")
def preview_template(template_id: str) -> Response:
    """The text one message would get with these variables, and every choice's alternatives."""
    body = json_body(required=False)
    return jsonify(templates().preview(template_id, body.get("variables")))
