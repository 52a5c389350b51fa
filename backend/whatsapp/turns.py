"""The order in which ready numbers take turns at auto-routed messages (the seed's round-robin).

Turns follow the order numbers were added, not a list index: when a number is removed or joins, the others keep
their places, so the one after the last used is still the next one and no number is skipped or served twice in
a row. Not thread-safe on its own: the pool calls it under its lock.
"""

from __future__ import annotations

from collections.abc import Iterable


class Turns:
    """Creation order of the numbers and the last one that took a turn."""

    def __init__(self) -> None:
        self._order: dict[str, int] = {}
        self._next = 0
        self._last = -1

    def join(self, client_id: str) -> None:
        """A number joins at the end of the order."""
        self._order[client_id] = self._next
        self._next += 1

    def leave(self, client_id: str) -> None:
        """A number leaves; the others keep their places."""
        self._order.pop(client_id, None)

    def in_order(self, client_ids: Iterable[str]) -> list[str]:
        """These numbers in the order they were added."""
        return sorted(client_ids, key=self._order.__getitem__)

    def take(self, ready: Iterable[str]) -> str | None:
        """The first of `ready` added after the last one that took a turn (wrapping round), now the last."""
        candidates = sorted((self._order[c], c) for c in ready)
        if not candidates:
            return None
        place, client_id = next(((p, c) for p, c in candidates if p > self._last), candidates[0])
        self._last = place
        return client_id
