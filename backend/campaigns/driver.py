"""The campaigns' driver: one Worker thread (backend/worker.py) repeating CampaignsService.tick(), kicked when
a message changes status or a number becomes ready, so a free number gets its next recipient at once; between
kicks it looks again at the latest when tick() says (a delay ending, the window opening: at most a second).
"""

from __future__ import annotations

import logging

from ..events.hub import ClientEvent
from ..worker import Worker
from .service import CampaignsService

log = logging.getLogger(__name__)
KICKED_BY = {"message_status", "ready", "disconnected"}


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

    def _on_event(self, _event: ClientEvent) -> None:
        """A message moved or a number came or went: look now (runs on the emitter's thread: only a kick)."""
        self.kick()

    def close(self, timeout: float = 5.0) -> None:
        """Stop following the pool and end the thread."""
        self._unsubscribe()
        self.stop()
        self.join(timeout)
