"""On-demand numbers: send-only numbers whose browser runs only while there is something to send.

A number in this mode sleeps (no browser, no Chromium process) until a message is queued for it or routed to
it; then its browser starts from its kept profile (no QR code), sends, and closes again after a quiet period
(`Settings.on_demand_idle_s`, 5 min by default: see config.py for why). What arrives for it while it sleeps
reaches it when it next connects, as WhatsApp Web syncs.

    queued for it ─> pool.client_ready() ─> wake() ─> initialize (engine loop) ─> ready ─> outbox.wake()
    ready ─> doze(): no send and nothing pending for on_demand_idle_s ─> disconnect (reason "sleeping")

The outbox never learns of any of this: it asks the pool (its Sender) whether a number is ready, and the
pool's answer for a sleeping number is "not yet" plus a wake-up. A sleeping number is not health-checked and
not reconnected (its reason is not a retryable one); restore leaves it asleep.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..engine import EngineRuntime
from ..errors import InvalidInput, ZapPoolError
from ..status import ClientStatus, Reason
from .client import WhatsAppClient

log = logging.getLogger(__name__)
S = ClientStatus


def check_on_demand(value: Any) -> bool:
    """The `onDemand` field: true or false (422 naming the field otherwise)."""
    if not isinstance(value, bool):
        raise InvalidInput("'onDemand' must be true or false", details={"field": "onDemand"})
    return value


class OnDemand:
    """Wakes sleeping on-demand numbers and puts them back to sleep after their quiet period."""

    def __init__(self, runtime: EngineRuntime, *, idle_s: Callable[[], float], pending: Callable[[str], bool],
                 clock: Callable[[], float] = time.monotonic):
        self.runtime = runtime
        self._idle_s = idle_s
        self._pending = pending  # has this number messages queued or being sent (reads messages.db)
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}  # last send (or wake-up) per number
        self._busy: Counter[str] = Counter()  # sends in progress per number
        self._waking: set[str] = set()
        self._dozing: dict[str, asyncio.Task[None]] = {}

    def touch(self, client_id: str) -> None:
        """Something was sent (or the number woke): its quiet period starts again."""
        with self._lock:
            self._last[client_id] = self._clock()

    @contextmanager
    def sending(self, client_id: str) -> Iterator[None]:
        """Around one send: the number does not fall asleep meanwhile, and its quiet period restarts after."""
        with self._lock:
            self._busy[client_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy[client_id] -= 1
                self._last[client_id] = self._clock()

    # -- waking ------------------------------------------------------------------------------------------

    def wake(self, client: WhatsAppClient) -> bool:
        """Start a sleeping number's browser, never waiting for it (any thread but the engine's); True while it
        is waking."""
        with self._lock:
            if client.client_id in self._waking:
                return True
            if not client.sleeping:
                return False
            self._waking.add(client.client_id)
        asyncio.run_coroutine_threadsafe(self._wake(client), self.runtime.loop)
        return True

    async def _wake(self, client: WhatsAppClient) -> None:
        log.info("[Pool] Cliente %s acordando (sob demanda): há mensagem para enviar", client.client_id)
        self.touch(client.client_id)
        try:
            await client.initialize_async()
        except ZapPoolError as exc:
            log.warning("[Pool] Cliente %s não acordou: %s", client.client_id, exc.message)
        finally:
            with self._lock:
                self._waking.discard(client.client_id)

    def wake_first(self, clients: list[WhatsAppClient], exclude: frozenset[str]) -> None:
        """An auto-routed message and no number free and ready: when none is ready at all, wake the first
        sleeping on-demand number in round-robin order (one at a time: it takes the rest once ready)."""
        if any(c.status == S.READY for c in clients):
            return
        for client in clients:
            if client.client_id not in exclude and self.wake(client):
                return

    def wait_awake(self, client: WhatsAppClient, timeout_s: float) -> None:
        """Wake the number if it sleeps and wait until it is ready or stops trying (a synchronous send)."""
        if not self.wake(client):
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and client.client_id in self._waking:
            time.sleep(0.05)

    # -- dozing off ----------------------------------------------------------------------------------------

    def ready(self, client: WhatsAppClient) -> None:
        """An on-demand number is ready (engine loop): count its quiet period from now."""
        self.touch(client.client_id)
        if client.client_id not in self._dozing:
            self._dozing[client.client_id] = asyncio.ensure_future(self._doze(client))

    def set_mode(self, client: WhatsAppClient, on_demand: bool,
                 save: Callable[[WhatsAppClient], None]) -> dict[str, Any]:
        """Switch the number's mode, `save` it (the sessions file, at once), and act on it (follow)."""
        client.on_demand = on_demand
        save(client)
        self.follow(client)
        log.info("[Pool] Cliente %s: modo %s", client.client_id, "sob demanda" if on_demand else "sempre conectado")
        return client.get_info()

    def follow(self, client: WhatsAppClient) -> None:
        """The number's mode changed (any thread): an awake on-demand number starts counting its quiet period;
        a sleeping number switched to always-on connects."""
        if client.on_demand and client.status == S.READY:
            self.runtime.call(self._ready_on_loop(client), 5)
        elif not client.on_demand and client.status in (S.IDLE, S.DISCONNECTED) and client.reason in (
                None, Reason.SLEEPING) and client.metadata.phone_number is not None:  # was sleeping
            asyncio.run_coroutine_threadsafe(client.initialize_async(), self.runtime.loop)

    async def _ready_on_loop(self, client: WhatsAppClient) -> None:
        self.ready(client)

    async def _doze(self, client: WhatsAppClient) -> None:
        """Close the number's browser once it has had nothing to send for the quiet period."""
        client_id = client.client_id
        try:
            while client.on_demand and client.status == S.READY:
                with self._lock:
                    left = self._last.get(client_id, 0.0) + self._idle_s() - self._clock()
                    busy = self._busy[client_id] > 0
                if left > 0 or busy:
                    await asyncio.sleep(max(left, 0.5))
                    continue
                if await asyncio.to_thread(self._pending, client_id):
                    await asyncio.sleep(min(self._idle_s(), 2.0))  # its lane is about to send it
                    continue
                log.info("[Pool] Cliente %s dormindo (sob demanda): %gs sem envios, navegador fechado", client_id,
                         self._idle_s())
                await client.disconnect_async(Reason.SLEEPING)
        finally:
            self._dozing.pop(client_id, None)

    async def stop(self) -> None:
        """Stop every quiet-period timer (shutdown; engine loop)."""
        tasks = list(self._dozing.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
