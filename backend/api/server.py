"""Serving the API with waitress, on loopback unless it is safe to listen wider."""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import threading
import time

from flask import Flask
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import create_server
from waitress.task import ErrorTask

from ..auth.service import AuthService
from ..errors import Unavailable
from .guard import path_body_limit

log = logging.getLogger(__name__)
DEFAULT_THREADS = 16  # each open event stream holds a thread; the rest serve ordinary requests
FREE_THREADS = 4  # threads left for ordinary requests when every event stream the app allows is open
# Slowloris: half-sent requests hold a connection each, never a thread. waitress's default of 100 connections
# let 120 of them stop the server; this many fit in the file-descriptor limit (raised at start, see below).
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT_S = 30  # a connection that sends nothing this long is closed (waitress's default: 120)
HEADER_TIMEOUT_S = 10  # a request whose headers are not all in after this long is closed, however slowly they drip
CLEANUP_INTERVAL_S = 2  # how often those two deadlines are checked


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


def add_options(parser: argparse.ArgumentParser) -> None:
    """app.py's options for who may reach the API by which name, and over what."""
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="a name (or address) the API may be reached by besides 127.0.0.1, localhost and "
                             "[::1], e.g. this machine's LAN name when listening wider; others get 421 (repeatable)")
    parser.add_argument("--behind-https", action="store_true",
                        help="ZapPool is reached through an HTTPS proxy: login cookies are Secure")
    parser.add_argument("--trusted-proxy", metavar="ADDRESS",
                        help="address of the proxy whose X-Forwarded-Proto: https makes login cookies Secure")


def app_config(args: argparse.Namespace) -> dict[str, object]:
    """create_app's settings from those options."""
    return {"ALLOWED_HOSTS": tuple(args.allowed_host), "BEHIND_HTTPS": args.behind_https,
            "TRUSTED_PROXY": args.trusted_proxy}


class EnvelopeErrorTask(ErrorTask):
    """waitress's own refusals (a body over the cap, a malformed request line) in the API's JSON envelope."""

    def execute(self) -> None:
        error = self.request.error
        limit = self.request.adj.max_request_body_size
        message = (f"The body is larger than ZapPool's limit of {limit:,} bytes for this route"
                   if error.code == 413 else f"{error.reason}: {error.body}")
        body = json.dumps({"error": {"code": error.reason.lower().replace(" ", "_"), "message": message,
                                     "details": {}}}).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers += [("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")]
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _RouteAdjustments:
    """waitress's settings for one request, with the body cap of the route it names."""

    def __init__(self, adj: object, max_request_body_size: int):
        self._adj = adj
        self.max_request_body_size = max_request_body_size

    def __getattr__(self, name: str) -> object:
        return getattr(self._adj, name)


class RouteLimitedParser(HTTPRequestParser):
    """A request whose body cap is its route's (guard.py): a declared Content-Length over it is refused with 413
    as soon as the headers are in, before a byte of the body is read, and a chunked body stops at it."""

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        limit = path_body_limit(self.command or "", self.path or "")
        self.adj = _RouteAdjustments(self.adj, min(limit, self.adj.max_request_body_size))


class EnvelopeChannel(HTTPChannel):
    """A connection whose protocol errors answer in the envelope, and which remembers when its current request
    began, so one that drips its headers a byte at a time can be closed (see close_slow_channels)."""

    error_task_class = EnvelopeErrorTask
    parser_class = RouteLimitedParser
    request_began = 0.0

    def received(self, data: bytes) -> bool:
        """Note the start of a new request, then let waitress parse."""
        if self.request is None and data:
            self.request_began = time.time()
        return super().received(data)

    def writable(self) -> bool:
        """Not while a request's thread holds the output lock. That thread sends its own answer under the lock
        (waitress's send_bytes=1), and its socket send lets go of the GIL: the loop then saw the socket writable,
        could not take the lock, and polled again at once, over and over until the interpreter handed the GIL
        back (measured: ~20 polls per POST /messages, a tenth of the app's CPU per message). The thread pulls
        waitress's trigger whenever it leaves bytes unsent, so the loop looks again when there is work."""
        if self.requests and self.total_outbufs_len and not (self.will_close or self.close_when_flushed):
            if not self.outbuf_lock.acquire(False):
                return False
            self.outbuf_lock.release()
        return bool(super().writable())


def close_slow_channels(server: object, now: float) -> None:
    """waitress's idle-connection sweep, plus: close connections still sending headers after HEADER_TIMEOUT_S."""
    cutoff, header_cutoff = now - server.adj.channel_timeout, now - HEADER_TIMEOUT_S
    for channel in list(server.active_channels.values()):
        partial = channel.request is not None and not channel.request.headers_finished
        if (not channel.requests and channel.last_activity < cutoff) or (
                partial and channel.request_began < header_cutoff):
            channel.will_close = True


def _raise_file_limit(wanted: int) -> None:
    """Let this process hold `wanted` open files, if the OS's hard limit allows (POSIX only)."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    except (ImportError, ValueError, OSError):
        pass  # Windows has no such limit for sockets; a lower hard limit is the OS's choice


def _proxy(app: Flask) -> dict[str, object]:
    """waitress's proxy settings: believe X-Forwarded-Proto from the configured proxy only (none: from nobody)."""
    proxy = app.config.get("TRUSTED_PROXY")
    return {"trusted_proxy": proxy, "trusted_proxy_headers": {"x-forwarded-proto"}} if proxy else {}


class ApiServer:
    """waitress in a background thread. The constructor binds the port (0 picks a free one), so `url` is
    known before serving and a port in use is an Unavailable error here, before anything else starts."""

    def __init__(self, app: Flask, auth: AuthService, host: str = "127.0.0.1", port: int = 3000,
                 threads: int = DEFAULT_THREADS):
        self.app = app
        self.host = safe_host(host, auth)
        self._owner_token = auth.owner_token
        threads = max(threads, int(app.config.get("EVENTS_MAX_STREAMS", 0)) + FREE_THREADS)
        # The body cap is waitress's too: it refuses a declared Content-Length over it before reading a byte,
        # where Flask would only see the request once waitress had spooled the whole body to a temp file.
        try:
            _raise_file_limit(CONNECTION_LIMIT + 1024)
            self._server = create_server(app, host=self.host, port=port, threads=threads, ident="ZapPool",
                                         max_request_body_size=app.config.get("MAX_CONTENT_LENGTH") or 1 << 30,
                                         connection_limit=CONNECTION_LIMIT, channel_timeout=CHANNEL_TIMEOUT_S,
                                         cleanup_interval=CLEANUP_INTERVAL_S, **_proxy(app),
                                         asyncore_use_poll=True)  # select() fails past descriptor 1023
        except OSError as exc:  # the port is taken, or the address is not this machine's
            raise Unavailable(f"Cannot listen on {self.host}:{port}: {exc.strerror or exc}",
                              details={"host": self.host, "port": port}, code="address_unavailable") from None
        self._server.channel_class = EnvelopeChannel
        self._server.maintenance = lambda now: close_slow_channels(self._server, now)
        if not is_loopback(self.host):  # the address in `url`, which the windows and a second launch use
            app.config["ALLOWED_HOSTS"] = (*app.config.get("ALLOWED_HOSTS", ()), self.host)
        self.port = self._server.effective_port
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="zapool-api", daemon=True)

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.host}:{self.port}"

    @property
    def owner_link(self) -> str:
        """The address app.py prints in its terminal: the login page with the owner's token after '#', which a
        browser never sends in a request line or a Referer (the page reads it: frontend/js/api.js)."""
        return f"{self.url}/#owner={self._owner_token}"

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
