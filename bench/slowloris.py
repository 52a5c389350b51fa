"""Is ZapPool still answering while connections hang half-sent, and does a huge body cost it memory?

    .venv/bin/python -m bench.slowloris [--counts 200 500 900]

Starts app.py headless on a free port and a temporary data folder (no number, nothing restored), then for each
count opens that many connections that send half a request line and stop, and times ten `GET /health` from a
fresh connection while they hang; last, sends a 32 MB body to /auth/login and reads the answer and the
process's resident memory before and after (from /proc). Prints one line each; stops the app.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.polling import wait_until

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1]) // 1024


def health(port: int) -> tuple[float, str]:
    """Seconds for one GET /health on a new connection, and its status line."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        first = conn.recv(4096).split(b"\r\n")[0].decode()
    return time.monotonic() - started, first


def with_hanging(port: int, count: int) -> str:
    """GET /health ten times while `count` connections hang half-sent; a line of figures."""
    hanging = []
    try:
        for _ in range(count):
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn.sendall(b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            hanging.append(conn)
        time.sleep(0.5)
        answers = [health(port) for _ in range(10)]
    except OSError as exc:
        return f"{count} half-open: no answer ({exc})"
    finally:
        for conn in hanging:
            conn.close()
    times = [seconds for seconds, _ in answers]
    return (f"{count} half-open: {answers[0][1]!r}, median {statistics.median(times) * 1000:.1f} ms, "
            f"worst {max(times) * 1000:.1f} ms")


def huge_body(port: int, pid: int) -> str:
    """A 32 MB text/plain JSON body to /auth/login: the answer, its time, and the memory around it."""
    body = b'{"username": "' + b"a" * (32 << 20) + b'", "password": "x"}'  # valid JSON: it must be parsed to fail
    before = rss_mb(pid)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        try:
            conn.sendall(body)
        except OSError:
            pass  # refused before the body was read: the server closed its side
        try:
            reply = conn.recv(4096).split(b"\r\n")[0].decode()
        except OSError as exc:
            reply = repr(exc)
    return (f"32 MB body to /auth/login: {reply!r} in {time.monotonic() - started:.2f} s; "
            f"RSS {before} MB -> {rss_mb(pid)} MB")


def main() -> None:
    """Start the app, measure, stop it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", type=int, nargs="+", default=[200, 500, 900])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = subprocess.Popen([sys.executable, "app.py", "--headless", "--no-restore", "--port", "0", "--data",
                                str(Path(tmp) / "dados")], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        try:
            line = wait_until(lambda: next((ln for ln in [app.stdout.readline()] if ln.startswith("API REST:")),
                                           None), 60, what="the API's address")
            port = int(line.split()[2].rsplit(":", 1)[1])
            for count in args.counts:
                print(with_hanging(port, count), flush=True)
            print(huge_body(port, app.pid), flush=True)
        finally:
            app.terminate()
            app.wait(30)


if __name__ == "__main__":
    main()
