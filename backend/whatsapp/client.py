"""WhatsAppClient: one WhatsApp number, the seed's WhatsAppClientService in Python.

Public methods are synchronous and safe to call from any thread: each hands its work to the engine loop
(`EngineRuntime.call`). Everything that changes the client's state runs on that loop, so there is one
writer; `get_info()` reads a consistent snapshot under a small lock.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..clock import iso, utc_now
from ..config import Settings
from ..engine import EngineRuntime, WppPage
from ..errors import ClientNotReady, Conflict, EngineError, EngineTimeout, ZapPoolError
from ..events.hub import ClientEvent, EventHub, Subscriber
from ..outbox.sender import Attempt
from ..status import ACTIVE, ClientStatus, Reason, can_move
from ..validation import Media, check_client_id, check_text, normalize_number
from . import sending as messaging
from .qr import QrImage

log = logging.getLogger(__name__)
S = ClientStatus
FIRST_QR_S, NEXT_QR_S = 60, 20  # how long WhatsApp Web shows its first QR code, and each one after
EVENTS = ("qr", "code", "authenticated", "ready", "message", "message_ack", "disconnected", "status")
READ_TIMEOUT_S = 10.0  # marking a chat read is a courtesy to the contact: never worth a long wait


@dataclass
class ClientMetadata:
    """The seed's metadata plus the linked phone and the last error."""

    created_at: datetime
    last_qr_at: datetime | None = None
    connected_at: datetime | None = None
    message_count: int = 0
    phone_number: str | None = None
    last_error: str | None = None


class WhatsAppClient:
    """One number: its browser profile, its status machine, its metadata and its events."""

    def __init__(self, client_id: str, runtime: EngineRuntime, settings: Settings, *, name: str | None = None,
                 metadata: ClientMetadata | None = None, now: Callable[[], datetime] = utc_now):
        self.client_id = check_client_id(client_id)
        self.name = name
        self.runtime = runtime
        self.settings = settings
        self.profile_dir = settings.sessions_dir / client_id
        self._now = now
        self.metadata = metadata or ClientMetadata(created_at=now())
        self.status = S.IDLE
        self.reason: str | None = None
        self.qr: QrImage | None = None
        self.qr_shown = 0  # codes shown since the last start: WhatsApp gives the first one longer
        self.pairing_code: str | None = None
        self._wpp: WppPage | None = None
        self.events = EventHub(EVENTS)
        self._info_lock = threading.Lock()
        self._op_lock: asyncio.Lock | None = None  # made on the engine loop: serializes connect/disconnect
        self._status_changed: asyncio.Event | None = None

    # -- events --------------------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber, events: set[str] | None = None) -> Callable[[], None]:
        """Call `callback(event)` for the named events (all when None); returns the unsubscribe function."""
        return self.events.subscribe(callback, events)

    def on(self, name: str, callback: Subscriber) -> Callable[[], None]:
        """Subscribe to one event by name (qr, code, authenticated, ready, message, ...)."""
        return self.events.subscribe(callback, {name})

    def _emit(self, name: str, **data: Any) -> None:
        """Deliver an event to subscribers (on the engine thread: they must not block)."""
        self.events.emit(ClientEvent(self.client_id, name, data))

    # -- status: the only place it changes ------------------------------------------------------------

    def _set_status(self, new: ClientStatus, reason: str | None = None) -> bool:
        """Move to `new` if the transition table allows it; emit status (and disconnected) events."""
        old = self.status
        if new == old and reason == self.reason:
            return False
        if new != old and not can_move(old, new):
            log.debug("[Client %s] refused transition %s -> %s", self.client_id, old.value, new.value)
            return False
        with self._info_lock:
            self.status, self.reason = new, reason
            if new != S.QR_READY:
                self.qr, self.pairing_code = None, None
        log.info("[Client %s] %s -> %s%s", self.client_id, old.value, new.value, f" ({reason})" if reason else "")
        if self._status_changed is not None:
            self._status_changed.set()
        self._emit("status", status=new.value, previous=old.value, reason=reason)
        if new == S.DISCONNECTED:
            self._emit("disconnected", reason=reason)
        return True

    async def _wait_status(self, wanted: set[ClientStatus], timeout_s: float) -> ClientStatus:
        """Wait until the status is one of `wanted`."""
        assert self._status_changed is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.status not in wanted:
            self._status_changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise EngineTimeout(f"Client {self.client_id} stayed {self.status.value} for {timeout_s:.0f} s",
                                    details={"status": self.status.value})
            try:
                await asyncio.wait_for(self._status_changed.wait(), remaining)
            except asyncio.TimeoutError:
                pass
        return self.status

    # -- sync API (any thread) --------------------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, Any], timeout_s: float | None = None) -> Any:
        """Run one of the async methods below on the engine loop."""
        return self.runtime.call(coro, (timeout_s or self.settings.call_timeout_s) + 5)

    def initialize(self) -> dict[str, Any]:
        """Start the browser and WhatsApp Web; returns once a QR code is shown or the number is ready."""
        return self._run(self.initialize_async(), self.settings.load_timeout_s * 2)

    def send_message(self, to: str, text: str, attempt: Attempt = Attempt()) -> dict[str, Any]:
        """Send a text message; returns once WhatsApp has it (ack 1, sent). `attempt`: see messaging.Attempt."""
        return self._run(self.send_message_async(to, text, attempt))

    def send_media(self, to: str, media: Media | dict[str, Any], options: dict[str, Any] | None = None,
                   attempt: Attempt = Attempt()) -> dict[str, Any]:
        """Send an image, document, audio or video; options: caption, filename, sendAudioAsVoice, sendMediaAsDocument."""
        return self._run(self.send_media_async(to, media, options or {}, attempt), self.settings.call_timeout_s * 3)

    def check_number(self, to: str) -> dict[str, Any]:
        """Is the number on WhatsApp, and under which id."""
        return self._run(self.check_number_async(to))

    def request_pairing_code(self, phone: str) -> str:
        """Link by phone number instead of QR: the 8-character code to type on the phone."""
        return self._run(self.request_pairing_code_async(phone))

    def mark_chat_read(self, chat: str) -> None:
        """Mark a conversation read on WhatsApp itself: the phone's unread badge goes, the contact sees blue ticks."""
        self._run(self.mark_chat_read_async(chat), READ_TIMEOUT_S)

    def disconnect(self) -> None:
        """Close the browser; the login stays in the profile, so reconnect() needs no scan."""
        self._run(self.disconnect_async())

    def reconnect(self) -> dict[str, Any]:
        """Close whatever is open and start again."""
        return self._run(self.reconnect_async(), self.settings.load_timeout_s * 2)

    def logout(self) -> None:
        """Unlink the device from the phone and delete the browser profile."""
        self._run(self.logout_async())

    def get_info(self) -> dict[str, Any]:
        """The seed's shape: clientId, status, phoneNumber, qrCode, metadata, isReady (plus name, reason)."""
        with self._info_lock:
            m = self.metadata
            return {
                "clientId": self.client_id,
                "name": self.name,
                "status": self.status.value,
                "reason": self.reason,
                "phoneNumber": m.phone_number,
                "qrCode": self.qr.data_url if self.qr else None,
                "qrExpiresAt": iso(self._qr_expiry()) if self.qr else None,
                "pairingCode": self.pairing_code,
                "metadata": {
                    "createdAt": iso(m.created_at),
                    "lastQRAt": iso(m.last_qr_at),
                    "connectedAt": iso(m.connected_at),
                    "messageCount": m.message_count,
                    "lastError": m.last_error,
                },
                "isReady": self.status == S.READY,
            }

    def _qr_expiry(self) -> datetime | None:
        """When WhatsApp will likely replace the QR code: ~60 s after the first, ~20 s after the others."""
        if self.metadata.last_qr_at is None:
            return None
        lifetime = FIRST_QR_S if self.qr_shown <= 1 else NEXT_QR_S
        return self.metadata.last_qr_at + timedelta(seconds=lifetime)

    # -- lifecycle (engine loop) ------------------------------------------------------------------------

    def _loop_state(self) -> asyncio.Lock:
        """Loop-bound primitives, made on first use inside the engine loop."""
        if self._op_lock is None:
            self._op_lock = asyncio.Lock()
            self._status_changed = asyncio.Event()
        return self._op_lock

    async def initialize_async(self) -> dict[str, Any]:
        """See initialize()."""
        async with self._loop_state():
            if self.status in ACTIVE:
                raise Conflict(f"Client {self.client_id} is already {self.status.value}",
                               details={"status": self.status.value})
            self._set_status(S.INITIALIZING)
            self.qr_shown = 0
            try:
                await self._open_page()
                await self._sync_state()
                settled = {S.QR_READY, S.READY, S.DISCONNECTED, S.ERROR}
                await self._wait_status(settled, self.settings.load_timeout_s)
            except ZapPoolError as exc:
                await self._fail(exc)
                raise
        return self.get_info()

    async def _open_page(self) -> None:
        """Launch this client's profile and load WhatsApp Web in it."""
        context = await self.runtime.launch_profile(self.profile_dir)
        self._wpp = WppPage(context, self.settings.whatsapp_url, self._on_page_event, self._on_page_closed,
                            self.settings.call_timeout_s)
        await self._wpp.open(self.settings.load_timeout_s)

    async def _fail(self, exc: ZapPoolError) -> None:
        """Starting failed: close the browser and show the error."""
        with self._info_lock:
            self.metadata.last_error = exc.message
        await self._close_page()
        reason = Reason.BROWSER_NOT_FOUND if exc.code == "browser_not_found" else Reason.LOAD_FAILED
        self._set_status(S.ERROR, reason)
        log.error("[Client %s] falha ao iniciar: %s", self.client_id, exc.message)

    async def _close_page(self) -> None:
        """Close the browser if it is open."""
        wpp, self._wpp = self._wpp, None
        if wpp is not None:
            await wpp.close()

    async def disconnect_async(self, reason: str = Reason.MANUAL) -> None:
        """See disconnect()."""
        async with self._loop_state():
            await self._close_page()
            if self.status != S.IDLE:
                self._set_status(S.DISCONNECTED, reason)

    async def reconnect_async(self) -> dict[str, Any]:
        """See reconnect()."""
        if self.status in ACTIVE:
            await self.disconnect_async()
        return await self.initialize_async()

    async def logout_async(self) -> None:
        """See logout()."""
        async with self._loop_state():
            wpp = self._wpp
            if wpp is not None and wpp.alive and self.status in (S.AUTHENTICATED, S.READY):
                try:
                    wpp.expect_logout = True
                    await wpp.call("conn.logout", timeout_s=15)
                except EngineError as exc:  # the profile is deleted below anyway
                    log.warning("[Client %s] logout no WhatsApp falhou: %s", self.client_id, exc.message)
            await self._close_page()
            await asyncio.to_thread(shutil.rmtree, self.profile_dir, True)
            with self._info_lock:
                self.metadata.phone_number = None
            if self.status != S.IDLE:
                self._set_status(S.DISCONNECTED, Reason.LOGGED_OUT)

    @property
    def page_alive(self) -> bool:
        """True while this client's WhatsApp Web page is open."""
        wpp = self._wpp
        return wpp is not None and wpp.alive

    async def health_async(self, timeout_s: float = 10.0) -> bool:
        """Does this number really work: page alive, WPP answering, and (when ready) linked and online."""
        wpp = self._wpp
        if self.status not in ACTIVE or wpp is None or not wpp.alive:
            return False
        try:
            authenticated, booted, online = await asyncio.wait_for(
                wpp.call_many("conn.isAuthenticated", "conn.isMainReady", "conn.isOnline"), timeout_s)
        except (EngineError, asyncio.TimeoutError):
            return False
        if self.status == S.READY:
            return bool(authenticated and booted and online)
        return True  # starting or waiting for a scan: the page answers, nothing more to ask

    # -- what the page tells us ---------------------------------------------------------------------------

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
        if self._set_status(S.READY):
            log.info("[Client %s] pronto - Telefone: %s", self.client_id, phone)
            self._emit("ready", phoneNumber=phone)

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
            self._set_status(S.READY)

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, dict) and not msg.get("fromMe"):
            self._emit("message", message=msg)

    def _on_ack(self, payload: Any) -> None:
        for msg_id in payload.get("ids") or []:
            self._emit("message_ack", id=msg_id, ack=payload.get("ack"), chat=payload.get("chat"))

    def _on_attached(self, _payload: Any) -> None:
        # bridge.js says WPP is ready. After the first load this means the page reloaded itself.
        if self.status in ACTIVE and self.status != S.INITIALIZING:
            self._background(self._sync_state(), "resync after reload")

    def _background(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        """Run page work an event asked for without blocking the event; failures are logged."""
        async def run() -> None:
            try:
                await work
            except EngineError as exc:
                log.debug("[Client %s] %s failed: %s", self.client_id, what, exc.message)

        asyncio.ensure_future(run())

    _HANDLERS: dict[str, Callable[[WhatsAppClient, Any], None]] = {
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

    # -- sending and looking up (engine loop) ------------------------------------------------------------

    def _ready_page(self) -> WppPage:
        """The page, if the client can send; otherwise a clear error."""
        if self.status != S.READY or self._wpp is None or not self._wpp.alive:
            raise ClientNotReady(f"Client {self.client_id} is {self.status.value}, not ready",
                                 details={"clientId": self.client_id, "status": self.status.value,
                                          "reason": self.reason})
        return self._wpp

    async def check_number_async(self, to: str) -> dict[str, Any]:
        """See check_number()."""
        number = normalize_number(to)
        return await messaging.look_up(self._ready_page(), number)

    async def mark_chat_read_async(self, chat: str) -> None:
        """See mark_chat_read()."""
        await self._ready_page().call("chat.markIsRead", chat, timeout_s=READ_TIMEOUT_S)

    async def send_message_async(self, to: str, text: str, attempt: Attempt = Attempt()) -> dict[str, Any]:
        """See send_message()."""
        check_text(text)
        number = normalize_number(to)
        return self._count(await messaging.send_text(self._ready_page(), number, text, self._offline_but_open,
                                                     attempt))

    async def send_media_async(self, to: str, media: Media | dict[str, Any], options: dict[str, Any],
                               attempt: Attempt = Attempt()) -> dict[str, Any]:
        """See send_media()."""
        prepared = await asyncio.to_thread(messaging.prepare_media, media, options)  # big base64: off the loop
        number = normalize_number(to)
        return self._count(await messaging.send_media(self._ready_page(), number, prepared, self._offline_but_open,
                                                      attempt))

    def _offline_but_open(self) -> bool:
        """Cut off by the network with the page open: a send already handed to WhatsApp Web waits in its own
        queue and goes out when the network returns, so the caller keeps waiting instead of sending it again."""
        return self.status == S.DISCONNECTED and self.reason == Reason.NETWORK and self.page_alive

    def _count(self, receipt: dict[str, Any]) -> dict[str, Any]:
        """Count a sent message in the metadata and stamp its time (one found already sent too: at start the
        count is the log's sent messages, and it was `sending` there)."""
        with self._info_lock:
            self.metadata.message_count += 1
        return {**receipt, "timestamp": iso(self._now())}

    async def request_pairing_code_async(self, phone: str) -> str:
        """See request_pairing_code()."""
        number = normalize_number(phone)
        if self.status != S.QR_READY or self._wpp is None:
            raise Conflict(f"Client {self.client_id} is {self.status.value}: a pairing code needs the login "
                           "screen (status qr_ready)", details={"status": self.status.value})
        code = await self._wpp.call("conn.genLinkDeviceCodeForPhoneNumber", number)
        with self._info_lock:
            self.pairing_code = code
        self._emit("code", code=code, phoneNumber=number)
        return code

