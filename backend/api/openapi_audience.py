"""The customer list's rows of the OpenAPI document (issue 17 §2: /contacts and below; openapi.py's OPERATIONS
takes them as Op(**row)), their shapes, their query parameters, and the import's CSV request body. Refusals:
contact_not_found and optout_not_found (404), csv_unreadable and invalid_input (422)."""

from __future__ import annotations

from typing import Any

from .guard import IMPORT_BODY
from .openapi_schemas import INTEGER, STRING, TIME, BOOLEAN, Schema, nullable, obj, ref, request_obj

_TAGS: Schema = {"type": "array", "items": {**STRING, "minLength": 1, "maxLength": 64}, "maxItems": 50}
_VARIABLES: Schema = {"type": "object", "additionalProperties": {**STRING, "maxLength": 1000}, "maxProperties": 100,
                      "description": "Extra fields (CSV columns), usable as message variables."}
_PHONE: Schema = {**STRING, "minLength": 1, "maxLength": 64,
                  "description": "As people write it; Brazil by default: (11) 98765-4321, +55 11 98765-4321."}
_OPT_OUT = obj({"phone": STRING, "at": TIME, "how": {"type": "string", "enum": ["keyword", "manual", "api"]},
                "messageId": nullable(STRING), "clientId": nullable(STRING)},
               description="A phone that asked to receive nothing; messageId/clientId: the keyword message.")
_SETTINGS = obj({"keywords": {"type": "array", "items": STRING}, "reply": STRING},
                description="Opt-out keywords (compared without case, accents or spaces) and the confirmation.")

AUDIENCE_SCHEMAS: dict[str, Schema] = {
    "Customer": obj({"id": INTEGER, "phone": {**STRING, "description": "E.164 digits, e.g. 5511987654321"},
                     "name": STRING, "variables": _VARIABLES, "tags": {"type": "array", "items": STRING},
                     "optedOut": BOOLEAN, "createdAt": TIME, "updatedAt": TIME},
                    description="A customer of the business (not WhatsApp's address book)."),
    "CustomerList": obj({"items": {"type": "array", "items": ref("Customer")}, "nextCursor": nullable(STRING)}),
    "NewCustomer": request_obj({"phone": _PHONE, "name": {**STRING, "maxLength": 200}, "variables": _VARIABLES,
                                "tags": _TAGS}, optional=("name", "variables", "tags")),
    "CustomerChange": request_obj({"name": {**STRING, "maxLength": 200}, "variables": _VARIABLES,
                                   "addTags": _TAGS, "removeTags": _TAGS},
                                  optional=("name", "variables", "addTags", "removeTags")),
    "ImportReport": obj({"imported": INTEGER, "merged": INTEGER, "invalid": {"type": "array", "items": obj({
        "line": INTEGER, "reason": {"type": "string", "enum": ["no_phone", "invalid_phone", "field_too_long",
                                                               "too_many_fields", "invalid_tags"]},
        "message": STRING})}},
        description="imported: new customers; merged: rows merged into a customer of the same phone (stored "
                    "or earlier in the file); invalid: rows left out whole, by line of the file."),
    "TagList": obj({"items": {"type": "array", "items": obj({"name": STRING, "count": INTEGER})}}),
    "OptOut": _OPT_OUT,
    "OptOutList": obj({"items": {"type": "array", "items": ref("OptOut")}, "nextCursor": nullable(STRING)}),
    "NewOptOut": request_obj({"phone": _PHONE}),
    "OptOutSettings": _SETTINGS,
    "OptOutSettingsChange": request_obj({
        "keywords": {"type": "array", "items": {**STRING, "minLength": 1, "maxLength": 30}, "minItems": 1,
                     "maxItems": 20},
        "reply": {**STRING, "minLength": 1, "maxLength": 1000}}, optional=("keywords", "reply")),
}
AUDIENCE_QUERY: dict[str, dict[str, Any]] = {
    "q": {"schema": {**STRING, "maxLength": 100}, "description": "Name or phone contains this."},
    "tag": {"schema": {**STRING, "maxLength": 64}, "description": "Only customers carrying this tag."},
    "tags": {"schema": {**STRING, "maxLength": 1000}, "description": "Comma-separated tags for every imported row."},
}
AUDIENCE_PATH_PARAMS = {"customer_id": "A customer's id (GET /contacts).",
                        "phone": "A phone as written, e.g. 5511987654321."}
# pattern: how the id looks in the path (so /contacts/tags is never read as an id); JSON Schema applies it to text only
AUDIENCE_PATH_SCHEMAS = {"customer_id": {**INTEGER, "minimum": 0, "maximum": 9007199254740991,
                                         "pattern": "^[0-9]{1,16}$"}}
# POST /contacts/import takes the file itself, not JSON (guard.py lets this route alone take these types).
IMPORT_REQUEST = {
    "required": True, "x-maxBodyBytes": IMPORT_BODY,
    "description": f"The CSV file (UTF-8 with or without BOM, UTF-16, cp1252; `,` `;` or tab), at most "
                   f"{IMPORT_BODY:,} bytes: the body itself, or a form's `file` field.",
    "content": {"text/csv": {"schema": STRING},
                "multipart/form-data": {"schema": {"type": "object", "properties": {
                    "file": {"type": "string", "contentMediaType": "text/csv"}, "tags": STRING},
                    "required": ["file"]}}},
}

_BODY = ("BadRequest", "TooLarge", "UnsupportedType", "Invalid", "StorageFull")


def _row(method: str, path: str, endpoint: str, summary: str, ok: dict[str, Any], body: str | None = None,
         query: tuple[str, ...] = (), errors: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"method": method, "path": path, "endpoint": f"audience.{endpoint}", "summary": summary, "ok": ok,
            "body": body, "query": query, "errors": (_BODY if body else ()) + errors, "tags": ("audience",)}


AUDIENCE_OPERATIONS: tuple[dict[str, Any], ...] = (
    _row("get", "/contacts", "list_contacts", "The customer list by id, searched and filtered by tag.",
         {"200": "CustomerList"}, query=("q", "tag", "cursor", "limit"), errors=("Invalid",)),
    _row("post", "/contacts", "create_contact", "Add a customer (merged into the one with that phone).",
         {"201": "Customer"}, "NewCustomer"),
    _row("post", "/contacts/import", "import_contacts",
         "Import a CSV (Google Contacts, Excel, `;` with Brazilian headers): valid rows in one transaction, "
         "duplicates merged, bad rows reported by line.", {"200": "ImportReport"}, "ImportReport",
         query=("tags",)),
    _row("get", "/contacts/tags", "list_tags", "Every tag and how many customers carry it.", {"200": "TagList"}),
    _row("get", "/contacts/{customer_id}", "get_contact", "One customer.", {"200": "Customer"}),
    _row("patch", "/contacts/{customer_id}", "change_contact", "Change the name or variables, add or remove tags.",
         {"200": "Customer"}, "CustomerChange"),
    _row("delete", "/contacts/{customer_id}", "delete_contact", "Forget a customer (an opt-out stays).",
         {"204": None}, errors=("StorageFull",)),
    _row("get", "/contacts/optouts", "list_optouts", "The phones that opted out, in the order they did.",
         {"200": "OptOutList"}, query=("cursor", "limit"), errors=("Invalid",)),
    _row("post", "/contacts/optouts", "add_optout", "Opt a phone out: campaigns will never reach it.",
         {"201": "OptOut"}, "NewOptOut"),
    _row("delete", "/contacts/optouts/{phone}", "remove_optout", "The phone may receive messages again.",
         {"204": None}, errors=("Invalid", "StorageFull")),
    _row("get", "/contacts/settings", "get_settings", "The opt-out keywords and the confirmation text.",
         {"200": "OptOutSettings"}),
    _row("patch", "/contacts/settings", "change_settings", "Change the opt-out keywords and/or confirmation text.",
         {"200": "OptOutSettings"}, "OptOutSettingsChange"),
)


def with_import_body(paths: dict[str, dict[str, Any]]) -> None:
    """The import's request body is the CSV file: replace the JSON body the table gave it."""
    paths["/contacts/import"]["post"]["requestBody"] = IMPORT_REQUEST
