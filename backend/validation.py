"""Checks on what callers send (phone numbers, message text, media, client ids, field types, page sizes),
made once at the edge: what passes comes out as a typed value the layers below trust."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers

from .errors import InvalidClientId, InvalidInput, InvalidMedia, InvalidNumber, InvalidText

MAX_TEXT_CHARS = 65_536
MAX_MEDIA_BYTES = 16 * 1024 * 1024
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024
LANGUAGES = ("pt-BR", "en")  # of the windows (the preference `language`)
MAX_ORDERED = 1000  # ids in the preference cardOrder: far beyond any pool, small enough to bound the file
MAX_PATH_CHARS = 1024  # the preference browserPath
CLIENT_ID_PATTERN = r"(?!all$)[A-Za-z0-9_-]{1,64}"  # "all" would be hidden by GET /clients/all
CLIENT_ID_RE = re.compile(CLIENT_ID_PATTERN)
_SEPARATORS = re.compile(r"[\s().\-]")


def check_client_id(client_id: str) -> str:
    """A client id names a folder under dados/: letters, digits, _ and - only, so nothing escapes it."""
    if not isinstance(client_id, str) or not CLIENT_ID_RE.fullmatch(client_id):
        raise InvalidClientId("A client id is 1 to 64 letters, digits, '_' or '-', and not 'all'",
                              details={"clientId": str(client_id)[:80]})
    return client_id


class PhoneNumber(str):
    """The digits of an international number, as normalize_number() made them: checked once, trusted after."""


def phone_number(value: str) -> PhoneNumber:
    """`value` if it is already a checked PhoneNumber, else normalized now (a Python caller's raw string)."""
    return value if isinstance(value, PhoneNumber) else normalize_number(value)


def normalize_number(raw: str, default_region: str | None = None) -> PhoneNumber:
    """Digits of a full international number ("+55 11 99999-0001", "5511999990001@c.us" -> "5511999990001").

    With `default_region` (e.g. "BR"), a number that is not valid with its own country code is also tried as a
    national number of that region ("(11) 99999-0001" -> "5511999990001"), as a person in that country writes it.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidNumber("The phone number is empty", details={"to": raw})
    text = raw.strip()
    if text.endswith("@c.us"):
        text = text[: -len("@c.us")]
    digits = _SEPARATORS.sub("", text).removeprefix("+")
    if not digits.isdigit():
        raise InvalidNumber(f"{raw!r} is not a phone number: use digits only, with the country code "
                            "(e.g. 5511999990001)", details={"to": raw})
    if not _is_valid_international(digits) and default_region and not text.startswith("+"):
        digits = _national(digits, default_region) or digits
    if not _is_valid_international(digits):
        raise InvalidNumber(f"{raw!r} is not a valid international number: include the country code "
                            "(e.g. 55 for Brazil: 5511999990001)", details={"to": raw})
    return PhoneNumber(digits)


def _national(digits: str, region: str) -> str | None:
    """The international digits of a national number of `region`, or None if it is not one."""
    try:
        parsed = phonenumbers.parse(digits, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).removeprefix("+")


@lru_cache(maxsize=4096)
def _is_valid_international(digits: str) -> bool:
    """Valid for libphonenumber, or a Brazilian mobile still registered without its ninth digit. Kept per digits:
    libphonenumber's parse was ~10% of a POST /messages request's CPU, asked twice per message, and senders write
    to the same contacts again and again."""
    candidates = [digits]
    if digits.startswith("55") and len(digits) == 12:
        candidates.append(digits[:4] + "9" + digits[4:])
    for candidate in candidates:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse("+" + candidate, None)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def check_text(text: str) -> str:
    """Message text: not empty, at most 65,536 characters (WhatsApp's own limit)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidText("The message text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidText(f"The message has {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}",
                          details={"length": len(text), "limit": MAX_TEXT_CHARS})
    return text


@dataclass(frozen=True)
class Media:
    """A file to send, as the seed's MessageMedia: base64 data, its type and an optional file name."""

    mimetype: str
    data: str
    filename: str | None = None


def media_kind(mimetype: str, as_document: bool = False) -> str:
    """WA-JS's message type for a MIME type: image, video, audio or document."""
    major = mimetype.split("/", 1)[0].lower()
    if as_document or major not in ("image", "video", "audio"):
        return "document"
    return "audio" if major == "audio" else major


def decode_media(media: Media, kind: str) -> bytes:
    """The media's bytes, refused clearly when they are not base64 or too large for their kind."""
    if not isinstance(media.mimetype, str) or not re.fullmatch(r"[\w.+-]+/[\w.+-]+", media.mimetype.strip()):
        raise InvalidMedia("Media needs a MIME type such as image/jpeg", details={"mimetype": media.mimetype})
    data = media.data
    if isinstance(data, str) and data.startswith("data:") and "," in data:
        data = data.split(",", 1)[1]  # accept a data URL as well as bare base64
    limit = MAX_DOCUMENT_BYTES if kind == "document" else MAX_MEDIA_BYTES
    if not isinstance(data, str) or len(data) * 3 // 4 > limit + 3:
        raise InvalidMedia(_too_big(kind, limit) if isinstance(data, str) else "Media data must be base64 text",
                           details={"limit": limit, "kind": kind})
    try:
        raw = base64.b64decode(re.sub(r"\s", "", data), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMedia("Media data is not valid base64") from None
    if not raw:
        raise InvalidMedia("Media data is empty")
    if len(raw) > limit:
        raise InvalidMedia(_too_big(kind, limit), details={"size": len(raw), "limit": limit, "kind": kind})
    check_declared_type(media.mimetype.strip(), raw)
    return raw


# Formats recognised by their first bytes, with the family each belongs to. Only a contradiction is refused:
# bytes nobody recognises (or a declared type not checked here) pass, as WhatsApp takes them.
_SIGNATURES = ((b"%PDF-", "a PDF document", "pdf"), (b"\x89PNG\r\n\x1a\n", "a PNG image", "image"),
               (b"\xff\xd8\xff", "a JPEG image", "image"), (b"GIF8", "a GIF image", "image"),
               (b"PK\x03\x04", "a ZIP archive", "archive"), (b"\x7fELF", "a program (ELF)", "program"))
# Declared type (or its family) -> families its bytes may be.
_MAY_BE = {"image": {"image"}, "video": {"video"}, "audio": {"audio"}, "application/pdf": {"pdf"}}


def _recognise(raw: bytes) -> tuple[str, str] | None:
    """(what, family) of bytes whose format is certain from their start, or None."""
    for magic, what, family in _SIGNATURES:
        if raw.startswith(magic):
            return what, family
    offset = int.from_bytes(raw[0x3C:0x40], "little") if raw.startswith(b"MZ") and len(raw) >= 0x40 else -1
    if 0 < offset <= len(raw) - 4 and raw[offset:offset + 4] == b"PE\0\0":  # "MZ" alone is too common a start
        return "a Windows program", "program"
    return None


def check_declared_type(mimetype: str, raw: bytes) -> None:
    """InvalidMedia when the bytes are plainly not what the MIME type says (a program sent as image/jpeg, a PDF
    as audio/ogg): WhatsApp would show the contact a broken file under a false type."""
    allowed = _MAY_BE.get(mimetype.lower()) or _MAY_BE.get(mimetype.split("/", 1)[0].lower())
    found = _recognise(raw) if allowed else None
    if found and found[1] not in allowed:
        raise InvalidMedia(f"The data is {found[0]}, not {mimetype}: send it with its real type",
                           details={"mimetype": mimetype, "detected": found[0]})


def _too_big(kind: str, limit: int) -> str:
    """The message for oversized media."""
    return f"The {kind} is larger than WhatsApp's limit of {limit // (1024 * 1024)} MB"


_TYPE_NAMES = {str: "text", int: "an integer", bool: "true or false", dict: "an object", list: "a list"}
MAX_PAGE = 200  # items per page of any list, REST's ?limit= and the windows' alike


def typed(value: Any, name: str, kind: type, *, required: bool = True, default: Any = None) -> Any:
    """`value` checked to be a `kind` (None: missing); InvalidInput naming the field `name` otherwise. The one
    field reader of the REST bodies and the windows' arguments."""
    if value is None:
        if required:
            raise InvalidInput(f"'{name}' is required", details={"field": name})
        return default
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidInput(f"'{name}' must be {_TYPE_NAMES.get(kind, kind.__name__)}", details={"field": name})
    return value


def check_limit(value: Any, most: int = MAX_PAGE) -> int:
    """A page size: a whole number from 1 to `most`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise InvalidInput(f"'limit' must be a whole number from 1 to {most}", details={"field": "limit"})
    return value
