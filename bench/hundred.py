"""Benchmark: many numbers on one machine (issue 15, item 4): link, idle, restore, saturation, a sustained rate.

Everything runs as it would for a user: the simulator in its own process (`python -m wasim`), ZapPool as
`app.py --headless` in its own process (real waitress, its own data folder, `--max-clients N`), driven only
through the REST API with an API key (made in the data folder as `python -m backend.auth keys create` makes
one). Phases, in one run:

1. link: `POST /clients` for each number (answers at its QR code), the QR read from `GET /clients/{id}/qr`,
   scanned on the simulator's phone; time until all are ready;
2. idle: memory of ZapPool's process tree (app, Playwright's driver, Chromium) and its CPU over `--idle-s`;
3. restore: SIGTERM, the same command again; time until every number is ready again (no QR), and idle again;
4. saturation: `--burst` texts accepted as fast as 8 client threads can post them (auto-routed over the ready
   numbers), delivered msg/s at the simulator and CPU per message by part;
5. sustained: `--rate` texts a second for `--sustain-s`, each call at its planned time (open loop, so a slow
   answer does not lower the rate), latency from the call to the simulator's record of the message.

Pacing is off (`--send-interval 0`, which also lifts the default hourly/daily caps: 20 msg/s over 100 numbers
for 5 minutes is 60 per number, over the default 50 an hour); the rate limit of the bench's key is raised.

    .venv/bin/python -m bench.hundred --numbers 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from backend.auth.service import AuthService
from bench.procs import descendants, is_chromium
from bench.send import percentile
from bench.send_cost import cpu_s, exe_name, start_simulator
from bench.webhook_receiver import free_port
from wasim.control import SimControl

ROOT = Path(__file__).resolve().parent.parent


class Api:
    """ZapPool's REST API with the bench's key."""

    def __init__(self, base: str, key: str):
        self.base, self.key = base, key

    def call(self, method: str, path: str, body: Any = None, accept: str = "application/json") -> Any:
        """One request; the decoded JSON answer (raises on a 4xx/5xx)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"X-API-Key": self.key, "Content-Type": "application/json",
                                                  "Accept": accept})
        with urllib.request.urlopen(request, timeout=120) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def ready(self) -> int:
        """How many numbers are ready now."""
        return sum(1 for c in self.call("GET", "/clients/all") if c["status"] == "ready")


def make_key(data: Path) -> str:
    """An API key for the bench in a new data folder (as `python -m backend.auth` makes one), at the highest
    rate a key may have (100,000 a minute)."""
    auth = AuthService.in_folder(data)
    auth.reset_password("benchmark-senha")
    return auth.create_api_key("bench", 100_000)[1]


def start_app(data: Path, port: int, url: str, numbers: int) -> subprocess.Popen[bytes]:
    """app.py --headless as its own process, its output in <data>/app.out."""
    out = (data / "app.out").open("ab")
    return subprocess.Popen([sys.executable, "app.py", "--headless", "--data", str(data), "--port", str(port),
                             "--whatsapp-url", url, "--max-clients", str(numbers), "--send-interval", "0"],
                            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait(what: str, check: Callable[[], bool], timeout_s: float) -> float:
    """Seconds until `check()` holds (polled every 0.2 s); fails the bench after `timeout_s`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"{what}: not reached in {timeout_s:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - start


def answering(api: Api) -> bool:
    """Is the API up (GET /clients/all answers)?"""
    try:
        api.call("GET", "/clients/all")
        return True
    except OSError:
        return False


def tree(app_pid: int) -> dict[str, list[int]]:
    """The app's processes by part: the app itself, Playwright's node driver, Chromium."""
    below = descendants(app_pid)
    return {"app": [app_pid], "driver": [p for p in below if exe_name(p) == "node"],
            "chromium": [p for p in below if is_chromium(p)]}


def pss_mb(pids: list[int]) -> float:
    """Summed PSS of `pids` in MB, from /proc/<pid>/smaps_rollup."""
    total = 0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith("Pss:")), 0)
    return total / 1024


def cpu_by_part(app_pid: int, sim_pid: int) -> dict[str, float]:
    """CPU seconds so far of the app's live processes by part, and of the simulator."""
    parts = {name: sum(map(cpu_s, pids)) for name, pids in tree(app_pid).items()}
    return {"zappool": parts["app"] + parts["driver"], "chromium": parts["chromium"], "simulator": cpu_s(sim_pid)}


def link_all(api: Api, control: SimControl, numbers: int) -> float:
    """Add and scan every number (4 at a time); seconds until all are ready."""
    start = time.monotonic()

    def link(n: int) -> None:
        client_id = f"n{n:03d}"
        api.call("POST", "/clients", {"clientId": client_id})
        code = api.call("GET", f"/clients/{client_id}/qr")["code"]
        control.scan(code, phone(n))

    with ThreadPoolExecutor(4) as workers:
        list(workers.map(link, range(numbers)))
    wait("all linked numbers ready", lambda: api.ready() == numbers, 600)
    return time.monotonic() - start


def phone(n: int) -> str:
    """The simulator phone of number n."""
    return f"5511977{n:06d}"


def idle(app_pid: int, sim_pid: int, seconds: float) -> dict[str, float]:
    """Memory now and CPU over `seconds` of an idle pool (% of one core)."""
    parts = tree(app_pid)
    memory = {f"pss_{name}_mb": pss_mb(pids) for name, pids in parts.items()}
    before = cpu_by_part(app_pid, sim_pid)
    time.sleep(seconds)
    after = cpu_by_part(app_pid, sim_pid)
    cpu = {f"idle_{k}_pct": (after[k] - before[k]) * 100 / seconds for k in before}
    return {**memory, "processes": sum(map(len, parts.values())), **cpu}


class Sends:
    """Texts posted to `POST /messages` (auto-routed), each with a unique text to find it at the simulator."""

    def __init__(self, api: Api, control: SimControl, numbers: int):
        self.api, self.control, self.numbers = api, control, numbers
        self.posted: dict[str, float] = {}  # text -> epoch seconds of the call
        self.lock = threading.Lock()
        self.seq = 0

    def post(self, to: str) -> None:
        """One text, its call time kept."""
        with self.lock:
            self.seq += 1
            text = f"bench {self.seq}"
        at = time.time()
        self.api.call("POST", "/messages", {"to": to, "text": text})
        with self.lock:
            self.posted[text] = at

    def delivered(self) -> int:
        """Messages the pool has sent so far (GET /stats)."""
        return self.api.call("GET", "/stats")["totalMessages"]

    def latencies_ms(self, texts: set[str]) -> list[float]:
        """Call → simulator's record, for `texts`, in ms."""
        received = {r["text"]: r["at"] / 1000 for n in range(self.numbers) for r in self.control.sent(phone(n))}
        missing = texts - received.keys()
        assert not missing, f"{len(missing)} messages never reached the simulator"
        return [(received[t] - self.posted[t]) * 1000 for t in texts]


def recipient(n: int) -> str:
    """One of 200 customers."""
    return f"5511966{n % 200:06d}"


def saturate(sends: Sends, app_pid: int, sim_pid: int, burst: int) -> dict[str, float]:
    """`burst` texts posted by 8 threads at once; delivered msg/s and CPU per message by part."""
    done0, cpu0, start = sends.delivered(), cpu_by_part(app_pid, sim_pid), time.monotonic()
    with ThreadPoolExecutor(8) as workers:
        list(workers.map(lambda n: sends.post(recipient(n)), range(burst)))
    accepted_s = time.monotonic() - start
    wait("burst delivered", lambda: sends.delivered() >= done0 + burst, 900)
    elapsed = time.monotonic() - start
    cpu1 = cpu_by_part(app_pid, sim_pid)
    return {"burst": burst, "accept_per_s": burst / accepted_s, "delivered_per_s": burst / elapsed,
            **{f"cpu_{k}_ms": (cpu1[k] - cpu0[k]) * 1000 / burst for k in cpu0}}


def sustain(sends: Sends, app_pid: int, sim_pid: int, rate: float, seconds: float) -> dict[str, float]:
    """`rate` texts a second for `seconds`, each posted at its planned time by a pool of callers."""
    total, start = int(rate * seconds), time.monotonic() + 0.5
    done0, cpu0 = sends.delivered(), cpu_by_part(app_pid, sim_pid)
    first = sends.seq

    def at_its_time(n: int) -> None:
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
        sends.post(recipient(n))

    with ThreadPoolExecutor(16) as workers:
        list(workers.map(at_its_time, range(total)))
    late_s = time.monotonic() - (start + total / rate)
    wait("sustained run delivered", lambda: sends.delivered() >= done0 + total, 300)
    cpu1 = cpu_by_part(app_pid, sim_pid)
    texts = {f"bench {n}" for n in range(first + 1, first + total + 1)}
    lat = sends.latencies_ms(texts)
    return {"messages": total, "calls_late_at_end_s": late_s, "p50_ms": statistics.median(lat),
            "p99_ms": percentile(lat, 99), "max_ms": max(lat),
            **{f"cpu_{k}_ms": (cpu1[k] - cpu0[k]) * 1000 / total for k in cpu0}}


def stop_app(app: subprocess.Popen[bytes]) -> float:
    """SIGTERM and wait; seconds until it exited."""
    start = time.monotonic()
    app.terminate()
    app.wait(120)
    return time.monotonic() - start


def restart(app: subprocess.Popen[bytes], data: Path, port: int, url: str, api: Api,
            numbers: int) -> tuple[subprocess.Popen[bytes], dict[str, float]]:
    """Stop the app and start it again; seconds until it answers and until every number is ready, and the CPU
    the new tree's live processes spent getting there, per number."""
    result = {"stop_s": stop_app(app)}
    start = time.monotonic()
    app = start_app(data, port, url, numbers)
    result["api_s"] = wait("API up", lambda: answering(api), 60)
    wait("all numbers restored", lambda: api.ready() == numbers, 900)
    result["restore_s"] = time.monotonic() - start
    parts = cpu_by_part(app.pid, 0)
    result["restore_cpu_per_number_s"] = (parts["zappool"] + parts["chromium"]) / numbers
    return app, result


def run(args: argparse.Namespace, data: Path, sim_pid: int, url: str) -> dict[str, Any]:
    """The five phases; their figures."""
    port, control = free_port(), SimControl(url)
    api = Api(f"http://127.0.0.1:{port}", make_key(data))
    app = start_app(data, port, url, args.numbers)
    figures: dict[str, Any] = {}
    try:
        wait("API up", lambda: answering(api), 60)
        figures["link_s"] = link_all(api, control, args.numbers)
        time.sleep(args.settle_s)
        figures["idle_linked"] = idle(app.pid, sim_pid, args.idle_s)
        app, figures["restore"] = restart(app, data, port, url, api, args.numbers)
        time.sleep(args.settle_s)
        figures["idle_restored"] = idle(app.pid, sim_pid, args.idle_s)
        sends = Sends(api, control, args.numbers)
        sends.post(recipient(0))  # warm-up: the first send opens the message log's paths
        figures["saturation"] = saturate(sends, app.pid, sim_pid, args.burst)
        figures["sustained"] = sustain(sends, app.pid, sim_pid, args.rate, args.sustain_s)
    finally:
        figures["final_stop_s"] = stop_app(app)
    return figures


def main() -> None:
    """Run the phases and print the figures as JSON (one object), with the load average at the start."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=100)
    parser.add_argument("--idle-s", type=float, default=60)
    parser.add_argument("--settle-s", type=float, default=30)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--sustain-s", type=float, default=300)
    args = parser.parse_args()
    load = os.getloadavg()
    sim, url = start_simulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            figures = run(args, Path(tmp), sim.pid, url)
    finally:
        sim.terminate()
        sim.wait(10)
    print(json.dumps({"args": vars(args), "load_at_start": load, **figures}, indent=1))


if __name__ == "__main__":
    main()
