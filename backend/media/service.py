"""MediaService: what the rest of ZapPool asks about media. It follows the pool's events (an incoming media
message is recorded and queued for download; a sent one is recorded as kept), adds a `media` object with the
URL of the bytes (never the bytes) to those events before the SSE stream, the windows and the webhooks see
them, and opens a message's media for the API and the windows.

It must subscribe to the pool before the event bus and the webhooks do (assembly.build_service builds it first):
subscribers are called in order, and the `media` object is added to the event's own message dict.
"""

from __future__ import annotations

import logging
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..config import Settings
from ..errors import MediaNotFound, MediaUnavailable, NotFound
from ..events.hub import ClientEvent
from ..outbox.outbox import Outbox
from ..store.media import KeptMedia, MediaFiles, sent_name
from ..store.media_log import MediaLog, MediaRow
from ..whatsapp.pool import WhatsAppPool
from .downloads import Downloads
from .links import MediaLinks

log = logging.getLogger(__name__)
KINDS = frozenset({"image", "audio", "ptt", "video", "document", "sticker"})
FINISHED_STEPS = frozenset({"sent", "failed"})


@dataclass(frozen=True)
class ServedMedia:
    """A message's media file, ready to be served: where it is and what it says it is; in a sealed data folder
    (issue 19) its clear bytes too, opened here, since the file on disk is sealed."""

    path: Path
    mimetype: str
    filename: str | None
    size: int
    data: bytes | None = None


class MediaService:
    """Records, downloads, keeps and opens media; start()/stop() run the download worker."""

    def __init__(self, pool: WhatsAppPool, outbox: Outbox, media_log: MediaLog, kept: KeptMedia,
                 queued: MediaFiles, settings: Settings, *, clock: Callable[[], float] = time.time):
        self.pool = pool
        self.outbox = outbox
        self.log = media_log
        self.kept = kept
        self.queued = queued
        self._clock = clock
        self.downloads = Downloads(media_log, kept, pool.get, settings, clock=clock)
        self.links = MediaLinks()
        self.downloads.logged = outbox.flush
        pool.subscribe(self._on_event, {"message", "ready", "message_status"})

    def start(self) -> None:
        """Start downloading (and sweeping what a kill left half-written)."""
        self.downloads.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Finish the current download and stop."""
        self.downloads.stop()
        self.downloads.join(timeout_s)

    # -- the pool's events ----------------------------------------------------------------------------

    def _on_event(self, event: ClientEvent) -> None:
        """Incoming media is queued for download; a finished send's media is recorded as kept."""
        message = event.data.get("message")
        if event.name == "message" and isinstance(message, dict):
            self.arrived(event.client_id, message)
        elif event.name == "message_status" and isinstance(message, dict):
            self._sent(event.client_id, event.data.get("status"), message)
        elif event.name == "ready" and self.log.retry_now(event.client_id):
            self.downloads.kick()

    def arrived(self, client_id: str, message: dict[str, Any]) -> None:
        """An incoming message: media is recorded (pending) and the download worker woken; the message gains
        its `media` object."""
        kind, key = message.get("type"), message.get("id")
        if kind not in KINDS or not isinstance(key, str):
            return
        size = message.get("size")
        row = MediaRow(client_id, key, "in", kind, _text(message.get("mimetype")), _text(message.get("filename")),
                       size if isinstance(size, int) and not isinstance(size, bool) else None, None,
                       _text(message.get("filehash")), "pending", None, 0, int(self._clock() * 1000), None)
        if self.log.expect(row):
            self.downloads.kick()
        message["media"] = self.describe(self.log.get(client_id, key) or row)

    def _sent(self, client_id: str, status: Any, message: dict[str, Any]) -> None:
        """A sent (or failed) message's media was moved to kept/: record it, and give the event its URL."""
        media = message.get("media")
        if not isinstance(media, dict) or message.get("direction") != "out":
            return
        key = str(message.get("id"))
        if status in FINISHED_STEPS and self.log.get(client_id, key) is None:
            name = sent_name(key)
            present = self.kept.exists(name)
            self.log.expect(MediaRow(client_id, key, "out", str(message.get("type")), media.get("mimetype"),
                                     media.get("filename"), media.get("size"), media.get("sha256"), None,
                                     "present" if present else "removed", name if present else None, 0, None, None))
            self.log.update(client_id, key, state="present" if present else "removed")
        media["url"] = media_url(client_id, key)

    def describe(self, row: MediaRow) -> dict[str, Any]:
        """The `media` object of an event or a message: what it is, whether it is here, and its URL."""
        return {"kind": row.kind, "mimetype": row.mimetype, "filename": row.filename, "size": row.size,
                "sha256": row.sha256, "state": row.state, "url": media_url(row.client_id, row.message_key)}

    # -- serving --------------------------------------------------------------------------------------

    def open(self, client_id: str, message_id: str) -> ServedMedia:
        """A message's media by ZapPool's message id or the WhatsApp id; MediaNotFound when the number has no
        such message or it has no media, MediaUnavailable when the bytes are not here."""
        self.pool.get(client_id)  # NotFound for an unknown number
        row = self.log.get(client_id, message_id)
        if row is None:
            row = self._row_of_record(client_id, message_id) or self._fetch_again(client_id, message_id)
        if row is None:
            return self._queued(client_id, message_id)
        if not row.present or not self.kept.exists(row.file or ""):
            state = "removed" if row.present else row.state
            raise MediaUnavailable(f"The media of message {message_id} is not available ({state})",
                                   details={"messageId": message_id, "state": state})
        path = self.kept.path(row.file or "")
        data = self.kept.read(row.file or "") if self.kept.sealer else None
        return ServedMedia(path, row.mimetype or _guess(row.filename), row.filename, self.kept.size(row.file or ""),
                           data)

    def link(self, client_id: str, message_id: str) -> dict[str, Any]:
        """A short-lived link to a message's media for a desktop window (see links.py), with what it is; the
        same errors as open() when there is nothing to show yet."""
        found = self.open(client_id, message_id)
        return {"url": self.links.make(client_id, message_id), "mimetype": found.mimetype,
                "filename": found.filename, "size": found.size}

    def open_link(self, token: str) -> tuple[ServedMedia, str]:
        """The media a link names, and its message id (MediaLinkInvalid for a forged or expired link)."""
        client_id, message_id = self.links.read(token)
        return self.open(client_id, message_id), message_id

    def _row_of_record(self, client_id: str, message_id: str) -> MediaRow | None:
        """The media row of a message named by ZapPool's id (an incoming one is kept under its WhatsApp id)."""
        try:
            record = self.outbox.get(message_id)
        except NotFound:
            return None
        if record.client_id != client_id or record.media is None:
            raise MediaNotFound(f"Message {message_id} of {client_id} has no media", details={"messageId": message_id})
        return self.log.get(client_id, record.wa_id or "") if record.direction == "in" else None

    def _fetch_again(self, client_id: str, wa_id: str) -> MediaRow | None:
        """A received message with media that this node never kept (cluster mode: another node drove the number
        when it arrived, and died with the file; the log is shared, this media log is not): its download queued
        now, from this node's page of the number, as on arrival (MediaUnavailable `pending` until it is here)."""
        record = self.outbox.received(client_id, wa_id)
        if record is None or record.media is None or record.type not in KINDS:
            return None
        size = record.media.get("size")
        self.arrived(client_id, {"id": wa_id, "type": record.type, "mimetype": record.media.get("mimetype"),
                                 "filename": record.media.get("filename"),
                                 "size": size if isinstance(size, int) else None})
        log.info("[Media] %s: mídia de %s não está neste nó; baixando de novo do WhatsApp", client_id, wa_id)
        return self.log.get(client_id, wa_id)

    def _queued(self, client_id: str, message_id: str) -> ServedMedia:
        """An outgoing message whose media has no row yet: still queued (media/<id>), or never had media."""
        try:
            record = self.outbox.get(message_id)
        except NotFound:
            raise MediaNotFound(f"No message {message_id} with media for {client_id}",
                                details={"messageId": message_id}) from None
        path = self.queued.path(record.id)
        if record.client_id != client_id or record.media is None or record.direction != "out":
            raise MediaNotFound(f"Message {message_id} of {client_id} has no media", details={"messageId": message_id})
        if not path.is_file():
            path = self.kept.path(sent_name(record.id))
        if not path.is_file():
            raise MediaUnavailable(f"The media of message {message_id} is not available (removed)",
                                   details={"messageId": message_id, "state": "removed"})
        mimetype = record.media.get("mimetype") or _guess(record.media.get("filename"))
        if self.queued.sealer is None:
            return ServedMedia(path, mimetype, record.media.get("filename"), path.stat().st_size)
        data = self.queued.read(record.id) if path.parent == self.queued.folder else self.kept.read(path.name)
        return ServedMedia(path, mimetype, record.media.get("filename"), len(data), data)


def media_url(client_id: str, message_key: str) -> str:
    """The API path of a message's media (the same for the windows, whose pages come from this server)."""
    return f"/clients/{quote(client_id, safe='')}/messages/{quote(message_key, safe='@')}/media"


def _text(value: Any) -> str | None:
    """Strings pass (cut to a sane length: they come from a contact), anything else is None."""
    return value[:255] if isinstance(value, str) else None


def _guess(filename: Any) -> str:
    """A type from a file name's extension when WhatsApp gave none."""
    guessed = mimetypes.guess_type(filename)[0] if isinstance(filename, str) else None
    return guessed or "application/octet-stream"
