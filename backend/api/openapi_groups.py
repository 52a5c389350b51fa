"""The groups routes' rows of the OpenAPI document (openapi.py's OPERATIONS takes them as Op(**row)) and their
shapes. Each refusal names its reason in the error code: not_group_admin (403), group_not_found and
not_group_member and invalid_invite (404), group_full, already_group_admin and not_an_admin (409),
participant_not_on_whatsapp and invalid_input (422)."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import BOOLEAN, INTEGER, STRING, Schema, nullable, obj, ref, request_obj

_NUMBERS: Schema = {"type": "array", "items": STRING, "minItems": 1, "maxItems": 256,
                    "description": "Phone numbers with country code, e.g. 5511999990001."}
PARTICIPANT = obj({"id": STRING, "number": STRING, "isAdmin": BOOLEAN, "isSuperAdmin": BOOLEAN},
                  description="A member; isSuperAdmin: the group's creator.")
GROUP_SCHEMAS: dict[str, Schema] = {
    "Group": obj({"id": {**STRING, "pattern": "@g\\.us$"}, "subject": STRING, "description": STRING,
                  "owner": nullable(STRING), "createdAt": nullable(INTEGER), "restrict": BOOLEAN, "announce": BOOLEAN,
                  "participants": {"type": "array", "items": ref("GroupParticipant")}, "size": INTEGER,
                  "iAmAdmin": BOOLEAN},
                 description="A group: restrict = only admins edit subject and description; announce = only admins "
                             "write; iAmAdmin = this number is an admin."),
    "GroupParticipant": PARTICIPANT,
    "GroupList": {"type": "array", "items": ref("Group")},
    "NewGroup": request_obj({"subject": {**STRING, "minLength": 1, "maxLength": 100}, "participants": _NUMBERS}),
    "GroupChange": request_obj({"subject": STRING, "description": STRING}, optional=("subject", "description")),
    "GroupParticipants": request_obj({"participants": _NUMBERS}),
    "GroupJoin": request_obj({"invite": STRING}),
    "GroupAdded": obj({"group": ref("Group"), "results": {"type": "array", "items": obj({
        "participant": STRING, "number": STRING, "code": nullable(INTEGER),
        "status": {"type": "string", "enum": ["added", "already_participant", "not_on_whatsapp", "group_full",
                                              "invite_required", "left_recently", "refused"]}})}},
                      description="The group now, and what happened to each participant."),
    "GroupInvite": obj({"groupId": STRING, "code": STRING, "link": STRING},
                       description="The invite link https://chat.whatsapp.com/<code>."),
    "GroupJoined": {"description": "The group joined (pendingApproval false), or {id, pendingApproval: true} while "
                                   "an admin must still approve.", "type": "object",
                    "properties": {"id": nullable(STRING), "pendingApproval": BOOLEAN}, "required": ["pendingApproval"]},
}

_WITH_BODY = ("BadRequest", "TooLarge", "UnsupportedType", "Invalid")
_ENGINE = ("Conflict", "EngineError", "Unavailable", "Timeout")
_BASE = "/clients/{client_id}/groups"
_REFUSALS = ("Invalid", "NotFound") + _ENGINE


def _row(method: str, path: str, endpoint: str, summary: str, ok: dict[str, Any], body: str | None = None,
         description: str = "") -> dict[str, Any]:
    errors = (_WITH_BODY if body else ()) + _REFUSALS
    return {"method": method, "path": path, "endpoint": f"groups.{endpoint}", "summary": summary, "ok": ok,
            "body": body, "errors": errors, "description": description, "tags": ("groups",)}


GROUP_OPERATIONS: tuple[dict[str, Any], ...] = (
    _row("get", _BASE, "list_groups", "The number's groups: subject, description, participants (admins marked), "
         "whether it is admin.", {"200": "GroupList"}),
    _row("post", _BASE, "create_group", "Create a group with participants; the number is its admin.",
         {"201": "Group"}, "NewGroup", "A participant not on WhatsApp: 422 participant_not_on_whatsapp."),
    _row("post", f"{_BASE}/join", "join_group", "Join a group by its invite link or code.", {"200": "GroupJoined"},
         "GroupJoin", "A wrong or revoked invite: 404 invalid_invite; a full group: 409 group_full."),
    _row("get", f"{_BASE}/{{group_id}}", "get_group", "One group.", {"200": "Group"}),
    _row("patch", f"{_BASE}/{{group_id}}", "change_group", "Set the subject and/or the description.",
         {"200": "Group"}, "GroupChange", "Refused with 403 not_group_admin when only admins may (restrict)."),
    _row("delete", f"{_BASE}/{{group_id}}", "leave_group", "Leave the group.", {"204": None}),
    _row("post", f"{_BASE}/{{group_id}}/participants", "add_participants", "Add participants (admins only).",
         {"200": "GroupAdded"}, "GroupParticipants",
         "403 not_group_admin; 422 participant_not_on_whatsapp; 409 group_full when none fits."),
    _row("delete", f"{_BASE}/{{group_id}}/participants", "remove_participants", "Remove participants (admins only).",
         {"200": "Group"}, "GroupParticipants", "403 not_group_admin; 404 not_group_member."),
    _row("post", f"{_BASE}/{{group_id}}/admins", "promote", "Make participants admins (admins only).",
         {"200": "Group"}, "GroupParticipants", "403 not_group_admin; 409 already_group_admin."),
    _row("delete", f"{_BASE}/{{group_id}}/admins/{{participant}}", "demote", "Make an admin a plain member again.",
         {"200": "Group"}, description="403 not_group_admin; 409 not_an_admin."),
    _row("get", f"{_BASE}/{{group_id}}/invite", "invite", "The group's invite link (admins only).",
         {"200": "GroupInvite"}),
    _row("delete", f"{_BASE}/{{group_id}}/invite", "revoke_invite",
         "Revoke the invite link: the old one stops working; answers the new one.", {"200": "GroupInvite"}),
)
GROUP_PATH_SCHEMAS = {"group_id": {**STRING, "pattern": "^\\d{10,30}(?:-\\d{1,20})?@g\\.us$"}}
GROUP_PATH_PARAMS = {"group_id": "A group's id, e.g. 120363012345678901@g.us.",
                     "participant": "A participant's phone number, digits with country code."}
