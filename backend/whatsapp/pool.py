"""WhatsAppPool: many numbers at once, the seed's WhatsAppPoolManager in Python.

The pool owns the clients, the round-robin, the statistics and the supervisor (health check and
reconnection). It is given (backend/assembly.py builds them) the engine runtime, the saved numbers (the sessions file) and
the outbox: every message goes through it, on disk before it is sent, paced per number, and the pool is the
outbox's Sender. Building a pool starts nothing; `start()` loads the saved numbers and starts the outbox,
`start_health_checks()` the supervisor, `shutdown()` stops them.
Public methods are synchronous and thread-safe; the work that touches browsers runs on the engine loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ..clock import utc_now
from ..config import Settings
from ..engine import EngineRuntime
from ..errors import ClientNotReady, Conflict, InvalidInput, NotFound, StorageFull, ZapPoolError
from ..events.hub import POOL_EVENTS, ClientEvent, EventHub, Subscriber
from ..events.lifecycle import MessageLifecycle
from ..outbox.caps import Hold
from ..outbox.outbox import Outbox
from ..outbox.sender import Attempt
from ..status import ClientStatus, Reason
from ..store.message_schema import MessageRecord
from ..drafts import MediaFile, media_draft
from ..validation import Media, PhoneNumber, check_client_id
from .client import ClientMetadata, WhatsAppClient
from .on_demand import OnDemand, check_on_demand
from .placed import PlacedNumbers
from .saved import SavedNumbers, parse_time
from .supervisor import RETRYABLE, Supervisor
from .turns import Turns

log = logging.getLogger(__name__)
S = ClientStatus


class WhatsAppPool(PlacedNumbers):
    """Up to `max_clients` WhatsApp numbers, health-checked, reconnected, persisted and restored."""

    def __init__(self, settings: Settings, runtime: EngineRuntime, saved: SavedNumbers, outbox: Outbox,
                 *, now: Callable[[], datetime] = utc_now):
        self.settings = settings
        self.runtime = runtime
        self.saved = saved
        self.outbox = outbox
        self._now = now
        self._lock = threading.RLock()
        self._clients: dict[str, WhatsAppClient] = {}
        self._turns = Turns()  # the round-robin, in creation order: fair as numbers come and go
        self._counters = Counter(totalCreated=0, totalConnected=0, totalDisconnected=0)
        self.events = EventHub(POOL_EVENTS)
        self.closing = False
        self.on_demand = OnDemand(runtime, idle_s=lambda: settings.on_demand_idle_s,
                                  pending=lambda cid: getattr(outbox.counts().get(cid), "pending", 0) > 0)
        # A sleeping on-demand number is neither health-checked nor reconnected.
        self.supervisor = Supervisor(lambda: [c for c in self.clients() if not c.sleeping],
                                     interval_s=settings.health_check_interval_s,
                                     timeout_s=settings.health_check_timeout_s,
                                     base_s=settings.reconnect_delay_s, cap_s=settings.reconnect_cap_s,
                                     enabled=settings.auto_reconnect)
        self.outbox.on_change = MessageLifecycle(self.events.emit).update
        self.outbox.on_held = self._held

    def _held(self, client_id: str, hold: Hold, record: MessageRecord) -> None:
        """A number's cap holds a message: the `rate_limited` event (windows, SSE, webhooks)."""
        until = datetime.fromtimestamp(hold.until, timezone.utc).isoformat().replace("+00:00", "Z")
        self.events.emit(ClientEvent(client_id, "rate_limited", {"cap": hold.cap, "limit": hold.limit, "until": until,
                                                                 "reason": hold.reason, "message": record.to_dict()}))

    # -- registry --------------------------------------------------------------------------------------

    def clients(self) -> list[WhatsAppClient]:
        """Every client, in creation order."""
        with self._lock:
            return list(self._clients.values())

    def get(self, client_id: str) -> WhatsAppClient:
        """The client with this id, or NotFound."""
        with self._lock:
            client = self._clients.get(client_id)
        if client is None:
            raise NotFound(f"No client {client_id!r} in the pool", details={"clientId": str(client_id)[:80]})
        return client

    def _register(self, client: WhatsAppClient) -> None:
        """Add a client and follow its events."""
        with self._lock:
            self._clients[client.client_id] = client
            self._turns.join(client.client_id)
            self._counters["totalCreated"] += 1
        client.profiles = self.saved.profiles  # issue 19: a sealed folder's profile snapshots (None: plain ones)
        client.subscribe(self._on_client_event)
        client.known_messages = functools.partial(self.outbox.known_incoming, client.client_id)
        self.events.emit(ClientEvent(client.client_id, "client_added", {"info": client.get_info()}))

    def _load(self, record: dict[str, Any]) -> None:
        """A client from the sessions file: known, not started; restore decides whether to connect it."""
        try:
            client_id = check_client_id(record.get("clientId"))
        except ZapPoolError:
            log.error("[Pool] registro ignorado (clientId inválido): %r", record.get("clientId"))
            return
        meta = record.get("metadata") or {}
        sent = self.outbox.counts().get(client_id)
        metadata = ClientMetadata(created_at=parse_time(meta.get("createdAt")) or self._now(),
                                  connected_at=parse_time(meta.get("connectedAt")),
                                  listened_at=parse_time(record.get("listenedAt") or meta.get("connectedAt")),
                                  message_count=sent.sent if sent else 0,  # the message log is the truth
                                  phone_number=record.get("phoneNumber"))
        client = WhatsAppClient(client_id, self.runtime, self.settings, name=record.get("name"),
                                metadata=metadata, now=self._now)
        client.on_demand = record.get("onDemand") is True
        self._register(client)

    def _new_id(self) -> str:
        """client_<epoch ms>, as the seed; bumped by a millisecond if taken."""
        stamp = int(time.time() * 1000)
        with self._lock:
            while f"client_{stamp}" in self._clients:
                stamp += 1
        return f"client_{stamp}"

    def add(self, client_id: str | None = None, name: str | None = None, on_demand: bool = False) -> WhatsAppClient:
        """Create a client (not started): a clear error for a bad or duplicate id or a full pool."""
        client_id = check_client_id(client_id) if client_id is not None else self._new_id()
        on_demand = check_on_demand(on_demand)
        if name is not None and (not isinstance(name, str) or len(name) > 100):
            raise InvalidInput("A name is text of at most 100 characters", details={"field": "name"})
        with self._lock:
            if client_id in self._clients:
                raise Conflict(f"A client {client_id!r} already exists", details={"clientId": client_id},
                               code="client_exists")
            if len(self._clients) >= self.settings.max_clients:
                raise Conflict(f"The pool is full ({self.settings.max_clients} clients): remove one first",
                               details={"maxClients": self.settings.max_clients}, code="pool_full")
            client = WhatsAppClient(client_id, self.runtime, self.settings, name=name, now=self._now)
            client.on_demand = on_demand
            self._register(client)
        try:
            self._persist(client, strict=True)
        except StorageFull:
            self._unregister(client_id)  # not on disk, so not in the pool: a restart would not know it
            raise
        return client

    def create_and_initialize(self, client_id: str | None = None, name: str | None = None,
                              on_demand: bool = False) -> dict[str, Any]:
        """The seed's createAndInitialize: add a client and start it; returns once a QR shows or it is ready."""
        client = self.add(client_id, name, on_demand)
        return client.initialize()

    def set_on_demand(self, client_id: str, on_demand: Any) -> dict[str, Any]:
        """Switch a number between always connected and on demand (on_demand.py); saved at once."""
        return self.on_demand.set_mode(self.get(client_id), check_on_demand(on_demand), self.saved.save_mode)

    def wake_for_send(self, client_id: str) -> None:
        """A synchronous send through a sleeping on-demand number: wake it and wait until it is ready."""
        self.on_demand.wait_awake(self.get(client_id), self.settings.load_timeout_s)

    # -- sending (through the outbox) ------------------------------------------------------------------

    def send_message(self, client_id: str, to: str, text: str) -> dict[str, Any]:
        """Send text through one number; returns once sent (the seed's meaning)."""
        self.wake_for_send(client_id)
        return self.outbox.send_text_and_wait(client_id, to, text).to_dict()

    def send_media(self, client_id: str, to: str, media: Media | dict[str, Any],
                   options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send media (the seed's MessageMedia: base64) through one number; returns once sent."""
        self.wake_for_send(client_id)
        return self.outbox.send_and_wait(media_draft(client_id, to, media, options), 120.0).to_dict()

    def send_message_auto(self, to: str, text: str) -> dict[str, Any]:
        """The seed's sendMessageAuto: the next ready number in turn sends it."""
        if not self.any_ready_client():
            raise ClientNotReady("No connected number: connect one first (scan its QR code)",
                                 code="no_ready_client")
        return self.outbox.send_text_and_wait(None, to, text).to_dict()

    # The outbox's Sender: how it reaches the numbers.

    def client_ready(self, client_id: str, wake: bool = True) -> bool:
        """Is that number connected now; asked while something waits for it, so a sleeping on-demand number is
        woken (and says no until it is ready: the pool then wakes the outbox). wake=False: only asking."""
        with self._lock:
            client = self._clients.get(client_id)
        if wake and client is not None and client.status != S.READY:
            self.on_demand.wake(client)
        return client is not None and client.status == S.READY

    def any_ready_client(self) -> bool:
        """Is some number connected now, or a sleeping on-demand one to wake (without moving the round-robin)."""
        return any(c.status == S.READY or c.sleeping for c in self.clients())

    def deliver_text(self, client_id: str, to: PhoneNumber, text: str, attempt: Attempt = Attempt()) -> dict[str, Any]:
        """Send now through the client (called by the outbox's worker for that number). The sessions file is
        not rewritten per message: counts come from messages.db (see saved.py), and each rewrite grows with
        the numbers."""
        with self.on_demand.sending(client_id):
            return self.get(client_id).send_message(to, text, attempt)

    def deliver_media(self, client_id: str, to: PhoneNumber, media: MediaFile, options: dict[str, Any],
                      attempt: Attempt = Attempt()) -> dict[str, Any]:
        """Send media now through the client (called by the outbox's worker for that number); no rewrite of
        the sessions file, as deliver_text."""
        with self.on_demand.sending(client_id):
            return self.get(client_id).send_media(to, media, options, attempt)

    def ready_client_besides(self, exclude: frozenset[str]) -> bool:
        """Is a number outside `exclude` connected now (the router: is any left to give a message to)? Does not
        move the round-robin or wake anyone."""
        return any(c.status == S.READY and c.client_id not in exclude for c in self.clients())

    def pick_ready_client(self, exclude: frozenset[str] = frozenset()) -> str | None:
        """Round-robin over ready numbers: the first ready one created after the last one used."""
        with self._lock:
            client_id = self._turns.take(c.client_id for c in self._clients.values()
                                         if c.status == S.READY and c.client_id not in exclude)
            if client_id is None:  # none free: when none is ready at all, wake a sleeping on-demand one
                in_order = self._turns.in_order(self._clients)
                self.on_demand.wake_first([self._clients[c] for c in in_order], exclude)
            return client_id

    # -- reading ---------------------------------------------------------------------------------------

    def get_ready_clients(self) -> list[str]:
        """Ids of the ready clients (the seed's GET /clients)."""
        return [c.client_id for c in self.clients() if c.status == S.READY]

    def get_all_clients_info(self) -> list[dict[str, Any]]:
        """get_info() of every client (the seed's GET /clients/all)."""
        return [c.get_info() for c in self.clients()]

    def get_stats(self) -> dict[str, Any]:
        """The seed's statistics, with exactly its fields."""
        clients = self.clients()
        by_status = Counter(c.status.value for c in clients)
        with self._lock:
            counters = dict(self._counters)
        return {
            "totalCreated": counters["totalCreated"],
            "totalConnected": counters["totalConnected"],
            "totalDisconnected": counters["totalDisconnected"],
            "totalMessages": self.outbox.totals().sent,
            "currentClients": len(clients),
            "maxClients": self.settings.max_clients,
            "readyClients": by_status.get(S.READY.value, 0),
            "clientsByStatus": dict(by_status),
        }

    # -- lifecycle of one client -------------------------------------------------------------------------

    def disconnect(self, client_id: str) -> None:
        """Close the number's browser; its login stays, so reconnect() needs no scan."""
        client = self.get(client_id)
        self.runtime.call(self._quiet(client_id), 5)
        client.disconnect()

    def reconnect(self, client_id: str) -> dict[str, Any]:
        """Start the number again (after a disconnect, an error, or to get a fresh QR code)."""
        client = self.get(client_id)
        self.runtime.call(self._quiet(client_id), 5)
        return client.reconnect()

    def logout(self, client_id: str) -> None:
        """Unlink the number from the phone and delete its browser profile; it stays listed, to link again."""
        client = self.get(client_id)
        self.runtime.call(self._quiet(client_id), 5)
        client.logout()
        self._persist(client)

    def remove(self, client_id: str) -> None:
        """The seed's "Remover": log out, delete the profile and forget the number."""
        self.logout(client_id)
        self.saved.forget(client_id)  # first: on a full disk the number stays listed, logged out, as on disk
        self._unregister(client_id, then=lambda: self.outbox.forget_client(client_id))

    def _unregister(self, client_id: str, then: Callable[[], Any] = lambda: None) -> None:
        """Forget a client, do `then`, and say it was removed."""
        with self._lock:
            self._clients.pop(client_id, None)
            self._turns.leave(client_id)
        then()
        self.events.emit(ClientEvent(client_id, "client_removed", {}))

    async def _quiet(self, client_id: str) -> None:
        """The user takes over this client: stop any automatic reconnection of it."""
        self.supervisor.cancel(client_id)

    # -- health, restore, shutdown ------------------------------------------------------------------------

    def start(self) -> None:
        """List the saved numbers (known, not started) and start the outbox, which sends what a crash left
        queued as soon as its number is ready. Restoring them is the caller's choice: see app.py."""
        for record in self.saved.load():
            self._load(record)
        self.saved.start()
        self.outbox.start(self)

    def start_health_checks(self) -> None:
        """Begin the periodic health check and automatic reconnection."""
        self.runtime.call(self._start(), 10)

    async def _start(self) -> None:
        self.supervisor.start()

    def health_check(self) -> dict[str, int]:
        """Run a health check now: {"healthy": n, "total": m}."""
        return self.runtime.call(self.supervisor.health_check(), self.settings.call_timeout_s)

    def restore_persisted_sessions(self) -> dict[str, int]:
        """Reconnect, in parallel, every saved client that was connected: {"restored": x, "total": y}."""
        return self.runtime.call(self._restore(), self.settings.load_timeout_s * 2 + 30)

    async def _restore(self) -> dict[str, int]:
        wanted = [c for c in self.clients() if self.saved.was_connected(c.client_id) and not c.on_demand
                  and c.status in (S.IDLE, S.DISCONNECTED, S.ERROR)]  # an on-demand number stays asleep
        results = await asyncio.gather(*(c.initialize_async() for c in wanted), return_exceptions=True)
        restored = sum(1 for c, r in zip(wanted, results) if not isinstance(r, BaseException) and c.status == S.READY)
        log.info("[Pool] %d/%d sessões restauradas", restored, len(wanted))
        return {"restored": restored, "total": len(wanted)}

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop reconnecting, close every browser, keep the saved state as it was; safe to call twice. The
        engine runtime is not stopped: whoever made it stops it."""
        if self.closing:
            return
        self.closing = True
        log.info("[Pool] Encerrando %d clientes...", len(self._clients))
        self.outbox.stop(timeout_s / 2)  # stop taking work; what is in flight finishes or waits for next start
        try:
            self.runtime.call(self._shutdown(), timeout_s)
        except ZapPoolError as exc:
            log.warning("[Pool] encerramento incompleto: %s", exc.message)
        self.saved.stop()  # what was queued before closing; the shutdown's own changes are not saved

    async def _shutdown(self) -> None:
        await self.supervisor.stop()
        await self.on_demand.stop()
        await asyncio.gather(*(c.disconnect_async(Reason.SHUTDOWN) for c in self.clients()),
                             return_exceptions=True)

    # -- events and persistence ------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber, events: set[str] | None = None) -> Callable[[], None]:
        """Events of every client plus client_added/client_removed and the outbox's message_status; returns the
        unsubscribe function."""
        return self.events.subscribe(callback, events)

    def _on_client_event(self, event: ClientEvent) -> None:
        """Count, log, persist and supervise; then pass the event on (engine loop), even when the disk is full."""
        client = self._clients.get(event.client_id)
        if client is None:
            return
        try:
            self._follow(client, event)
        except StorageFull as exc:
            log.error("[Pool] %s: evento %s não registrado: %s", event.client_id, event.name, exc.message)
        self.events.emit(event)

    def _follow(self, client: WhatsAppClient, event: ClientEvent) -> None:
        """What the pool itself does with a client's event."""
        if event.name == "ready":
            log.info("[Pool] Cliente %s pronto - Telefone: %s", event.client_id, event.data.get("phoneNumber"))
            with self._lock:
                self._counters["totalConnected"] += 1
            if client.on_demand:
                self.on_demand.ready(client)
            self.outbox.wake(event.client_id)
        elif event.name == "message_ack":
            self.outbox.record_ack(event.client_id, event.data["id"], event.data["ack"])
        elif event.name == "message":
            self.outbox.record_incoming(event.client_id, event.data["message"])
        elif event.name == "disconnected":
            with self._lock:
                self._counters["totalDisconnected"] += 1
            if not self.closing and event.data.get("reason") in RETRYABLE:
                self.supervisor.reconnect_soon(client)
        elif event.name == "status" and not self.closing:
            self._persist(client)

    def _persist(self, client: WhatsAppClient, *, strict: bool = False) -> None:
        """Save the client's record, unless shutting down or removed: queued (SavedNumbers.save; the engine
        thread calls this and never waits for a disk), or written now when `strict` (adding a number: a full
        disk raises StorageFull to the caller)."""
        if self.closing or client.client_id not in self._clients:
            return
        if strict:
            self.saved.save_now(client)
        else:
            self.saved.save(client)
