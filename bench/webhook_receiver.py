"""A webhook receiver, as an integration (a CRM) runs one: a real HTTP server that checks signatures.

Used by the webhook tests and the chaos runs; it lives here because nothing outside tests/ imports tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.polling import wait_until



@dataclass
class Hit:
    """One request the receiver got."""

    path: str
    headers: Message  # case-insensitive, as HTTP header names are (urllib sends them as X-Zappool-Event)
    body: bytes
    valid: bool
    answered: int | str
    at: float

    @property
    def json(self) -> dict[str, Any]:
        """The body, parsed."""
        return json.loads(self.body)


class Receiver:
    """A webhook receiver on a real port: checks each signature and answers as the path's script says.

    A script is a list of answers for successive requests to a path (the last one repeats): an int status,
    (status, headers), or "hang" (no answer until `release` is set).
    """

    def __init__(self, port: int = 0):
        self.secrets: dict[str, str] = {}
        self.scripts: dict[str, list[Any]] = {}
        self.hits: list[Hit] = []
        self.hanging = 0
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        """The address of one path on this receiver."""
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        """Let hung requests go and stop serving."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def ok(self, path: str | None = None) -> list[Hit]:
        """Requests answered 2xx (for one path, or all)."""
        with self._lock:
            return [h for h in self.hits if h.answered == 200 and (path is None or h.path == path)]

    def on(self, path: str) -> list[Hit]:
        """Every request to one path."""
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def _answer_for(self, path: str) -> Any:
        """The next scripted answer for a path (200 when there is no script)."""
        with self._lock:
            script = self.scripts.get(path) or [200]
            return script.pop(0) if len(script) > 1 else script[0]

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes, answer: Any) -> None:
        """Keep the request and whether its signature is right."""
        secret = self.secrets.get(handler.path, "")
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, handler.headers.get("X-ZapPool-Signature", ""))
        status = answer if isinstance(answer, (int, str)) else answer[0]
        with self._lock:
            self.hits.append(Hit(handler.path, handler.headers, body, valid, status, time.monotonic()))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class, bound to this receiver."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = receiver._answer_for(self.path)
                receiver._record(self, body, answer)
                if answer == "hang":
                    with receiver._lock:
                        receiver.hanging += 1
                    receiver.release.wait(20)
                    with receiver._lock:
                        receiver.hanging -= 1
                    answer = 200
                status, headers = (answer, {}) if isinstance(answer, int) else answer
                try:
                    self.send_response(status)
                    for name, value in {**headers, "Content-Length": "2"}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up (timeout) before we answered

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


wait_for = wait_until  # the name the webhook tests use


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
