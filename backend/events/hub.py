"""Events: what happened to a client, and a small hub that delivers them to subscribers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# What one number's client reports (from its WhatsApp Web page).
CLIENT_EVENTS = ("qr", "code", "authenticated", "ready", "message", "message_ack", "disconnected", "status",
                 # groups (backend/whatsapp/group_events.py): our number joined/left, members changed, info changed
                 "group_joined", "group_left", "group_participants", "group_updated")
# What the pool reports: its clients' events, numbers added and removed, and message_status (an outgoing
# message was queued, sent, delivered, read or failed: from the outbox, not a page).
# rate_limited: a number's cap holds a message until its window ends (the outbox's on_held).
POOL_EVENTS = (*CLIENT_EVENTS, "client_added", "client_removed", "message_status", "rate_limited")
# issue 17 §2 (backend/audience/optout.py): a contact opted out by writing a keyword to the number
POOL_EVENTS = (*POOL_EVENTS, "contact.opted_out")
# issue 17 §4 (backend/campaigns/): a campaign started, moved on, paused, finished (clientId: none)
POOL_EVENTS = (*POOL_EVENTS, "campaign.started", "campaign.progress", "campaign.paused", "campaign.finished")


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
