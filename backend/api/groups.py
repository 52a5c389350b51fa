"""A number's groups (issue 16, section 3): /clients/{id}/groups and below, over service.groups."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from werkzeug.routing import BaseConverter

from ..errors import InvalidInput
from ..service import ZapPoolService
from ..validation import GROUP_ID_PATTERN
from .body import field, json_body
from .clients import svc
from .contacts import image_response


class GroupIdConverter(BaseConverter):
    """`<group:group_id>`: a group's id (…@g.us), so /groups/join is never read as a group, and a path that could
    not name a group is a plain 404."""

    regex = GROUP_ID_PATTERN


bp = Blueprint("groups", __name__)
# Before the routes below: the converter must exist when their rules are added.
bp.record_once(lambda state: state.app.url_map.converters.setdefault("group", GroupIdConverter))
BASE = "/clients/<client:client_id>/groups"


def groups() -> Any:
    """The groups capability of this app's service (backend/groups/)."""
    service: ZapPoolService = current_app.extensions["zapool.service"]
    return service.groups


def _participants() -> list:
    """The body's `participants`: a list of phone numbers (the service checks each)."""
    return field(json_body(), "participants", list, required=True)


@bp.get(BASE)
def list_groups(client_id: str) -> Response:
    """The number's groups."""
    return jsonify(groups().list_groups(client_id))


@bp.post(BASE)
def create_group(client_id: str) -> tuple[Response, int]:
    """A new group: {"subject", "participants": ["5511..."]}; 201 with the group (its id ends in @g.us)."""
    body = json_body()
    group = groups().create(client_id, field(body, "subject", str, required=True),
                            field(body, "participants", list, required=True))
    return jsonify(group), 201


@bp.post(f"{BASE}/join")
def join_group(client_id: str) -> Response:
    """Join by invite: {"invite": "https://chat.whatsapp.com/<code>" or the code}."""
    return jsonify(groups().join(client_id, field(json_body(), "invite", str, required=True)))


@bp.get(f"{BASE}/<group:group_id>")
def get_group(client_id: str, group_id: str) -> Response:
    """One group."""
    return jsonify(groups().get(client_id, group_id))


@bp.patch(f"{BASE}/<group:group_id>")
def change_group(client_id: str, group_id: str) -> Response:
    """Set the subject and/or the description: {"subject"?, "description"?}; other fields are refused."""
    body = json_body()
    unknown = sorted(set(body) - {"subject", "description"})
    if unknown:
        raise InvalidInput(f"Unknown field {unknown[0][:64]!r}: only subject and description can be changed",
                           details={"field": unknown[0][:64]})
    return jsonify(groups().update(client_id, group_id, field(body, "subject", str), field(body, "description", str)))


@bp.get(f"{BASE}/<group:group_id>/picture")
def group_picture(client_id: str, group_id: str) -> Response:
    """The group's picture (its icon), through ZapPool's picture proxy as a contact's is; 404 picture_not_found."""
    found = svc().contacts.picture(client_id, group_id)
    return image_response(found.data, found.mimetype)


@bp.delete(f"{BASE}/<group:group_id>")
def leave_group(client_id: str, group_id: str) -> tuple[str, int]:
    """Leave the group."""
    groups().leave(client_id, group_id)
    return "", 204


@bp.post(f"{BASE}/<group:group_id>/participants")
def add_participants(client_id: str, group_id: str) -> Response:
    """Add people: {"participants": [...]}; each one's outcome in `results`."""
    return jsonify(groups().add_participants(client_id, group_id, _participants()))


@bp.delete(f"{BASE}/<group:group_id>/participants")
def remove_participants(client_id: str, group_id: str) -> Response:
    """Remove people: {"participants": [...]}."""
    return jsonify(groups().change_participants(client_id, group_id, _participants(), "remove"))


@bp.post(f"{BASE}/<group:group_id>/admins")
def promote(client_id: str, group_id: str) -> Response:
    """Make members admins: {"participants": [...]}."""
    return jsonify(groups().change_participants(client_id, group_id, _participants(), "promote"))


@bp.delete(f"{BASE}/<group:group_id>/admins/<participant>")
def demote(client_id: str, group_id: str, participant: str) -> Response:
    """An admin back to member."""
    return jsonify(groups().change_participants(client_id, group_id, [participant], "demote"))


@bp.get(f"{BASE}/<group:group_id>/invite")
def invite(client_id: str, group_id: str) -> Response:
    """The invite link (admins only)."""
    return jsonify(groups().invite(client_id, group_id))


@bp.delete(f"{BASE}/<group:group_id>/invite")
def revoke_invite(client_id: str, group_id: str) -> Response:
    """Revoke the invite link: the old one stops working; answers the new one."""
    return jsonify(groups().invite(client_id, group_id, revoke=True))
