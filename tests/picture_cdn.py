"""A hostile "CDN" on a free loopback port for the profile picture tests: it answers what a picture server should
not (a redirect to another host, a 2 MB body with or without its length, HTML labelled image/png, a gzip body) and
one good PNG, and counts the requests it got per path, so a test can tell what ZapPool asked for."""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wasim.contacts import png

GOOD_PNG = png(16, (10, 200, 30))
BIG = 2 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    """The answers, by path."""

    protocol_version = "HTTP/1.0"  # a body without Content-Length ends when the connection closes

    def log_message(self, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        server: PictureCdn = self.server.owner  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        server.hits[path] += 1
        if path == "/ok.png":
            self._answer(200, GOOD_PNG, "image/png")
        elif path == "/redirect.png":
            self._answer(302, b"", "text/plain", Location=f"http://localhost:{server.port}/ok.png")
        elif path == "/big-declared.png":
            self._answer(200, GOOD_PNG + b"\0" * BIG, "image/png")
        elif path == "/big-streamed.png":
            self._answer(200, GOOD_PNG + b"\0" * BIG, "image/png", length=False)
        elif path == "/page.png":
            self._answer(200, b"<!doctype html><script>alert(document.cookie)</script>", "image/png")
        elif path == "/gzip.png":
            self._answer(200, gzip.compress(GOOD_PNG), "image/png", **{"Content-Encoding": "gzip"})
        else:
            self._answer(404, b"not here", "text/plain")

    def _answer(self, status: int, body: bytes, kind: str, length: bool = True, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # ZapPool hung up once it had seen enough: that is the point


class PictureCdn:
    """The server, started on a free port; `url(path)`, `origin`, `hits`."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """The address of one of its answers."""
        return f"{self.origin}{path}"

    def __enter__(self) -> PictureCdn:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
