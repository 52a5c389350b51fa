"""Reading a JSON request body: malformed JSON is a 400, a wrong type a 422 that names the field."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from ..errors import InvalidInput, ZapPoolError

_MISSING = object()
_TYPE_NAMES = {str: "text", int: "an integer", bool: "true or false", dict: "an object", list: "a list"}


class MalformedJson(ZapPoolError):
    """The body is not JSON at all."""

    status = 400
    code = "malformed_json"


def json_body(*, required: bool = True) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body when not required)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise MalformedJson("The request needs a JSON body")
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedJson(f"The body is not valid JSON: {exc}") from None
    except RecursionError:  # [[[[...: Python's parser gives up past ~1,000 levels; no request needs 10
        raise MalformedJson("The body's JSON is nested too deeply") from None
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object", details={"field": "(body)"})
    return body


def field(body: dict[str, Any], name: str, kind: type, *, required: bool = False, default: Any = None) -> Any:
    """body[name] checked to be of `kind` (422 naming the field otherwise)."""
    value = body.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise InvalidInput(f"'{name}' is required", details={"field": name})
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidInput(f"'{name}' must be {_TYPE_NAMES.get(kind, kind.__name__)}", details={"field": name})
    return value


def query_limit(default: int = 50, most: int = 200) -> int:
    """?limit=, a whole number from 1 to `most`."""
    raw = request.args.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise InvalidInput(f"'limit' must be a whole number from 1 to {most}", details={"field": "limit"})
    return int(raw)
