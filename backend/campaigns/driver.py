"""The campaigns' driver: one Worker thread (backend/worker.py) repeating CampaignsService.tick(), kicked when
a message changes status or a number becomes ready, so a free number gets its next recipient at once; between
kicks it looks again at the latest when tick() says (a delay ending, the window opening: at most a second).
"""

from __future__ import annotations

import logging
from typing import Any

from ..events.hub import ClientEvent
from ..worker import Worker
from .service import CampaignsService

log = logging.getLogger(__name__)
KICKED_BY = {"message_status", "ready", "disconnected"}


def is_campaign_done(data: dict[str, Any]) -> bool:
    """A message_status event's data: a campaign's message (its id `cmp_....<seq>`) sent or failed."""
    message = data.get("message")
    record_id = message.get("id") if isinstance(message, dict) else None
    return data.get("status") in ("sent", "failed") and str(record_id or "").startswith("cmp_")


class CampaignDriver(Worker):
    """Runs the campaigns; start() after the pool has started (the outbox must be taking messages)."""

    def __init__(self, service: CampaignsService):
        super().__init__("campanhas")
        self.service = service
        self._unsubscribe = service.pool.subscribe(self._on_event, KICKED_BY)
        service.on_change = self.kick

    def kick(self) -> None:
        """Look now; the thread starts at the first kick (a campaign made, a number ready, a message moved), as
        the opt-out listener does: building starts nothing."""
        self.start()
        super().kick()

    def step(self) -> float | None:
        """One pass over the due and running campaigns."""
        return self.service.tick()

    def _on_event(self, event: ClientEvent) -> None:
        """A campaign message was sent or failed (its number is free), or a number came or went: look now. Runs
        on the emitter's thread: only a kick. Other messages' steps, and delivered/read, change nothing here."""
        if event.name == "message_status" and not is_campaign_done(event.data):
            return
        self.kick()

    def close(self, timeout: float = 5.0) -> None:
        """Stop following the pool and end the thread."""
        self._unsubscribe()
        self.stop()
        self.join(timeout)
