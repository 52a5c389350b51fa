"""Events: what happened to a client, and a small hub that delivers them to subscribers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The current time in UTC (injectable for tests)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with milliseconds and Z, as the seed's JSON shows."""
    return None if moment is None else moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ClientEvent:
    """Something that happened to one client: `name` is one of the hub's event names."""

    client_id: str
    name: str
    data: dict[str, Any]


Subscriber = Callable[[ClientEvent], None]


class EventHub:
    """Subscribers by event name; `subscribe()` returns the function that unsubscribes."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self._subs: list[tuple[Subscriber, frozenset[str] | None]] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Subscriber, events: set[str] | None = None) -> Callable[[], None]:
        """Call `callback(event)` for the named events (all when None)."""
        unknown = set(events or ()) - set(self.names)
        if unknown:
            raise ValueError(f"unknown events {sorted(unknown)}; known: {self.names}")
        entry = (callback, frozenset(events) if events else None)
        with self._lock:
            self._subs.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)

        return unsubscribe

    def emit(self, event: ClientEvent) -> None:
        """Deliver to every matching subscriber; one that fails is logged and never stops the others."""
        with self._lock:
            targets = [cb for cb, names in self._subs if names is None or event.name in names]
        for callback in targets:
            try:
                callback(event)
            except Exception:  # noqa: BLE001 - subscribers are someone else's code
                log.exception("[Events] subscriber failed on %s/%s", event.client_id, event.name)


# Outgoing messages: the steps a message_status event announces, in lifecycle order ("failed" ends it too).
MESSAGE_STEPS = ("queued", "sent", "delivered", "read")
_STEP_OF = {"queued": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3}
LIFECYCLES_KEPT = 10_000


class MessageLifecycle:
    """Turns the outbox's changed records into ordered `message_status` events, each step once per message.

    The outbox reports a change from whichever thread made it (request, lane, ack writer) and the record is
    read afterwards, so two reports can arrive out of order or both show a later status. Here each message
    goes forward only: a report announces every step between the last one announced and the record's
    status (a send whose delivery ack won the race still shows `sent` first); a report with nothing new is
    dropped (a retry puts a message back to queued: not a new step). Data: {"status": the step,
    "message": the record as read, perhaps already further along}.
    """

    def __init__(self, emit: Callable[[ClientEvent], None], kept: int = LIFECYCLES_KEPT):
        self._emit = emit
        self._kept = kept
        self._lock = threading.RLock()  # held while emitting, so the steps of one message leave in order
        self._last: dict[str, int] = {}  # message id -> index of the last step announced (insertion-ordered)

    def update(self, record: Any) -> None:
        """An outgoing MessageRecord changed (the outbox's on_change)."""
        if getattr(record, "direction", "out") != "out":
            return
        with self._lock:
            last = self._last.get(record.id, -1)
            if record.status == "failed":
                steps, done = (["failed"] if last < len(MESSAGE_STEPS) else []), True
            else:
                reached = _STEP_OF.get(record.status, -1)
                steps, done = list(MESSAGE_STEPS[last + 1:reached + 1]), reached == len(MESSAGE_STEPS) - 1
            if not steps:
                return
            self._remember(record.id, len(MESSAGE_STEPS) if done else _STEP_OF[steps[-1]])
            message = record.to_dict()
            for step in steps:
                self._emit(ClientEvent(record.client_id or "", "message_status", {"status": step,
                                                                                 "message": message}))

    def _remember(self, message_id: str, step: int) -> None:
        """Keep the last step of recent messages only (a message past `kept` newer ones is forgotten)."""
        self._last.pop(message_id, None)
        self._last[message_id] = step
        while len(self._last) > self._kept:
            del self._last[next(iter(self._last))]
