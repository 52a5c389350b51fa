"""A webhook receiver, as an integration (a CRM) runs one: a real HTTP server that checks signatures.

Each request is checked twice: the old X-ZapPool-Signature (`valid`) and, as a receiver should now, the Standard
Webhooks headers with the `standardwebhooks` library from PyPI (`standard`: what a real receiver's code runs,
its 5-minute timestamp window included). With `strict`, a request that fails the standard check is answered
401, as such a receiver refuses it. Used by the webhook tests and the chaos runs; it lives here because nothing
outside tests/ imports tests."""

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

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

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
    standard: bool = False
    standard_error: str | None = None

    @property
    def json(self) -> dict[str, Any]:
        """The body, parsed."""
        return json.loads(self.body)


class Receiver:
    """A webhook receiver on a real port: checks each signature and answers as the path's script says.

    A script is a list of answers for successive requests to a path (the last one repeats): an int status,
    (status, headers), (status, headers, body bytes), or "hang" (no answer until `release` is set).
    """

    def __init__(self, port: int = 0, *, strict: bool = False):
        self.strict = strict
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

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes, answer: Any) -> Any:
        """Keep the request and whether its signatures are right; the answer to give (401 when strict and the
        standard check failed)."""
        secret = self.secrets.get(handler.path, "")
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, handler.headers.get("X-ZapPool-Signature", ""))
        problem = standard_problem(secret, body, dict(handler.headers.items())) if secret else "no secret"
        if self.strict and problem:
            answer = 401
        status = answer if isinstance(answer, (int, str)) else answer[0]
        with self._lock:
            self.hits.append(Hit(handler.path, handler.headers, body, valid, status, time.monotonic(),
                                 problem is None, problem))
        return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        """The request handler class, bound to this receiver."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                answer = receiver._record(self, body, receiver._answer_for(self.path))
                if answer == "hang":
                    with receiver._lock:
                        receiver.hanging += 1
                    receiver.release.wait(20)
                    with receiver._lock:
                        receiver.hanging -= 1
                    answer = 200
                status, headers, *rest = (answer, {}) if isinstance(answer, int) else answer
                content = rest[0] if rest else b"ok"
                try:
                    self.send_response(status)
                    for name, value in {**headers, "Content-Length": str(len(content))}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:
                    pass  # the sender gave up (timeout) before we answered

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def standard_problem(secret: str, body: bytes, headers: dict[str, str]) -> str | None:
    """Why a receiver using the standardwebhooks library refuses this request, or None when it accepts it. A
    whsec_ secret is given to the library as is; an older plain secret as its bytes (signing.py)."""
    try:
        Webhook(secret if secret.startswith("whsec_") else secret.encode()).verify(body, headers)
    except (WebhookVerificationError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None


wait_for = wait_until  # the name the webhook tests use


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
