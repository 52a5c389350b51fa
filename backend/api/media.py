"""A message's media: `GET /clients/{id}/messages/{messageId}/media`, the bytes with their type.

Everything about the file came from a contact: its type decides only whether it is shown inline (images, audio,
video of the kinds browsers play safely) or offered as a download (anything else, HTML, SVG and scripts among
them, which must never run from this origin); its name is cleaned before it reaches a header. Every answer says
`nosniff` and carries a sandboxing CSP, so even a wrong type cannot make the bytes a page of ours.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata

from flask import Blueprint, Response, send_file

from ..errors import Unavailable
from ..service import MediaService, ServedMedia
from .clients import svc

bp = Blueprint("media", __name__)
# Shown inline: the types the chat window previews, none of which a browser runs as a document.
INLINE = re.compile(r"^(image/(jpeg|png|gif|webp)|audio/(ogg|mpeg|mp4|aac|wav|webm|amr|opus)|"
                    r"video/(mp4|webm|ogg|3gpp|quicktime))$")
MIMETYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
PARAMS = re.compile(r'^[A-Za-z0-9_.+=-]{1,40}(; ?[A-Za-z0-9_.+=-]{1,40}){0,3}$')  # nothing a header could break on
MEDIA_CSP = "default-src 'none'; sandbox"
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
              "audio/ogg": ".ogg", "audio/mpeg": ".mp3", "video/mp4": ".mp4", "application/pdf": ".pdf"}


def media() -> MediaService:
    """The media service of this app (Unavailable when it was built without one)."""
    service = svc().media
    if service is None:
        raise Unavailable("Media is not enabled in this ZapPool")
    return service


@bp.get("/clients/<client:client_id>/messages/<message_id>/media")
def message_media(client_id: str, message_id: str) -> Response:
    """The bytes of a message's media (by ZapPool's message id or the WhatsApp id), with its type."""
    return serve(media().open(client_id, message_id[:200]), message_id)


@bp.get("/media-links/<token>")
def media_link(token: str) -> Response:
    """The bytes a desktop window's short-lived link names (the link is the credential: see media/links.py)."""
    found, message_id = media().open_link(token)
    return serve(found, message_id)


def serve(found: ServedMedia, message_id: str) -> Response:
    """The file with a checked type, inline only for safe types, a clean file name, nosniff and a sandbox."""
    mimetype, _, params = found.mimetype.partition(";")
    mimetype, params = mimetype.strip().lower(), params.strip()
    if not MIMETYPE.match(mimetype):
        mimetype = "application/octet-stream"
    inline = bool(INLINE.match(mimetype))
    if inline and PARAMS.match(params):  # e.g. a voice note's "codecs=opus", which players use
        mimetype = f"{mimetype}; {params}"
    name = safe_filename(found.filename, message_id, mimetype.split(";", 1)[0])
    sealed = found.data is not None  # issue 19: a sealed file's clear bytes, opened by the media service
    response = send_file(io.BytesIO(found.data) if sealed else found.path, mimetype=mimetype,
                         as_attachment=not inline, download_name=name, conditional=True, max_age=0,
                         etag=hashlib.sha256(found.data).hexdigest()[:32] if sealed else True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = MEDIA_CSP
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def safe_filename(filename: str | None, message_id: str, mimetype: str) -> str:
    """The sender's file name without folders, control characters or quotes (at most 120 characters), or
    `media-<id><ext>` when it has none left."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and ch not in "\"<>|*?:")
    name = name.strip(" .")[:120]
    if not name:
        tail = re.sub(r"[^A-Za-z0-9]", "", message_id)[-16:] or "file"
        name = f"media-{tail}{EXTENSIONS.get(mimetype, '')}"
    return name
