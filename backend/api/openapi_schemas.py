"""The JSON shapes of the REST API as OpenAPI 3.1 component schemas (JSON Schema 2020-12).

Each schema mirrors the function that builds the JSON: Client.get_info(), WhatsAppPool.get_stats(),
MessageRecord.to_dict(), ChatSummary.to_dict(), the webhook service's views, ApiKeyInfo.to_dict(). Keys are
all required, since those functions always write every key; a value that may be missing is null instead.
"""

from __future__ import annotations

from typing import Any

from ..status import ClientStatus
from ..validation import LANGUAGES, MAX_ORDERED, MAX_PATH_CHARS

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
CLIENT_ID = "^(?!all$)[A-Za-z0-9_-]{1,64}$"  # backend.validation.CLIENT_ID_PATTERN, anchored
MESSAGE_STATUSES = ["queued", "sending", "sent", "delivered", "read", "failed", "received"]
DELIVERY_STATUSES = ["pending", "delivering", "delivered", "failed"]


# A number's limits (backend.outbox.caps.FIELDS): pacing in seconds, caps in messages per clock hour / local day.
PACING_S: Schema = {"type": "number", "minimum": 0, "maximum": 3600}
CAP: Schema = {"type": "integer", "minimum": 0, "maximum": 1_000_000}
LIMITS: dict[str, Schema] = {"intervalS": PACING_S, "jitterS": PACING_S, "hourlyCap": CAP, "dailyCap": CAP}


def ref(name: str) -> Schema:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """The schema, or null."""
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = (), extra: bool = True,
        description: str | None = None) -> Schema:
    """An object whose keys are all required but `optional`; `extra`: more keys may come later."""
    schema: Schema = {"type": "object", "properties": properties,
                      "required": [k for k in properties if k not in optional]}
    if not extra:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def request_obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """A request body: the views read a null optional field as a missing one, so the schema allows null."""
    return obj({k: nullable(v) if k in optional else v for k, v in properties.items()}, optional=optional)


def page_of(item: str) -> Schema:
    """A page of a newest-first list: pass nextCursor back as ?cursor= (null: no more)."""
    return obj({"items": {"type": "array", "items": ref(item)}, "nextCursor": nullable(STRING)}, extra=False,
               description=f"One page of {item} items; nextCursor is null on the last page.")


ERROR = obj({"error": obj({"code": STRING, "message": STRING, "details": {"type": "object"}}, extra=False)},
            extra=False, description="Every JSON error: a stable code, a readable message, details (may be {}).")

CLIENT_INFO = obj({
    "clientId": STRING, "name": nullable(STRING),
    "status": {"type": "string", "enum": [s.value for s in ClientStatus]},
    "reason": nullable(STRING), "phoneNumber": nullable(STRING),
    "qrCode": nullable({"type": "string", "description": "the QR code as a data: URL (PNG)"}),
    "qrExpiresAt": nullable(TIME), "pairingCode": nullable(STRING),
    "metadata": obj({"createdAt": nullable(TIME), "lastQRAt": nullable(TIME), "connectedAt": nullable(TIME),
                     "messageCount": INTEGER, "lastError": nullable(STRING)}),
    "isReady": BOOLEAN,
    "onDemand": {**BOOLEAN, "description": "browser only while there is something to send (PATCH to change)"},
    "sleeping": {**BOOLEAN, "description": "an on-demand number at rest, no browser: a message wakes it"},
    "node": {**STRING, "description": "cluster mode (issue 20): the node that drives the number"},
}, optional=("node",), description="One number: the seed's shape (clientId, status, phoneNumber, qrCode, metadata, "
                                   "isReady); in cluster mode with `node` (GET /clients/all lists every node's).")

STATS = obj({
    "totalCreated": INTEGER, "totalConnected": INTEGER, "totalDisconnected": INTEGER, "totalMessages": INTEGER,
    "currentClients": INTEGER, "maxClients": INTEGER, "readyClients": INTEGER,
    "clientsByStatus": {"type": "object", "additionalProperties": INTEGER},
    "nodes": {"type": "array", "items": {"type": "object", "properties": {"node": STRING}, "required": ["node"]},
              "description": "cluster mode (issue 20): each alive node's own statistics, with its name"},
}, optional=("nodes",), extra=False, description="The seed's pool statistics, exactly its eight fields; in cluster "
   "mode the alive nodes' added up (totalMessages: the shared log's), and `nodes`.")

# Where a message's media stands (media_log.py): being downloaded, here, gone from WhatsApp, over the size cap,
# or removed by the retention bound.
MEDIA_STATE: Schema = {"type": "string", "enum": ["pending", "present", "unavailable", "too_large", "removed"]}
# The `media` object an incoming (or sent) message's event carries: what it is and where its bytes are, never them.
EVENT_MEDIA: Schema = obj({"kind": STRING, "mimetype": nullable(STRING), "filename": nullable(STRING),
                           "size": nullable(INTEGER), "sha256": nullable(STRING), "state": MEDIA_STATE, "url": STRING},
                          description="The URL (API path) serves the bytes once they are here (state present).")

MESSAGE = obj({
    "id": STRING, "clientId": nullable(STRING), "direction": {"type": "string", "enum": ["out", "in"]},
    "chatId": STRING, "to": nullable(STRING), "from": nullable(STRING), "type": STRING, "body": nullable(STRING),
    "media": nullable(obj({"mimetype": nullable(STRING), "filename": nullable(STRING), "size": nullable(INTEGER),
                           "sha256": nullable(STRING), "kind": nullable(STRING),
                           "state": {**nullable(MEDIA_STATE), "enum": [*MEDIA_STATE["enum"], None]}},
                          description="kind and state once the media log has the file: its bytes are at "
                                      "GET /clients/{clientId}/messages/{id}/media while state is present.")),
    "status": {"type": "string", "enum": MESSAGE_STATUSES}, "ack": nullable(INTEGER), "reason": nullable(STRING),
    "errorCode": nullable(STRING), "attempts": INTEGER, "possibleDuplicate": BOOLEAN, "autoRouted": BOOLEAN,
    "waMessageId": nullable(STRING), "notifyName": nullable(STRING), "createdAt": TIME,
    "sentAt": nullable(TIME), "deliveredAt": nullable(TIME), "readAt": nullable(TIME),
    "failedAt": nullable(TIME), "updatedAt": TIME,
}, description="One message of the log, outgoing (with its lifecycle) or incoming.")

CHAT = obj({"clientId": STRING, "chatId": STRING, "lastAt": TIME, "unreadCount": INTEGER, "messageCount": INTEGER,
            "lastMessage": nullable(ref("Message"))}, description="One conversation of one number.")

WEBHOOK = obj({"id": STRING, "url": {"type": "string", "format": "uri"}, "events": {"type": "array", "items": STRING},
               "active": BOOLEAN, "createdAt": TIME, "secretHint": STRING},
              description="A subscription; the secret only as a hint (its last four characters).")

DELIVERY = obj({
    "id": STRING, "webhookId": STRING, "event": STRING, "clientId": nullable(STRING),
    "status": {"type": "string", "enum": DELIVERY_STATUSES}, "attempts": INTEGER, "nextAttemptAt": nullable(TIME),
    "lastStatusCode": nullable(INTEGER), "lastError": nullable(STRING), "createdAt": TIME,
    "deliveredAt": nullable(TIME), "payload": ref("WebhookBody"),
}, description="One POST of an event to a webhook, with the body that was (or will be) sent.")

API_KEY = obj({"id": STRING, "name": STRING, "prefix": STRING, "createdAt": STRING, "lastUsedAt": nullable(STRING),
               "revokedAt": nullable(STRING), "active": BOOLEAN,
               "ratePerMinute": nullable({**INTEGER, "minimum": 1})},
              description="An API key, never the key itself; ratePerMinute null: the API's default rate.")

PREFERENCES: dict[str, Schema] = {
    "language": {"type": "string", "enum": list(LANGUAGES)}, "notifications": BOOLEAN,
    "cardOrder": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64},
                  "maxItems": MAX_ORDERED, "description": "Client ids in the order of the pool manager's cards."},
    "browserPath": {"type": ["string", "null"], "maxLength": MAX_PATH_CHARS,
                    "description": "The browser executable to use (null: found by itself); read at start."},
    "maxClients": {"type": ["integer", "null"], "minimum": 1, "maximum": 500,
                   "description": "Most numbers at once (null: 10); lower than today's count refuses new ones only."},
    "healthCheckInterval": {"type": ["number", "null"], "minimum": 5, "maximum": 3600,
                            "description": "Seconds between health checks (null: 60)."},
    "reconnectDelay": {"type": ["number", "null"], "minimum": 1, "maximum": 3600,
                       "description": "First reconnection delay in seconds, doubled per failure (null: 5)."},
    "autoReconnect": {"type": ["boolean", "null"], "description": "Reconnect a dropped number by itself."},
    "onDemandIdle": {"type": ["number", "null"], "minimum": 1, "maximum": 86400,
                     "description": "Seconds without a send before an on-demand number sleeps (null: 300)."},
}

_CHANGEABLE = {k: v for k, v in PREFERENCES.items() if k != "browserPath"}
SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "ClientInfo": CLIENT_INFO,
    "Stats": STATS,
    "Message": MESSAGE,
    "MessagePage": page_of("Message"),
    "Chat": CHAT,
    "ChatPage": page_of("Chat"),
    "Webhook": WEBHOOK,
    "NewWebhook": {"allOf": [ref("Webhook"), obj({"secret": STRING})],
                   "description": "A webhook just made: the secret is shown this once."},
    "Delivery": DELIVERY,
    "DeliveryPage": page_of("Delivery"),
    "ApiKey": API_KEY,
    "NewApiKey": obj({"id": STRING, "key": STRING}, description="A key just made: shown this once."),
    "QrCode": obj({"clientId": STRING, "code": STRING, "dataUrl": STRING, "shownAt": nullable(TIME),
                   "expiresAt": nullable(TIME)}, description="The QR code as JSON (Accept: application/json)."),
    "ClientLimits": obj({"clientId": STRING, **LIMITS, "defaults": obj(LIMITS), "sentThisHour": INTEGER,
                         "sentToday": INTEGER}),
    "PairingCode": obj({"clientId": STRING, "code": STRING, "phoneNumber": STRING}),
    "NumberCheck": obj({"number": STRING, "exists": BOOLEAN, "id": nullable(STRING)}),
    "Restored": obj({"restored": INTEGER, "total": INTEGER}),
    "Health": obj({"status": {"type": "string", "enum": ["ok", "degraded"]}, "version": STRING, "clients": INTEGER,
                   "readyClients": INTEGER,
                   # cluster mode (issue 20): this node, its PostgreSQL, whether it hears the others, its leases
                   "node": STRING, "database": {"type": "string", "enum": ["ok", "unreachable"]},
                   "events": {"type": "string", "enum": ["listening", "not_listening"]}, "leases": INTEGER},
                  optional=("node", "database", "events", "leases"),
                  description="clients: this process's numbers. A cluster node adds node, database, events, leases; "
                              "degraded (503) while its PostgreSQL does not answer."),
    "Session": obj({"username": STRING, "mustChangePassword": BOOLEAN}),
    "Me": obj({"kind": {"type": "string", "enum": ["api_key", "session"]}, "id": STRING,
               "mustChangePassword": BOOLEAN}),
    "Ok": obj({"ok": {"const": True}}),
    "ChatRead": obj({"clientId": STRING, "chatId": STRING, "marked": INTEGER},
                    description="marked: how many incoming messages were unread."),
    "Preferences": obj(PREFERENCES),
    "LogsFolder": obj({"path": STRING, "opened": BOOLEAN}),
    "SealingState": obj({"sealed": BOOLEAN, "keyring": BOOLEAN, "passphrase": BOOLEAN, "unfinished": BOOLEAN,
                         "keyringAvailable": BOOLEAN, "sealAtNextStart": BOOLEAN, "command": STRING}),
    "SealingRequest": request_obj({"sealAtNextStart": BOOLEAN}),
    # Request bodies: the fields the views check, with the types they check.
    "NewClient": request_obj({"clientId": {**STRING, "pattern": CLIENT_ID}, "name": STRING, "onDemand": BOOLEAN},
                             optional=("clientId", "name", "onDemand")),
    "ClientChange": obj({"onDemand": BOOLEAN}, extra=False,
                        description="onDemand true: the browser starts when a message is queued for the number "
                                    "and closes after the onDemandIdle preference's quiet period."),
    "MediaBody": request_obj({"data": {"type": "string", "description": "base64"}, "mimetype": STRING,
                      "filename": STRING, "caption": STRING}, optional=("filename", "caption")),
    "SendMessage": {**request_obj({"to": STRING, "text": STRING, "media": ref("MediaBody"), "clientId": STRING,
                                   "templateId": STRING, "variables": {"type": "object"}},
                                  optional=("text", "media", "clientId", "templateId", "variables")),
                    "description": "Either text, media, or templateId with its variables (rendered here; sent as "
                                   "its text, or its media with the text as caption). clientId: send through this "
                                   "number (POST /messages)."},
    "PairingRequest": obj({"phoneNumber": STRING}),
    "LimitsChange": obj({k: nullable(v) for k, v in LIMITS.items()}, optional=tuple(LIMITS), extra=False,
                        description="Fields left out are kept; null: back to the default; a cap of 0: no cap."),
    "NewWebhookRequest": {**request_obj({"url": STRING, "events": {"type": "array", "items": STRING},
                                         "secret": STRING}, optional=("events", "secret")),
                          "description": "secret: left out, one is made (whsec_ + base64 of 32 bytes); given, "
                                         "whsec_ + base64 of 24-64 bytes, or 16-256 printable ASCII characters."},
    "Login": obj({"username": STRING, "password": STRING,
                  "ownerToken": {**STRING, "description": "From the link printed in the terminal that started "
                                 "ZapPool; needed for the first login (admin/admin) and unaffected by others' "
                                 "failed logins."}}, optional=("ownerToken",)),
    "PasswordChange": obj({"oldPassword": STRING, "newPassword": STRING}),
    "NewApiKeyRequest": obj({"name": STRING}),
    "KeyRateChange": obj({"ratePerMinute": nullable({**INTEGER, "minimum": 1, "maximum": 100_000})},
                         description="Requests a minute this key may make; null: the API's default."),
    # browserPath is not here: the browser ZapPool runs is set in the desktop window or on the command line only.
    "PreferencesChange": {**obj(_CHANGEABLE, optional=tuple(_CHANGEABLE), extra=False),
                          "description": "Only the preferences to change."},
}
