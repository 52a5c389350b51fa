"""The API's contract: an OpenAPI 3.1 document built from one table of operations, served at /openapi.json.

Every route the app serves has one row in OPERATIONS (tests/test_openapi.py walks app.url_map both ways). A row
names the view (operationId = the Flask endpoint), its parameters, its JSON body and its answers; errors use the
one envelope, as shared responses. The shapes themselves are in openapi_schemas.py; docs_page.py renders the
same document as offline HTML for /docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import __version__
from .events import EVENT_TYPES
from .guard import body_limit
from .openapi_events import EVENT_SCHEMAS, WEBHOOK_HEADERS
from .openapi_groups import GROUP_OPERATIONS, GROUP_PATH_PARAMS, GROUP_PATH_SCHEMAS, GROUP_SCHEMAS
from .openapi_schemas import CLIENT_ID, INTEGER, SCHEMAS, STRING, ref
from .openapi_contacts import CHAT_FIELDS, CONTACT_SCHEMAS, PICTURE_OPERATIONS
from .openapi_audience import (AUDIENCE_OPERATIONS, AUDIENCE_PATH_PARAMS, AUDIENCE_PATH_SCHEMAS, AUDIENCE_QUERY,
                               AUDIENCE_SCHEMAS, with_import_body)
from .openapi_templates import (TEMPLATE_OPERATIONS, TEMPLATE_PATH_PARAMS, TEMPLATE_PATH_SCHEMAS,
                                TEMPLATE_SCHEMAS)
from .openapi_schedules import (SCHEDULE_OPERATIONS, SCHEDULE_PATH_PARAMS, SCHEDULE_PATH_SCHEMAS, SCHEDULE_QUERY,
                                SCHEDULE_SCHEMAS)
from .openapi_reports import REPORT_OPERATIONS, REPORT_QUERY, REPORT_SCHEMAS
from .openapi_cluster import CLUSTER_OPERATIONS, CLUSTER_SCHEMAS
from .openapi_campaigns import (CAMPAIGN_OPERATIONS, CAMPAIGN_PATH_PARAMS, CAMPAIGN_PATH_SCHEMAS,  # issue 17 §4
                                CAMPAIGN_SCHEMAS, with_report_format)

# Shared error answers: (status, description). Each is a component response with the Error envelope.
ERRORS = {
    "BadRequest": ("400", "The body is not JSON (code malformed_json)."),
    "Unauthorized": ("401", "No valid API key or session (code unauthorized); at login, a wrong username or "
                            "password (code wrong_credentials)."),
    "Forbidden": ("403", "The password must be changed first, a session request came from another origin, the "
                         "first login lacks the terminal's owner link (owner_link_required), or a preference is "
                         "the desktop window's only (desktop_only_preference)."),
    "NotFound": ("404", "No such number, message, webhook or key (code not_found); for media, media_not_found "
                        "or media_unavailable."),
    "Conflict": ("409", "The number is not in a state that allows this (e.g. client_not_ready)."),
    "Misdirected": ("421", "The Host header names none of the names this server answers to (code "
                           "host_not_allowed): 127.0.0.1, localhost, [::1] and those given with --allowed-host."),
    "TooLarge": ("413", "The body is larger than the operation's limit, read from Content-Length before the body "
                        "(code body_too_large): requestBody x-maxBodyBytes."),
    "UnsupportedType": ("415", "The body is not sent as application/json (code unsupported_media_type)."),
    "Invalid": ("422", "A field or query parameter is missing or of the wrong type; details.field names it."),
    "TooManyAttempts": ("429", "Too many failed logins (too_many_attempts), or this API key used up its requests "
                               "a minute (rate_limited); Retry-After says when to try again, RateLimit-* where the "
                               "key stands."),
    "Internal": ("500", "Unexpected error; ZapPool's log has the details."),
    "EngineError": ("502", "WhatsApp Web or the browser failed (engine_error, whatsapp_error)."),
    "Unavailable": ("503", "Not available now (browser missing, too many streams, webhooks off); see Retry-After."),
    "StorageFull": ("507", "The disk holding ZapPool's data is full (code storage_full): nothing was written; "
                           "details.file names the file. Free some space and try again."),
    "Timeout": ("504", "WhatsApp Web did not answer in time (code timeout)."),
}
AUTHENTICATED = ("Unauthorized", "Forbidden", "TooManyAttempts", "Internal")  # 429: the key's rate (ratelimit.py)
ENGINE = ("Conflict", "EngineError", "Unavailable", "Timeout")
WITH_BODY = ("BadRequest", "TooLarge", "UnsupportedType", "Invalid")
WRITES = ("StorageFull",)  # operations that must write a file before they answer


@dataclass(frozen=True)
class Op:
    """One operation: method, path (OpenAPI form), the Flask endpoint serving it, and what it takes and gives."""

    method: str
    path: str
    endpoint: str
    summary: str
    ok: dict[str, Any]                     # status -> schema name, None (no body) or a full response object
    body: str | None = None                # request schema name
    body_required: bool = True
    query: tuple[str, ...] = ()            # names in QUERY
    errors: tuple[str, ...] = ()           # extra ERRORS keys
    public: bool = False
    description: str = ""
    tags: tuple[str, ...] = ()


QUERY: dict[str, dict[str, Any]] = {
    "limit": {"schema": {**INTEGER, "minimum": 1, "maximum": 200, "default": 50}, "description": "Page size."},
    "cursor": {"schema": STRING, "description": "The nextCursor of the previous page."},
    "wait": {"schema": {"type": "boolean", "default": False},
             "description": "true: answer 200 once the message is sent (or its error), up to 60 s."},
    "clientId": {"schema": STRING, "description": "Only this number (GET /events: a comma-separated list)."},
    "chat": {"schema": STRING, "description": "Only this chat id."},
    "direction": {"schema": {"type": "string", "enum": ["in", "out"]}, "description": "Incoming or outgoing."},
    "since": {"schema": STRING, "description": "From this time: ISO 8601 or epoch milliseconds."},
    "until": {"schema": STRING, "description": "Up to this time: ISO 8601 or epoch milliseconds."},
    "types": {"schema": STRING, "description": "Comma-separated event types: " + ", ".join(EVENT_TYPES) + "."},
    "lastEventId": {"schema": {"type": "string", "pattern": "^[0-9]*$"},
                    "description": "Resume after this event id (or the Last-Event-ID header)."},
    "format": {"schema": {"type": "string", "enum": ["png", "svg"]}, "description": "Image format (PNG by default)."},
    "search": {"schema": {**STRING, "maxLength": 100}, "description": "Words of a name, or digits of a number."},
    "before": {"schema": {**STRING, "maxLength": 200},
               "description": "History from WhatsApp: the page of messages before this waMessageId (`now`: the "
                              "newest), written into the log, not emitted as new messages; nextCursor is null "
                              "(pass the oldest item's waMessageId for the next page; fewer than limit: the start)."},
}
QUERY.update(AUDIENCE_QUERY)  # issue 17 §2
QUERY.update(SCHEDULE_QUERY)  # issue 17 §3
QUERY.update(REPORT_QUERY)  # issue 18
PATH_PARAMS = {"client_id": "The number's id.", "number": "A phone number, digits with country code.",
               "message_id": "ZapPool's message id.", "chat_id": "A chat id, e.g. 5511999990001@c.us.",
               "webhook_id": "The webhook's id.", "key_id": "The API key's id.",
               "name": "A path inside the frontend folder, e.g. pool.html or js/api.js.",
               "version": "The frontend's version, as the pages name it (a signature of its files).",
               "contact_id": "A contact: digits with country code, or digits@c.us.",
               "token": "A media link's signed token, as the desktop bridge gave it.", **GROUP_PATH_PARAMS,
               **AUDIENCE_PATH_PARAMS, **TEMPLATE_PATH_PARAMS}
PATH_SCHEMAS = {"client_id": {**STRING, "pattern": CLIENT_ID}, **GROUP_PATH_SCHEMAS, **AUDIENCE_PATH_SCHEMAS,
                **TEMPLATE_PATH_SCHEMAS}
PATH_PARAMS.update(SCHEDULE_PATH_PARAMS)  # issue 17 §3
PATH_SCHEMAS.update(SCHEDULE_PATH_SCHEMAS)
PATH_PARAMS.update(CAMPAIGN_PATH_PARAMS)  # issue 17 §4
PATH_SCHEMAS.update(CAMPAIGN_PATH_SCHEMAS)
_SSE = {"description": "The event stream: `id: <n>` and `data: <Event as JSON>` frames (schema Event), and "
                       "keep-alive comments.",
        "content": {"text/event-stream": {"schema": STRING, "x-itemSchema": ref("Event")}}}
_METRICS = {"description": "Prometheus text exposition format 0.0.4.",
            "content": {"text/plain": {"schema": STRING}}}
_QR = {"description": "The QR code: PNG, SVG with ?format=svg, or JSON with Accept: application/json.",
       "content": {"image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
                   "image/svg+xml": {"schema": STRING},
                   "application/json": {"schema": ref("QrCode")}}}
_DOCUMENT = {"description": "The OpenAPI document.", "content": {"application/json": {"schema": {"type": "object"}}}}
_MEDIA = {"description": "The media's bytes: Content-Type as WhatsApp gave it, Content-Disposition inline or "
                         "attachment with a cleaned file name, X-Content-Type-Options: nosniff; Range works.",
          "content": {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}
_MEDIA_PART = {"description": "The part a Range header asked for, with Content-Range.",
               "content": {"*/*": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}
_HTML = {"description": "An HTML page.", "content": {"text/html": {"schema": STRING}}}
_FILE = {"description": "The file, with its own content type.", "content": {"*/*": {"schema": STRING}}}
_LIST_OF = {name: {"type": "array", "items": ref(item)}
            for name, item in (("ClientInfoList", "ClientInfo"), ("WebhookList", "Webhook"), ("ApiKeyList", "ApiKey"))}
_PAGE = ("cursor", "limit")
_MESSAGES = ("clientId", "chat", "direction", "since", "until") + _PAGE

OPERATIONS: tuple[Op, ...] = (
    # meta
    Op("get", "/health", "meta.health", "Is ZapPool up: version and how many numbers are connected.",
       {"200": "Health", "503": "Health"}, public=True, tags=("meta",)),
    Op("get", "/openapi.json", "meta.openapi", "This contract, as OpenAPI 3.1 JSON.",
       {"200": _DOCUMENT}, tags=("meta",)),
    Op("get", "/docs", "meta.docs", "This contract as readable HTML (works offline).", {"200": _HTML}, tags=("meta",)),
    Op("post", "/instance/show", "meta.show_instance",
       "A second launch of ZapPool on the same data folder asks this one to come forward.", {"204": None},
       public=True, errors=("Unauthorized",), tags=("meta",),
       description="Needs the header X-ZapPool-Instance: the token this instance wrote to "
                   "<data>/zapool-instance.json (readable by its user only), not an API key."),
    Op("get", "/metrics", "metrics.metrics", "Prometheus metrics.", {"200": _METRICS}, tags=("meta",)),
    Op("get", "/events", "events.stream", "Pool events as Server-Sent Events, resumable and filtered.",
       {"200": _SSE}, query=("clientId", "types", "lastEventId"), errors=("Invalid", "Unavailable"), tags=("events",)),
    # numbers
    Op("get", "/clients", "clients.ready_clients", "Ids of the connected numbers (the seed's list of strings).",
       {"200": {"type": "array", "items": STRING}}, tags=("clients",)),
    Op("post", "/clients", "clients.create_client", "Add a number and start it; answers once its QR code shows.",
       {"201": "ClientInfo"}, body="NewClient", body_required=False, errors=WITH_BODY + ENGINE + WRITES,
       tags=("clients",)),
    Op("get", "/clients/all", "clients.all_clients", "Every number with status and metadata (the seed's shape).",
       {"200": "ClientInfoList"}, tags=("clients",)),
    Op("get", "/stats", "clients.stats", "The seed's pool statistics.", {"200": "Stats"}, tags=("clients",)),
    Op("get", "/clients/{client_id}", "clients.get_client", "One number.", {"200": "ClientInfo"}, tags=("clients",)),
    Op("patch", "/clients/{client_id}", "clients.change_client",
       "Change a number's mode: on demand (sleeps between sends; incoming messages arrive when it next connects) "
       "or always connected.", {"200": "ClientInfo"}, body="ClientChange", errors=WITH_BODY + ("NotFound",) + WRITES,
       tags=("clients",)),
    Op("delete", "/clients/{client_id}", "clients.remove_client", "Log out and delete the number (the seed's Remover).",
       {"204": None}, errors=ENGINE + WRITES, tags=("clients",)),
    Op("post", "/clients/{client_id}/disconnect", "clients.disconnect", "Close the number's browser; its login stays.",
       {"200": "ClientInfo"}, errors=ENGINE, tags=("clients",)),
    Op("post", "/clients/{client_id}/reconnect", "clients.reconnect", "Start the number again.",
       {"200": "ClientInfo"}, errors=ENGINE, tags=("clients",)),
    Op("post", "/clients/{client_id}/logout", "clients.logout", "Unlink the number from the phone; delete its profile.",
       {"200": "ClientInfo"}, errors=ENGINE, tags=("clients",)),
    Op("get", "/clients/{client_id}/qr", "clients.qr", "The QR code to scan.", {"200": _QR}, query=("format",),
       errors=("Conflict",), tags=("clients",)),
    Op("get", "/clients/{client_id}/limits", "clients.get_limits",
       "The number's pacing and hourly/daily caps, and what it has sent this hour and today.",
       {"200": "ClientLimits"}, errors=("NotFound",), tags=("clients",)),
    Op("put", "/clients/{client_id}/limits", "clients.set_limits",
       "Change the number's pacing and caps: fields left out are kept, null goes back to the default, a cap of 0 "
       "is no cap. A message over a cap waits queued for the next hour (or local day), never fails.",
       {"200": "ClientLimits"}, body="LimitsChange", errors=WITH_BODY + ("NotFound",) + WRITES, tags=("clients",)),
    Op("post", "/clients/{client_id}/pairing-code", "clients.pairing_code",
       "Link with a phone number: the 8-character code to type on the phone.", {"200": "PairingCode"},
       body="PairingRequest", errors=WITH_BODY + ENGINE, tags=("clients",)),
    Op("post", "/sessions/restore", "clients.restore", "Reconnect the saved numbers that were connected.",
       {"200": "Restored"}, errors=ENGINE, tags=("clients",)),
    Op("get", "/clients/{client_id}/numbers/{number}", "clients.check_number",
       "Is the number on WhatsApp, and under which id.", {"200": "NumberCheck"}, errors=("Invalid",) + ENGINE,
       tags=("clients",)),
    # messages
    Op("post", "/messages", "messages.send_message", "Send through clientId, or the next ready number in turn.",
       {"202": "Message", "200": "Message"}, body="SendMessage", query=("wait",),
       errors=WITH_BODY + ENGINE + ("NotFound",) + WRITES,
       tags=("messages",), description="202: accepted and queued. 200 (?wait=true): sent."),
    Op("post", "/clients/{client_id}/messages", "messages.send_message_from", "Send through this number.",
       {"202": "Message", "200": "Message"}, body="SendMessage", query=("wait",), errors=WITH_BODY + ENGINE + WRITES,
       tags=("messages",)),
    Op("get", "/messages", "messages.list_messages", "The message log, newest first.", {"200": "MessagePage"},
       query=_MESSAGES, errors=("Invalid",), tags=("messages",)),
    Op("get", "/messages/{message_id}", "messages.get_message", "One message: status, ack, reason.",
       {"200": "Message"}, tags=("messages",)),
    Op("get", "/clients/{client_id}/chats", "messages.list_chats",
       "A number's conversations, most recent first, with unread counts.", {"200": "ChatPage"}, query=_PAGE,
       errors=("Invalid",) + ENGINE, tags=("messages",),
       description="While the number is ready: WhatsApp's chat list (groups and people, archived, pinned, muted) "
                   "merged with the log's conversations, pinned first; otherwise the log's alone."),
    Op("get", "/clients/{client_id}/chats/{chat_id}/messages", "messages.chat_messages",
       "One conversation, newest first.", {"200": "MessagePage"}, query=_PAGE + ("before",),
       errors=("Invalid",) + ENGINE, tags=("messages",),
       description="The log's messages (cursor paging); with ?before=, the page before it from WhatsApp."),
    Op("get", "/clients/{client_id}/messages/{message_id}/media", "media.message_media",
       "A message's media, received or sent: the bytes with their content type.",
       {"200": _MEDIA, "206": _MEDIA_PART},
       errors=("Unavailable",), tags=("messages",),
       description="message_id: ZapPool's message id, or the WhatsApp id of a message the number received. "
                   "Images, audio and video of safe types are inline; anything else (HTML, SVG, scripts, "
                   "documents) is an attachment. 404 media_not_found: no such message or no media; 404 "
                   "media_unavailable: not here (details.state: pending while it downloads, unavailable when "
                   "WhatsApp no longer has it, too_large over the size cap, removed by the retention bound)."),
    Op("get", "/media-links/{token}", "media.media_link",
       "A message's media through a short-lived link the desktop window was given (no credentials).",
       {"200": _MEDIA, "206": _MEDIA_PART}, public=True, tags=("messages",),
       description="The desktop windows have no login cookie; the bridge's message_media_link gives them this "
                   "signed link (an hour, this run of ZapPool only), served as the route above. 404 "
                   "media_link_invalid: forged, expired or from an earlier run."),
    Op("get", "/clients/{client_id}/contacts", "contacts.list_contacts",
       "The number's contacts from WhatsApp, saved ones first.", {"200": "ContactList"}, query=("search", "limit"),
       errors=("Invalid",) + ENGINE, tags=("contacts",)),
    Op("get", "/clients/{client_id}/contacts/{contact_id}", "contacts.get_contact",
       "One contact: name as saved, push name, business or not, profile picture URL.", {"200": "Contact"},
       errors=("Invalid",) + ENGINE, tags=("contacts",)),
    Op("post", "/clients/{client_id}/chats/{chat_id}/read", "messages.mark_chat_read",
       "The conversation was seen: its unread count drops to 0.", {"200": "ChatRead"}, errors=WRITES,
       tags=("messages",)),
    # webhooks
    Op("get", "/webhooks", "webhooks.list_webhooks", "Every webhook, oldest first.", {"200": "WebhookList"},
       errors=("Unavailable",), tags=("webhooks",)),
    Op("post", "/webhooks", "webhooks.add_webhook", "Subscribe a URL to pool events; the secret is shown once.",
       {"201": "NewWebhook"}, body="NewWebhookRequest", errors=WITH_BODY + ("Unavailable",) + WRITES,
       tags=("webhooks",)),
    Op("get", "/webhooks/{webhook_id}", "webhooks.get_webhook", "One webhook.", {"200": "Webhook"},
       errors=("Unavailable",), tags=("webhooks",)),
    Op("delete", "/webhooks/{webhook_id}", "webhooks.remove_webhook",
       "Delete a webhook with its secret and its deliveries.", {"204": None}, errors=("Unavailable",) + WRITES,
       tags=("webhooks",)),
    Op("get", "/webhooks/{webhook_id}/deliveries", "webhooks.deliveries", "A webhook's deliveries, newest first.",
       {"200": "DeliveryPage"}, query=_PAGE, errors=("Invalid", "Unavailable"), tags=("webhooks",)),
    # auth
    Op("post", "/auth/login", "auth.login", "Log in as the admin: sets the zapool_session cookie.",
       {"200": "Session"}, body="Login", errors=WITH_BODY + ("Unauthorized", "TooManyAttempts"), public=True,
       tags=("auth",)),
    Op("post", "/auth/logout", "auth.logout", "End the session.", {"200": "Ok"}, tags=("auth",)),
    Op("get", "/auth/me", "auth.me", "Who is calling; whether the password must still be changed.", {"200": "Me"},
       tags=("auth",)),
    Op("post", "/auth/password", "auth.change_password", "Change the admin password (required on first run).",
       {"200": "Ok"}, body="PasswordChange", errors=WITH_BODY + ("TooManyAttempts",) + WRITES, tags=("auth",)),
    Op("get", "/auth/keys", "auth.list_keys", "API keys (never the key itself).", {"200": "ApiKeyList"},
       tags=("auth",)),
    Op("post", "/auth/keys", "auth.create_key", "A new API key, shown in this answer only.", {"201": "NewApiKey"},
       body="NewApiKeyRequest", errors=WITH_BODY + WRITES, tags=("auth",)),
    Op("put", "/auth/keys/{key_id}/rate-limit", "ratelimit.set_key_rate",
       "Set how many requests a minute this key may make (from the owner's logged-in window only: an API key "
       "gets 403 session_required, so no key raises its own limit).", {"200": "ApiKey"}, body="KeyRateChange",
       errors=WITH_BODY + ("NotFound",) + WRITES, tags=("auth",)),
    Op("delete", "/auth/keys/{key_id}", "auth.revoke_key", "Revoke a key: it stops working at once.",
       {"200": "ApiKey"}, errors=WRITES, tags=("auth",)),
    # the desktop's frontend, for a browser
    Op("get", "/preferences", "ui.get_preferences", "Language, notifications, the pool manager's card order.",
       {"200": "Preferences"}, tags=("ui",)),
    Op("put", "/preferences", "ui.set_preferences", "Change some preferences; a bad value changes none.",
       {"200": "Preferences"}, body="PreferencesChange", errors=WITH_BODY + WRITES, tags=("ui",)),
    Op("get", "/sealing", "ui.sealing_state",
       "Whether the data folder is sealed at rest (issue 19), opened by the keyring and/or a passphrase, and the "
       "command that seals it.", {"200": "SealingState"}, tags=("ui",)),
    Op("put", "/sealing", "ui.request_sealing",
       "Seal the data folder the next time ZapPool opens, or cancel that (needs the system keyring: 409 "
       "keyring_unavailable otherwise).", {"200": "SealingState"}, body="SealingRequest",
       errors=WITH_BODY + WRITES + ("Conflict",), tags=("ui",)),
    Op("post", "/logs/open", "ui.open_logs_folder",
       "Show the log files' folder in this computer's file manager (opened: false when it has none).",
       {"200": "LogsFolder"}, tags=("ui",)),
    Op("get", "/", "ui.index", "The desktop app's login page, for a browser.", {"200": _HTML}, public=True,
       tags=("ui",)),
    Op("get", "/ui/{name}", "ui.asset", "A file of the desktop app's frontend (page, script, style, image).",
       {"200": _FILE}, public=True, tags=("ui",)),
    Op("get", "/ui/v/{version}/{name}", "ui.versioned_asset",
       "A script, style sheet or image of the frontend under a version the pages name; kept a year by the browser "
       "when the version is the current one.", {"200": _FILE}, public=True, tags=("ui",)),
    Op("get", "/ui/vendor/noto-emoji/{name}", "ui.emoji_font",
       "The windows' icon font (Noto Emoji): its style sheet and its pieces, kept a day by the browser.",
       {"200": _FILE}, public=True, tags=("ui",)),
    *(Op(**row) for row in GROUP_OPERATIONS),  # backend/api/openapi_groups.py
    *(Op(**row) for row in AUDIENCE_OPERATIONS),  # backend/api/openapi_audience.py (issue 17 §2)
    *(Op(**row) for row in TEMPLATE_OPERATIONS),  # backend/api/openapi_templates.py
    *(Op(**row) for row in PICTURE_OPERATIONS),  # backend/api/openapi_contacts.py: profile pictures (issue 16)
    *(Op(**row) for row in SCHEDULE_OPERATIONS),  # backend/api/openapi_schedules.py (issue 17 §3)
    *(Op(**row) for row in REPORT_OPERATIONS),  # backend/api/openapi_reports.py (issue 18)
    *(Op(**row) for row in CLUSTER_OPERATIONS),  # backend/api/openapi_cluster.py (issue 20)
    *(Op(**row) for row in CAMPAIGN_OPERATIONS),  # backend/api/openapi_campaigns.py (issue 17 §4)
)


def _response(status: str, spec: Any) -> dict[str, Any]:
    """A success answer: a schema name, a full response object, an inline schema, or None (no body)."""
    if spec is None:
        return {"description": "Done; no body."}
    if isinstance(spec, dict) and "description" in spec:
        return spec
    schema = ref(spec) if isinstance(spec, str) else spec
    return {"description": f"{status}: {spec if isinstance(spec, str) else 'JSON'}",
            "content": {"application/json": {"schema": schema}}}


def _parameters(op: Op) -> list[dict[str, Any]]:
    """Path parameters (from the path) and query parameters (from the row)."""
    names = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
    params = [{"name": n, "in": "path", "required": True, "schema": PATH_SCHEMAS.get(n, STRING),
               "description": PATH_PARAMS[n]} for n in names]
    return params + [{"name": q, "in": "query", "required": False, **QUERY[q]} for q in op.query]


def _operation(op: Op) -> dict[str, Any]:
    """The OpenAPI operation object of a row."""
    errors = (() if op.public else AUTHENTICATED) + op.errors + ("Misdirected",)
    if "{" in op.path:
        errors += ("NotFound",)
    if op.public:
        errors += ("Internal",)
    responses = {status: _response(status, spec) for status, spec in sorted(op.ok.items())}
    for name in sorted(set(errors), key=lambda n: ERRORS[n][0]):
        responses[ERRORS[name][0]] = {"$ref": f"#/components/responses/{name}"}
    operation: dict[str, Any] = {"operationId": op.endpoint, "summary": op.summary, "tags": list(op.tags),
                                 "parameters": _parameters(op), "responses": responses}
    if op.description:
        operation["description"] = op.description
    if op.body:
        limit = body_limit(op.endpoint)
        operation["requestBody"] = {"required": op.body_required, "x-maxBodyBytes": limit,
                                    "description": f"application/json, at most {limit:,} bytes.",
                                    "content": {"application/json": {"schema": ref(op.body)}}}
    if op.public:
        operation["security"] = []
    return operation


def build_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    with_import_body(paths)  # its body is the CSV file, not JSON
    with_report_format(paths)  # a campaign report's ?format=json|csv
    error_content = {"application/json": {"schema": ref("Error")}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "ZapPool", "version": __version__,
                 "description": "Many WhatsApp numbers from one desktop: the local REST API. Every JSON error is "
                                "{\"error\": {\"code\", \"message\", \"details\"}}."},
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}, {"bearer": []}, {"session": []}],
        "tags": [{"name": t} for t in ("clients", "messages", "contacts", "groups", "events", "webhooks", "auth", "ui",
                                       "meta", "audience", "templates", "schedules", "reports",
                                       "campaigns")],
        "paths": paths,
        "webhooks": {"poolEvent": {"post": {
            "summary": "A pool event, signed the Standard Webhooks way (webhook-id, webhook-timestamp, "
                       "webhook-signature); verify with a standardwebhooks library, which refuses replays.",
            "description": "Targets: while the API listens beyond loopback, private, loopback and link-local "
                           "addresses are refused (at creation and at each delivery, every DNS answer checked) "
                           "unless ZapPool runs with --allow-private-webhooks. A delivery's lastError holds the "
                           "status and ZapPool's own reason, never the receiver's answer.",
            "parameters": WEBHOOK_HEADERS,
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref("WebhookBody")}}},
            "responses": {"2XX": {"description": "Received. 408, 429 and 5xx are retried; other answers are not."}},
        }}},
        "components": {
            "schemas": {**SCHEMAS, **EVENT_SCHEMAS, **_LIST_OF, **GROUP_SCHEMAS, **CONTACT_SCHEMAS, **AUDIENCE_SCHEMAS,
                        **TEMPLATE_SCHEMAS, **SCHEDULE_SCHEMAS, **REPORT_SCHEMAS, **CLUSTER_SCHEMAS, **CAMPAIGN_SCHEMAS,
                        "Chat": {**SCHEMAS["Chat"], "properties": {**SCHEMAS["Chat"]["properties"], **CHAT_FIELDS}}},
            "responses": {name: {"description": text, "content": error_content}
                          for name, (_status, text) in ERRORS.items()},
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "bearer": {"type": "http", "scheme": "bearer", "description": "The API key as a bearer token."},
                "session": {"type": "apiKey", "in": "cookie", "name": "zapool_session",
                            "description": "The desktop's login session (POST /auth/login)."},
            },
        },
    }
