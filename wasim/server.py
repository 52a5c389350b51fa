"""SimServer: the WhatsApp Web simulator over HTTP (page, control API) and the page's WebSocket (page_socket.py)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from .control import SimControl
from .core import Sim
from .model import Config, SimFail
from .page_socket import PageSocket
from .store import StateFile

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8"}
MAX_META = 1 << 20  # the JSON header of an upload; the media itself streams


class _HTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that carries the Sim for its handlers."""

    daemon_threads = True
    block_on_close = False
    # Rebind a port in TIME_WAIT at once (a restart keeps its address). Not on Windows, where SO_REUSEADDR
    # would let a second server bind a port already being listened on instead of failing.
    allow_reuse_address = os.name != "nt"
    request_queue_size = 128  # many tabs booting at once must not overflow the listen backlog

    def __init__(self, address: tuple[str, int], sim: Sim):
        super().__init__(address, _Handler)
        self.sim = sim


class _Handler(BaseHTTPRequestHandler):
    """Routes every request; one thread per connection (streams hold theirs)."""

    server: _HTTPServer
    server_version = "wasim/1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet by default: tests run thousands of requests."""
        log.debug("%s - " + format, self.address_string(), *args)

    # --- plumbing -------------------------------------------------------------------------------------

    @property
    def sim(self) -> Sim:
        """The simulator this server fronts."""
        return self.server.sim

    def _query(self) -> dict[str, str]:
        """Query string as single values."""
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def _json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (empty body: {})."""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise SimFail(400, "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise SimFail(400, "body must be a JSON object")
        return body

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        """Write a complete response."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        """Write a JSON response."""
        self._send(status, json.dumps(data).encode(), "application/json")

    def _file(self, name: str) -> None:
        """Serve one file of static/."""
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file():
            raise SimFail(404, "not found")
        self._send(200, path.read_bytes(), CONTENT_TYPES.get(path.suffix, "application/octet-stream"))

    def _dispatch(self, routes: dict[str, Callable[[], Any]]) -> None:
        """Run the route's handler; its return value becomes the JSON answer, SimFail the error."""
        path = urlsplit(self.path).path
        handler = routes.get(path)
        try:
            if handler is None:
                if path.startswith("/static/"):
                    return self._file(path[len("/static/"):])
                raise SimFail(404, f"no route {self.command} {path}")
            result = handler()
            if result is not None:
                self._json(200, result)
        except SimFail as fail:
            self._json(fail.status, fail.body())
        except (BrokenPipeError, ConnectionResetError):
            pass

    # --- verbs ----------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        """Pages, state and the page's read calls."""
        q = self._query
        self._dispatch({
            "/": self._page,
            "/_sim/phone": lambda: self._file("phone.html"),
            "/favicon.ico": lambda: self._send(204, b"", "image/x-icon"),
            "/_sim/state": self.sim.snapshot,
            "/_sim/sent": lambda: self.sim.mail.sent_by(q().get("phone")),
            "/_sim/ws": self._websocket,
            "/_sim/api/ping": lambda: {"ok": True},
            "/_sim/api/exists": lambda: self._exists(q()),
            "/_sim/api/chats": lambda: self.sim.mail.chat_list(q().get("sid"), _int(q().get("count"))),
            "/_sim/api/messages": lambda: self.sim.mail.messages(q().get("sid"), q().get("chat"),
                                                                 _int(q().get("count")), q().get("unread") == "1",
                                                                 q().get("before")),
            "/_sim/api/media": lambda: self._media(q()),
            "/_sim/api/contacts": lambda: self.sim.book.listing(q().get("sid"), q().get("mine") == "1"),
            "/_sim/api/contact": lambda: {"contact": self.sim.book.get(q().get("sid"), q().get("id"))},
            "/_sim/api/picture": lambda: self.sim.book.picture(q().get("sid"), q().get("id"), q().get("server")),
            "/_sim/pp": lambda: self._send(200, *self.sim.book.image(self.path)),  # a hosted profile picture
        })

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        """Control calls and the page's actions."""
        sim, mail, b = self.sim, self.sim.mail, self._json_body  # bodies are read only by the matching route
        self._dispatch({
            "/_sim/scan": lambda: sim.scan((d := b()).get("fullCode"), d.get("phone")),
            "/_sim/pair": lambda: sim.pair((d := b()).get("code"), d.get("phone")),
            "/_sim/unlink": lambda: sim.unlink((d := b()).get("phone"), d.get("reason")),
            "/_sim/incoming": lambda: mail.incoming(b()),
            "/_sim/history": lambda: mail.history(b()),
            "/_sim/contacts": lambda: sim.book.save(b()),
            "/_sim/picture": lambda: sim.book.set_picture(b()),
            "/_sim/network": lambda: sim.set_network(b().get("up")),
            "/_sim/numbers": lambda: sim.set_numbers(b().get("numbers")),
            "/_sim/config": lambda: sim.configure(b()),
            "/_sim/reset": sim.reset,
            "/_sim/media/expire": lambda: sim.media.expire(b()),
            "/_sim/api/qr": lambda: sim.start_qr(b().get("sid")),
            "/_sim/api/paircode": lambda: {"code": sim.request_pairing((d := b()).get("sid"), d.get("phone"))},
            "/_sim/api/resume": lambda: sim.resume((d := b()).get("sid"), d.get("deviceId"), d.get("sig")),
            "/_sim/api/ready": lambda: sim.mark_ready(b().get("sid")),
            "/_sim/api/logout": lambda: sim.logout(b().get("sid")),
            "/_sim/api/prepare": lambda: mail.prepare((d := b()).get("sid"), d.get("to"), d.get("createChat") is True,
                                                      d.get("markIsRead") is not False),
            "/_sim/api/send": self._upload,
            "/_sim/api/read": lambda: mail.mark_read((d := b()).get("sid"), d.get("chat")),
            "/_sim/group": lambda: sim.groups.control(b()),
            "/_sim/api/group": lambda: sim.groups.page((d := b()).get("sid"), d),
        })

    # --- handlers -------------------------------------------------------------------------------------

    def _page(self) -> None:
        """WhatsApp Web; headless Chromium gets the 'update your browser' page, like the real site."""
        agent = self.headers.get("User-Agent", "")
        self._file("outdated.html" if "HeadlessChrome" in agent else "wa.html")

    def _media(self, q: dict[str, str]) -> None:
        """The page downloads a message's media (WPP.chat.downloadMedia): its bytes, as a media server sends them."""
        session = self.sim.linked_session(q.get("sid"))
        data, mimetype = self.sim.media.fetch(session.phone or "", q.get("id"))
        self._send(200, data, mimetype)

    def _exists(self, q: dict[str, str]) -> dict[str, Any]:
        """queryExists for a logged-in page."""
        self.sim.linked_session(q.get("sid"))
        return {"wid": self.sim.query_exists(q.get("id", ""))}

    def _upload(self) -> dict[str, Any]:
        """A sent message: 4-byte meta length, JSON meta, then the raw bytes (text or media), hashed as read."""
        remaining = int(self.headers.get("Content-Length") or 0)
        head = self.rfile.read(4) if remaining >= 4 else b""
        meta_len = struct.unpack(">I", head)[0] if len(head) == 4 else MAX_META + 1
        if meta_len > MAX_META or meta_len > remaining - 4:
            raise SimFail(400, "bad upload framing")
        try:
            meta = json.loads(self.rfile.read(meta_len))
        except ValueError:
            raise SimFail(400, "bad upload meta") from None
        remaining -= 4 + meta_len
        digest, size, text_parts = hashlib.sha256(), 0, []
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                raise SimFail(400, "upload cut short")
            digest.update(chunk)
            size += len(chunk)
            remaining -= len(chunk)
            if isinstance(meta, dict) and meta.get("type") == "chat":
                text_parts.append(chunk)
        if not isinstance(meta, dict):
            raise SimFail(400, "bad upload meta")
        text = b"".join(text_parts).decode("utf-8", "replace") if meta.get("type") == "chat" else None
        return self.sim.mail.record_send(self._query().get("sid"), meta, size, digest.hexdigest(), text)

    def _websocket(self) -> None:
        """The page's WebSocket (page_socket.py): one session per open socket, from the page's `hello` to its close."""
        page = PageSocket(self)
        self.close_connection = True
        if not page.accept():
            return
        session = self.sim.open_session(self.headers.get("User-Agent", ""))
        try:
            page.serve(session.outbox)
        finally:
            self.sim.close_session(session.id)

    def run_virtual(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        """A page API request that came as a WebSocket frame, through the same routes: (status, JSON answer)."""
        request = _Virtual(self.server, method, path, body, self.headers.get("User-Agent", ""))
        (request.do_POST if method == "POST" else request.do_GET)()
        return request.answer


class _Virtual(_Handler):
    """A request without a connection of its own: the routes read its path and body, and the answer they would
    write is kept instead (BaseHTTPRequestHandler's constructor, which serves a socket, is not called)."""

    def __init__(self, server: _HTTPServer, method: str, path: str, body: bytes,
                 user_agent: str):
        self.server, self.command, self.path = server, method, path
        self.headers = {"Content-Length": str(len(body)), "User-Agent": user_agent}  # type: ignore[assignment]
        self.rfile = io.BytesIO(body)
        self.answer: tuple[int, Any] = (500, {"error": "no answer"})

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        """Keep the answer (JSON as a value; anything else is not for a frame)."""
        self.answer = (status, json.loads(body) if body and content_type == "application/json" else None)


def _int(value: str | None) -> int | None:
    """An optional integer from a query string."""
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        raise SimFail(400, f"not an integer: {value!r}") from None


class SimServer:
    """The simulator on a background thread: `with SimServer(port=0) as sim: sim.url, sim.control`.

    With `state_dir`, linked devices, numbers and messages are loaded from `state_dir/state.json` and saved
    there on each change, so a browser profile linked before a restart is still linked after it (if the page
    is served from the same origin: `saved_port` is the port first served on with this folder).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state_dir: Path | None = None, **timings: Any):
        config = Config()
        try:
            config.update(timings)
        except SimFail as fail:
            raise ValueError(fail.message) from None
        self.sim = Sim(config)
        self._host, self._port = host, port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._state = StateFile(state_dir) if state_dir is not None else None
        self.saved_port: int | None = None
        if self._state is not None:
            self._load()

    def _load(self) -> None:
        """Restore the saved state and save from now on; a state that does not fit is logged and dropped."""
        assert self._state is not None
        data = self._state.load()
        try:
            self.sim.restore(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("wasim: %s does not hold a simulator state (%r); starting empty", self._state.path, exc)
            self.sim.restore({})
            data = {}
        port = data.get("port")
        self.saved_port = port if isinstance(port, int) and not isinstance(port, bool) else None
        self.sim.on_change = self._save

    def _save(self) -> None:
        """Write the kept state (the Sim calls this under its lock, so writes keep their order)."""
        assert self._state is not None
        self._state.save({"port": self.saved_port, **self.sim.dump()})

    def start(self) -> "SimServer":
        """Bind (port 0: a free port) and serve on a daemon thread."""
        self._httpd = _HTTPServer((self._host, self._port), self.sim)
        self._port = self._httpd.server_address[1]
        if self._state is not None and self.saved_port is None:
            self.saved_port = self._port  # the first origin served is the one browser profiles will keep
            with self.sim.lock:
                self._save()
        self.sim.scheduler.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="wasim-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end every stream and the timers."""
        if self._httpd is None:
            return
        with self.sim.lock:
            for session in self.sim.sessions.values():
                session.outbox.put(None)
        self._httpd.shutdown()
        self._httpd.server_close()
        self.sim.scheduler.stop()
        self._httpd = None

    @property
    def port(self) -> int:
        """The bound port."""
        return self._port

    @property
    def url(self) -> str:
        """The WhatsApp Web page."""
        host = self._host if self._host not in ("0.0.0.0", "") else "127.0.0.1"
        return f"http://{host}:{self._port}/"

    @property
    def control(self) -> SimControl:
        """An HTTP client for the control API."""
        return SimControl(self.url)

    def __enter__(self) -> "SimServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
