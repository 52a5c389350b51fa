"""WhatsAppClient: one WhatsApp number, the seed's WhatsAppClientService in Python.

A thin synchronous face over its ClientSession (session.py): public methods are safe to call from any thread
and each hands its work to the engine loop (`EngineRuntime.call`). Everything that changes the client's
state runs on that loop, so there is one writer; `get_info()` reads a consistent snapshot under a small lock.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from ..clock import iso
from ..events.hub import Subscriber
from ..outbox.sender import Attempt
from ..drafts import MediaFile
from ..validation import Media
from .blobs import PageBlob
from .session import READ_TIMEOUT_S, ClientMetadata, ClientSession, S

FIRST_QR_S, NEXT_QR_S = 60, 20  # how long WhatsApp Web shows its first QR code, and each one after


class WhatsAppClient(ClientSession):
    """One number, from any thread: start, send, look up, disconnect; its info and its events."""

    # -- events --------------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber, events: set[str] | None = None) -> Callable[[], None]:
        """Call `callback(event)` for the named events (all when None); returns the unsubscribe function."""
        return self.events.subscribe(callback, events)

    def on(self, name: str, callback: Subscriber) -> Callable[[], None]:
        """Subscribe to one event by name (qr, code, authenticated, ready, message, ...)."""
        return self.events.subscribe(callback, {name})

    # -- sync API (any thread) --------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, Any], timeout_s: float | None = None) -> Any:
        """Run one of the async methods below on the engine loop."""
        return self.runtime.call(coro, (timeout_s or self.settings.call_timeout_s) + 5)

    def initialize(self) -> dict[str, Any]:
        """Start the browser and WhatsApp Web; returns once a QR code is shown or the number is ready."""
        return self._run(self.initialize_async(), self.settings.load_timeout_s * 2)

    def send_message(self, to: str, text: str, attempt: Attempt = Attempt()) -> dict[str, Any]:
        """Send a text message; returns once WhatsApp has it (ack 1, sent). `attempt`: see outbox.sender.Attempt."""
        return self._run(self.send_message_async(to, text, attempt))

    def send_media(self, to: str, media: MediaFile | Media | dict[str, Any], options: dict[str, Any] | None = None,
                   attempt: Attempt = Attempt()) -> dict[str, Any]:
        """Send an image, document, audio or video; options: caption, filename, sendAudioAsVoice, sendMediaAsDocument."""
        return self._run(self.send_media_async(to, media, options or {}, attempt), self.settings.call_timeout_s * 3)

    def check_number(self, to: str) -> dict[str, Any]:
        """Is the number on WhatsApp, and under which id."""
        return self._run(self.check_number_async(to))

    def check_number_cached(self, to: str) -> dict[str, Any]:
        """check_number() answered from the look-up cache when it has a fresh answer (campaigns check each
        recipient first; the send then reuses the kept answer, so a check costs no second query)."""
        return self._run(self.check_number_cached_async(to))

    def request_pairing_code(self, phone: str) -> str:
        """Link by phone number instead of QR: the 8-character code to type on the phone."""
        return self._run(self.request_pairing_code_async(phone))

    def mark_chat_read(self, chat: str) -> None:
        """Mark a conversation read on WhatsApp itself: the phone's unread badge goes, the contact sees blue ticks."""
        self._run(self.mark_chat_read_async(chat), READ_TIMEOUT_S)

    def wpp_call(self, name: str, *args: Any, timeout_s: float | None = None) -> Any:
        """WPP.<name>(*args) on this number's ready page, for the capability packages (contacts, media, groups):
        only names listed in engine.wpp.WPP_FUNCTIONS pass; ClientNotReady unless the number is ready."""
        return self._run(self.wpp_call_async(name, *args, timeout_s=timeout_s), timeout_s)

    def wpp_blob(self, name: str, *args: Any) -> PageBlob:
        """WPP.<name>(*args) for a function that answers a Blob (chat.downloadMedia): the Blob stays in the page,
        read in chunks from the caller's thread (whatsapp/blobs.py). Same checks as wpp_call()."""
        found = self._run(self._blob_async(name, *args))
        return PageBlob(self, found["handle"], int(found["size"]), found.get("mimetype"))

    def disconnect(self) -> None:
        """Close the browser; the login stays in the profile, so reconnect() needs no scan."""
        self._run(self.disconnect_async())

    def reconnect(self) -> dict[str, Any]:
        """Close whatever is open and start again."""
        return self._run(self.reconnect_async(), self.settings.load_timeout_s * 2)

    def logout(self) -> None:
        """Unlink the device from the phone and delete the browser profile."""
        self._run(self.logout_async())

    def get_info(self) -> dict[str, Any]:
        """The seed's shape: clientId, status, phoneNumber, qrCode, metadata, isReady (plus name, reason)."""
        with self._info_lock:
            m = self.metadata
            return {
                "clientId": self.client_id,
                "name": self.name,
                "status": self.status.value,
                "reason": self.reason,
                "phoneNumber": m.phone_number,
                "qrCode": self.qr.data_url if self.qr else None,
                "qrExpiresAt": iso(self._qr_expiry()) if self.qr else None,
                "pairingCode": self.pairing_code,
                "metadata": {
                    "createdAt": iso(m.created_at),
                    "lastQRAt": iso(m.last_qr_at),
                    "connectedAt": iso(m.connected_at),
                    "messageCount": m.message_count,
                    "lastError": m.last_error,
                },
                "isReady": self.status == S.READY,
                "onDemand": self.on_demand,
                "sleeping": self.sleeping,
            }

    def _qr_expiry(self) -> datetime | None:
        """When WhatsApp will likely replace the QR code: ~60 s after the first, ~20 s after the others."""
        if self.metadata.last_qr_at is None:
            return None
        lifetime = FIRST_QR_S if self.qr_shown <= 1 else NEXT_QR_S
        return self.metadata.last_qr_at + timedelta(seconds=lifetime)


__all__ = ["ClientMetadata", "WhatsAppClient"]
