"""The reports' rows of the OpenAPI document (issue 18: /reports/*; openapi.py's OPERATIONS takes them as
Op(**row)), their shapes and query parameters. Every report answers JSON, or its table as CSV with
?format=csv. Refusals: invalid_input (422) naming the field (details.field)."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import BOOLEAN, INTEGER, STRING, Schema, nullable, obj, request_obj

_NUMBER: Schema = {"type": "number"}
_SECONDS = obj({"median": nullable(_NUMBER), "p90": nullable(_NUMBER), "mean": nullable(_NUMBER)},
               description="Seconds (nearest-rank percentiles); null when nothing was answered.")
_SPREAD = obj({**_SECONDS["properties"], "count": INTEGER})
_FUNNEL = obj({"sent": INTEGER, "delivered": INTEGER, "read": INTEGER, "replied": INTEGER})
_FRAME: dict[str, Schema] = {"from": STRING, "to": STRING, "tz": STRING, "clientIds": {"type": "array",
                                                                                       "items": STRING},
                             "groups": {"type": "string", "enum": ["exclude", "include", "only"]},
                             "businessHours": BOOLEAN}
_HEADLINE: dict[str, Schema] = {"conversations": INTEGER, "customerConversations": INTEGER, "incoming": INTEGER,
                                "outgoing": INTEGER, "responseRate": nullable({**_NUMBER, "minimum": 0,
                                                                                "maximum": 1}),
                                "firstResponseTime": _SECONDS, "funnel": _FUNNEL, "failed": INTEGER}


def _rows(row: Schema) -> Schema:
    """An array of table rows."""
    return {"type": "array", "items": row}


_HOURS = {**STRING, "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"}
REPORT_SCHEMAS: dict[str, Schema] = {
    "ReportSummary": obj({**_FRAME, **_HEADLINE, "previous": obj(_HEADLINE)},
                         description="docs/REPORTS.md defines each figure; previous: the period of the same "
                                     "length just before."),
    "ReportResponseTimes": obj({**_FRAME, "first": _SPREAD, "all": _SPREAD,
                                "unanswered": obj({"first": INTEGER, "all": INTEGER}),
                                "waitingAnswered": nullable(_NUMBER), "buckets": _rows(STRING),
                                "rows": _rows(obj({"bucket": STRING, "upToSeconds": nullable(_NUMBER),
                                                   "first": INTEGER, "all": INTEGER}))}),
    "ReportFunnel": obj({**_FRAME, "campaignId": nullable(STRING),
                         "total": obj({**_FUNNEL["properties"], "failed": INTEGER}),
                         "rows": _rows(obj({"clientId": STRING, **_FUNNEL["properties"], "failed": INTEGER})),
                         "failures": _rows(obj({"clientId": STRING, "code": STRING, "count": INTEGER}))}),
    "ReportVolume": obj({**_FRAME, "days": _rows(STRING),
                         "rows": _rows(obj({"date": STRING, "clientId": STRING, "incoming": INTEGER,
                                            "outgoing": INTEGER, "groupIncoming": INTEGER,
                                            "groupOutgoing": INTEGER, "failed": INTEGER}))}),
    "ReportHeatmap": obj({**_FRAME, "rows": _rows(obj({"weekday": INTEGER, "hour": INTEGER,
                                                       "incoming": INTEGER}))},
                         description="168 rows: weekday 0 (Monday) to 6, hour 0 to 23, in the report's zone."),
    "ReportSettings": obj({"conversationGapHours": _NUMBER, "responseTargetMinutes": nullable(_NUMBER),
                           "businessHours": nullable({"type": "object", "additionalProperties": _rows(STRING)})}),
    "ReportSettingsChange": request_obj({
        "conversationGapHours": {**_NUMBER, "minimum": 1 / 60, "maximum": 720},
        "responseTargetMinutes": {**_NUMBER, "minimum": 1, "maximum": 43200},
        "businessHours": {"type": "object", "propertyNames": {"enum": [str(d) for d in range(7)]},
                          "additionalProperties": {"type": "array", "items": _HOURS, "minItems": 2, "maxItems": 2},
                          "description": "Weekday (0 Monday) -> [open, close], HH:MM."}},
        optional=("conversationGapHours", "responseTargetMinutes", "businessHours")),
}
_DAY_OR_TIME = {**STRING, "maxLength": 40,
                "description": "A date (2026-12-01: local midnight; for `to`, the whole day) or a date and time "
                               "(2026-12-01T08:00, local unless it has an offset)."}
REPORT_QUERY: dict[str, dict[str, Any]] = {
    # Its own key (QUERY is shared by every operation: a "clientId" here gave GET /messages this maxLength too).
    "reportClientId": {"name": "clientId", "schema": {**STRING, "maxLength": 6500},
                 "description": "Numbers to report on, comma-separated or repeated (default: every number)."},
    "from": {"schema": _DAY_OR_TIME, "description": "Start of the period (default: 6 days before `to`'s day)."},
    "to": {"schema": _DAY_OR_TIME, "description": "End of the period (default: now)."},
    "tz": {"schema": {**STRING, "maxLength": 64}, "description": "IANA time zone of dates, days and hours "
                                                                 "(default UTC), e.g. America/Sao_Paulo."},
    "groups": {"schema": {"type": "string", "enum": ["exclude", "include", "only"], "default": "exclude"},
               "description": "Group chats: left out (default), counted too, or alone."},
    "businessHours": {"schema": {"type": "string", "enum": ["true", "false"], "default": "false"},
                      "description": "Count waits in business hours only (when the settings have them)."},
    "campaignId": {"schema": {**STRING, "maxLength": 100},
                   "description": "Only messages sent with this tag (the campaigns' id)."},
    "format": {"schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
               "description": "csv: the report's table as a CSV download."},
}
_QUERY = ("reportClientId", "from", "to", "tz", "groups", "businessHours", "format")


def _answer(schema: str) -> dict[str, Any]:
    """A report's 200: its JSON, or its table as CSV."""
    return {"description": f"200: {schema}, or the table as CSV (?format=csv)",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}},
                        "text/csv": {"schema": STRING}}}


def _row(method: str, path: str, endpoint: str, summary: str, ok: dict[str, Any], body: str | None = None,
         query: tuple[str, ...] = (), description: str = "") -> dict[str, Any]:
    errors = ("BadRequest", "TooLarge", "UnsupportedType", "Invalid", "StorageFull") if body else ("Invalid",)
    return {"method": method, "path": path, "endpoint": f"reports.{endpoint}", "summary": summary, "ok": ok,
            "body": body, "query": query, "errors": errors, "description": description, "tags": ("reports",)}


REPORT_OPERATIONS: tuple[dict[str, Any], ...] = (
    _row("get", "/reports/summary", "summary", "Headline figures: conversations, volumes, response rate, first "
         "response time, funnel; and the previous period's.", {"200": _answer("ReportSummary")}, query=_QUERY),
    _row("get", "/reports/response-times", "response_times", "First response and response times: median, p90, "
         "mean and their distribution.", {"200": _answer("ReportResponseTimes")}, query=_QUERY),
    _row("get", "/reports/funnel", "funnel", "Outgoing messages sent -> delivered -> read -> replied per number; "
         "failures by reason.", {"200": _answer("ReportFunnel")}, query=_QUERY + ("campaignId",)),
    _row("get", "/reports/volume", "volume", "Incoming and outgoing per number per day (groups apart).",
         {"200": _answer("ReportVolume")}, query=_QUERY),
    _row("get", "/reports/heatmap", "heatmap", "Incoming messages per weekday and hour.",
         {"200": _answer("ReportHeatmap")}, query=_QUERY),
    _row("get", "/reports/settings", "get_settings", "The conversation gap, the response target, business hours.",
         {"200": "ReportSettings"}),
    {"method": "get", "path": "/ui/vendor/uplot/{name}", "endpoint": "ui.chart_library", "public": True,
     "summary": "The Reports window's chart library (uPlot's ES module and style sheet), kept a day by the browser.",
     "ok": {"200": {"description": "The file, with its own content type.", "content": {"*/*": {"schema": STRING}}}},
     "tags": ("ui",)},
    _row("put", "/reports/settings", "set_settings", "Change some report settings (null clears the target or the "
         "hours); a new gap recomputes the report tables.", {"200": "ReportSettings"}, body="ReportSettingsChange"),
)
