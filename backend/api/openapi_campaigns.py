"""The campaigns routes' rows of the OpenAPI document (openapi.py's OPERATIONS takes them as Op(**row)) and their
shapes (issue 17 §4). Refusals: campaign_not_found (404), campaign_state_conflict (409), campaign_template_unknown,
campaign_audience_empty, campaign_client_unknown, campaign_window_invalid and invalid_input (422)."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import BOOLEAN, INTEGER, STRING, TIME, Schema, nullable, obj, page_of, ref, request_obj

STATUS: Schema = {"type": "string", "enum": ["scheduled", "running", "paused", "finished", "cancelled"]}
_HHMM: Schema = {"type": "string", "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"}
_DAY: Schema = {"type": "string", "enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
_SECONDS: Schema = {"type": "number", "minimum": 0, "maximum": 3600}
_WINDOW_IN = request_obj({"from": _HHMM, "to": _HHMM, "days": {"type": "array", "items": _DAY, "minItems": 1},
                          "timezone": STRING}, optional=("from", "to", "days", "timezone"))
_WARMUP_IN = request_obj({"enabled": BOOLEAN, "start": {**INTEGER, "minimum": 1, "maximum": 100000},
                          "growth": {"type": "number", "minimum": 1, "maximum": 10}},
                         optional=("enabled", "start", "growth"))
_AUDIENCE: Schema = {"oneOf": [{"const": "all"},
                               obj({"tags": {"type": "array", "items": {**STRING, "minLength": 1, "maxLength": 64},
                                             "minItems": 1, "maxItems": 50}}, extra=False)],
                     "description": "\"all\" customers, or those carrying any of these tags; the opted-out never."}
_SKIPPED = obj({"optedOut": INTEGER, "notOnWhatsApp": INTEGER, "missingVariable": INTEGER})
_COUNTS = obj({"total": INTEGER, "pending": INTEGER, "queued": INTEGER, "sent": INTEGER, "delivered": INTEGER,
               "read": INTEGER, "replied": INTEGER, "failed": INTEGER,
               "failedByReason": {"type": "object", "additionalProperties": INTEGER}, "skipped": _SKIPPED,
               "cancelled": INTEGER},
              description="pending: not yet given to a number; queued: in a number's queue; sent/delivered/read "
                          "count every message that got at least that far; replied: recipients who wrote back "
                          "after their message was sent.")
CAMPAIGN_SCHEMAS: dict[str, Schema] = {
    "NewCampaign": request_obj({
        "name": {**STRING, "minLength": 1, "maxLength": 100}, "templateId": STRING, "audience": _AUDIENCE,
        "clientIds": {"type": "array", "items": STRING, "minItems": 1, "maxItems": 100},
        "startAt": {**TIME, "description": "ISO 8601 with an offset; now when left out."},
        "window": {**_WINDOW_IN, "description": "Allowed hours and days; default 08:00-20:00 mon-sat, "
                                                "America/Sao_Paulo."},
        "delay": request_obj({"min": _SECONDS, "max": _SECONDS}),
        "dailyCap": {**INTEGER, "minimum": 1, "maximum": 100000, "description": "Per number and day; default 200."},
        "warmup": BOOLEAN, "checkNumbers": BOOLEAN}, optional=("clientIds", "startAt", "window", "dailyCap", "warmup", "checkNumbers")),
    "Campaign": obj({
        "id": STRING, "name": STRING, "status": STATUS, "templateId": STRING, "audience": _AUDIENCE,
        "clientIds": nullable({"type": "array", "items": STRING}),
        "window": obj({"from": STRING, "to": STRING, "days": {"type": "array", "items": _DAY}, "timezone": STRING}),
        "delay": obj({"min": {"type": "number"}, "max": {"type": "number"}}), "dailyCap": INTEGER,
        "warmup": obj({"enabled": BOOLEAN, "start": INTEGER, "growth": {"type": "number"}}),
        "checkNumbers": BOOLEAN, "startAt": TIME, "createdAt": TIME, "startedAt": nullable(TIME),
        "finishedAt": nullable(TIME), "counts": ref("CampaignCounts"), "expectedEndAt": nullable(TIME)},
        description="expectedEndAt: when the last message should go given the window, caps, warm-up and delay "
                    "(null: no number can send now)."),
    "CampaignCounts": _COUNTS,
    "CampaignList": {"type": "array", "items": ref("Campaign")},
    "CampaignRecipient": obj({"phone": STRING, "name": STRING,
                              "status": {"type": "string", "enum": [
                                  "pending", "queued", "sending", "sent", "delivered", "read", "failed",
                                  "skipped_optout", "skipped_not_on_whatsapp", "skipped_missing_variable",
                                  "cancelled", "done"]},
                              "clientId": nullable(STRING), "messageId": nullable(STRING), "error": nullable(STRING)}),
    "CampaignRecipientPage": page_of("CampaignRecipient"),
    "CampaignReport": obj({
        "id": STRING, "name": STRING, "status": STATUS,
        "funnel": obj({"total": INTEGER, "sent": INTEGER, "delivered": INTEGER, "read": INTEGER, "replied": INTEGER}),
        "counts": ref("CampaignCounts"),
        "perNumber": {"type": "array", "items": obj({"clientId": STRING, "queued": INTEGER, "sent": INTEGER,
                                                     "delivered": INTEGER, "read": INTEGER, "replied": INTEGER,
                                                     "failed": INTEGER})}}),
    "CampaignPreview": obj({
        "messages": {"type": "array", "items": obj({"phone": STRING, "name": STRING, "text": nullable(STRING)})},
        "audience": INTEGER, "reachable": INTEGER, "skipped": obj({"optedOut": INTEGER, "missingVariable": INTEGER}),
        "expectedEndAt": nullable(TIME), "expectedDurationS": nullable(INTEGER)},
        description="The first messages as they would go out, who the campaign reaches, and when it should end."),
}
_REPORT = {"description": "The report as JSON, or with ?format=csv one line per recipient (phone, name, status, "
                          "clientId, messageId, error, replied) as an attachment.",
           "content": {"application/json": {"schema": ref("CampaignReport")}, "text/csv": {"schema": STRING}}}
_WITH_BODY = ("BadRequest", "TooLarge", "UnsupportedType", "Invalid")
_ONE = "/campaigns/{campaign_id}"


def _row(method: str, path: str, endpoint: str, summary: str, ok: dict[str, Any], body: str | None = None,
         errors: tuple[str, ...] = (), description: str = "", query: tuple[str, ...] = ()) -> dict[str, Any]:
    writes = ("StorageFull",) if method == "post" else ()
    return {"method": method, "path": path, "endpoint": f"campaigns.{endpoint}", "summary": summary, "ok": ok,
            "body": body, "errors": (_WITH_BODY if body else ()) + errors + writes, "description": description,
            "tags": ("campaigns",), "query": query}


_MAKE = ("422 campaign_template_unknown, campaign_audience_empty (nobody reachable: no customer with these tags, "
         "or all opted out), campaign_client_unknown, campaign_window_invalid, invalid_input (details.field: "
         "e.g. delay.min above delay.max).")
CAMPAIGN_OPERATIONS: tuple[dict[str, Any], ...] = (
    _row("get", "/campaigns", "list_campaigns", "Every campaign, newest first, with its counts.",
         {"200": "CampaignList"}),
    _row("post", "/campaigns", "create_campaign", "A new campaign; its recipients are fixed now (one transaction).",
         {"201": "Campaign"}, "NewCampaign", description=_MAKE),
    _row("post", "/campaigns/preview", "preview_campaign", "A campaign not made yet: its first messages, who it "
         "reaches, its expected end.", {"200": "CampaignPreview"}, "NewCampaign", description=_MAKE),
    _row("get", _ONE, "get_campaign", "One campaign: status, counts, expected end.", {"200": "Campaign"}),
    _row("post", f"{_ONE}/pause", "pause_campaign", "Stop handing out new messages.", {"200": "Campaign"},
         errors=("Conflict",), description="409 campaign_state_conflict unless scheduled or running."),
    _row("post", f"{_ONE}/resume", "resume_campaign", "Go on after a pause.", {"200": "Campaign"},
         errors=("Conflict",), description="409 campaign_state_conflict unless paused."),
    _row("post", f"{_ONE}/cancel", "cancel_campaign", "Give up the rest for good.", {"200": "Campaign"},
         errors=("Conflict",), description="409 campaign_state_conflict once finished or cancelled."),
    _row("get", f"{_ONE}/recipients", "campaign_recipients", "A page of recipients in order, with their status.",
         {"200": "CampaignRecipientPage"}, errors=("Invalid",), query=("cursor", "limit")),
    _row("get", f"{_ONE}/report", "campaign_report", "The funnel, replies, failures and skips, per number.",
         {"200": _REPORT}, errors=("Invalid",)),
)
CAMPAIGN_SCHEMAS["NewCampaign"]["properties"]["warmup"] = {
    "oneOf": [{"type": ["boolean", "null"]}, _WARMUP_IN],
    "description": "On by default: a new number starts at 20 a day, x1.5 each day, up to dailyCap."}
CAMPAIGN_PATH_SCHEMAS = {"campaign_id": {**STRING, "pattern": "^cmp_[0-9a-f]{16}$"}}
CAMPAIGN_PATH_PARAMS = {"campaign_id": "A campaign's id, e.g. cmp_0123456789abcdef."}


def with_report_format(paths: dict[str, dict[str, Any]]) -> None:
    """The report's ?format= (json or csv): its own values, unlike the QR code's png/svg."""
    paths[_ONE + "/report"]["get"]["parameters"].append(
        {"name": "format", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
         "description": "csv: one line per recipient, as a download."})
