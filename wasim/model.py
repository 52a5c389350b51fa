"""Records, errors, validation and id generators shared by the simulator's modules."""

from __future__ import annotations

import base64
import queue
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .scheduler import Timer

PHONE_RE = re.compile(r"^\d{8,15}$")
# WhatsApp's pairing codes avoid look-alike characters (no 0, I, O, U).
PAIRING_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
MEDIA_TYPES = ("image", "document", "audio", "ptt", "video", "sticker")


class SimFail(Exception):
    """A refused request: HTTP status, message, and an optional WPP error code for the page."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def body(self) -> dict[str, Any]:
        """The JSON error envelope."""
        out: dict[str, Any] = {"error": self.message}
        if self.code:
            out["code"] = self.code
        return out


@dataclass
class Config:
    """Timings (ms) and switches; changes affect codes and messages created afterwards."""

    first_qr_ms: int = 60_000
    qr_ms: int = 20_000
    max_qrs: int = 6
    ack_delivered_ms: int | None = 500
    ack_read_ms: int | None = 1500
    load_ms: int = 50
    # Real WA-JS 4.6.0 creates unknown chats itself; the default keeps the stricter createChat rule.
    require_create_chat: bool = True
    # Real WA-JS 4.6.0 emits conn.main_ready once per load, on the QR screen too (the default, as the real
    # site); false gives the simpler order authenticated -> main_loaded -> main_ready after a scan.
    main_ready_on_qr: bool = True
    # WhatsApp's servers' clock this far behind the machine's: the `t` of the messages a phone sends and receives
    # from now on (a machine whose clock runs ahead of WhatsApp's orders its own log differently from chat.list).
    clock_lag_ms: int = 0

    def update(self, values: dict[str, Any]) -> None:
        """Apply known keys after checking their types; unknown keys are refused."""
        for key, value in values.items():
            if key not in self.__dataclass_fields__:
                raise SimFail(400, f"unknown config key: {key}")
            if key in ("require_create_chat", "main_ready_on_qr"):
                if not isinstance(value, bool):
                    raise SimFail(400, f"{key} must be a boolean")
            elif value is None and key.startswith("ack_"):
                pass
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise SimFail(400, f"{key} must be a non-negative integer")
            setattr(self, key, value)
        if self.max_qrs < 1:
            self.max_qrs = 1

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


@dataclass
class Session:
    """One WhatsApp Web tab: lives as long as its event stream."""

    id: str
    user_agent: str
    outbox: "queue.Queue[dict[str, Any] | None]" = field(default_factory=queue.Queue)
    status: str = "loading"  # loading, qr, idle, pairing, syncing, ready ("offline" is derived)
    qr: dict[str, str] | None = None
    qr_index: int = 0
    qr_expires_at: int | None = None
    qr_timer: Timer | None = None
    pairing_code: str | None = None
    pairing_phone: str | None = None
    phone: str | None = None
    device_id: str | None = None

    def push(self, event: dict[str, Any]) -> None:
        """Queue an event for the page's stream."""
        self.outbox.put(event)

    def stop_qr(self) -> None:
        """Forget the current code and its rotation timer."""
        if self.qr_timer is not None:
            self.qr_timer.cancel()
        self.qr_timer = None
        self.qr = None
        self.qr_expires_at = None


@dataclass
class Device:
    """A linked companion device: survives page reloads until unlinked."""

    device_id: str
    phone: str
    secret: bytes


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return int(time.time() * 1000)


def valid_phone(value: Any, what: str = "phone") -> str:
    """Digits only, 8-15 long, else a 400."""
    if not isinstance(value, str) or not PHONE_RE.match(value):
        raise SimFail(400, f"{what} must be 8-15 digits, got {value!r}")
    return value


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


def new_auth_code() -> dict[str, str]:
    """A multidevice AuthCode shaped like WhatsApp's: ref, three base64 keys, fullCode joining them."""
    ref = "2@" + b64(secrets.token_bytes(60))
    static_key, identity_key, secret_key = (b64(secrets.token_bytes(32)) for _ in range(3))
    full = ",".join((ref, static_key, identity_key, secret_key))
    return {"type": "multidevice", "ref": ref, "staticKeyPair": static_key,
            "identityKeyPair": identity_key, "secretKey": secret_key, "fullCode": full}


def new_pairing_code() -> str:
    """Eight characters from WhatsApp's pairing alphabet."""
    return "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(8))


def new_msg_id() -> str:
    """A message id like WhatsApp Web's own: 3EB0 and 16 uppercase hex digits."""
    return "3EB0" + secrets.token_hex(8).upper()


def new_session_id() -> str:
    """Opaque id of one page load."""
    return secrets.token_hex(8)


def new_device_id() -> str:
    """Opaque id of one linked device."""
    return "dev-" + secrets.token_hex(6)


def ninth_digit_twin(number: str) -> str | None:
    """The same Brazilian mobile with or without the ninth digit, or None for other numbers."""
    if not number.startswith("55"):
        return None
    if len(number) == 13 and number[4] == "9":
        return number[:4] + number[5:]
    if len(number) == 12:
        return number[:4] + "9" + number[4:]
    return None
