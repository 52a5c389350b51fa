"""The pool's memory across restarts: each number's record in `whatsapp-sessions.json`, in the seed's shape.

The pool loads the records at start (a number known, not started), saves one when a number's state changes
(never per message: with 100 numbers each rewrite grows) and decides from the saved status which numbers to
restore. The message count is never taken from here: the message log is the truth, and the file's
`messageCount` (written for the seed's shape only) is the count at the number's last state change, so it
lags the messages sent since.

Saving is queued: status changes arrive on the engine thread, which must never wait for a disk, so save()
keeps the newest record per number and a worker writes them (a burst of changes is one write). A new
number is written at once (save_now: the caller must know a full disk), and stop() writes what is queued.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from ..clock import iso
from ..errors import StorageFull
from ..status import ClientStatus
from ..store.session_protocol import SessionRecords
from ..validation import CLIENT_ID_RE
from ..worker import Worker
from .client import WhatsAppClient
from .profiles import ProfileSnapshots
from .supervisor import RETRYABLE

log = logging.getLogger(__name__)
S = ClientStatus
RESTORABLE = frozenset({S.READY.value, S.AUTHENTICATED.value})
SAVED_METADATA = ("createdAt", "connectedAt", "messageCount")


def parse_time(text: Any) -> datetime | None:
    """An ISO timestamp from the sessions file, or None."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def restorable(record: dict[str, Any]) -> bool:
    """A saved record of a number that was connected, or cut off by accident (not on purpose): worth starting."""
    return record.get("status") in RESTORABLE or (
        record.get("status") == S.DISCONNECTED.value and record.get("reason") in RETRYABLE)


class SavedNumbers:
    """The sessions file as the pool uses it: records to load, to save, to forget."""

    def __init__(self, store: SessionRecords, profiles_dir: Path, profiles: ProfileSnapshots | None = None):
        self.store = store
        self.profiles_dir = profiles_dir
        self.profiles = profiles  # a sealed data folder's live profiles and sealed snapshots (issue 19)
        self._saved: dict[str, dict[str, Any]] = {}  # the last record written (or loaded) per number
        self._queued: dict[str, dict[str, Any]] = {}  # the newest record not written yet, per number
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer at a time: the worker, save_now, forget, stop
        self._writer = Worker("sessions-file", self._write_queued)

    def start(self) -> None:
        """Begin writing queued records in the background."""
        self._writer.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Write what is queued, then end the writer."""
        self._write_queued()
        self._writer.stop()
        self._writer.join(timeout_s)

    def load(self) -> list[dict[str, Any]]:
        """Every saved record; after a bad file was set aside, the numbers whose profile folders remain."""
        if self.store.set_aside_as is not None:
            self._relist_profiles()
        records = self.store.all()
        for record in records:
            if isinstance(record.get("clientId"), str):
                self._saved[record["clientId"]] = record
        return records

    def _relist_profiles(self) -> None:
        """The sessions file was bad and set aside: list again each number whose browser profile is still in
        dados/sessions/, as never started. Its login is in the profile, so connecting it needs no scan; its
        name and phone number come back from WhatsApp then."""
        folder = self.profiles.folder if self.profiles else self.profiles_dir  # sealed: the snapshots' files
        if not folder.is_dir():
            return
        found = sorted(p.name for p in folder.iterdir()
                       if CLIENT_ID_RE.fullmatch(p.name) and (self.profiles is not None or p.is_dir()))
        for client_id in found:
            self.store.save({"clientId": client_id, "name": None, "status": S.IDLE.value, "reason": None,
                             "phoneNumber": None, "metadata": {}})
        if found:
            log.warning("[Pool] %d número(s) listado(s) de novo a partir das pastas de perfil (%s): conecte-os, "
                        "o login continua no perfil", len(found), ", ".join(found))

    def remember(self, record: dict[str, Any]) -> None:
        """A record this pool did not load at start (cluster mode: a number placed on this node) counts as
        loaded: its saved status is what restoring it reads."""
        self._saved[str(record["clientId"])] = record

    def was_connected(self, client_id: str) -> bool:
        """Ready or authenticated when last saved, or cut off by accident (not on purpose): worth restoring."""
        with self._queue_lock:  # the newest record counts, written or still queued
            record = self._queued.get(client_id) or self._saved.get(client_id, {})
        return restorable(record)

    def save(self, client: WhatsAppClient) -> None:
        """Queue the client's record (the seed's fields plus name and reason); never touches the disk."""
        if client.status == S.IDLE and client.client_id in self._saved:
            return  # loaded from the file and not started yet: the saved status is still the truth
        record = self.record_of(client)
        with self._queue_lock:
            self._queued[client.client_id] = record
        self._writer.kick()

    def save_now(self, client: WhatsAppClient) -> None:
        """Write the client's record now; StorageFull if the disk is full (adding a number: the caller says so)."""
        record = self.record_of(client)
        with self._write_lock:
            self.store.save(record)
            self._saved[client.client_id] = record

    def save_mode(self, client: WhatsAppClient) -> None:
        """Write the number's on-demand mode now (a user's change: a full disk raises StorageFull). A number
        loaded and not started keeps its saved status, which restore reads."""
        with self._queue_lock:
            last = self._queued.get(client.client_id) or self._saved.get(client.client_id)
        keep = client.status == S.IDLE and last is not None
        record = {**last, "onDemand": client.on_demand} if keep else self.record_of(client)
        with self._write_lock:
            self.store.save(record)
            self._saved[client.client_id] = record

    def _write_queued(self) -> float:
        """Write every queued record; on a full disk the file keeps the last record written and the log says so
        (the next change is tried again). Sleeps until the next save() kicks it."""
        with self._write_lock:
            with self._queue_lock:
                batch = dict(self._queued)  # stays queued (and seen by was_connected) until written
            for client_id, record in batch.items():
                self._write_one(client_id, record)
        return 3600.0

    def _write_one(self, client_id: str, record: dict[str, Any]) -> None:
        """Write one queued record and take it off the queue, unless a newer one was queued meanwhile."""
        try:
            self.store.save(record)
        except StorageFull as exc:
            log.error("[Pool] estado de %s (%s) não salvo: %s", client_id, record["status"], exc.message)
        else:
            self._saved[client_id] = record
        with self._queue_lock:
            if self._queued.get(client_id) is record:
                del self._queued[client_id]

    @staticmethod
    def record_of(client: WhatsAppClient) -> dict[str, Any]:
        """The record the sessions file keeps for a client."""
        info = client.get_info()
        return {
            "clientId": client.client_id,
            "name": client.name,
            "status": info["status"],
            "reason": info["reason"],
            "phoneNumber": info["phoneNumber"],
            "metadata": {key: info["metadata"][key] for key in SAVED_METADATA},
            "listenedAt": iso(client.metadata.listened_at),  # the catch-up's cutoff after a restart (page_events)
            "onDemand": client.on_demand,
        }

    def forget(self, client_id: str) -> None:
        """Remove the number's record, and any queued one (first, when removing: on a full disk the number
        stays listed)."""
        with self._write_lock:
            with self._queue_lock:
                self._queued.pop(client_id, None)
            self.store.remove(client_id)
            self._saved.pop(client_id, None)


