"""The templates routes' rows of the OpenAPI document (openapi.py's OPERATIONS takes them as Op(**row)) and their
shapes (issue 17 §1). Refusals: template_not_found (404), template_name_taken (409), template_syntax,
template_not_allowed, template_variable_missing, invalid_text, invalid_media and invalid_input (422)."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import INTEGER, STRING, Schema, obj, ref, request_obj

_VARIABLES: Schema = {"type": "object", "additionalProperties": {"type": ["string", "number"]},
                      "description": "Values by variable name, e.g. {\"nome\": \"Ana\", \"pedido\": \"123\"}."}
_TEXT: Schema = {**STRING, "description": "The text: {{nome}} a variable, {{nome|default(\"cliente\")}} with its "
                                          "default, {Olá|Oi} alternatives chosen at random (not nested)."}
_MEDIA_IN = request_obj({"data": {**STRING, "description": "base64"}, "mimetype": STRING, "filename": STRING},
                        optional=("filename",))
TEMPLATE_SCHEMAS: dict[str, Schema] = {
    "Template": obj({"id": STRING, "name": STRING, "text": STRING, "variables": {"type": "array", "items": STRING},
                     "defaults": {"type": "object", "additionalProperties": STRING},
                     "required": {"type": "array", "items": STRING},
                     "media": obj({"mimetype": STRING, "filename": STRING, "size": INTEGER}, optional=("filename",)),
                     "createdAt": STRING, "updatedAt": STRING}, optional=("media",),
                    description="required: the variables a message must be given (no default)."),
    "TemplateList": {"type": "array", "items": ref("Template")},
    "NewTemplate": request_obj({"name": {**STRING, "minLength": 1, "maxLength": 100}, "text": _TEXT,
                                "media": _MEDIA_IN}, optional=("media",)),
    "TemplateChange": request_obj({"name": STRING, "text": _TEXT, "media": _MEDIA_IN},
                                  optional=("name", "text", "media")),
    "TemplateVariables": request_obj({"variables": _VARIABLES}, optional=("variables",)),
    "TemplateTextPreview": request_obj({"text": _TEXT, "variables": _VARIABLES}, optional=("variables",)),
    "TemplatePreview": obj({"text": STRING, "variables": {"type": "array", "items": STRING},
                            "alternatives": {"type": "array", "items": {"type": "array", "items": STRING}}},
                           optional=("variables",),
                           description="text: one message as it would go out; alternatives: every {a|b} choice."),
}
_WITH_BODY = ("BadRequest", "TooLarge", "UnsupportedType", "Invalid")
_ONE = "/templates/{template_id}"


def _row(method: str, path: str, endpoint: str, summary: str, ok: dict[str, Any], body: str | None = None,
         errors: tuple[str, ...] = (), description: str = "") -> dict[str, Any]:
    writes = ("StorageFull",) if method in ("post", "put", "patch", "delete") else ()
    return {"method": method, "path": path, "endpoint": f"templates.{endpoint}", "summary": summary, "ok": ok,
            "body": body, "errors": (_WITH_BODY if body else ()) + errors + writes, "description": description,
            "tags": ("templates",)}


TEMPLATE_OPERATIONS: tuple[dict[str, Any], ...] = (
    _row("get", "/templates", "list_templates", "Every template, by name.", {"200": "TemplateList"}),
    _row("post", "/templates", "create_template", "A new named template; checked now, so it always renders.",
         {"201": "Template"}, "NewTemplate", ("Conflict",),
         "409 template_name_taken; 422 template_syntax (details.line, details.reason), template_not_allowed "
         "(anything beyond variables and defaults), invalid_media."),
    _row("post", "/templates/preview", "preview_text", "Unsaved text rendered (a variable without a value shows "
         "its [name]).", {"200": "TemplatePreview"}, "TemplateTextPreview"),
    _row("get", _ONE, "get_template", "One template.", {"200": "Template"}),
    _row("put", _ONE, "replace_template", "Replace name, text and media (left out: none).", {"200": "Template"},
         "NewTemplate", ("Conflict",)),
    _row("patch", _ONE, "change_template", "Change the fields given; media null removes it.", {"200": "Template"},
         "TemplateChange", ("Conflict",)),
    _row("delete", _ONE, "delete_template", "Remove a template.", {"204": None}),
    _row("post", f"{_ONE}/preview", "preview_template", "The text one message would get with these variables.",
         {"200": "TemplatePreview"}, "TemplateVariables",
         description="422 template_variable_missing (details.variables) or invalid_text (over WhatsApp's limit)."),
)
TEMPLATE_PATH_SCHEMAS = {"template_id": {**STRING, "pattern": "^tpl_[0-9a-f]{16}$"}}
TEMPLATE_PATH_PARAMS = {"template_id": "A template's id, e.g. tpl_0123456789abcdef."}
