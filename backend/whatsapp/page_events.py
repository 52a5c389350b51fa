"""What the page tells us: WA-JS events (through the engine's bridge) turned into the client's status.

A mixin of ClientSession: the handlers run on the engine loop, in page order, and change the state only
through `_set_status`. WA-JS's event names are the keys of `_HANDLERS`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..engine import EngineRuntime, WppPage
from ..errors import EngineError
from ..status import ACTIVE, ClientStatus, Reason
from .qr import QrImage

if TYPE_CHECKING:
    from .session import ClientMetadata

log = logging.getLogger(__name__)
S = ClientStatus
# WhatsApp stamps a message `t` in whole seconds of its own clock; the catch-up's cutoffs are ours: an unread
# message up to this much older than the cutoff still counts as missed (the log keeps it from being emitted twice).
CLOCK_MARGIN_S = 30
SEEN_MAX = 5000  # WhatsApp ids of the last incoming messages emitted: far more than one catch-up brings
KnownMessages = Callable[[list[str]], set[str]]  # of these WhatsApp ids, those already in the message log


class PageEvents:
    """The page's events, handled for the ClientSession that inherits this (its state is declared there)."""

    client_id: str
    runtime: EngineRuntime
    status: ClientStatus
    reason: str | None
    qr: QrImage | None
    qr_shown: int
    metadata: ClientMetadata
    _wpp: WppPage | None
    _info_lock: threading.Lock
    _seen: OrderedDict[str, None]
    known_messages: KnownMessages
    _now: Callable[[], datetime]

    # Defined by ClientSession (declared here so a reader sees what the handlers rely on).
    def _set_status(self, new: ClientStatus, reason: str | None = None) -> bool: raise NotImplementedError
    def _emit(self, name: str, **data: Any) -> None: raise NotImplementedError
    async def _close_page(self) -> None: raise NotImplementedError


    async def _sync_state(self) -> None:
        """Read where WhatsApp Web stands (after a load or reload) and take the matching status."""
        assert self._wpp is not None
        if await self._check_ready():
            return
        code = await self._wpp.call("conn.getAuthCode")
        if code and code.get("fullCode"):
            self._show_qr(code["fullCode"])

    async def _check_ready(self) -> bool:
        """Linked and main screen up -> ready; linked only -> authenticated. True when linked.

        WA-JS fires conn.main_ready once per page load, on the QR screen too, so no single event means
        "ready": each of authenticated, main_loaded and main_ready makes the client ask the page.
        """
        if self._wpp is None:
            return False
        authenticated, loaded, booted = await self._wpp.call_many(
            "conn.isAuthenticated", "conn.isMainLoaded", "conn.isMainReady")
        if authenticated and loaded and booted:
            await self._become_ready()
        elif authenticated and self.status in (S.INITIALIZING, S.QR_READY):
            self._set_status(S.AUTHENTICATED)
        return bool(authenticated)

    def _on_page_event(self, name: str, payload: Any) -> None:
        """Dispatch one WA-JS event (engine loop, page order)."""
        handler = self._HANDLERS.get(name)
        if handler is not None:
            handler(self, payload)

    def _show_qr(self, code: str) -> None:
        """A new QR code: render it once, show it, tell subscribers."""
        if self.status not in (S.INITIALIZING, S.QR_READY) or (self.qr and self.qr.code == code):
            return
        image = QrImage(code)
        image.data_url  # render now, on this thread, so every reader gets the finished image
        with self._info_lock:
            self.qr = image
            self.qr_shown += 1
            self.metadata.last_qr_at = self._now()
        self._set_status(S.QR_READY)
        self._emit("qr", qrCode=image.data_url, code=code)

    def _on_auth_code(self, payload: Any) -> None:
        if payload and payload.get("fullCode"):
            self._show_qr(payload["fullCode"])

    def _on_qr_idle(self, _payload: Any) -> None:
        # WhatsApp stopped rotating codes: nobody is scanning. Free the browser; reconnect() starts over.
        if self.status in (S.INITIALIZING, S.QR_READY):
            log.info("[Client %s] QR não escaneado: códigos esgotados", self.client_id)
            self._set_status(S.DISCONNECTED, Reason.QR_TIMEOUT)
            self._background(self._close_page(), "closing the browser")

    def _on_authenticated(self, _payload: Any) -> None:
        if self._set_status(S.AUTHENTICATED):
            self._emit("authenticated")
        self._on_main_progress(None)

    def _on_main_progress(self, _payload: Any) -> None:
        if self.status in (S.INITIALIZING, S.QR_READY, S.AUTHENTICATED):
            self._background(self._check_ready(), "readiness check")

    async def _become_ready(self) -> None:
        """Main screen ready: learn the phone number and go ready."""
        if self._wpp is None or self.status not in (S.INITIALIZING, S.QR_READY, S.AUTHENTICATED):
            return
        try:
            my_id = await self._wpp.call("conn.getMyUserId")
        except EngineError as exc:
            log.warning("[Client %s] getMyUserId falhou: %s", self.client_id, exc.message)
            my_id = None
        phone = str(my_id).split("@", 1)[0] if my_id else self.metadata.phone_number
        with self._info_lock:
            self.metadata.phone_number = phone
            self.metadata.connected_at = self._now()
            self.metadata.last_error = None
        if self.status in (S.INITIALIZING, S.QR_READY):
            self._set_status(S.AUTHENTICATED)  # the seed's order, even where WA-JS emits no event
        since = self._catch_up_since()  # before going ready, which moves the cutoff to now
        if self._set_status(S.READY):
            log.info("[Client %s] pronto - Telefone: %s", self.client_id, phone)
            self._emit("ready", phoneNumber=phone)
            self._background(self._catch_up(since), "catch-up")

    def _on_logout(self, _payload: Any) -> None:
        if self._wpp is not None and self._wpp.expect_logout:
            return  # logout() is handling it
        log.warning("[Client %s] aparelho desconectado pelo celular", self.client_id)
        self._set_status(S.DISCONNECTED, Reason.LOGGED_OUT)
        self._background(self._close_page(), "closing the browser")

    def _on_logout_reason(self, payload: Any) -> None:
        with self._info_lock:
            self.metadata.last_error = f"logout: {payload}"

    def _on_online(self, online: Any) -> None:
        if online is False and self.status == S.READY:
            self._set_status(S.DISCONNECTED, Reason.NETWORK)
        elif online is True and self.status == S.DISCONNECTED and self.reason == Reason.NETWORK:
            since = self._catch_up_since()
            if self._set_status(S.READY):  # what came offline may have beaten the listener
                self._background(self._catch_up(since), "catch-up")

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, dict) and not msg.get("fromMe") and self._first_time(msg.get("id")):
            self._emit("message", message=msg)

    def _first_time(self, wa_id: Any) -> bool:
        """True once per WhatsApp message id: the page's event and the catch-up can both bring a message."""
        if not isinstance(wa_id, str):
            return True
        if wa_id in self._seen:
            return False
        self._seen[wa_id] = None
        if len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)
        return True

    def _catch_up_since(self) -> float:
        """The cutoff of a catch-up, in epoch seconds: unread messages older than it are history, not missed.

        The unread chats hold more than what beat our listener: at a link (first, or again after a logout) and
        at any connect where the log lacks old messages, WhatsApp syncs the phone's history, whose unread
        messages can be days old, and no new-message event fires for them. Emitted, each would be a webhook to
        the customer's CRM and a log row as if just received. So only what came after the number was last
        known listening counts: the later of `listened_at` (set on entering ready and when ZapPool closes the
        page itself, saved with the state, never per message: after kill -9, a crash or a network drop, noticed
        late, it is the last ready moment, earlier than anything missed since; a file written before it gives
        connectedAt, the same moment) and `linked_at` (nothing older than
        a link was ever ours to hear; a message that comes during the link is newer). A number ZapPool never
        saw listening or linked (a profile listed again after a bad sessions file) starts at this connect: a
        flood of history is worse than the rare message lost there. CLOCK_MARGIN_S is taken off: WhatsApp's
        clock, its whole seconds, and the moments between a scan and ZapPool seeing it.
        """
        with self._info_lock:
            known = [at for at in (self.metadata.listened_at, self.metadata.linked_at) if at is not None]
        return (max(known) if known else self._now()).timestamp() - CLOCK_MARGIN_S

    async def _catch_up(self, since: float) -> None:
        """Connected (again): emit the unread messages WhatsApp holds that ZapPool has not logged, stamped `t`
        after `since` (_catch_up_since says why). A message held while the number had no page reaches the page
        at connect, and its `chat.new_message` can fire before our listener is there, or go to a page that was
        closing: the unread chats still have it."""
        wpp = self._wpp
        if wpp is None or self.status != S.READY:
            return
        unread = [m for m in await wpp.unread_messages() if isinstance(m, dict)]
        fresh = [m for m in unread if _after(m, since) and m.get("id") not in self._seen]
        history = sum(1 for m in unread if not _after(m, since))
        if history:
            log.debug("[Client %s] %d mensagens não lidas anteriores à conexão (histórico) não emitidas",
                      self.client_id, history)
        ids = [m["id"] for m in fresh if isinstance(m.get("id"), str)]
        logged = await asyncio.to_thread(self.known_messages, ids) if ids else set()
        missed = [m for m in fresh if m.get("id") not in logged]
        for msg in missed:
            self._on_message(msg)
        if missed:
            log.info("[Client %s] %d mensagens recebidas fora do evento, recuperadas ao conectar",
                     self.client_id, len(missed))

    def _on_ack(self, payload: Any) -> None:
        for msg_id in payload.get("ids") or []:
            self._emit("message_ack", id=msg_id, ack=payload.get("ack"), chat=payload.get("chat"))

    def _on_attached(self, _payload: Any) -> None:
        # bridge.js says WPP is ready. After the first load this means the page reloaded itself.
        if self.status in ACTIVE and self.status != S.INITIALIZING:
            self._background(self._sync_state(), "resync after reload")
        if self.status == S.READY:  # a reload while ready: what came meanwhile may have beaten our listener
            self._background(self._catch_up(self._catch_up_since()), "catch-up")

    def _background(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        """Run page work an event asked for without blocking the event; failures are logged."""
        async def run() -> None:
            try:
                await work
            except EngineError as exc:
                log.debug("[Client %s] %s failed: %s", self.client_id, what, exc.message)

        asyncio.ensure_future(run())

    _HANDLERS: dict[str, Callable[[PageEvents, Any], None]] = {
        "conn.auth_code_change": _on_auth_code,
        "conn.qrcode_idle": _on_qr_idle,
        "conn.authenticated": _on_authenticated,
        "conn.main_loaded": _on_main_progress,
        "conn.main_ready": _on_main_progress,
        "conn.logout": _on_logout,
        "conn.logout_reason": _on_logout_reason,
        "conn.online": _on_online,
        "chat.new_message": _on_message,
        "chat.msg_ack_change": _on_ack,
        "zap.attached": _on_attached,
    }

    def _on_page_closed(self, reason: str) -> None:
        """The browser died or was closed under us (not by ZapPool)."""
        self._wpp = None
        # Cut off by the network, the page was going to come back by itself; without it, it never will: say
        # so (a new reason), so the pool relaunches it instead of waiting for a network that returns to nothing.
        waiting_for_network = self.status == S.DISCONNECTED and self.reason == Reason.NETWORK
        if self.status not in ACTIVE and not waiting_for_network:
            return
        if self.runtime.stopping:
            reason = Reason.SHUTDOWN
        else:
            log.warning("[Client %s] navegador fechado (%s)", self.client_id, reason)
        self._set_status(S.DISCONNECTED, reason)


def _after(msg: dict[str, Any], since: float) -> bool:
    """True when WhatsApp stamped the message at or after `since` (epoch seconds). A message without a time
    cannot be placed, and a catch-up never emits what may be history."""
    t = msg.get("t")
    return isinstance(t, (int, float)) and not isinstance(t, bool) and t >= since
