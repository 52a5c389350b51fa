"""The page driver over `window.WPP` (WA-JS), and the one table of every WPP name the engine uses.

The contract test (tests/test_contract.py) loads the real pinned `wppconnect-wa.js` into Chromium and checks
that every function below exists there, that every event is declared in WA-JS's `dist/**/eventTypes.d.ts`,
and that the simulator implements them all.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import itertools
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page

from ..errors import BrowserClosed, EngineError, EngineTimeout, WhatsAppError
from .errors import is_closed_error, map_playwright_errors
from .wajs import bundle_path

log = logging.getLogger(__name__)

# Every WA-JS function the engine calls, with what it answers (argument shapes from WA-JS's .d.ts).
WPP_FUNCTIONS: dict[str, str] = {
    "conn.getAuthCode": "() -> AuthCode {type, ref, fullCode} | null: the QR code on screen",
    "conn.genLinkDeviceCodeForPhoneNumber": "(phone) -> string: 8-character code to type on the phone",
    "conn.getMyUserId": "() -> Wid | undefined: the linked phone's id",
    "conn.isAuthenticated": "() -> boolean: is a phone linked",
    "conn.isMainLoaded": "() -> boolean: main screen (chats) loaded",
    "conn.isMainReady": "() -> boolean: WhatsApp Web booted (true on the QR screen too: once per load)",
    "conn.isOnline": "() -> boolean: connected to WhatsApp's servers",
    "conn.logout": "() -> boolean: unlink this device",
    "contact.queryExists": "(wid) -> {wid, ...} | null: is the number on WhatsApp, under which id",
    "chat.sendTextMessage": "(chatId, text, SendMessageOptions) -> SendMessageReturn {id, ack}",
    "chat.sendFileMessage": "(chatId, File, FileMessageOptions) -> SendMessageReturn {id, ack}",
    "chat.getMessageById": "(MsgKey string) -> MsgModel; throws msg_not_found (chat_not_found: no such chat)",
    "chat.list": "(ChatListOptions {count, onlyWithUnreadMessage, ...}) -> ChatModel[]: the chats, pinned first, "
                 "then newest (catch-up: unread ones; the chat list's first page: the first count)",
    "chat.getMessages": "(chatId, GetMessagesOptions {count: -1, onlyUnread}) -> RawMessage[]: a chat's messages",
    "chat.markIsRead": "(chatId) -> {wid, unreadCount}: the chat read on the phone too; sends SEEN (blue ticks)",
    # Groups (backend/groups/): dist/group/functions/*.d.ts. Refusals throw WPPError codes (group_you_are_not_admin...).
    "group.getAllGroups": "() -> ChatModel[] (groupMetadata: subject, desc, owner, participants): shaped by bridge.js",
    "group.create": "(groupName, participantsIds[]) -> {gid: Wid, participants: {[wid]: {code, invite_code}}}",
    "group.addParticipants": "(groupId, participantsIds[]) -> {[wid]: {wid, code, message, invite_code}}",
    "group.removeParticipants": "(groupId, participantsIds[]) -> void",
    "group.promoteParticipants": "(groupId, participantsIds[]) -> void",
    "group.demoteParticipants": "(groupId, participantsIds[]) -> void",
    "group.setSubject": "(groupId, subject) -> boolean",
    "group.setDescription": "(groupId, description) -> boolean",
    "group.getInviteCode": "(groupId) -> string: the code of https://chat.whatsapp.com/<code>",
    "group.revokeInviteCode": "(groupId) -> string: a new code; the old one stops working",
    "group.join": "(inviteCode) -> {id, pendingApproval}",
    "group.leave": "(groupId) -> void",
    # media (issue 16 §2): throws msg_not_found, message_not_contains_media, {code: media_not_found} (expired)
    "chat.downloadMedia": "(MsgKey string) -> Blob: a message's media bytes (read in chunks: WppPage.blob)",
    # The contacts capability (backend/contacts/): the address book, and history paged backwards with
    # chat.getMessages(chatId, {count, direction: 'before', id}).
    "contact.list": "(ContactListOptions {onlyMyContacts}) -> ContactModel[]: saved contacts and known peers",
    "contact.get": "(contactId) -> ContactModel | undefined: name as saved, push name, business or not",
    "contact.getProfilePictureUrl": "(contactId) -> string | null | undefined: null when none or not allowed",
}

# Every WA-JS event the engine listens to (WPP.on), with its payload.
WPP_EVENTS: dict[str, str] = {
    "conn.auth_code_change": "AuthCode | null: a new QR code (null once none is shown)",
    "conn.qrcode_idle": "no payload: QR codes ran out; the page waits for a click",
    "conn.authenticated": "no payload: a phone was linked (WA-JS emits it when the main screen loads)",
    "conn.main_loaded": "no payload: main screen loaded",
    "conn.main_ready": "no payload: booted; fires once per load, on the QR screen as well as after login",
    "conn.logout": "no payload: the device was unlinked",
    "conn.logout_reason": "LogoutReason string",
    "conn.online": "boolean: connection to WhatsApp's servers",
    "chat.new_message": "MsgModel: a message added to a chat (ours too: id.fromMe)",
    "chat.msg_ack_change": "{ack, chat, ids}: 1 sent, 2 delivered, 3 read",
    "group.participant_changed": "{groupId, action: add|remove|demote|promote|leaver|join, operation, author?, "
                                 "authorPushName?, participants[]}",
}

# Top-level names of window.WPP the engine relies on.
WPP_GLOBALS = ("isReady", "on")

ATTACHED = "zap.attached"  # emitted by bridge.js once WPP is ready and listened to (after every load)
EVENTS_BINDING = "__zapEvents"  # bridge.js -> Python: a JSON array of [name, payload] per call
# Events wait up to this long in the page to cross together (0: only those of one task). Acks, QR codes and
# incoming messages arrive this much later; a burst's acks cross in a few calls (bench/chromium_share.py).
EVENT_BATCH_MS = 25
# Acks (chat.msg_ack_change) wait up to this long instead: a burst's delivered and read acks cross a few per call,
# each crossing costing the driver and the engine loop alike (docs/PERFORMANCE.md, "Item 1, sixth pass"); nothing
# waits on an ack, and the ack writer gathers them for 50 ms more anyway (outbox/event_log.py).
ACK_BATCH_MS = 100
UPLOAD_CHUNK = 3 * 1024 * 1024  # raw bytes per chunk: media crosses to the page in pieces
# Raw bytes per read of a Blob from the page (WppPage.blob_chunk): 512 KiB was the fastest of 256 KiB-4 MiB in
# bench/media_download.py (docs/PERFORMANCE.md), and bounds every string on the way to ~0.7 MB of base64.
BLOB_CHUNK = 512 * 1024
BLOB_VIA_IO = True  # read Blobs with DevTools' IO.read (False: FileReader in the page; bench/media_download.py)
# A page call whose JSON argument is at most this long goes as DevTools' Runtime.evaluate on our own session
# (docs/PERFORMANCE.md, "Item 1, sixth pass"); longer ones (media chunks) through Playwright's evaluate.
CDP_CALL_MAX = 256 * 1024
_BRIDGE_JS = (Path(__file__).with_name("bridge.js")).read_text(encoding="utf-8")
_upload_ids = itertools.count(1)

EventHandler = Callable[[str, Any], None]
Patience = Callable[[], bool]  # asked when a call's timeout passes: True to keep waiting for the same call


def _as_json(script: str) -> str:
    """`script` (a function of one argument) taking and answering JSON text. Playwright validates a structured
    argument or result node by node in Python, a string in one step: with a send's nested arguments that was a
    third of the evaluate's cost on our side (bench.api_send_cost, docs/PERFORMANCE.md)."""
    return f"(s) => Promise.resolve(({script})(JSON.parse(s))).then((r) => JSON.stringify(r === undefined ? null : r))"


def _fixed_signature(handler: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """`handler` as a plain function that carries its signature: Playwright calls inspect.signature() on an event
    handler at every event, which costs more than our handler itself for a bound method."""
    def on_event(params: dict[str, Any]) -> None:
        handler(params)

    on_event.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD)])
    return on_event


class WppPage:
    """One WhatsApp Web tab in one browser profile, driven through window.WPP."""

    def __init__(self, context: BrowserContext, url: str, on_event: EventHandler,
                 on_closed: Callable[[str], None], call_timeout_s: float):
        self.context = context
        self.url = url
        self._on_event = on_event
        self._on_closed = on_closed
        self._call_timeout_s = call_timeout_s
        self._attached = asyncio.Event()
        self._closing = False
        self.expect_logout = False  # set by our own logout(), so its conn.logout event is not news
        self.page: Page | None = None
        self._cdp: Any = None  # the DevTools session of _install_bridge
        self._streams: dict[str, list[Any]] = {}  # blob handle -> [IO stream handle, bytes read so far]

    async def open(self, load_timeout_s: float) -> None:
        """Load WhatsApp Web, inject WA-JS if the page lacks it, and wait until WPP answers."""
        with map_playwright_errors("opening WhatsApp Web"):
            self.page = self.context.pages[0] if self.context.pages else await self.context.new_page()
            await self._install_bridge(self.page, list(WPP_EVENTS))
            self.page.on("domcontentloaded", lambda _p: asyncio.ensure_future(self._inject_if_missing()))
            self.page.on("crash", lambda _p: self._closed("browser_crashed"))
            self.context.on("close", lambda _c: self._closed("browser_closed"))
            await self.page.goto(self.url, wait_until="domcontentloaded", timeout=load_timeout_s * 1000)
        try:
            await asyncio.wait_for(self._attached.wait(), load_timeout_s)
        except asyncio.TimeoutError:
            title = await self._title()
            raise EngineTimeout(
                f"WhatsApp Web did not become ready within {load_timeout_s:.0f} s (page: {title!r})",
                details={"url": self.url, "title": title},
            ) from None

    async def _install_bridge(self, page: Page, event_names: list[str], batch_ms: int = EVENT_BATCH_MS) -> None:
        """bridge.js on every load, and its `__zapEvents` binding: a DevTools binding on a session of our own
        (Runtime.addBinding; Runtime.enable so that it reaches each new document), which, unlike Playwright's
        expose_binding, sends no reply into the page for each call."""
        session = await self.context.new_cdp_session(page)
        self._cdp = session  # also reads media Blobs (IO.read: blob())
        session.on("Runtime.bindingCalled", _fixed_signature(self._on_binding))
        await session.send("Runtime.enable")
        await session.send("Runtime.addBinding", {"name": EVENTS_BINDING})
        ack_ms = max(int(batch_ms), ACK_BATCH_MS) if batch_ms > 0 else 0  # 0: every event of a task at once
        await self.context.add_init_script(f"window.__zapEventNames = {json.dumps(event_names)};\n"
                                           f"window.__zapBatchMs = {int(batch_ms)};\n"
                                           f"window.__zapAckBatchMs = {ack_ms};\n{_BRIDGE_JS}")

    async def _title(self) -> str:
        """The page title, for error messages."""
        try:
            return await self.page.title() if self.page else ""
        except Exception:  # noqa: BLE001 - only decorates an error message
            return ""

    async def _inject_if_missing(self) -> None:
        """The real site has no WPP: add the pinned WA-JS bundle (the simulator defines its own)."""
        page = self.page
        if page is None or page.is_closed():
            return
        try:
            if await page.evaluate("typeof window.WPP === 'undefined'"):
                log.debug("[Engine] Injetando WA-JS em %s", page.url)
                await page.add_script_tag(path=str(bundle_path()))
        except Exception as exc:  # noqa: BLE001 - a navigation raced us; the next load tries again
            if not is_closed_error(exc):
                log.debug("[Engine] WA-JS injection deferred: %s", exc)

    def _on_binding(self, call: dict[str, Any]) -> None:
        """A batch of events from bridge.js, on the engine loop, in the order the page sent them."""
        if call.get("name") != EVENTS_BINDING:
            return
        try:
            batch = [(str(name), payload) for name, payload in json.loads(call["payload"])]
        except (KeyError, TypeError, ValueError):  # not bridge.js's shape: the page's own scripts can call it too
            log.debug("[Engine] Lote de eventos ilegível ignorado")
            return
        for name, payload in batch:
            if name == ATTACHED:
                self._attached.set()
            try:
                self._on_event(name, payload)
            except Exception:  # noqa: BLE001 - one event's failure must not drop the rest of its batch
                log.exception("[Engine] Falha ao tratar o evento %s", name)

    def _closed(self, reason: str) -> None:
        """The browser went away; tell the owner once, unless we closed it ourselves."""
        if not self._closing:
            self._closing = True
            self._on_closed(reason)

    @property
    def alive(self) -> bool:
        """True while the page is open and not being closed."""
        return not self._closing and self.page is not None and not self.page.is_closed()

    async def call(self, name: str, *args: Any, timeout_s: float | None = None,
                   patience: Patience | None = None) -> Any:
        """Call WPP.<name>(*args) in the page and return its plain-JSON answer (see _evaluate for patience)."""
        (result,) = await self._evaluate("([c]) => window.__zap.callMany(c)", [[[self._checked(name), list(args)]]],
                                         f"calling WPP.{name}", timeout_s, patience)
        return self._unwrap(name, result)

    async def call_many(self, *names: str) -> list[Any]:
        """Call several argument-less WPP functions in one round trip."""
        calls = [[self._checked(n), []] for n in names]
        results = await self._evaluate("([c]) => window.__zap.callMany(c)", [calls], "reading WhatsApp state", None)
        return [self._unwrap(n, r) for n, r in zip(names, results)]

    async def send_file(self, chat_id: str, data: bytes, options: dict[str, Any],
                        patience: Patience | None = None) -> Any:
        """Send media: the bytes cross in chunks, then WA-JS gets a File (no 100 MB JSON string)."""
        upload_id = f"u{next(_upload_ids)}"
        for start in range(0, max(len(data), 1), UPLOAD_CHUNK):
            chunk = base64.b64encode(data[start:start + UPLOAD_CHUNK]).decode("ascii")
            await self._evaluate("([i, c]) => window.__zap.upload(i, c)", [upload_id, chunk], "uploading media", None)
        name = self._checked("chat.sendFileMessage")
        result = await self._evaluate("([p, c, i, o]) => window.__zap.sendFile(p, c, i, o)",
                                      [name, chat_id, upload_id, options], "sending media", None, patience)
        return self._unwrap(name, result)

    async def blob(self, name: str, *args: Any) -> dict[str, Any]:
        """Call WPP.<name>(*args), which answers a Blob, and keep the Blob in the page: {handle, size, mimetype}.
        Read it with blob_chunk(), then release_blob() (the page holds it until then). The bytes are read with
        Chromium's own IO.read on the Blob (bench/media_download.py: about twice as fast as FileReader and JSON),
        FileReader in the page where that is not possible."""
        name = self._checked(name)
        result = await self._evaluate("([p, a]) => window.__zap.blob(p, a)", [name, list(args)],
                                      f"calling WPP.{name}", None)
        found = self._unwrap(name, result)
        if BLOB_VIA_IO and self._cdp is not None:
            with map_playwright_errors("reading media"):
                ref = await self._cdp.send("Runtime.evaluate", {"expression": f"window.__zap.blobObject("
                                                                              f"{json.dumps(found['handle'])})"})
                object_id = ref["result"]["objectId"]
                uuid = (await self._cdp.send("IO.resolveBlob", {"objectId": object_id}))["uuid"]
                await self._cdp.send("Runtime.releaseObject", {"objectId": object_id})
            self._streams[found["handle"]] = [f"blob:{uuid}", 0]
        return found

    async def blob_chunk(self, handle: str, start: int, end: int) -> bytes:
        """Bytes start..end of a kept Blob (base64 across the page boundary, at most BLOB_CHUNK at a time):
        sequential reads through IO.read, anything else through FileReader in the page."""
        stream = self._streams.get(handle)
        if stream is not None and stream[1] == start:
            return await self._io_read(stream, end - start)
        result = await self._evaluate("([h, s, e]) => window.__zap.blobChunk(h, s, e)", [handle, start, end],
                                      "reading media", None)
        return base64.b64decode(self._unwrap("blob", result) or "")

    async def _io_read(self, stream: list[Any], size: int) -> bytes:
        """The next `size` bytes of an IO stream (it may answer less per read: read until there are enough)."""
        out = bytearray()
        with map_playwright_errors("reading media"):
            while len(out) < size:
                got = await self._cdp.send("IO.read", {"handle": stream[0], "size": size - len(out)})
                data = got.get("data") or ""
                out += base64.b64decode(data) if got.get("base64Encoded") else data.encode("utf-8")
                if got.get("eof"):
                    break
        stream[1] += len(out)
        return bytes(out)

    async def release_blob(self, handle: str) -> None:
        """Let the page drop a kept Blob; quiet if the page is gone (its Blobs went with it)."""
        stream = self._streams.pop(handle, None)
        if self.alive and stream is not None:
            with map_playwright_errors("releasing media"):
                await self._cdp.send("IO.close", {"handle": stream[0]})
        if self.alive:
            await self._evaluate("([h]) => window.__zap.releaseBlob(h)", [handle], "releasing media", None)

    async def find_message(self, key: str, patience: Patience | None = None) -> dict[str, Any] | None:
        """The message with this serialized MsgKey as WhatsApp has it ({id, ack, ...}), None if it has none."""
        name = self._checked("chat.getMessageById")
        result = await self._evaluate("([p, k]) => window.__zap.findMessage(p, k)", [name, key],
                                      "looking for a message", None, patience)
        return self._unwrap(name, result)

    async def unread_messages(self) -> list[dict[str, Any]]:
        """The incoming messages WhatsApp holds as unread, every chat's, shaped as `chat.new_message` payloads:
        what came while the number had no page, for the catch-up at connect (see page_events.py)."""
        names = [self._checked("chat.list"), self._checked("chat.getMessages")]
        result = await self._evaluate("([l, m]) => window.__zap.unreadMessages(l, m)", names,
                                      "reading unread messages", None)
        return self._unwrap(names[0], result) or []

    async def _evaluate(self, script: str, arg: Any, doing: str, timeout_s: float | None,
                        patience: Patience | None = None) -> Any:
        """page.evaluate with ZapPool's errors and a timeout on every wait. When the timeout passes and
        `patience()` says the wait is expected (WhatsApp Web offline: its own queue sends the message once the
        network is back), the same call is waited for another timeout, rather than abandoned and tried again,
        which would send the message twice."""
        if not self.alive:
            raise BrowserClosed(f"The browser is closed (while {doing})")
        timeout = timeout_s or self._call_timeout_s
        with map_playwright_errors(doing):
            task = asyncio.ensure_future(self._run_script(script, json.dumps(arg), doing))
            try:
                while True:
                    try:
                        return json.loads(await asyncio.wait_for(asyncio.shield(task), timeout))
                    except asyncio.TimeoutError:
                        if patience is None or not patience():
                            raise EngineTimeout(f"Timed out after {timeout:.0f} s while {doing}") from None
            finally:
                task.cancel()  # no-op once it finished

    async def _run_script(self, script: str, arg: str, doing: str) -> str:
        """`script` run on `arg` (JSON text) in the page's main world; its JSON answer. Through DevTools'
        Runtime.evaluate on our own session when there is one and the argument is small: Playwright's evaluate
        adds its own serialisation in the page and a driver-side wrapper around the same call, about 0.1 ms of
        the driver's CPU and 0.05 ms of ours per send (bench.api_send_cost; docs/PERFORMANCE.md)."""
        if self._cdp is None or len(arg) > CDP_CALL_MAX:
            return await self.page.evaluate(_as_json(script), arg)
        reply = await self._cdp.send("Runtime.evaluate", {"expression": f"({_as_json(script)})({json.dumps(arg)})",
                                                          "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in reply:  # bridge.js answers failures as {error}: this is the page itself failing
            details = reply["exceptionDetails"]
            text = (details.get("exception") or {}).get("description") or details.get("text") or "exception"
            raise EngineError(f"Browser error while {doing}: {str(text).splitlines()[0]}", details={"doing": doing})
        return reply["result"]["value"]

    @staticmethod
    def _checked(name: str) -> str:
        """Refuse names missing from the table, so the contract test covers every call."""
        if name not in WPP_FUNCTIONS:
            raise ValueError(f"WPP.{name} is not in WPP_FUNCTIONS")
        return name

    @staticmethod
    def _unwrap(name: str, result: dict[str, Any]) -> Any:
        """Turn bridge.js's {ok} / {error} answer into a value or a WhatsAppError."""
        if "error" in result:
            err = result["error"]
            raise WhatsAppError(f"WhatsApp Web refused WPP.{name}: {err['message']}",
                                details={"wppCode": err["code"], "function": name})
        return result.get("ok")

    async def close(self) -> None:
        """Close the browser profile; quiet if it is already gone."""
        self._closing = True
        try:
            await asyncio.wait_for(self.context.close(), 15)
        except Exception:  # noqa: BLE001 - already closed or crashed
            log.debug("[Engine] context close failed", exc_info=True)
