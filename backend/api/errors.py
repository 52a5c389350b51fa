"""One error envelope for every JSON error: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import TooManyAttempts, Unavailable, ZapPoolError

log = logging.getLogger(__name__)


def envelope(status: int, code: str, message: str, details: dict | None = None) -> tuple[Response, int]:
    """The JSON error response."""
    return jsonify({"error": {"code": code, "message": message, "details": details or {}}}), status


def register_error_handlers(app: Flask) -> None:
    """Render ZapPool's errors, HTTP errors and anything unexpected in the envelope (never a stack trace)."""

    @app.errorhandler(ZapPoolError)
    def zapool_error(exc: ZapPoolError) -> tuple[Response, int]:
        response, status = envelope(exc.status, exc.code, exc.message, exc.details)
        if isinstance(exc, (TooManyAttempts, Unavailable)) and "retryAfter" in exc.details:
            response.headers["Retry-After"] = str(int(exc.details["retryAfter"]) + 1)
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
        response, status = envelope(exc.code or 500, code, exc.description or exc.name)
        for name, value in exc.get_headers():  # e.g. a 405's Allow, which RFC 9110 requires
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("[API] erro inesperado")
        return envelope(500, "internal", "Internal error: see ZapPool's log for details")
