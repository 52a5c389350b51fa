"""One background thread that runs delayed callbacks in time order (QR rotation, acks, expiries)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Timer:
    """A handle to one scheduled callback; cancel() makes it a no-op."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        """Skip the callback if it has not run yet."""
        self.cancelled = True


class Scheduler:
    """A heap of (due time, callback) served by one daemon thread.

    One thread instead of a threading.Timer per QR code or ack: a test run schedules thousands of them.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the worker thread."""
        with self._cond:
            if self._running:
                return
            self._running = True
        self._thread = threading.Thread(target=self._run, name="wasim-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker; pending callbacks are dropped."""
        with self._cond:
            self._running = False
            self._heap.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def call_later(self, delay_s: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run fn(*args) on the worker thread after delay_s seconds."""
        timer = Timer()
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(delay_s, 0.0), next(self._seq), timer, fn, args))
            self._cond.notify_all()
        return timer

    def _next_due(self) -> tuple[Timer, Callable[..., Any], tuple[Any, ...]] | None:
        """Block until a callback is due (or the scheduler stops) and pop it."""
        with self._cond:
            while self._running:
                if not self._heap:
                    self._cond.wait()
                    continue
                due = self._heap[0][0] - time.monotonic()
                if due > 0:
                    self._cond.wait(due)
                    continue
                _, _, timer, fn, args = heapq.heappop(self._heap)
                return timer, fn, args
            return None

    def _run(self) -> None:
        """Worker loop: callbacks run one at a time, in due order."""
        while (item := self._next_due()) is not None:
            timer, fn, args = item
            if timer.cancelled:
                continue
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - one bad callback must not stop QR rotation for everyone
                log.exception("wasim scheduled callback failed")
