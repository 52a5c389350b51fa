"""The events' JSON shapes: what each `data:` line of GET /events carries, and the body a webhook receives.

Every event is `{id, type, clientId, data, timestamp}`; `data` depends on `type`. The shapes mirror where each
event is made: WhatsAppClient._emit calls (qr, code, authenticated, ready, message, message_ack, disconnected,
status), the pool (client_added, client_removed), MessageLifecycle (message_status) and the stream's own reset.
An incoming message is the fields bridge.js takes from WhatsApp's message model.
"""

from __future__ import annotations

from ..events.lifecycle import MESSAGE_STEPS
from ..status import ClientStatus
from .openapi_schemas import BOOLEAN, EVENT_MEDIA, INTEGER, STRING, TIME, Schema, nullable, obj, ref

STATUS: Schema = {"type": "string", "enum": [s.value for s in ClientStatus]}

INCOMING_MESSAGE = obj({
    "id": nullable(STRING), "fromMe": BOOLEAN, "from": nullable(STRING), "to": nullable(STRING),
    "type": nullable(STRING), "body": nullable(STRING), "caption": nullable(STRING), "filename": nullable(STRING),
    "mimetype": nullable(STRING), "size": nullable(INTEGER), "t": nullable(INTEGER), "notifyName": nullable(STRING),
    # groups: `from` is the group (…@g.us), `author` the member who wrote and `notifyName` their push name
    "author": nullable(STRING), "subtype": nullable(STRING), "notice": nullable(STRING),
    "mentions": {"type": "array", "items": STRING},
    "filehash": nullable(STRING), "media": EVENT_MEDIA,
}, optional=("author", "subtype", "notice", "mentions", "filehash", "media"),
    description="A message as WhatsApp Web gave it (body for text, caption/filename/mimetype/size for media; in a "
                "group, `author` is the member who wrote it and `mentions` the members it @mentions); media "
                "messages also carry `media`, with the URL of their bytes (downloaded on arrival).")

# type -> the schema of `data`
EVENT_DATA: dict[str, Schema] = {
    "qr": obj({"qrCode": STRING, "code": STRING}, description="A new QR code to scan (data: URL and its text)."),
    "code": obj({"code": STRING, "phoneNumber": STRING}, description="A pairing code to type on the phone."),
    "authenticated": obj({}, description="The phone accepted the link; loading chats."),
    "ready": obj({"phoneNumber": nullable(STRING)}, description="Connected."),
    "message": obj({"message": ref("IncomingMessage")}, description="A contact wrote to the number."),
    "message_ack": obj({"id": STRING, "ack": nullable(INTEGER), "chat": nullable(STRING)},
                       description="WhatsApp's ack of a sent message: 1 sent, 2 delivered, 3 read."),
    "disconnected": obj({"reason": nullable(STRING)}, description="The number is no longer connected."),
    "status": obj({"status": STATUS, "previous": STATUS, "reason": nullable(STRING)},
                  description="Every status change, with the one before."),
    "client_added": obj({"info": ref("ClientInfo")}, description="A number was added to the pool."),
    "client_removed": obj({}, description="A number was removed (logged out and forgotten)."),
    "message_status": obj({"status": {"type": "string", "enum": [*MESSAGE_STEPS, "failed"]},
                           "message": ref("Message")},
                          description="An outgoing message reached a step of its life, each step once."),
    "rate_limited": obj({"cap": {"type": "string", "enum": ["hourly", "daily"]}, "limit": INTEGER,
                         "until": TIME, "reason": STRING, "message": ref("Message")},
                        description="A number reached its hourly or daily cap: the message waits (queued) until "
                                    "`until`, never failed."),
    "group_joined": obj({"groupId": STRING, "author": nullable(STRING)},
                        description="The number was added to a group, or joined one by its invite link."),
    "group_left": obj({"groupId": STRING, "author": nullable(STRING), "removed": BOOLEAN},
                      description="The number left a group, or was removed from it (removed: true)."),
    "group_participants": obj({
        "groupId": STRING,
        "action": {"type": "string", "enum": ["added", "removed", "promoted", "demoted", "joined", "left"]},
        "participants": {"type": "array", "items": STRING}, "author": nullable(STRING), "authorName": nullable(STRING)},
        description="Members of a group the number is in were added, removed, promoted to or demoted from admin, "
                    "joined by link or left; `author` did it."),
    "group_updated": obj({"groupId": STRING, "author": nullable(STRING), "subject": nullable(STRING),
                          "description": nullable(STRING), "picture": {"const": True}},
                         optional=("subject", "description", "picture"),
                         description="A group's subject, description or picture changed (only the field that "
                                     "changed is given; picture: the new one is GET .../groups/{groupId}/picture)."),
    # issue 17 §2 (backend/audience/optout.py): clientId is the number that received the keyword
    "contact.opted_out": obj({"optOut": ref("OptOut")},
                             description="A contact wrote an opt-out keyword (SAIR, PARAR...): opted out, and "
                                         "answered once with the confirmation."),
    # issue 17 §4 (backend/campaigns/service.py): clientId is null; counts as GET /campaigns/{id} gives them
    **{name: obj({"campaign": obj({"id": STRING, "name": STRING, "status": STRING, "counts": ref("CampaignCounts"),
                                   "expectedEndAt": nullable(TIME)})}, description=text)
       for name, text in (("campaign.started", "A campaign began sending (its start time came, or it was resumed)."),
                          ("campaign.progress", "A campaign's counts moved (at most once a second)."),
                          ("campaign.paused", "A campaign was paused."),
                          ("campaign.finished", "A campaign ended: everyone reached or skipped (finished), or "
                                                "it was cancelled (status says which)."))},
    "reset": obj({"reason": {"type": "string", "enum": ["too_old", "unknown_id"]}, "lastEventId": INTEGER,
                  "oldestEventId": INTEGER},
                 description="Events were missed (stream only): read the state again, then follow from this id."),
}


def _event(type_: str, data: Schema) -> Schema:
    """One event type's whole shape."""
    return obj({"id": INTEGER, "type": {"const": type_}, "clientId": nullable(STRING), "data": data,
                "timestamp": TIME, "node": STRING}, optional=("node",),  # node: cluster mode (issue 20)
               description=data.get("description"))


EVENT_SCHEMAS: dict[str, Schema] = {
    "IncomingMessage": INCOMING_MESSAGE,
    "Event": {"oneOf": [_event(t, d) for t, d in EVENT_DATA.items()],
              "description": "One pool event, as a `data:` line of GET /events carries it."},
}


def _webhook_body(type_: str, data: Schema) -> Schema:
    """The body ZapPool POSTs to a webhook for one event type."""
    return obj({"id": STRING, "event": {"const": type_}, "clientId": nullable(STRING), "data": data,
                "timestamp": TIME}, description=data.get("description"))


EVENT_SCHEMAS["WebhookBody"] = {
    "oneOf": [_webhook_body(t, d) for t, d in EVENT_DATA.items() if t != "reset"],
    "description": "What a webhook receives; `id` is the delivery's (the same on every retry: dedupe with it).",
}


def _header(name: str, text: str) -> Schema:
    """One request header ZapPool sends with a delivery."""
    return {"name": name, "in": "header", "required": True, "schema": {"type": "string"}, "description": text}


# The headers of every delivery (backend/webhooks/signing.py): the Standard Webhooks three to verify, and
# ZapPool's first ones, kept for one release.
WEBHOOK_HEADERS = [
    _header("webhook-id", "Standard Webhooks: the delivery's id, the same on every retry (= the body's id): "
                          "dedupe with it."),
    _header("webhook-timestamp", "Standard Webhooks: Unix seconds when this attempt was signed; refuse it more "
                                 "than 5 minutes away from your clock (a replayed delivery)."),
    _header("webhook-signature", "Standard Webhooks: `v1,` + base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}"
                                 ".{body}`, keyed with the secret: a `whsec_` secret's base64-decoded bytes (pass it "
                                 "as is to a standardwebhooks/svix library), any other secret's UTF-8 bytes."),
    _header("X-ZapPool-Signature", "Deprecated, removed after one release: `sha256=` + hex HMAC-SHA256 of the body "
                                   "alone, keyed with the secret's text; it does not stop replays."),
    _header("X-ZapPool-Delivery", "Deprecated: the same as webhook-id."),
    _header("X-ZapPool-Timestamp", "Deprecated: the same as webhook-timestamp (not covered by X-ZapPool-Signature)."),
    _header("X-ZapPool-Event", "The event's name (also in the body)."),
    _header("X-ZapPool-Attempt", "1 for the first attempt, then 2, 3..."),
]
