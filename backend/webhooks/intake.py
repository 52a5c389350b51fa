"""The webhook intake: deliveries accepted by WebhookService.publish(), written to webhooks.db by a worker.

publish() runs on the engine's thread (the pool calls its subscribers synchronously, between WhatsApp Web's
callbacks), and a write to webhooks.db is a transaction with an fsync: done there, every number would wait for
the disk on every event. So publish() only appends the rows it built to a list in memory and kicks this worker,
which writes whatever has gathered in one transaction, in the order accepted, and wakes the dispatcher.

What that costs: an accepted event is **at most once until written** (normally a few milliseconds; longer only
while writes fail or before start()): a kill -9 or a power cut in between loses it. Once written it is at least
once (delivery.py). A clean stop loses nothing accepted: close() refuses further events and writes the rest.
While writes fail (a full disk) the rows wait here and are written when the disk is back, up to MAX_HELD; later
events are refused, and that is logged once, rather than holding memory without end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..store.webhooks import NewDelivery, WebhookStore
from ..worker import Worker

log = logging.getLogger(__name__)
MAX_HELD = 10_000   # rows waiting for the disk before new events are refused
IDLE_S = 30.0       # a put() kicks the worker; this is only the look-again-anyway period


class Intake(Worker):
    """The in-memory queue between publish() and webhooks.db, and the worker that writes it."""

    def __init__(self, store: WebhookStore, written: Callable[[], None]):
        """`written()` runs after each successful write: the dispatcher's wake."""
        super().__init__("webhooks-intake")
        self._store = store
        self._written = written
        self._lock = threading.Lock()        # guards the fields below; held for an append, never for the disk
        self._write_lock = threading.Lock()  # one writer at a time, so rows reach the file in accepted order
        self._rows: list[NewDelivery] = []
        self._closed = False
        self._refusing = False

    def put(self, rows: list[NewDelivery]) -> bool:
        """Accept rows and kick the writer (memory only: safe on the engine thread). False once closed, or
        while MAX_HELD rows already wait for a disk that refuses them."""
        with self._lock:
            if self._closed:
                return False
            room = len(self._rows) + len(rows) <= MAX_HELD
            if room:
                self._rows.extend(rows)
                news = False
            else:
                news, self._refusing = not self._refusing, True
        if news:
            log.warning("[Webhooks] %d entregas aguardando gravação em disco: novos eventos descartados até que "
                        "a gravação volte a funcionar", MAX_HELD)
        if room:
            self.kick()
        return room

    def write(self, wait_s: float | None = None) -> int:
        """Write what has gathered, oldest first, in one transaction; returns how many rows. Any thread may
        call it (a listing does, to show what was just accepted). `wait_s`: how long to wait for another
        thread's write to end (None: as long as it takes), else nothing is written here. If the write fails
        the rows stay for the next try and the error is raised."""
        if not self._write_lock.acquire(timeout=-1 if wait_s is None else wait_s):
            return 0
        try:
            written = self._write_held()
        finally:
            self._write_lock.release()
        if written:
            self._written()
        return written

    def _write_held(self) -> int:
        """write() under the write lock: take every row, put them back in front if the store refuses them."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            self._store.enqueue(rows)
        except BaseException:
            with self._lock:
                self._rows[:0] = rows
            raise
        with self._lock:
            self._refusing = False
        return len(rows)

    def step(self) -> float:
        """The worker's pass: write what has gathered."""
        self.write()
        return IDLE_S

    def close(self) -> None:
        """Accept nothing more and write what is left, on the caller's thread (after stop() and join(), before
        the store closes): a clean stop keeps every event publish() accepted."""
        with self._lock:
            self._closed = True
        try:
            self.write()
        except Exception:  # noqa: BLE001 - stopping goes on; the loss is what must be told
            with self._lock:
                lost, self._rows = len(self._rows), []
            log.exception("[Webhooks] %d entrega(s) aceita(s) não gravada(s) ao parar: perdida(s)", lost)
