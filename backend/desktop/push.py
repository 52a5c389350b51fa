"""Pool events into every open window, and native notifications for what the person should not miss.

One worker (backend.worker.Worker) follows the event bus as GET /events does (wait for what is after the last
id; a gap means events were missed, told with a `reset` event so the pages read the state again) and hands each
batch to the window manager as one script calling `window.__zapoolEvent(event)` per event. The manager
delivers it to each window on that window's own thread, so a slow or closing window never holds up the others
or the bus.

Nothing flows while nobody is logged in: events carry message text, and the login page has no use for them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from ..clock import iso, utc_now
from ..events.bus import Batch, EventBus
from ..status import Reason
from ..worker import Worker
from .notify import OnClick

log = logging.getLogger(__name__)
WAIT_S = 1.0               # how often the worker looks up from the bus (stop() also wakes it at once)
PER_SCRIPT = 50            # events per evaluate_js: few round trips, no giant scripts
NOTIFY_EVERY_S = 2.0       # at most one notification per number and kind this often: a burst is one alert
QUIET_REASONS = frozenset({Reason.MANUAL, Reason.SHUTDOWN})  # the person did it: nothing to tell them
REASONS_PT = {Reason.LOGGED_OUT: "desvinculado no celular", Reason.NETWORK: "sem conexão",
              Reason.BROWSER_CLOSED: "navegador fechado", Reason.BROWSER_CRASHED: "o navegador travou",
              Reason.QR_TIMEOUT: "QR code não escaneado", Reason.LOAD_FAILED: "o WhatsApp Web não carregou",
              Reason.BROWSER_NOT_FOUND: "navegador não encontrado"}
Notifier = Callable[[str, str, OnClick | None], Any]  # (title, text, what a click on it does)


class Broadcaster(Protocol):
    """Where scripts go: windows.WindowManager."""

    def evaluate_all(self, script: str) -> None:
        """Run `script` in every open window, without waiting."""

    def number_connected(self, client_id: str) -> None:
        """A number became ready: its QR window has done its job."""

    def open_chat_window(self, client_id: str, chat_id: str | None = None) -> None:
        """Open (or bring up) a number's chat window on a conversation."""

    def open_pool_manager(self) -> None:
        """Open (or bring up) the pool manager."""


def event_script(events: list[dict[str, Any]]) -> str:
    """JavaScript that hands each event to the page's handler, if the page has one."""
    calls = "".join(f"window.__zapoolEvent({json.dumps(e, ensure_ascii=True, default=str)});" for e in events)
    return f"if (window.__zapoolEvent) {{ {calls} }}"


def reset_event(bus: EventBus, asked: int, newest: int) -> dict[str, Any]:
    """The `reset` GET /events sends when events were missed: read the state again."""
    oldest = bus.oldest_id()
    return {"id": newest, "type": "reset", "clientId": None, "timestamp": iso(utc_now()),
            "data": {"reason": "too_old" if asked < oldest - 1 else "unknown_id", "lastEventId": asked,
                     "oldestEventId": oldest}}


def notification_for(event: dict[str, Any]) -> tuple[str, str] | None:
    """Title and text of the notification an event deserves, or None."""
    who, data = event.get("clientId") or "?", event.get("data") or {}
    if event["type"] == "disconnected" and data.get("reason") not in QUIET_REASONS:
        reason = REASONS_PT.get(data.get("reason"), str(data.get("reason") or "motivo desconhecido"))
        return f"ZapPool — {who}", f"Número desconectado: {reason}"
    if event["type"] == "message":
        msg = data.get("message") or {}
        sender = msg.get("notifyName") or str(msg.get("from") or "").split("@")[0] or "?"
        text = msg.get("body") or msg.get("caption") or f"[{msg.get('type') or 'mensagem'}]"
        return f"Nova mensagem — {who}", f"{sender}: {text[:120]}"
    return None


def click_action(event: dict[str, Any], windows: Broadcaster) -> OnClick | None:
    """What clicking an event's notification opens: a message's conversation, the pool manager for a number
    that disconnected."""
    client_id = event.get("clientId")
    if not client_id:
        return None
    if event["type"] == "message":
        chat = str(((event.get("data") or {}).get("message") or {}).get("from") or "") or None
        return lambda: windows.open_chat_window(client_id, chat)
    return windows.open_pool_manager


class EventPusher:
    """The worker that follows the bus for the windows; start() once, stop() on the way out."""

    def __init__(self, bus: EventBus, windows: Broadcaster, *, allowed: Callable[[], bool],
                 notifications_on: Callable[[], bool], notifier: Notifier,
                 clock: Callable[[], float] = time.monotonic):
        """`allowed`: is someone logged in; `notifications_on`: the preference; `notifier(title, text, on_click)`."""
        self._bus = bus
        self._windows = windows
        self._allowed = allowed
        self._notifications_on = notifications_on
        self._notifier = notifier
        self._clock = clock
        self._last_notified: dict[tuple[str, str], float] = {}
        self._cursor = bus.latest_id
        # No pause after a failing batch: the step waits on the bus itself, so it cannot spin.
        self._worker = Worker("desktop-events", self._step, error_pause_s=0.0)

    def start(self) -> EventPusher:
        """Follow the bus from now on."""
        self._cursor = self._bus.latest_id
        self._worker.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following the bus (safe to call twice, or before start)."""
        self._worker.stop()
        self._bus.wake()  # the worker waits on the bus, not on its kick
        self._worker.join(timeout)

    def _stopping(self) -> bool:
        """Checked by the bus under its lock, so a stop() then wake() is never missed."""
        return self._worker.stopping

    def _step(self) -> float | None:
        """Wait for events and hand them on; None (the end) once stopped or the bus is closed. A batch that
        fails is skipped: the worker logs it (once while it keeps failing) and goes on with the next."""
        cursor = self._cursor
        batch = self._bus.wait(cursor, WAIT_S, stop=self._stopping)
        if self._worker.stopping or self._bus.closed:
            return None
        self._cursor = batch.last_id
        self._handle(batch, cursor)
        return 0.0

    def _handle(self, batch: Batch, cursor: int) -> None:
        """Push one batch (a reset first when events were missed) and notify what deserves it."""
        if not (batch.events or batch.gap) or not self._allowed():
            return
        events = ([reset_event(self._bus, cursor, batch.last_id)] if batch.gap else []) + \
            [e.to_dict() for e in batch.events]
        for start in range(0, len(events), PER_SCRIPT):
            self._windows.evaluate_all(event_script(events[start:start + PER_SCRIPT]))
        for event in events:
            if event["type"] == "ready" and event.get("clientId"):
                self._windows.number_connected(event["clientId"])
        if self._notifications_on():
            for event in events:
                self._maybe_notify(event)

    def _maybe_notify(self, event: dict[str, Any]) -> None:
        """Notify an event that deserves it, unless the same number just had the same kind of notification."""
        shown = notification_for(event)
        if shown is None:
            return
        key, now = (event["type"], event.get("clientId") or ""), self._clock()
        if now - self._last_notified.get(key, float("-inf")) < NOTIFY_EVERY_S:
            return
        self._last_notified[key] = now
        try:
            self._notifier(*shown, click_action(event, self._windows))
        except Exception:  # noqa: BLE001 - a notification is never worth losing events over
            log.exception("[Desktop] notificação falhou")
