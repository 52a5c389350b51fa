"""The JSON shapes of the contacts capability (issue 16 section 1): contacts from WhatsApp, and the fields
WhatsApp's chat list adds to a chat (backend/contacts/service.py and chats.py build them)."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import BOOLEAN, INTEGER, STRING, TIME, Schema, nullable, obj, ref

CONTACT = obj({
    "id": STRING, "number": nullable(STRING), "name": nullable({**STRING, "description": "as saved on the phone"}),
    "pushname": nullable({**STRING, "description": "the name the contact gave itself"}),
    "isBusiness": BOOLEAN, "isMyContact": BOOLEAN,
    "displayName": {**STRING, "description": "name, else push name, else +number: what the windows show"},
    "profilePictureUrl": nullable({**STRING, "description": "only in GET .../contacts/{contactId}; null when "
                                                            "the contact has none or hides it"}),
}, optional=("profilePictureUrl",), description="A contact of one number, as WhatsApp knows it.")

CONTACT_LIST = obj({"items": {"type": "array", "items": ref("Contact")}, "total": INTEGER}, extra=False,
                   description="The contacts matching ?search= (saved ones first); total: how many matched.")

PREVIEW = obj({"body": nullable(STRING), "type": STRING, "fromMe": BOOLEAN, "at": nullable(TIME)},
              description="The newest message of a chat, from the log or from WhatsApp.")

# GET /clients/{id}/chats, while the number is ready: WhatsApp's fields beside the log's (optional: absent while
# the number is not ready, when the list is the log's alone).
CHAT_FIELDS: dict[str, Schema] = {
    "name": nullable(STRING), "isGroup": BOOLEAN, "archived": BOOLEAN, "pinned": BOOLEAN, "muted": BOOLEAN,
    "onWhatsApp": {**BOOLEAN, "description": "false: only ZapPool's log knows this chat"},
    "whatsappUnreadCount": {**INTEGER, "description": "the phone's unread badge (unreadCount stays the log's)"},
    "preview": nullable(ref("ChatPreview")),
}

CONTACT_SCHEMAS: dict[str, Schema] = {"Contact": CONTACT, "ContactList": CONTACT_LIST, "ChatPreview": PREVIEW}

# A contact's profile picture through ZapPool's proxy (backend/contacts/pictures.py): rows for openapi.py's
# OPERATIONS (Op(**row)).
_PICTURE = {"description": "The picture's bytes, of the type read from them (JPEG, PNG or WebP; never WhatsApp's "
                           "Content-Type), with X-Content-Type-Options: nosniff, Content-Security-Policy: "
                           "default-src 'none' and Cache-Control: private, max-age=3600.",
            "content": {kind: {"schema": {"type": "string", "contentMediaType": kind}}
                        for kind in ("image/jpeg", "image/png", "image/webp")}}
_PICTURE_ERRORS = ("Invalid", "Conflict", "EngineError", "Unavailable", "Timeout")
_PICTURE_TEXT = ("404 picture_not_found: the contact has no picture, or its privacy hides it from this number "
                 "(kept an hour, a picture a day: WhatsApp is not asked again meanwhile). 502 picture_refused: "
                 "WhatsApp's URL or its answer broke a rule (details.reason: not_https, host_not_allowed, redirect, "
                 "too_large, not_an_image, status, encoding, unreachable); nothing is kept.")
PICTURE_OPERATIONS: tuple[dict[str, Any], ...] = (
    {"method": "get", "path": "/clients/{client_id}/contacts/{contact_id}/picture",
     "endpoint": "contacts.contact_picture", "summary": "A contact's profile picture, fetched and kept by ZapPool.",
     "ok": {"200": _PICTURE}, "errors": _PICTURE_ERRORS, "tags": ("contacts",),
     "description": "ZapPool asks the number's WhatsApp for the picture URL and fetches it itself (https, WhatsApp's "
                    "picture host only, no redirects, at most 1 MB), so a page never loads WhatsApp's URL. "
                    + _PICTURE_TEXT},
    {"method": "get", "path": "/clients/{client_id}/groups/{group_id}/picture", "endpoint": "groups.group_picture",
     "summary": "A group's picture (its icon), fetched and kept by ZapPool.",
     "ok": {"200": _PICTURE}, "errors": _PICTURE_ERRORS, "tags": ("groups",),
     "description": "As a contact's picture. A member changing it sends group_updated with picture: true, and "
                    "ZapPool drops its copy, so the next look has the new one. " + _PICTURE_TEXT},
    {"method": "get", "path": "/picture-links/{token}/{contact_id}", "endpoint": "contacts.picture_link",
     "summary": "A contact's profile picture through the link a desktop window was given (no credentials).",
     "ok": {"200": _PICTURE}, "errors": _PICTURE_ERRORS, "public": True, "tags": ("contacts",),
     "description": "A contact's or a group's (contact_id …@g.us). The bridge's contact_picture_link gives a window "
                    "one signed link per number (12 hours, this run of ZapPool only); 404 picture_link_invalid: "
                    "forged, expired or from an earlier run. "
                    + _PICTURE_TEXT},
)
