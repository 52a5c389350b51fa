"""The API server's output path (backend/api/server.py, EnvelopeChannel.writable): an answer larger than the
socket can take at once reaches a slow reader whole, and other connections are answered meanwhile. Written
when the loop stopped polling a connection whose request thread holds its output lock: the bytes that thread
leaves unsent must still go out."""

from __future__ import annotations

import hashlib
import http.client
import socket
import threading
import time

from flask import Flask, Response

from backend.api.server import ApiServer
from backend.auth.service import AuthService

CHUNK = bytes(range(256)) * 4096  # 1 MiB
BIG = CHUNK * 24  # past waitress's 16 MiB output watermark, where the request thread waits for the loop to send


def _server(tmp_path) -> ApiServer:
    app = Flask("output-test")
    app.add_url_rule("/big", "big", view_func=lambda: Response((CHUNK for _ in range(24)),
                                                                mimetype="application/octet-stream"))
    app.add_url_rule("/small", "small", view_func=lambda: {"ok": True})
    return ApiServer(app, AuthService.in_folder(tmp_path), port=0).start()


def _read_slowly(port: int, into: dict[str, object]) -> None:
    """GET /big on a socket with a small receive buffer, pausing between reads."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.sendall(b"GET /big HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")  # 1.0: no chunked encoding
        chunks = []
        while chunk := sock.recv(64 * 1024):
            chunks.append(chunk)
            if len(chunks) % 16 == 0:
                time.sleep(0.01)
        into["raw"] = b"".join(chunks)


def test_a_large_answer_reaches_a_slow_reader_whole_while_others_are_answered(tmp_path):
    server = _server(tmp_path)
    try:
        got: dict[str, object] = {}
        reader = threading.Thread(target=_read_slowly, args=(server.port, got))
        reader.start()
        answered = 0
        while reader.is_alive() and answered < 50:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/small", headers={"Host": "127.0.0.1"})
            assert conn.getresponse().status == 200
            conn.close()
            answered += 1
        reader.join(60)
        assert not reader.is_alive(), "the large answer never finished"
        head, _, body = got["raw"].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.0 200")
        assert hashlib.sha256(body).digest() == hashlib.sha256(BIG).digest(), f"{len(body)} of {len(BIG)} bytes"
        assert answered > 0
    finally:
        server.stop()
