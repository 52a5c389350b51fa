"""Benchmark: GET /stats requests per second against a bare Flask app on waitress, and POST /messages latency.

ZapPool's API runs over a pool with 10 numbers ready on the simulator; the bare app is Flask on waitress with
the same thread count, answering the same JSON (captured from ZapPool once) with no auth and no pool. Both are
loaded the same way, in alternating rounds: 8 client threads, each on its own keep-alive connection, for
`--seconds` per round. Then `POST /messages?wait=true` is timed one call at a time (pacing off).

    .venv/bin/python -m bench.api --rounds 3 --seconds 5 --sends 200
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, jsonify

from backend.assembly import build_service
from backend.api import create_app
from backend.api.server import ApiServer
from backend.auth.service import AuthService
from backend.config import Settings
from bench.restore import link_numbers, open_pool
from bench.send import percentile
from wasim import SimServer

CLIENT_THREADS = 8


def load(base: str, path: str, headers: dict[str, str], seconds: float) -> list[float]:
    """Latencies of every request made by CLIENT_THREADS keep-alive clients in `seconds`."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine = []
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(CLIENT_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def bare_server(payload: dict, auth: AuthService, threads: int) -> ApiServer:
    """Flask on waitress returning `payload` at /stats."""
    app = Flask("bare")

    @app.get("/stats")
    def stats():  # noqa: ANN202 - a benchmark's floor, as plain as Flask gets
        return jsonify(payload)

    return ApiServer(app, auth, port=0, threads=threads).start()


def main() -> None:
    """Link 10 numbers, serve both apps, alternate load rounds, then time waited sends."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sends", type=int, default=200)
    args = parser.parse_args()
    with SimServer(port=0, ack_delivered_ms=None, ack_read_ms=None) as sim, tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "dados"
        link_numbers(sim, data, 10)
        settings = Settings(data_dir=data, whatsapp_url=sim.url, send_interval_s=0, send_jitter_s=0)
        with open_pool(settings) as pool:
            assert pool.restore_persisted_sessions()["restored"] == 10
            auth = AuthService.in_folder(data)
            auth.reset_password("benchmark-senha")
            _, key = auth.create_api_key("bench")
            zap = ApiServer(create_app(build_service(pool, auth), auth), auth, port=0).start()
            headers = {"X-Api-Key": key}
            conn = http.client.HTTPConnection(urlsplit(zap.url).hostname, urlsplit(zap.url).port)
            conn.request("GET", "/stats", headers=headers)
            payload = json.loads(conn.getresponse().read())
            bare = bare_server(payload, auth, zap._server.adj.threads)
            results: dict[str, list[float]] = {"bare": [], "zapool": []}
            rps: dict[str, list[float]] = {"bare": [], "zapool": []}
            for _ in range(args.rounds):
                for name, server in (("bare", bare), ("zapool", zap)):
                    lat = load(server.url, "/stats", headers, args.seconds)
                    results[name].extend(lat)
                    rps[name].append(len(lat) / args.seconds)
            sends = []
            for n in range(args.sends):
                started = time.perf_counter()
                conn.request("POST", "/messages?wait=true", body=json.dumps({"to": "5511988887777", "text": f"m{n}"}),
                             headers={**headers, "Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                assert response.status == 200, response.status
                sends.append(time.perf_counter() - started)
            zap.stop()
            bare.stop()
    print("| GET /stats | rounds | req/s (median of rounds) | p50 | p99 |\n|---|---|---|---|---|")
    for name in ("bare", "zapool"):
        print(f"| {name} | {args.rounds} | {statistics.median(rps[name]):.0f} | "
              f"{statistics.median(results[name]) * 1000:.1f} ms | {percentile(results[name], 99) * 1000:.1f} ms |")
    ratio = statistics.median(rps["zapool"]) / statistics.median(rps["bare"])
    print(f"\nratio (ZapPool / bare Flask): {ratio:.2f}x (target: at least 0.8x)")
    print(f"\nPOST /messages?wait=true, {len(sends)} one at a time over 10 numbers: "
          f"p50 {statistics.median(sends) * 1000:.0f} ms, p99 {percentile(sends, 99) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
