"""Messages checked at the edge: a Draft holds what the outbox accepts, decoded and normalised once.

The REST views and the desktop bridge read their input's types (validation.typed); the service turns it into a
Draft here (the number normalised, the text checked, the media decoded from base64 once, its options typed);
the outbox, its workers and the number that sends it trust the Draft and never check it again. Media travels
as bytes from here on (a file in media/ while queued), never as base64 again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput, InvalidMedia
from .validation import (Media, PhoneNumber, check_client_id, check_text, decode_media, is_group, media_kind,
                         normalize_number)

MEDIA_OPTIONS: dict[str, type] = {"caption": str, "filename": str, "sendAudioAsVoice": bool,
                                  "sendMediaAsDocument": bool}


@dataclass(frozen=True)
class MediaFile:
    """Media decoded and checked: its bytes, MIME type, WA-JS kind (image, video, audio, document), name."""

    data: bytes
    mimetype: str
    kind: str
    filename: str | None = None


@dataclass(frozen=True)
class Draft:
    """A checked message not yet accepted: from a number (None: any ready one) to a number."""

    client_id: str | None
    number: PhoneNumber
    type: str
    body: str | None
    media: dict[str, Any] | None = None  # what the log keeps: mimetype, filename, size, sha256, options
    data: bytes | None = None
    tag: str | None = None  # who sent it, for the reports' funnel: a campaign's id (None: a person or the API)


def text_draft(client_id: str | None, to: str, text: str, region: str | None = None) -> Draft:
    """A text message, checked: a bad client id, number or text is refused here, never later."""
    if client_id is not None:
        check_client_id(client_id)
    return Draft(client_id, _number(to, region, client_id), "chat", check_text(text))


def media_draft(client_id: str | None, to: str, media: Any, options: Any = None,
                region: str | None = None) -> Draft:
    """A media message {mimetype, data (base64), filename}, checked and decoded: bad media is refused here."""
    if client_id is not None:
        check_client_id(client_id)
    number = _number(to, region, client_id)
    options = media_options(options)
    item = decoded_media(media, bool(options.get("sendMediaAsDocument")))
    meta = {"mimetype": item.mimetype, "filename": options.get("filename") or item.filename,
            "size": len(item.data), "sha256": hashlib.sha256(item.data).hexdigest(), "options": options}
    return Draft(client_id, number, item.kind, options.get("caption"), meta, item.data)


def _number(to: str, region: str | None, client_id: str | None = None) -> PhoneNumber:
    """The number to send to: normalised now, unless the caller already did. A group is reached only from a
    number in it, so a message to a group names its clientId (no round-robin)."""
    number = to if isinstance(to, PhoneNumber) else normalize_number(to, region)
    if client_id is None and is_group(number):
        raise InvalidInput("A message to a group needs clientId: the number in that group that sends it",
                           details={"field": "clientId"})
    return number


def decoded_media(media: Any, as_document: bool = False) -> MediaFile:
    """The seed's MessageMedia ({mimetype, data (base64), filename} or Media) as checked bytes."""
    if isinstance(media, MediaFile):
        return media
    if isinstance(media, dict):
        media = Media(mimetype=media.get("mimetype"), data=media.get("data"), filename=media.get("filename"))
    if not isinstance(media, Media):
        raise InvalidMedia("Media is an object: {mimetype, data (base64), filename}")
    kind = media_kind(media.mimetype if isinstance(media.mimetype, str) else "", as_document)
    data = decode_media(media, kind)
    if media.filename is not None and not isinstance(media.filename, str):
        raise InvalidMedia("The file name must be text")
    return MediaFile(data, media.mimetype, kind, media.filename)


def media_options(options: Any) -> dict[str, Any]:
    """The send options WhatsAppClient.send_media knows, type-checked; others are dropped, as the client does."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise InvalidMedia("Media options are an object: {caption, filename, sendAudioAsVoice, sendMediaAsDocument}")
    checked = {}
    for key, kind in MEDIA_OPTIONS.items():
        value = options.get(key)
        if value is not None and not isinstance(value, kind):
            raise InvalidMedia(f"The media option {key} must be {'text' if kind is str else 'true or false'}",
                               details={key: str(value)[:80]})
        if value is not None:
            checked[key] = value
    return checked
