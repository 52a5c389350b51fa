"""The event bus: every pool event, numbered, in a bounded ring, for streams that follow and resume.

    pool.subscribe(bus.publish) ──> EventBus ──> ring of the last `capacity` events ──> GET /events (SSE)
                                                 └─ wait(after_id) wakes the streams

Ids increase by one per event. They start at the run's start time in epoch milliseconds, so an id kept by a
client from an earlier run is older than every id of this one (ZapPool publishes far fewer than one event per
millisecond) and resuming with it is answered with a gap, never with the wrong events. In a cluster each node run
starts at a block of ids of its own instead (store/pg_events.py, first_event_id), so an id from another node is
answered with a gap too. A reader that asks for
the events after an id the ring no longer holds (or one it never gave out) is told so (`Batch.gap`): it has
missed something and must read the state again.

`publish` runs on the engine thread: it numbers the event and appends it under a lock, nothing more; its SSE
frame is made when a stream first asks for it (five events per sent message, most often with no stream open).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..clock import iso, utc_now
from .hub import ClientEvent

DEFAULT_CAPACITY = 1000


@dataclass(frozen=True)
class BusEvent:
    """One numbered event; `frame` is its Server-Sent Events form, made once on first use."""

    id: int
    type: str
    client_id: str | None
    data: dict[str, Any]
    timestamp: str
    node: str | None = None  # cluster mode (issue 20): the node whose number it happened on

    @cached_property
    def frame(self) -> bytes:
        """The event as one SSE frame, ready to write (two streams asking at once make the same bytes)."""
        return sse_frame(self.id, self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape streams and windows show."""
        shown = {"id": self.id, "type": self.type, "clientId": self.client_id, "data": self.data,
                 "timestamp": self.timestamp}
        return shown if self.node is None else {**shown, "node": self.node}


def sse_frame(event_id: int, payload: dict[str, Any]) -> bytes:
    """`id:` and one `data:` line (JSON has no raw newlines), ended by a blank line."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"id: {event_id}\ndata: {text}\n\n".encode()


@dataclass(frozen=True)
class Batch:
    """What a reader gets: the events after its id, whether it missed some, and the id to ask after next."""

    events: list[BusEvent]
    gap: bool
    last_id: int


class EventBus:
    """Thread-safe; `publish` never blocks on readers, readers `wait` for what is newer than their id."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, *, first_id: int | None = None,
                 now: Callable[[], Any] = utc_now):
        if capacity < 1:
            raise ValueError("capacity is at least 1")
        self.capacity = capacity
        self._now = now
        self._slots: list[BusEvent | None] = [None] * capacity  # event n lives in slot n % capacity
        self._next_id = first_id if first_id is not None else int(time.time() * 1000)
        self._first_id = self._next_id
        self._cond = threading.Condition()
        self._closed = False
        self.node: str | None = None  # cluster mode: this node's name, on the events of its own numbers

    # -- writing ---------------------------------------------------------------------------------------

    def publish(self, event: ClientEvent) -> BusEvent | None:
        """The pool's subscriber: number and keep a pool event (None once closed)."""
        return self.emit(event.name, event.client_id or None, event.data)

    def emit(self, type_: str, client_id: str | None, data: dict[str, Any], *, node: str | None = None,
             timestamp: str | None = None) -> BusEvent | None:
        """Number and keep an event of any kind; wakes every waiting reader. `node`/`timestamp`: another
        node's event relayed here (cluster mode), with the moment it happened there."""
        stamp = timestamp or iso(self._now()) or ""
        with self._cond:
            if self._closed:
                return None
            event_id = self._next_id
            event = BusEvent(event_id, type_, client_id, data, stamp, node or self.node)
            self._slots[event_id % self.capacity] = event
            self._next_id += 1
            self._cond.notify_all()
        return event

    def close(self) -> None:
        """No more events: waiting readers return at once (the app is shutting down)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake every waiting reader now (an owner of streams is stopping them)."""
        with self._cond:
            self._cond.notify_all()

    # -- reading ---------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    @property
    def latest_id(self) -> int:
        """The id of the newest event (the one before the first, when there is none yet)."""
        with self._cond:
            return self._next_id - 1

    @property
    def published(self) -> int:
        """How many events this bus has numbered."""
        with self._cond:
            return self._next_id - self._first_id

    def oldest_id(self) -> int:
        """The id of the oldest event still held (the next id, when there is none)."""
        with self._cond:
            return self._oldest()

    def _oldest(self) -> int:
        return max(self._first_id, self._next_id - self.capacity)

    def after(self, last_id: int) -> Batch:
        """The held events newer than `last_id`; a gap when some of them are gone or the id is unknown."""
        with self._cond:
            return self._after(last_id)

    def wait(self, last_id: int, timeout: float, stop: Callable[[], bool] | None = None) -> Batch:
        """after(last_id), waiting up to `timeout` s for something new first; a wake() or close() ends the
        wait, and so does `stop()` being true (checked under the lock, so a stop then wake() is never missed)."""
        with self._cond:
            if self._next_id - 1 == last_id and not self._closed and not (stop and stop()):
                self._cond.wait(max(0.0, timeout))
            return self._after(last_id)

    def _after(self, last_id: int) -> Batch:
        newest = self._next_id - 1
        if last_id > newest or last_id < self._oldest() - 1:
            return Batch([], True, newest)
        events = [self._slots[n % self.capacity] for n in range(last_id + 1, newest + 1)]
        return Batch([e for e in events if e is not None], False, newest)
