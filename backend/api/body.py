"""Reading a JSON request body: malformed JSON is a 400, a wrong type a 422 that names the field."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from ..errors import InvalidInput, ZapPoolError
from ..validation import check_limit, typed



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
    """body[name] checked to be of `kind` (422 naming the field otherwise): validation.typed, as the windows."""
    return typed(body.get(name), name, kind, required=required, default=default)


def query_limit(default: int = 50) -> int:
    """?limit=, a whole number from 1 to 200 (validation.check_limit, as the windows)."""
    raw = request.args.get("limit", str(default))
    return check_limit(int(raw) if raw.isdigit() else raw)
