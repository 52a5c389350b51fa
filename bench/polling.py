"""Waiting for something to become true, for the benchmarks, the chaos runs and the test suite alike."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
               every: float = 0.05) -> Any:
    """Poll `predicate` every `every` seconds until it returns something truthy (returned); AssertionError
    naming `what` after `timeout` seconds (unit tests poll faster: their threads answer in milliseconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
