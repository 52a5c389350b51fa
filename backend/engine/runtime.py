"""The engine thread: one asyncio loop that owns Playwright and every browser ZapPool drives.

Other threads (Flask views, the desktop bridge, the pool) never touch Playwright objects: they hand a
coroutine to `EngineRuntime.call()`, which runs it on the loop and waits for the result with a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import BrowserContext, Playwright, async_playwright

from ..config import Settings
from ..errors import EngineError, EngineTimeout
from .browser import (CHROMIUM_ARGS, BrowserChoice, discover_browser, headless_shell, playwright_chromium,
                      user_agent_for)
from .errors import map_playwright_errors

log = logging.getLogger(__name__)
T = TypeVar("T")


@contextmanager
def _driver_in_its_own_process_group() -> Iterator[None]:
    """Start Playwright's driver outside our process group.

    A terminal's Ctrl+C goes to the whole foreground group: the driver would die at once and take every
    browser with it, before ZapPool could save state and close them in order. Alone in its group, the
    driver only stops when ZapPool stops it (or when our end of its pipe closes, if ZapPool is killed).
    """
    original = asyncio.create_subprocess_exec

    async def spawn(*args: Any, **kwargs: Any) -> Any:
        if sys.platform == "win32":
            kwargs["creationflags"] = kwargs.get("creationflags", 0) | subprocess.CREATE_NEW_PROCESS_GROUP
        else:
            kwargs["start_new_session"] = True
        return await original(*args, **kwargs)

    asyncio.create_subprocess_exec = spawn  # type: ignore[assignment]
    try:
        yield
    finally:
        asyncio.create_subprocess_exec = original  # type: ignore[assignment]


class EngineRuntime:
    """Starts lazily: the thread on the first call, Playwright's driver on the first browser launch."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._playwright: Playwright | None = None
        self._pw_lock: asyncio.Lock | None = None
        self._browser: BrowserChoice | None = None
        self._user_agent: str | None = None
        self._contexts: set[BrowserContext] = set()
        self.stopping = False  # set while stop() closes every browser, so clients say "shutdown"

    # -- the thread and the loop -------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The engine's loop, starting the engine thread if it is not running yet."""
        with self._start_lock:
            if self._loop is None:
                ready = threading.Event()
                self._thread = threading.Thread(target=self._run_loop, args=(ready,),
                                                name="zapool-engine", daemon=True)
                self._thread.start()
                ready.wait()
            assert self._loop is not None
            return self._loop

    def _run_loop(self, ready: threading.Event) -> None:
        """Body of the engine thread."""
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._pw_lock = asyncio.Lock()
        ready.set()
        loop.run_forever()
        loop.close()

    def in_engine_thread(self) -> bool:
        """True when called from the engine thread itself."""
        return self._thread is not None and threading.current_thread() is self._thread

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coro` on the engine loop from another thread and return its result."""
        if self.in_engine_thread():
            coro.close()
            raise RuntimeError("EngineRuntime.call() from the engine thread would deadlock; await instead")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise EngineTimeout(f"The browser engine did not answer within {timeout:.0f} s") from None

    # -- Playwright and browsers -------------------------------------------------------------------

    async def _ensure_playwright(self) -> Playwright:
        """Start Playwright once, on the first browser launch (not at the app's start: its driver is a node
        process that a ZapPool with no number started does not need)."""
        assert self._pw_lock is not None
        async with self._pw_lock:
            if self._playwright is None:
                choice = self.ensure_browser()
                with map_playwright_errors("starting Playwright"), _driver_in_its_own_process_group():
                    self._playwright = await async_playwright().start()
                log.info("[Engine] Playwright iniciado para o primeiro navegador")
                self._user_agent = self.settings.user_agent or await asyncio.to_thread(user_agent_for, choice)
            return self._playwright

    async def launch_profile(self, profile_dir: Path) -> BrowserContext:
        """Open a browser on a persistent profile folder: one per WhatsApp number."""
        playwright = await self._ensure_playwright()
        assert self._browser is not None
        profile_dir.mkdir(parents=True, exist_ok=True)
        with map_playwright_errors("launching the browser"):
            context = await playwright.chromium.launch_persistent_context(
                str(profile_dir),
                headless=self.settings.headless,
                args=CHROMIUM_ARGS + list(self.settings.extra_browser_args),
                user_agent=self._user_agent,
                # WhatsApp Web's content security policy would block injecting WA-JS.
                bypass_csp=True,
                viewport={"width": 1280, "height": 900},
                timeout=self.settings.load_timeout_s * 1000,
                **self._browser.launch_options(),
            )
        self._contexts.add(context)
        context.on("close", lambda _ctx: self._contexts.discard(context))
        return context

    @property
    def browser(self) -> BrowserChoice | None:
        """The browser in use, once picked."""
        return self._browser

    def ensure_browser(self) -> BrowserChoice:
        """Pick the browser now, from the files on disk (Playwright's driver not started); BrowserNotFound
        says what to install. Picked once: the browser checked at start is the one every number launches."""
        if self._browser is None:
            shell = headless_shell() if self.settings.headless else None
            choice = discover_browser(self.settings.browser_path, self.settings.browser_channel,
                                      playwright_chromium(), shell)
            log.info("[Engine] Navegador: %s (%s)", choice.executable_path or choice.channel, choice.source)
            self._browser = choice
        return self._browser

    # -- shutdown ----------------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        """Close every browser, then Playwright."""
        for context in list(self._contexts):
            try:
                await asyncio.wait_for(context.close(), 10)
            except Exception:  # noqa: BLE001 - shutting down: a browser already gone is fine
                log.debug("context close failed during shutdown", exc_info=True)
        self._contexts.clear()
        if self._playwright is not None:
            try:
                await asyncio.wait_for(self._playwright.stop(), 10)
            except Exception:  # noqa: BLE001
                log.debug("playwright stop failed during shutdown", exc_info=True)
            self._playwright = None

    def stop(self, timeout: float = 20.0) -> None:
        """Close every browser and stop the engine thread; safe to call twice."""
        if self._loop is None or self._thread is None:
            return
        self.stopping = True
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout)
        except (FutureTimeout, EngineError):
            log.warning("[Engine] Encerramento excedeu %s s", timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop = None
        self._thread = None
        self.stopping = False
