"""Outgoing messages' lifecycle: the outbox's record changes become ordered `message_status` events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..status import Direction, MessageStatus
from .hub import ClientEvent

# Outgoing messages: the steps a message_status event announces, in lifecycle order ("failed" ends it too).
MESSAGE_STEPS = ("queued", "sent", "delivered", "read")
_STEP_OF = {MessageStatus.QUEUED: 0, MessageStatus.SENDING: 0, MessageStatus.SENT: 1, MessageStatus.DELIVERED: 2,
            MessageStatus.READ: 3}
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
        if getattr(record, "direction", Direction.OUT) != Direction.OUT:
            return
        with self._lock:
            last = self._last.get(record.id, -1)
            if record.status == MessageStatus.FAILED:
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
