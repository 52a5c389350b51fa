"""Cluster mode's two moves of a number (issue 20, cluster/placer.py): one of the cluster's registry placed on
this node, and one handed over to another node. Apart from pool.py, which is about one machine's numbers; a
mixin of WhatsAppPool, so these reach its registry the way its own methods do."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..status import Reason

if TYPE_CHECKING:
    from .pool import WhatsAppPool


class PlacedNumbers:
    """WhatsAppPool's cluster-mode operations."""

    def adopt(self: WhatsAppPool, record: dict[str, Any], start: bool) -> None:
        """A number of the shared registry placed on this node: listed as if saved here; `start`: connected on
        the engine loop without waiting (restored from its login snapshot)."""
        self.saved.remember(record)
        self._load(record)
        if start:
            future = asyncio.run_coroutine_threadsafe(self.get(record["clientId"]).initialize_async(),
                                                      self.runtime.loop)
            future.add_done_callback(lambda done: done.cancelled() or done.exception())  # logged by the client

    def hand_off(self: WhatsAppPool, client_id: str) -> None:
        """The number goes to another node: off this pool without a word to the registry (its saved state is
        what the next node restores), then its browser closed (a logged-in profile's snapshot saved)."""
        client = self.get(client_id)
        with self._lock:
            self._clients.pop(client_id, None)
            self._turns.leave(client_id)
        self.runtime.call(self._quiet(client_id), 5)
        self.runtime.call(client.disconnect_async(Reason.HANDED_OFF), self.settings.load_timeout_s)
