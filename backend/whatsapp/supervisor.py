"""Health checks and reconnection with backoff: the pool's supervisor.

A client that stops working is reconnected after `reconnect_delay`, then after twice that, and so on up to a
cap, each delay with +/-20% jitter so ten numbers cut off together do not all retry in the same second.
The log says once when a number starts failing and once when it recovers, not at every attempt.
Numbers the user or the phone disconnected on purpose (manual, logged_out, qr_timeout) are left alone.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from ..clock import backoff_s
from ..errors import ZapPoolError
from ..status import ClientStatus, Reason
from .client import WhatsAppClient

log = logging.getLogger(__name__)
S = ClientStatus

# Cut off by something outside the user's will: worth reconnecting.
RETRYABLE = frozenset({Reason.NETWORK, Reason.BROWSER_CLOSED, Reason.BROWSER_CRASHED, Reason.LOAD_FAILED})


RECONNECT_SPREAD = (0.8, 1.2)  # +/-20% around each step


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: Callable[[], float] = random.random) -> float:
    """Delay before reconnection attempt `attempt` (0-based): base * 2^attempt, capped, +/-20% (clock.backoff_s)."""
    return backoff_s(attempt + 1, base_s, cap_s, rng, RECONNECT_SPREAD)


@dataclass
class _Retry:
    """One client's reconnection in progress."""

    task: asyncio.Task[None]
    attempts: int = 0


class Supervisor:
    """Runs the periodic health check and the reconnect loops, all on the engine loop."""

    def __init__(self, clients: Callable[[], list[WhatsAppClient]], *, interval_s: float, timeout_s: float,
                 base_s: float, cap_s: float, enabled: bool, rng: Callable[[], float] = random.random):
        self._clients = clients
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.base_s = base_s
        self.cap_s = cap_s
        self.enabled = enabled
        self._rng = rng
        self._retries: dict[str, _Retry] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self.stopped = False

    # -- periodic health check ----------------------------------------------------------------------

    def start(self) -> None:
        """Begin the periodic health check (call on the engine loop)."""
        if self._loop_task is None:
            self._loop_task = asyncio.ensure_future(self._every_interval())

    async def _every_interval(self) -> None:
        while not self.stopped:
            await asyncio.sleep(self.interval_s)
            try:
                await self.health_check()
            except Exception:  # noqa: BLE001 - the check must keep running whatever one round hit
                log.exception("[Pool] health check falhou")

    async def health_check(self) -> dict[str, int]:
        """Ask every client's page whether it works; reconnect those that should work and don't."""
        log.info("[Pool] Executando health check...")
        clients = self._clients()
        results = await asyncio.gather(*(c.health_async(self.timeout_s) for c in clients))
        healthy = sum(results)
        log.info("[Pool] Health check concluído: %d/%d clientes saudáveis", healthy, len(clients))
        for client, ok in zip(clients, results):
            if not ok and self.wants_reconnect(client):
                self.reconnect_soon(client, at_once=True)
        return {"healthy": healthy, "total": len(clients)}

    # -- reconnection --------------------------------------------------------------------------------

    def wants_reconnect(self, client: WhatsAppClient) -> bool:
        """Should the pool bring this client back by itself?"""
        if not self.enabled or self.stopped:
            return False
        if client.status == S.READY:
            return True  # ready but failed the health check: a half-dead page
        if client.status == S.ERROR:
            return True
        if client.status == S.DISCONNECTED and client.reason in RETRYABLE:
            # Network loss with the page still open: WhatsApp Web reconnects by itself; relaunching won't help.
            return not (client.reason == Reason.NETWORK and client.page_alive)
        return False

    def reconnect_soon(self, client: WhatsAppClient, *, at_once: bool = False) -> None:
        """Start a reconnect loop for this client unless one is running (call on the engine loop)."""
        if client.client_id in self._retries or not self.wants_reconnect(client):
            return
        log.warning("[Pool] Cliente %s não saudável, tentando reconectar...", client.client_id)
        task = asyncio.ensure_future(self._reconnect_loop(client, at_once))
        self._retries[client.client_id] = _Retry(task)

    async def _reconnect_loop(self, client: WhatsAppClient, at_once: bool) -> None:
        retry = self._retries[client.client_id]
        try:
            while self.wants_reconnect(client):
                if retry.attempts or not at_once:
                    await asyncio.sleep(backoff_delay(retry.attempts, self.base_s, self.cap_s, self._rng))
                    if not self.wants_reconnect(client):
                        break
                retry.attempts += 1
                try:
                    await client.reconnect_async()
                except ZapPoolError as exc:
                    log.debug("[Pool] Cliente %s: tentativa %d falhou: %s", client.client_id, retry.attempts,
                              exc.message)
                    continue
                if client.status in (S.READY, S.QR_READY, S.AUTHENTICATED):
                    log.info("[Pool] Cliente %s recuperado após %d tentativa(s) (%s)", client.client_id,
                             retry.attempts, client.status.value)
                    break
        finally:
            self._retries.pop(client.client_id, None)

    def attempts(self, client_id: str) -> int:
        """Reconnect attempts so far in the running loop for this client (0 when none is running)."""
        retry = self._retries.get(client_id)
        return retry.attempts if retry else 0

    def cancel(self, client_id: str) -> None:
        """Stop reconnecting a client (the user disconnected or removed it)."""
        retry = self._retries.pop(client_id, None)
        if retry is not None:
            retry.task.cancel()

    async def stop(self) -> None:
        """Stop the health check and every reconnect loop."""
        self.stopped = True
        tasks = [r.task for r in self._retries.values()] + ([self._loop_task] if self._loop_task else [])
        self._retries.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
