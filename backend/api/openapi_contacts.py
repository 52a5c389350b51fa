"""The JSON shapes of the contacts capability (issue 16 section 1): contacts from WhatsApp, and the fields
WhatsApp's chat list adds to a chat (backend/contacts/service.py and chats.py build them)."""

from __future__ import annotations

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
