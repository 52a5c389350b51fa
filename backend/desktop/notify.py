"""Native desktop notifications on Linux, Windows and macOS, with a click that opens what they are about.

One maintained library, desktop-notifier, speaks each system's own service: org.freedesktop.Notifications over
D-Bus on Linux, WinRT toasts on Windows, the notification centre on macOS. Before it, only Linux's `notify-send`
worked and the call did nothing where most of the seed's users are.

desktop-notifier is asyncio, and a click comes back as a D-Bus signal (or a system callback) that only a running
loop hears: the notifier lives on a loop thread of its own, started with the first notification and stopped with
the windows. Sending never blocks the caller (the event pusher).

What a contact wrote is hostile: Linux's body is markup (`<b>`, `<a href>`, `<img>` could link or load anything),
so there it is escaped; elsewhere it is plain text. Title and body lose their control characters, as every line
ZapPool logs does.
"""

from __future__ import annotations

import asyncio
import html
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from ..config import PROJECT_ROOT
from ..host.logs import printable

log = logging.getLogger(__name__)
APP_NAME = "ZapPool"
ICON = PROJECT_ROOT / "build" / "icon.png"
STOP_TIMEOUT_S = 5.0
OnClick = Callable[[], None]


class DesktopNotifications:
    """`notifications(title, body, on_click)`: show one; a click on it calls `on_click` (on the notifier's thread).
    False when it could not even be queued (stopped); a system with no notification service is logged once."""

    def __init__(self, app_name: str = APP_NAME, icon: Path | None = ICON):
        self._app_name, self._icon = app_name, icon
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._notifier = None  # desktop_notifier.DesktopNotifier, made on the loop thread
        self._stopped = False
        self._failed_once = False

    def __call__(self, title: str, body: str, on_click: OnClick | None = None) -> bool:
        loop = self._running_loop()
        if loop is None:
            return False
        future = asyncio.run_coroutine_threadsafe(self._send(_plain(title), _body(body), on_click), loop)
        future.add_done_callback(lambda done: done.cancelled() or done.exception())  # _send logs its own failures
        return True

    def stop(self) -> None:
        """End the loop thread (the windows closed); later calls show nothing."""
        with self._lock:
            self._stopped = True
            loop, thread = self._loop, self._thread
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(STOP_TIMEOUT_S)

    def _running_loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop thread, started on first use."""
        with self._lock:
            if self._stopped:
                return None
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="desktop-notify", daemon=True)
                self._thread.start()
            return self._loop

    async def _send(self, title: str, body: str, on_click: OnClick | None) -> None:
        """Hand one notification to the system's service (on the loop thread)."""
        try:
            await self._desktop_notifier().send(title=title, message=body, on_clicked=_guarded(on_click))
        except Exception as exc:  # noqa: BLE001 - no service (a server with no desktop), a refusal: log, go on
            level = logging.DEBUG if self._failed_once else logging.INFO
            self._failed_once = True
            log.log(level, "[Desktop] notificação não mostrada (%s: %s)", type(exc).__name__, exc)

    def _desktop_notifier(self):  # noqa: ANN202 - desktop_notifier is imported only when a notification is sent
        """The library's notifier, made once (its import loads the system's backend)."""
        if self._notifier is None:
            from desktop_notifier import DesktopNotifier, Icon  # noqa: PLC0415

            icon = Icon(path=self._icon) if self._icon is not None and self._icon.exists() else None
            self._notifier = DesktopNotifier(app_name=self._app_name, app_icon=icon)
        return self._notifier


def _plain(text: str) -> str:
    """Text without control characters."""
    return printable(text)


def _body(text: str) -> str:
    """The body as the system shows it literally: escaped where it is markup (Linux)."""
    plain = printable(text)
    return html.escape(plain, quote=False) if sys.platform.startswith("linux") else plain


def _guarded(on_click: OnClick | None) -> OnClick | None:
    """A click handler whose failure is logged, not raised into the library's loop."""
    if on_click is None:
        return None

    def clicked() -> None:
        """Run the handler; say in the log if it failed."""
        try:
            on_click()
        except Exception:  # noqa: BLE001 - a window that could not open must not stop the notifier
            log.exception("[Desktop] o clique na notificação falhou")

    return clicked
