"""Serving the API with waitress, on loopback unless it is safe to listen wider."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading

from flask import Flask
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask

from ..auth.service import AuthService
from ..errors import Unavailable

log = logging.getLogger(__name__)
DEFAULT_THREADS = 16  # each open event stream holds a thread; the rest serve ordinary requests
FREE_THREADS = 4  # threads left for ordinary requests when every event stream the app allows is open


def is_loopback(host: str) -> bool:
    """True for 127.x, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_host(host: str, auth: AuthService) -> str:
    """`host`, or 127.0.0.1 while the admin password is the default or no API key exists (said in the log)."""
    if is_loopback(host):
        return host
    allowed, why = auth.may_listen_beyond_loopback()
    if not allowed:
        log.error("[API] Não vou escutar em %s: %s", host, why)
        return "127.0.0.1"
    return host


class EnvelopeErrorTask(ErrorTask):
    """waitress's own refusals (a body over the cap, a malformed request line) in the API's JSON envelope."""

    def execute(self) -> None:
        error = self.request.error
        message = (f"The body is larger than ZapPool's limit of {self.channel.adj.max_request_body_size:,} bytes"
                   if error.code == 413 else f"{error.reason}: {error.body}")
        body = json.dumps({"error": {"code": error.reason.lower().replace(" ", "_"), "message": message,
                                     "details": {}}}).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class EnvelopeChannel(HTTPChannel):
    """A connection whose protocol errors answer in the envelope."""

    error_task_class = EnvelopeErrorTask


class ApiServer:
    """waitress in a background thread. The constructor binds the port (0 picks a free one), so `url` is
    known before serving and a port in use is an Unavailable error here, before anything else starts."""

    def __init__(self, app: Flask, auth: AuthService, host: str = "127.0.0.1", port: int = 3000,
                 threads: int = DEFAULT_THREADS):
        self.app = app
        self.host = safe_host(host, auth)
        threads = max(threads, int(app.config.get("EVENTS_MAX_STREAMS", 0)) + FREE_THREADS)
        # The body cap is waitress's too: it refuses a declared Content-Length over it before reading a byte,
        # where Flask would only see the request once waitress had spooled the whole body to a temp file.
        try:
            self._server = create_server(app, host=self.host, port=port, threads=threads, ident="ZapPool",
                                         max_request_body_size=app.config.get("MAX_CONTENT_LENGTH") or 1 << 30)
        except OSError as exc:  # the port is taken, or the address is not this machine's
            raise Unavailable(f"Cannot listen on {self.host}:{port}: {exc.strerror or exc}",
                              details={"host": self.host, "port": port}, code="address_unavailable") from None
        self._server.channel_class = EnvelopeChannel
        self.port = self._server.effective_port
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="zapool-api", daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        """Serve in the background."""
        self._thread.start()
        log.info("[API] Escutando em %s", self.url)
        return self

    def _run(self) -> None:
        """waitress's loop; closing its sockets from stop() may end it with EBADF, which is not an error."""
        try:
            self._server.run()
        except OSError:
            if not self._stopping:
                raise

    def stop(self) -> None:
        """Stop serving: end the event streams (the app's before_stop hooks), let the worker threads finish
        their requests, then close every socket (listener, connections, wake-up pipe) so waitress's loop ends."""
        self._stopping = True
        for hook in self.app.extensions.get("zapool.before_stop", ()):
            hook()
        self._server.task_dispatcher.shutdown(timeout=5)
        wasyncore.close_all(self._server._map)
        self._thread.join(5)
