"""The schedules routes' rows of the OpenAPI document (issue 17 §3; openapi.py's OPERATIONS takes them as Op(**row)),
their shapes and query parameter. Refusals: schedule_not_found (404), schedule_not_active (409),
schedule_bad_time, schedule_unknown_timezone, schedule_bad_rule, schedule_too_frequent, template_not_found,
template_variable_missing, invalid_number, invalid_text and invalid_input (422)."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import INTEGER, STRING, Schema, nullable, obj, ref, request_obj

_LOCAL: Schema = {"type": "string", "format": "date-time",
                  "description": "ISO 8601 in the schedule's zone, with its offset."}
_AT: Schema = {**STRING, "maxLength": 64,
               "description": "ISO 8601 with its offset (or Z), e.g. 2026-12-24T09:00:00-03:00; a one-off may not be "
                              "more than a minute past, nor more than ten years ahead."}
_RULE: Schema = {**STRING, "maxLength": 300,
                 "description": "daily, weekly, monthly, or an RFC 5545 RRULE (e.g. FREQ=WEEKLY;BYDAY=MO,TH): FREQ "
                                "HOURLY or slower, INTERVAL, COUNT (≤10,000), UNTIL (UTC), BYDAY, BYMONTHDAY, BYMONTH, "
                                "BYHOUR, BYMINUTE, WKST; at most one occurrence an hour. Null or absent: once."}
_TZ: Schema = {**STRING, "maxLength": 64,
               "description": "IANA zone whose wall clock the repeats keep (e.g. America/Sao_Paulo); default: the "
                              "machine's."}
_VARIABLES: Schema = {"type": "object", "additionalProperties": {"type": ["string", "number"]},
                      "description": "The template's values by variable name."}
_MISSED: Schema = {"type": "string", "enum": ["send", "skip"],
                   "description": "An occurrence missed while ZapPool was closed: send it late within graceS, else "
                                  "skip it (recorded in lastRuns); skip: always skip it. Default send."}
_GRACE: Schema = {**INTEGER, "minimum": 0, "maximum": 604800, "description": "Seconds; default 3600."}
_FIELDS: dict[str, Schema] = {"clientId": STRING, "to": {**STRING, "maxLength": 100}, "text": STRING,
                              "templateId": STRING, "variables": _VARIABLES, "at": _AT, "rrule": _RULE, "tz": _TZ,
                              "missed": _MISSED, "graceS": _GRACE}
_RUN = obj({"occurrence": _LOCAL, "outcome": {"type": "string", "enum": ["queued", "skipped", "failed"]},
            "messageId": nullable(STRING), "reason": nullable(STRING), "at": {**STRING, "format": "date-time"}},
           description="queued: in the outbox as messageId (GET /messages/{id} follows it); skipped: missed while "
                       "ZapPool was closed; failed: the message could not be made (reason).")
SCHEDULE_SCHEMAS: dict[str, Schema] = {
    "Schedule": obj({"id": STRING, "clientId": nullable(STRING), "to": STRING, "text": STRING, "templateId": STRING,
                     "variables": _VARIABLES, "at": _LOCAL, "tz": STRING, "rrule": nullable(STRING),
                     "missed": _MISSED, "graceS": INTEGER,
                     "status": {"type": "string", "enum": ["active", "finished", "cancelled"]},
                     "nextAt": nullable(_LOCAL), "createdAt": STRING, "updatedAt": STRING,
                     "lastRuns": {"type": "array", "items": _RUN}},
                    optional=("text", "templateId", "variables"),
                    description="text, or templateId with variables. nextAt: the next occurrence (null once over)."),
    "ScheduleList": obj({"items": {"type": "array", "items": ref("Schedule")}, "nextCursor": nullable(STRING)}),
    "NewSchedule": request_obj(_FIELDS, optional=("clientId", "text", "templateId", "variables", "rrule", "tz",
                                                  "missed", "graceS")),
    "ScheduleChange": request_obj(_FIELDS, optional=tuple(_FIELDS)),
}
SCHEDULE_QUERY: dict[str, dict[str, Any]] = {
    "status": {"schema": {"type": "string", "enum": ["active", "finished", "cancelled"]},
               "description": "Only schedules in this state."},
}
SCHEDULE_PATH_SCHEMAS = {"schedule_id": {**STRING, "pattern": "^sch_[0-9a-f]{16}$"}}
SCHEDULE_PATH_PARAMS = {"schedule_id": "A schedule's id, e.g. sch_0123456789abcdef."}
_BODY = ("BadRequest", "TooLarge", "UnsupportedType", "Invalid", "StorageFull")
_ONE = "/schedules/{schedule_id}"


def _row(method: str, path: str, endpoint: str, summary: str, ok: dict[str, Any], body: str | None = None,
         query: tuple[str, ...] = (), errors: tuple[str, ...] = (), description: str = "") -> dict[str, Any]:
    return {"method": method, "path": path, "endpoint": f"schedules.{endpoint}", "summary": summary, "ok": ok,
            "body": body, "query": query, "errors": (_BODY if body else ()) + errors, "description": description,
            "tags": ("schedules",)}


SCHEDULE_OPERATIONS: tuple[dict[str, Any], ...] = (
    _row("post", "/schedules", "create_schedule", "Schedule a message for a time, or to repeat.",
         {"201": "Schedule"}, "NewSchedule", errors=("NotFound",),
         description="404 not_found (clientId), template_not_found; 422 schedule_bad_time (details.reason: "
                     "unparsable, no_offset, past, too_far), schedule_unknown_timezone, schedule_bad_rule "
                     "(details.reason), schedule_too_frequent, template_variable_missing, invalid_number, "
                     "invalid_text."),
    _row("get", "/schedules", "list_schedules", "Schedules in the order they were made.", {"200": "ScheduleList"},
         query=("clientId", "status", "cursor", "limit"), errors=("Invalid",)),
    _row("get", _ONE, "get_schedule", "One schedule and its latest runs.", {"200": "Schedule"}),
    _row("patch", _ONE, "change_schedule", "Change the fields given while it is active; a new at, rrule or tz "
         "moves the next occurrence from now on.", {"200": "Schedule"}, "ScheduleChange", errors=("Conflict",),
         description="409 schedule_not_active once it finished or was cancelled; 422 as POST /schedules."),
    _row("delete", _ONE, "cancel_schedule", "Cancel it: nothing more is sent; it stays listed as cancelled.",
         {"200": "Schedule"}, errors=("Conflict", "StorageFull"),
         description="409 schedule_not_active once it finished or was cancelled."),
)
