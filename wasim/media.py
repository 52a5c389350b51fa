"""Media bytes of the simulated phones: what WhatsApp's media servers hold for a message, fetched by the page's
`WPP.chat.downloadMedia` (static/wpp_media.js), and expired on the control's word, as the real servers drop
media after a while (the page then gets WA-JS's `media_not_found`).

The message a page receives carries no bytes (as on the real site: a thumbnail at most), only the media's
mimetype, size and `filehash` (base64 of the SHA-256 of the bytes, WhatsApp's own field). Not kept across a
restart of the simulator: after one, earlier media answers `media_not_found`, as expired media does.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from typing import Any

from .model import SimFail, valid_phone


class MediaVault:
    """Bytes by (phone, message id); thread-safe on its own lock (byte copies stay out of the Sim's lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[tuple[str, str], tuple[bytes, str]] = {}

    def clear(self) -> None:
        """Forget every file (the simulator's reset)."""
        with self._lock:
            self._files.clear()

    def keep(self, phone: str, msg_id: str, data: bytes, mimetype: str) -> str:
        """Hold a message's bytes for `phone`; returns its filehash (base64 SHA-256, as WhatsApp stamps it)."""
        with self._lock:
            self._files[(phone, msg_id)] = (data, mimetype)
        return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")

    def fetch(self, phone: str, msg_id: Any) -> tuple[bytes, str]:
        """The bytes and mimetype of a message of `phone`; 404 media_not_found when none (or expired)."""
        with self._lock:
            found = self._files.get((phone, str(msg_id)))
        if found is None:
            raise SimFail(404, "Media not found", "media_not_found")
        return found

    def expire(self, body: dict[str, Any]) -> dict[str, Any]:
        """Control: the media server drops a message's file (`{phone, id}`: id as incoming() answered it, the
        serialized key, or its last part). 404 when it holds none."""
        phone = valid_phone(body.get("phone"), "phone")
        msg_id = str(body.get("id") or "").rsplit("_", 1)[-1]
        with self._lock:
            if self._files.pop((phone, msg_id), None) is None:
                raise SimFail(404, f"no media kept for message {body.get('id')!r} of {phone}")
        return {"expired": True}
