"""Playwright's exceptions become ZapPool's own, here and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from ..errors import BrowserClosed, EngineError, EngineTimeout

_CLOSED_MARKERS = ("has been closed", "Target closed", "Browser closed", "Connection closed")


def is_closed_error(exc: BaseException) -> bool:
    """True when Playwright says the page, context or browser is gone."""
    return type(exc).__name__ == "TargetClosedError" or any(m in str(exc) for m in _CLOSED_MARKERS)


@contextmanager
def map_playwright_errors(doing: str) -> Iterator[None]:
    """Re-raise Playwright failures inside the block as ZapPool errors that say what was being done."""
    try:
        yield
    except PlaywrightTimeout as exc:
        raise EngineTimeout(f"Timed out while {doing}", details={"doing": doing}) from exc
    except PlaywrightError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if is_closed_error(exc):
            raise BrowserClosed(f"The browser closed while {doing}", details={"doing": doing}) from exc
        raise EngineError(f"Browser error while {doing}: {first_line}", details={"doing": doing}) from exc
