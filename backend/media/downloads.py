"""The download worker: each incoming media message's bytes fetched from its number's page
(WPP.chat.downloadMedia, in chunks) into media/kept/, retried with backoff while WhatsApp or the number fails,
and the retention sweep. One thread for every number: downloads are rare next to sends, and one at a time keeps
a burst of photos from taking the engine loop away from the sends.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from collections.abc import Callable

from ..config import Settings
from ..clock import backoff_s
from ..errors import ClientNotReady, EngineError, NotFound, WhatsAppError
from ..store.media import KeptMedia, received_name
from ..whatsapp.blobs import BLOB_CHUNK
from ..store.media_log import MediaLog, MediaRow
from ..whatsapp.client import WhatsAppClient
from ..worker import Worker

log = logging.getLogger(__name__)
SWEEP_EVERY_S = 3600.0
IDLE_S = 60.0  # look again at least this often (a kick is the usual wake-up)
# WA-JS's answers that no later try can change: the message is not on this page's WhatsApp, or has no media.
FINAL_CODES = frozenset({"msg_not_found", "chat_not_found", "message_not_contains_media"})


class Downloads(Worker):
    """Fetches due downloads one by one; sweeps kept media every SWEEP_EVERY_S."""

    def __init__(self, log_: MediaLog, kept: KeptMedia, client: Callable[[str], WhatsAppClient],
                 settings: Settings, *, clock: Callable[[], float] = time.time):
        super().__init__("media-downloads")
        self.log = log_
        self.kept = kept
        self.client = client  # the pool's get(): NotFound once a number is removed
        self.settings = settings
        self._clock = clock
        self._rng = random.Random()
        self._swept_at = 0.0
        self.chunk_bytes = BLOB_CHUNK  # per call into the page (bench/media_download.py compares sizes)
        # Waits until the incoming messages reported so far are in the message log (the outbox's flush), so the
        # log's own row exists when a download finishes and can be told the media is here.
        self.logged: Callable[[], object] = lambda: None

    @property
    def max_bytes(self) -> int:
        """The size cap of one download."""
        return int(self.settings.media_max_mb * 1024 * 1024)

    def step(self) -> float:
        """Sweep when due, fetch what is due, sleep until the next is."""
        if self._clock() - self._swept_at >= SWEEP_EVERY_S:
            self.sweep()
        for row in self.log.due():
            if self.stopping:
                return 0.0
            self.fetch(row)
        due = self.log.next_due_at()
        return IDLE_S if due is None else max(0.0, min(IDLE_S, due / 1000 - self._clock()))

    def sweep(self) -> None:
        """Temp files a kill left, then files beyond the retention bound (their rows say removed)."""
        self._swept_at = self._clock()
        self.kept.sweep_temps()
        removed = self.kept.sweep(self.settings.media_keep_days, int(self.settings.media_keep_mb * 1024 * 1024),
                                  self._clock())
        self.log.removed(removed)

    def fetch(self, row: MediaRow) -> None:
        """One download: present, retried later, or given up on (unavailable, too_large)."""
        try:
            client = self.client(row.client_id)
        except NotFound:
            return self.log.update(row.client_id, row.message_key, state="unavailable", error="number removed")
        try:
            size, sha256 = self._download(client, row)
        except _TooLarge as exc:
            log.info("[Media] %s: mídia de %s maior que o limite (%s)", row.client_id, row.message_key, exc)
            return self.log.update(row.client_id, row.message_key, state="too_large", error=str(exc))
        except WhatsAppError as exc:
            code = str(exc.details.get("wppCode"))
            return self._failed(row, code, final=code in FINAL_CODES)
        except ClientNotReady:
            return self._later(row)
        except (EngineError, _Corrupt) as exc:
            return self._failed(row, getattr(exc, "code", "corrupt"), final=False)
        self.logged()
        self.log.update(row.client_id, row.message_key, state="present", file=received_name(row.client_id,
                        row.message_key), size=size, sha256=sha256, attempts=row.attempts + 1, error=None)
        log.info("[Media] %s: mídia recebida guardada (%s, %d bytes)", row.client_id, row.kind, size)

    def _download(self, client: WhatsAppClient, row: MediaRow) -> tuple[int, str]:
        """The bytes into media/kept/ (written whole or not at all), checked against WhatsApp's filehash."""
        if row.size is not None and row.size > self.max_bytes:
            raise _TooLarge(f"{row.size} bytes")
        name = received_name(row.client_id, row.message_key)
        with client.wpp_blob("chat.downloadMedia", row.message_key) as blob:
            if blob.size > self.max_bytes:
                raise _TooLarge(f"{blob.size} bytes")
            try:
                size, sha256 = self.kept.write_stream(name, blob.chunks(self.chunk_bytes), self.max_bytes)
            except ValueError as exc:
                raise _TooLarge(str(exc)) from None
        if row.filehash and base64.b64encode(bytes.fromhex(sha256)).decode("ascii") != row.filehash:
            self.kept.path(name).unlink(missing_ok=True)
            raise _Corrupt("the bytes do not match WhatsApp's filehash")
        return size, sha256

    def _failed(self, row: MediaRow, code: str, *, final: bool) -> None:
        """A failed try: again later with backoff, or, final or out of tries, unavailable."""
        attempts = row.attempts + 1
        if final or attempts >= self.settings.media_max_attempts:
            log.warning("[Media] %s: mídia de %s indisponível (%s)", row.client_id, row.message_key, code)
            return self.log.update(row.client_id, row.message_key, state="unavailable", attempts=attempts,
                                   error=code, next_try_at=None)
        wait = backoff_s(attempts, self.settings.media_retry_base_s, self.settings.media_retry_cap_s,
                         self._rng.random)
        self.log.update(row.client_id, row.message_key, attempts=attempts, error=code,
                        next_try_at=int((self._clock() + wait) * 1000))

    def _later(self, row: MediaRow) -> None:
        """The number is not connected: no try spent; the `ready` event kicks the worker."""
        self.log.update(row.client_id, row.message_key,
                        next_try_at=int((self._clock() + self.settings.media_retry_cap_s) * 1000))


class _TooLarge(Exception):
    """Over the size cap: the media stays on WhatsApp."""


class _Corrupt(Exception):
    """The bytes are not what WhatsApp announced."""
