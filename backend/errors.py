"""ZapPool's own errors: every failure a caller can see is one of these.

    ZapPoolError                  500 internal
    ├── InvalidInput              422 invalid_input
    │   ├── InvalidNumber         422 invalid_number
    │   ├── InvalidText           422 invalid_text
    │   ├── InvalidMedia          422 invalid_media
    │   └── InvalidClientId       422 invalid_client_id
    ├── Unauthorized              401 unauthorized   (no, wrong or revoked credentials)
    ├── PasswordChangeRequired    403 password_change_required
    ├── NotFound                  404 not_found
    │   ├── NumberNotOnWhatsApp   404 number_not_on_whatsapp
    │   ├── MediaNotFound         404 media_not_found     (no such message, or it has no media)
    │   └── MediaUnavailable      404 media_unavailable   (media not here: downloading, expired, too large, removed)
    ├── Conflict                  409 conflict
    │   ├── ClientNotReady        409 client_not_ready
    │   └── LeaseLost             409 lease_lost    (cluster: this node no longer owns the number; fencing)
    ├── TooManyAttempts           429 too_many_attempts   (details.retryAfter: seconds)
    ├── Unavailable               503 unavailable         (details.retryAfter, when trying later helps)
    ├── StorageFull               507 storage_full        (the data folder's disk is full: nothing was written)
    ├── StoreClosed               500 store_closed        (a data file used after its owner closed it: stopping)
    └── EngineError               502 engine_error
        ├── BrowserNotFound       503 browser_not_found
        ├── BrowserClosed         503 browser_closed
        ├── EngineTimeout         504 timeout
        └── WhatsAppError         502 whatsapp_error   (WhatsApp Web refused a call)

Each class carries the HTTP status and a stable machine-readable code, so the REST API and the desktop
bridge render every error the same way without knowing where it came from.
"""

from __future__ import annotations

from typing import Any


class ZapPoolError(Exception):
    """Base of every error ZapPool raises on purpose."""

    status = 500
    code = "internal"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        """The error envelope shared by REST and the desktop bridge."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(ZapPoolError):
    """The caller sent something ZapPool cannot act on."""

    status = 422
    code = "invalid_input"


class InvalidNumber(InvalidInput):
    """A phone number that is not a full international number."""

    code = "invalid_number"


class InvalidText(InvalidInput):
    """Message text that is empty or too long."""

    code = "invalid_text"


class InvalidMedia(InvalidInput):
    """Media that is not valid base64, has no type, or is too big."""

    code = "invalid_media"


class InvalidClientId(InvalidInput):
    """A client id that could not safely name a folder."""

    code = "invalid_client_id"


class Unauthorized(ZapPoolError):
    """No credentials, or credentials ZapPool does not accept (wrong, expired or revoked)."""

    status = 401
    code = "unauthorized"


class PasswordChangeRequired(ZapPoolError):
    """The admin still has the first-run password: nothing but changing it is allowed."""

    status = 403
    code = "password_change_required"


class NotFound(ZapPoolError):
    """The thing asked for does not exist."""

    status = 404
    code = "not_found"


class NumberNotOnWhatsApp(NotFound):
    """WhatsApp says no account uses this number."""

    code = "number_not_on_whatsapp"


class MediaNotFound(NotFound):
    """No message of that number by that id, or a message without media."""

    code = "media_not_found"


class MediaUnavailable(NotFound):
    """The message has media, but its bytes are not here (details.state: pending, unavailable, too_large,
    removed): still downloading, gone from WhatsApp's servers, over the size cap, or removed by retention."""

    code = "media_unavailable"


class Conflict(ZapPoolError):
    """The request is valid but the current state does not allow it."""

    status = 409
    code = "conflict"


class ClientNotReady(Conflict):
    """The number is not connected, so it cannot send or look up."""

    code = "client_not_ready"


class LeaseLost(Conflict):
    """Cluster mode: this node's lease on a number expired or passed to another node, so the database refused
    a write made under it (its fencing token is no longer the number's current one)."""

    code = "lease_lost"


class TooManyAttempts(ZapPoolError):
    """Too many failed logins: `details.retryAfter` says how many seconds to wait."""

    status = 429
    code = "too_many_attempts"


class Unavailable(ZapPoolError):
    """ZapPool cannot serve this now (too many event streams, shutting down) or was started without it."""

    status = 503
    code = "unavailable"


class StorageFull(ZapPoolError):
    """The disk holding the data folder is full (or over quota): the write was not made, no file was damaged."""

    status = 507
    code = "storage_full"


class StoreClosed(ZapPoolError):
    """A data file was used after its owner closed it: ZapPool is stopping. Workers end on it (worker.py)."""

    code = "store_closed"


class EngineError(ZapPoolError):
    """The browser engine failed."""

    status = 502
    code = "engine_error"


class BrowserNotFound(EngineError):
    """No usable Chromium, Chrome or Edge on this machine."""

    status = 503
    code = "browser_not_found"


class BrowserClosed(EngineError):
    """The browser or page went away while ZapPool was using it."""

    status = 503
    code = "browser_closed"


class EngineTimeout(EngineError):
    """A wait on the browser or WhatsApp Web ran out of time."""

    status = 504
    code = "timeout"


class WhatsAppError(EngineError):
    """WhatsApp Web (through WA-JS) rejected a call; `details.wppCode` holds its own code."""

    code = "whatsapp_error"


def stored_error(code: str | None, message: str, details: dict[str, Any]) -> ZapPoolError:
    """A failure kept on disk by its code (a failed message's error_code) raised again as the class it was, so a
    synchronous send answers 404 for a number not on WhatsApp as the first attempt did; unknown codes stay 500."""
    classes: dict[str, type[ZapPoolError]] = {}
    pending: list[type[ZapPoolError]] = [ZapPoolError]
    while pending:
        cls = pending.pop()
        classes.setdefault(cls.code, cls)
        pending.extend(c for c in cls.__subclasses__() if c.__module__ == __name__)
    return classes.get(code or "", ZapPoolError)(message, code=code, details=details)
