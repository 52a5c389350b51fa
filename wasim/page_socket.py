"""The page's one WebSocket to the simulator, as WhatsApp Web keeps one to its server.

WhatsApp Web sends and receives everything after the page load (messages, acks, receipts, presence) over a
single WebSocket; the simulator used to take each page action as its own HTTP request and push events on an
SSE stream. That mattered for what ZapPool's benchmarks measure: Playwright's driver tracks every HTTP request
a page makes (request, response and finished objects built in the driver), about 1 ms of its CPU each here,
against ~0.1 ms for a WebSocket round trip (bench/ws_vs_fetch.py) — a cost the real site does not have.

Wire format (ours; WhatsApp's own is encrypted binary):
- page -> server, binary frames: u32 request id, u32 head length, head JSON {"method", "path"}, then the body
  bytes; the request is run through the same routes as the HTTP page API (`/_sim/api/...`), so a route added
  there answers here too;
- server -> page, text frames: {"id", "status", "body"} answering a request, or {"event": {...}} from the
  session's queue (the first is `hello` with the session id).

The protocol itself (handshake, masking, fragments, ping, close) is wsproto's, a sans-IO WebSocket library.
Media downloads stay HTTP, as WhatsApp's media servers are.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection, Ping, RejectConnection, Request,
                            TextMessage)

if TYPE_CHECKING:
    from .server import _Handler

log = logging.getLogger(__name__)

KEEPALIVE_S = 15.0  # a ping when nothing was said for this long, so idle timers keep the socket open
MAX_MESSAGE = 128 << 20  # a page's request (media included) above this closes the socket
REQUEST_WORKERS = 16  # requests of all pages run on this many threads (they were a thread each over HTTP)
_requests = ThreadPoolExecutor(REQUEST_WORKERS, thread_name_prefix="wasim-ws")


class PageSocket:
    """One page's WebSocket on the connection a handler upgraded; writes from several threads, one lock."""

    def __init__(self, handler: _Handler):
        self.handler = handler
        self.sock: socket.socket = handler.connection
        self.ws = WSConnection(ConnectionType.SERVER)
        self._write_lock = threading.Lock()
        self.closed = threading.Event()

    # -- handshake and writing ------------------------------------------------------------------------------

    def accept(self) -> bool:
        """Answer the upgrade the handler already read (its request line and headers, fed back to wsproto)."""
        head = self.handler.requestline + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in self.handler.headers.items())
        self.ws.receive_data((head + "\r\n").encode("latin-1"))
        request = next((e for e in self.ws.events() if isinstance(e, Request)), None)
        if request is None:
            self._write(self.ws.send(RejectConnection(status_code=400)))
            return False
        self._write(self.ws.send(AcceptConnection()))
        return True

    def send_json(self, data: Any) -> None:
        """One text frame; quiet when the page has gone."""
        try:
            self._write(self.ws.send(TextMessage(data=json.dumps(data))))
        except Exception:  # noqa: BLE001 - the socket or wsproto's state says closed: nothing to tell
            self.closed.set()

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            if data:
                self.sock.sendall(data)

    def close(self) -> None:
        """End the socket from our side (server stopping, or the session's queue ended)."""
        if self.closed.is_set():
            return
        self.closed.set()
        try:
            self._write(self.ws.send(CloseConnection(code=1001)))
        except Exception:  # noqa: BLE001 - already closing
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- reading --------------------------------------------------------------------------------------------

    def serve(self, events: queue.Queue[dict[str, Any] | None]) -> None:
        """Pump the session's events on a thread and read the page's requests here, until either side ends."""
        pump = threading.Thread(target=self._pump, args=(events,), name="wasim-ws-events", daemon=True)
        pump.start()
        try:
            self._read()
        finally:
            self.closed.set()
            events.put(None)  # ends the pump if it still waits
            pump.join(5)

    def _read(self) -> None:
        parts: list[bytes] = []
        size = 0
        while not self.closed.is_set():
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                return
            if not data:
                return
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, CloseConnection):
                    self._write(self.ws.send(event.response()))
                    return
                if isinstance(event, Ping):
                    self._write(self.ws.send(event.response()))
                elif isinstance(event, (BytesMessage, TextMessage)):
                    chunk = event.data if isinstance(event.data, bytes) else event.data.encode()
                    parts.append(chunk)
                    size += len(chunk)
                    if size > MAX_MESSAGE:
                        return
                    if event.message_finished:
                        message, parts, size = b"".join(parts), [], 0
                        _requests.submit(self._answer, message)

    def _pump(self, events: queue.Queue[dict[str, Any] | None]) -> None:
        while not self.closed.is_set():
            try:
                event = events.get(timeout=KEEPALIVE_S)
            except queue.Empty:
                try:
                    self._write(self.ws.send(Ping()))
                except Exception:  # noqa: BLE001 - gone
                    break
                continue
            if event is None:
                break
            self.send_json({"event": event})
        self.close()

    # -- requests -------------------------------------------------------------------------------------------

    def _answer(self, message: bytes) -> None:
        """Run one request through the HTTP page API's routes and send the answer back with its id."""
        try:
            request_id, head_len = struct.unpack(">II", message[:8])
            head = json.loads(message[8:8 + head_len])
            method, path = head["method"], head["path"]
        except (struct.error, ValueError, KeyError, TypeError):
            log.debug("wasim: a page sent a malformed request frame")
            return
        if method not in ("GET", "POST") or not isinstance(path, str) or not path.startswith("/_sim/api/"):
            self.send_json({"id": request_id, "status": 400, "body": {"error": "not a page API request"}})
            return
        status, body = self.handler.run_virtual(method, path, message[8 + head_len:])
        self.send_json({"id": request_id, "status": status, "body": body})

