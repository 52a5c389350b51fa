"""ClientSession: one number's state on the engine loop: its page, its status machine, what it sends.

Everything here runs on the engine thread's asyncio loop (the async methods) or is called from it (the
page's event handlers in page_events.py), so each number's state has one writer. WhatsAppClient (client.py)
is the thin, synchronous face other threads use.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..clock import iso, utc_now
from ..config import Settings
from ..engine import EngineRuntime, WppPage
from ..errors import ClientNotReady, Conflict, EngineError, EngineTimeout, ZapPoolError
from ..events.hub import CLIENT_EVENTS, ClientEvent, EventHub
from ..outbox.sender import Attempt
from ..status import ACTIVE, ClientStatus, Reason, can_move
from ..drafts import MediaFile, decoded_media
from ..validation import Media, check_client_id, check_text, phone_number
from . import sending
from .lookups import LookUpCache
from .page_events import KnownMessages, PageEvents
from .profiles import ProfileSnapshots, keep_snapshots
from .qr import QrImage

log = logging.getLogger(__name__)
S = ClientStatus
# Leaving ready for these, ZapPool closed the page itself: its listener was on until that moment. Any other way
# out (a crash, a hung page, the network) is noticed late, so the last moment known listening stays at ready.
CLOSED_BY_US = frozenset({Reason.MANUAL, Reason.SLEEPING, Reason.SHUTDOWN})
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
    # The catch-up's cutoffs (page_events.py): the last moment ZapPool knew the number connected with its
    # listener on (set on entering ready and on closing it; saved with the state, so a restart knows it), and the
    # moment it saw the number linked by a scan or pairing code (this run only: after it, listened_at is later).
    listened_at: datetime | None = None
    linked_at: datetime | None = None


class ClientSession(PageEvents):
    """One number on the engine loop: its browser profile, status machine, metadata and events."""


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
        self.on_demand = False  # browser only while there is something to send (on_demand.py)
        self._wpp: WppPage | None = None
        self.lookups = LookUpCache()  # queryExists answers, kept between sends (lookups.py says how long)
        self._seen: OrderedDict[str, None] = OrderedDict()  # incoming messages emitted (page_events.py)
        self.known_messages: KnownMessages = lambda _ids: set()  # the pool's message log answers this
        self.events = EventHub(CLIENT_EVENTS)
        self._info_lock = threading.Lock()
        self._op_lock: asyncio.Lock | None = None  # made on the engine loop: serializes connect/disconnect
        self._status_changed: asyncio.Event | None = None
        self.profiles: ProfileSnapshots | None = None  # a sealed data folder's (profiles.py); set by the pool
        self._snapshots: asyncio.Task[None] | None = None  # while ready, sealed snapshots of the live profile

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
            if new == S.READY or (old == S.READY and reason in CLOSED_BY_US):
                self.metadata.listened_at = self._now()
            if old == S.QR_READY and new in (S.AUTHENTICATED, S.READY):
                self.metadata.linked_at = self._now()
        log.info("[Client %s] %s -> %s%s", self.client_id, old.value, new.value, f" ({reason})" if reason else "")
        if new == S.READY and self.profiles is not None and (self._snapshots is None or self._snapshots.done()):
            self._snapshots = asyncio.get_running_loop().create_task(keep_snapshots(
                self.profiles, self.client_id, self.settings.snapshot_first_s, self.settings.snapshot_interval_s,
                lambda: self.status == S.READY and self.page_alive))
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
        """Launch this client's profile (sealed data: unpacked from its snapshot) and load WhatsApp Web in it."""
        profile = self.profile_dir
        if self.profiles is not None:
            profile = await asyncio.to_thread(self.profiles.prepare, self.client_id)
        context = await self.runtime.launch_profile(profile)
        self.lookups.clear()  # a new login may be another account
        self._wpp = WppPage(context, self.settings.whatsapp_url, self._on_page_event, self._on_page_closed,
                            self.settings.call_timeout_s)
        await self._wpp.open(self.settings.load_timeout_s)

    async def _fail(self, exc: ZapPoolError) -> None:
        """Starting failed: close the browser and show the error."""
        with self._info_lock:
            self.metadata.last_error = exc.message
        await self._close_page()
        if exc.code == "sealed_file_unreadable":  # no retry would open it: disconnected, saying why
            self._set_status(S.DISCONNECTED, Reason.SNAPSHOT_UNREADABLE)
            return log.error("[Client %s] instantâneo do perfil ilegível: %s", self.client_id, exc.message)
        if exc.code == "lease_lost":  # cluster mode: another node drives it; no browser was started here
            self._set_status(S.DISCONNECTED, Reason.ELSEWHERE)
            return log.warning("[Client %s] não iniciado: %s", self.client_id, exc.message)
        reason = Reason.BROWSER_NOT_FOUND if exc.code == "browser_not_found" else Reason.LOAD_FAILED
        self._set_status(S.ERROR, reason)
        log.error("[Client %s] falha ao iniciar: %s", self.client_id, exc.message)

    async def _close_page(self) -> None:
        """Close the browser if it is open; sealed data: snapshot the profile if it was logged in, then remove the
        live one."""
        wpp, self._wpp = self._wpp, None
        if wpp is not None:
            await wpp.close()
        task, self._snapshots = self._snapshots, None
        if task is not None:
            task.cancel()
        if self.profiles is not None and wpp is not None:
            await asyncio.to_thread(self.profiles.close, self.client_id, task is not None)

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
            if self.profiles is not None:
                await asyncio.to_thread(self.profiles.forget, self.client_id)
            with self._info_lock:
                self.metadata.phone_number = None
            if self.status != S.IDLE:
                self._set_status(S.DISCONNECTED, Reason.LOGGED_OUT)

    @property
    def sleeping(self) -> bool:
        """An on-demand number at rest: linked, its browser closed by its quiet period (or not started since a
        restart); a message for it wakes it. Disconnected by hand or by the phone is not sleeping."""
        return (self.on_demand and self.status in (S.IDLE, S.DISCONNECTED)
                and self.reason in (None, Reason.SLEEPING) and self.metadata.phone_number is not None)

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
        number = phone_number(to)
        found = await sending.look_up(self._ready_page(), number)
        self.lookups.put(found)  # an explicit check refreshes the kept answer
        return found

    async def check_number_cached_async(self, to: str) -> dict[str, Any]:
        """See WhatsAppClient.check_number_cached()."""
        number = phone_number(to)
        found = self.lookups.get(number)
        if found is None:
            found = await sending.look_up(self._ready_page(), number)
            self.lookups.put(found)
        return found

    async def wpp_call_async(self, name: str, *args: Any, timeout_s: float | None = None) -> Any:
        """See wpp_call()."""
        return await self._ready_page().call(name, *args, timeout_s=timeout_s)

    async def _blob_async(self, name: str, *args: Any) -> dict[str, Any]:
        """See WhatsAppClient.wpp_blob()."""
        return await self._ready_page().blob(name, *args)

    async def _blob_chunk_async(self, handle: str, start: int, end: int) -> bytes:
        """A chunk of a Blob kept in the page (whatsapp/blobs.py)."""
        return await self._ready_page().blob_chunk(handle, start, end)

    async def _release_blob_async(self, handle: str) -> None:
        """Let the page drop a kept Blob; nothing to do once the page is gone."""
        if self._wpp is not None:
            await self._wpp.release_blob(handle)

    async def mark_chat_read_async(self, chat: str) -> None:
        """See mark_chat_read()."""
        await self._ready_page().call("chat.markIsRead", chat, timeout_s=READ_TIMEOUT_S)

    async def send_message_async(self, to: str, text: str, attempt: Attempt = Attempt()) -> dict[str, Any]:
        """See send_message()."""
        check_text(text)
        number = phone_number(to)
        return self._count(await sending.send_text(self._ready_page(), number, text, self._offline_but_open,
                                                     attempt, self.lookups))

    async def send_media_async(self, to: str, media: MediaFile | Media | dict[str, Any], options: dict[str, Any],
                               attempt: Attempt = Attempt()) -> dict[str, Any]:
        """See send_media(). Media from the outbox is checked bytes already; base64 is decoded off the loop."""
        if not isinstance(media, MediaFile):
            media = await asyncio.to_thread(decoded_media, media, bool(options.get("sendMediaAsDocument")))
        prepared = sending.prepare_media(media, options)
        number = phone_number(to)
        return self._count(await sending.send_media(self._ready_page(), number, prepared, self._offline_but_open,
                                                      attempt, self.lookups))

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
        number = phone_number(phone)
        if self.status != S.QR_READY or self._wpp is None:
            raise Conflict(f"Client {self.client_id} is {self.status.value}: a pairing code needs the login "
                           "screen (status qr_ready)", details={"status": self.status.value})
        code = await self._wpp.call("conn.genLinkDeviceCodeForPhoneNumber", number)
        with self._info_lock:
            self.pairing_code = code
        self._emit("code", code=code, phoneNumber=number)
        return code
