"""The outbox's event log: a thread that writes acks and incoming messages in batches, off the engine thread
(which delivers them and must not wait for a disk); acks that beat their message's receipt wait here."""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..store.message_protocol import MessageLog
from ..worker import Worker

log = logging.getLogger(__name__)

EARLY_ACKS_KEPT = 10_000
# The ack writer gathers what arrives within this long of its first item into one transaction: a sent message's
# acks (delivered, read) arrive one by one, ~80 a second at the machine's send rate, and each transaction costs
# more CPU than the rows in it (bench.api_send_cost). Acks are shown this much later; nothing waits on them.
ACK_LINGER_S = 0.05
BATCH_MAX = 1000


class EventLog(Worker):
    """Writes acks and incoming messages in batches; acks that beat their message's receipt wait here."""

    def __init__(self, store: MessageLog, on_acked: Callable[[list[str]], None] | None = None,
                 linger_s: float = ACK_LINGER_S):
        super().__init__("outbox-events")
        self.store = store
        self.on_acked = on_acked  # the ids of messages an ack moved forward, once written
        self.linger_s = linger_s  # after the first item, how long to gather more into the same transaction
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._cut_short = threading.Event()  # a flush or stop() ends the linger
        self._ack_lock = threading.Lock()
        self._early: OrderedDict[tuple[str, str], int] = OrderedDict()

    def put(self, item: tuple[Any, ...]) -> None:
        """Queue ('ack', client, wa_id, ack), ('in', client, id, message) or ('flush', Event)."""
        self._queue.put(item)
        if item[0] == "flush":
            self._cut_short.set()
        self.kick()

    def stop(self) -> None:
        """Finish the current batch without waiting out its linger, then end."""
        super().stop()
        self._cut_short.set()

    def step(self) -> float:
        """Write whatever has arrived, in one transaction per kind; acks and incoming messages come one by one
        (a sent message's delivered and read acks, as the page reports them), so the first waits `linger_s`
        for others to share its transaction. A flush ends the wait."""
        batch = self._gather()
        if not batch:
            return 1.0
        try:
            self._write(batch)
        finally:
            for item in batch:
                if item[0] == "flush":
                    item[1].set()
        return 0.0

    def _gather(self) -> list[tuple[Any, ...]]:
        """What has arrived, and what arrives within linger_s of the first (at most BATCH_MAX); a flush or stop()
        ends the wait. The writer sleeps through the linger and then takes all that came: taking each item as it
        came woke this thread once per ack, about three times per sent message (docs/PERFORMANCE.md, "Item 1,
        sixth pass"); now a put() during the linger wakes nothing."""
        try:
            batch = [self._queue.get_nowait()]
        except queue.Empty:
            return []
        if batch[0][0] != "flush" and not self.stopping:
            self._cut_short.wait(self.linger_s)
        self._cut_short.clear()  # a flush put before this is in the queue already: taken below
        while len(batch) < BATCH_MAX:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[tuple[Any, ...]]) -> None:
        """Apply one batch: incoming rows, then acks (unmatched ones kept for after_sent)."""
        incoming = [item[1:] for item in batch if item[0] == "in"]
        acks = [item[1:] for item in batch if item[0] == "ack"]
        if incoming:
            self.store.add_incoming(incoming)
        if acks:
            advanced: list[str] = []
            with self._ack_lock:
                for client_id, wa_id, ack in self.store.apply_acks(acks, advanced=advanced):
                    key = (client_id, wa_id)
                    self._early[key] = max(ack, self._early.pop(key, 0))
                    while len(self._early) > EARLY_ACKS_KEPT:  # acks for messages sent from the phone itself
                        self._early.popitem(last=False)
            self._report(advanced)

    def after_sent(self, client_id: str, wa_id: str) -> None:
        """A message just got its WhatsApp id: apply any ack that arrived before it did."""
        advanced: list[str] = []
        with self._ack_lock:
            ack = self._early.pop((client_id, wa_id), None)
            if ack is not None:
                self.store.apply_acks([(client_id, wa_id, ack)], advanced=advanced)
        self._report(advanced)

    def _report(self, advanced: list[str]) -> None:
        """Tell on_acked which messages moved forward."""
        if advanced and self.on_acked is not None:
            self.on_acked(advanced)

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued so far is written."""
        done = threading.Event()
        self.put(("flush", done))
        return done.wait(timeout)
