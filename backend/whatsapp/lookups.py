"""The number look-up cache (the seed's 'Cache in-memory de contatos frequentes'), one per number.

Before every send, WhatsApp Web is asked under which id a number is registered (contact.queryExists: a page
call and a request to WhatsApp's servers, about a fifth of the CPU of a send). The answer barely ever changes,
so it is kept:

- a number found is kept for 24 hours: a registration almost never moves, and when it does the send to the
  kept id fails with chat_not_found, which drops the entry and asks again (sending.py), so a long expiry costs
  nothing in correctness; a day bounds how long a moved ninth digit could go unseen by a check;
- a number not on WhatsApp is kept for 10 minutes: someone may install WhatsApp today, but a list of bad
  numbers retried in a loop must not become a stream of look-ups (WhatsApp watches accounts that query many
  numbers);
- at most 10,000 numbers per WhatsApp number (oldest dropped first): a few MB at most.

The cache lives on the engine loop with its number's session (one writer), and is emptied when the page is
opened again (a new login may be another account) or refreshed by an explicit check (POST /check-number).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

FOUND_S = 24 * 3600.0
MISSING_S = 600.0
MAX_ENTRIES = 10_000


class LookUpCache:
    """queryExists answers per number ({number, exists, id}), each with its expiry; see the module's doc."""

    def __init__(self, found_s: float = FOUND_S, missing_s: float = MISSING_S, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic):
        self.found_s, self.missing_s, self.max_entries = found_s, missing_s, max_entries
        self._clock = clock
        self._answers: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, number: str) -> dict[str, Any] | None:
        """The kept answer for `number`, or None if there is none or it expired."""
        kept = self._answers.get(number)
        if kept is None:
            return None
        if kept[0] <= self._clock():
            del self._answers[number]
            return None
        return kept[1]

    def put(self, answer: dict[str, Any]) -> None:
        """Keep a look-up's answer (found or not) for its expiry; the oldest goes when full."""
        ttl = self.found_s if answer["exists"] else self.missing_s
        if ttl <= 0:
            return
        self._answers.pop(answer["number"], None)
        while len(self._answers) >= self.max_entries:
            del self._answers[next(iter(self._answers))]
        self._answers[answer["number"]] = (self._clock() + ttl, answer)

    def drop(self, number: str) -> None:
        """Forget `number` (a send to its kept id found no such chat)."""
        self._answers.pop(number, None)

    def clear(self) -> None:
        """Forget everything (the page was opened again: maybe another account)."""
        self._answers.clear()
