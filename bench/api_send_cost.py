"""Benchmark: ZapPool's own CPU per message sent through the REST API, two app.py processes side by side.

Issue 15 item 1 measures ZapPool's own CPU per sent message *with the API request included*: the app's Python
process (waitress, Flask, the outbox, the engine loop) plus Playwright's node driver. Here each configuration is
a real `app.py --headless` process (real waitress) with its own data folder and its own 3 linked numbers, both
on one simulator that runs in its own process (`python -m wasim --port 0`, default timings: acks on). "before"
runs from a checkout of another commit (`--before-tree`, e.g. `git worktree add /tmp/old-k 3159efd` with .venv
and node_modules symlinked), "after" from this worktree; each imports its own backend. Rounds alternate between
the two apps, so the machine's load hits both alike.

Each round: `--messages` texts through `POST /messages` (no clientId: round-robin; pacing off, `--send-interval
0`) from 4 keep-alive client threads in this process, to 20 recipients; then the round waits until the app's
`GET /stats` says all were sent (polled every 0.5 s) and `--settle` seconds more, so the acks (delivered 0.5 s,
read 2 s after the send) are written too. CPU is utime+stime from /proc/<pid>/stat before and after the round:
ZapPool's own = the app's process + its node driver; Chromium (every Chromium process below the app) and the
simulator apart. Latency: from the call to the simulator's record of the message (`at`), matched by text. The
whole burst is accepted at once, so p50/p99 include the queueing of the burst.

`--sim-per-tree`: each app sends to a simulator run from its own checkout instead (compares simulators: e.g.
the one whose page made an HTTP request per action with the one on a WebSocket, as WhatsApp Web).

API_SEND_COST_LAUNCHER=bench/yappi_app.py runs each app as `python bench/yappi_app.py app.py ...` (a CPU profile).

    .venv/bin/python -m bench.api_send_cost --before-tree /tmp/old-k --messages 600 --rounds 3
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.auth.service import AuthService
from backend.config import Settings
from bench.procs import descendants, is_chromium
from bench.restore import open_pool
from bench.send import percentile
from bench.send_cost import cpu_s, exe_name, start_simulator
from wasim.control import SimControl

ROOT = Path(__file__).resolve().parents[1]
RECIPIENTS = [f"55119888{n:05d}" for n in range(20)]
CLIENT_THREADS = 4
NUMBERS = 3


@dataclass
class App:
    """One app.py process under test: its tree, data folder, URL, API key and linked phones."""

    name: str
    proc: subprocess.Popen[str]
    url: str
    key: str
    phones: list[str]
    output: list[str] = field(default_factory=list)

    def call(self, conn: http.client.HTTPConnection, method: str, path: str, body: Any = None) -> Any:
        """One API call on a keep-alive connection; the decoded JSON answer."""
        headers = {"X-Api-Key": self.key, "Content-Type": "application/json"}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        assert reply.status < 300, (reply.status, data[:300])
        return json.loads(data)

    def connection(self) -> http.client.HTTPConnection:
        """A new keep-alive connection to the app."""
        host, port = self.url.removeprefix("http://").split(":")
        return http.client.HTTPConnection(host, int(port), timeout=60)

    def cpu(self, sim_pid: int) -> dict[str, float]:
        """CPU seconds so far: ZapPool's own (app + node driver), Chromium, the simulator."""
        below = descendants(self.proc.pid)
        driver = [p for p in below if not is_chromium(p) and exe_name(p) == "node"]
        app, node = cpu_s(self.proc.pid), sum(map(cpu_s, driver))
        return {"zappool": app + node, "app": app, "driver": node,
                "chromium": sum(cpu_s(p) for p in below if is_chromium(p)), "simulator": cpu_s(sim_pid)}


def link(sim_url: str, control: SimControl, data: Path, phones: list[str]) -> None:
    """Numbers linked in a fresh data folder (scanned on the simulator), then an admin password and API key."""
    with open_pool(Settings(data_dir=data, whatsapp_url=sim_url)) as pool:
        for n, phone in enumerate(phones):
            pool.create_and_initialize(f"n{n}")
            control.scan(pool.get(f"n{n}").qr.code, phone)
        deadline = time.monotonic() + 120
        while len(pool.get_ready_clients()) < len(phones) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(pool.get_ready_clients()) == len(phones)


def api_key(data: Path) -> str:
    """An API key allowed far more requests than a round makes."""
    auth = AuthService.in_folder(data)
    auth.reset_password("benchmark-senha")
    return auth.create_api_key("bench", rate_per_minute=100_000)[1]


def link_with(tree: Path, sim_url: str, data: Path, phones: list[str]) -> str:
    """link() and api_key() run by `tree`'s own code, so each app's data folder is in its own format (a log made
    by a newer schema is refused by an older app); the API key as the last line printed."""
    script = ("import sys; from pathlib import Path; from bench.api_send_cost import api_key, link; "
              "from wasim.control import SimControl; url, data = sys.argv[1], Path(sys.argv[2]); "
              "link(url, SimControl(url), data, sys.argv[3:]); print(api_key(data))")
    done = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", script, sim_url, str(data), *phones], cwd=tree,
                          capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(tree)})
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def run_app(name: str, tree: Path, data: Path, sim_url: str, phones: list[str], key: str) -> Iterator[App]:
    """`app.py --headless` from `tree` on `data`, until its numbers are ready; terminated on the way out."""
    launcher = [os.environ["API_SEND_COST_LAUNCHER"]] if os.environ.get("API_SEND_COST_LAUNCHER") else []
    proc = subprocess.Popen([str(ROOT / ".venv/bin/python"), *launcher, "app.py", "--headless", "--data", str(data),
                             "--whatsapp-url", sim_url, "--port", "0", "--send-interval", "0", "--log-level",
                             "warning"], cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        url = next(m.group(0) for line in proc.stdout if (m := re.search(r"http://127\.0\.0\.1:\d+", line)))
        app = App(name, proc, url, key, phones)
        threading.Thread(target=lambda: app.output.extend(proc.stdout or []), daemon=True).start()
        conn, deadline = app.connection(), time.monotonic() + 120
        while len(app.call(conn, "GET", "/clients")) < len(phones):
            assert time.monotonic() < deadline, "numbers not ready"
            time.sleep(0.2)
        yield app
    finally:
        proc.terminate()
        proc.wait(60)


def send_burst(app: App, texts: list[str]) -> dict[str, float]:
    """POST /messages for every text from CLIENT_THREADS keep-alive clients; text -> time of the call."""
    called: dict[str, float] = {}
    chunks = [texts[i::CLIENT_THREADS] for i in range(CLIENT_THREADS)]

    def worker(mine: list[str]) -> None:
        conn = app.connection()
        for n, text in enumerate(mine):
            called[text] = time.time()
            app.call(conn, "POST", "/messages", {"to": RECIPIENTS[n % 20], "text": text})
        conn.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return called


def one_round(app: App, control: SimControl, sim_pid: int, tag: str, messages: int,
              settle_s: float) -> dict[str, float]:
    """Send `messages` texts; CPU per message (ms) by part, and latency p50/p99 (ms) to the simulator."""
    conn = app.connection()
    done = app.call(conn, "GET", "/stats")["totalMessages"]
    cpu0 = app.cpu(sim_pid)
    started = time.monotonic()
    called = send_burst(app, [f"{tag} {n}" for n in range(messages)])
    while app.call(conn, "GET", "/stats")["totalMessages"] < done + messages:
        assert time.monotonic() - started < 600, "round did not finish"
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    time.sleep(settle_s)
    cpu1 = app.cpu(sim_pid)
    received = {r["text"]: r["at"] / 1000 for p in app.phones for r in control.sent(p)}
    latencies = [received[text] - at for text, at in called.items()]
    per_msg = {part: (cpu1[part] - cpu0[part]) * 1000 / messages for part in cpu0}
    return {**per_msg, "p50": statistics.median(latencies) * 1000, "p99": percentile(latencies, 99) * 1000,
            "msg_s": messages / elapsed}


def main() -> None:
    """Link numbers for both apps, start both, alternate rounds; print each round, then the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--before-tree", type=Path, required=True, help="a checkout of the commit to compare with")
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=2.5, help="seconds after the last send (acks)")
    parser.add_argument("--also-tree", action="append", default=[], metavar="NAME=PATH",
                        help="one more checkout in the same run (e.g. the commit an issue measured on)")
    parser.add_argument("--only", choices=["before", "after"], help="run one app (for a profiler)")
    parser.add_argument("--sim-per-tree", action="store_true",
                        help="each app on a simulator run from its own tree (compares simulators, not only apps)")
    parser.add_argument("--no-acks", action="store_true",
                        help="the simulator sends no delivered/read acks: 2 page events per message fewer")
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}", flush=True)
    also = dict(item.split("=", 1) for item in args.also_tree)
    trees = {**{name: Path(path).resolve() for name, path in also.items()}, "before": args.before_tree.resolve(),
             "after": ROOT}
    if args.only:
        trees = {args.only: trees[args.only]}
    sims = simulators(trees, args.sim_per_tree)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    try:
        for _proc, _url, control in set(sims.values()):
            if args.no_acks:
                control.configure(ack_delivered_ms=0, ack_read_ms=0)
        with tempfile.TemporaryDirectory(prefix="api-send-") as tmp, \
                running_apps(trees, Path(tmp), sims) as apps:
            for app in apps:
                proc, _url, control = sims[app.name]
                one_round(app, control, proc.pid, f"{app.name} warm-up", 60, args.settle)
            for r in range(args.rounds):
                for app in apps:
                    proc, _url, control = sims[app.name]
                    rows[app.name].append(one_round(app, control, proc.pid, f"{app.name} r{r}", args.messages,
                                                    args.settle))
                    print(app.name, {k: round(v, 2) for k, v in rows[app.name][-1].items()}, flush=True)
    finally:
        for proc, _url, _control in set(sims.values()):
            proc.terminate()
            proc.wait(10)
    report(rows, args)


Simulator = tuple[subprocess.Popen[str], str, SimControl]


def simulators(trees: dict[str, Path], per_tree: bool) -> dict[str, Simulator]:
    """The simulator each app sends to: one for all (this tree's), or each tree's own (--sim-per-tree)."""
    def started(tree: Path | None) -> Simulator:
        proc, url = start_simulator(tree)
        return proc, url, SimControl(url)
    if not per_tree:
        shared = started(None)
        return {name: shared for name in trees}
    return {name: started(tree) for name, tree in trees.items()}


@contextmanager
def running_apps(trees: dict[str, Path], tmp: Path, sims: dict[str, Simulator]) -> Iterator[list[App]]:
    """Each tree's app running on its own data folder with its own linked numbers, on its simulator."""
    with ExitStack() as stack:
        apps = []
        for i, (name, tree) in enumerate(trees.items()):
            data = tmp / name
            phones = [f"5511977{i}{n:05d}" for n in range(NUMBERS)]
            _proc, sim_url, control = sims[name]
            key = link_with(tree, sim_url, data, phones)
            apps.append(stack.enter_context(run_app(name, tree, data, sim_url, phones, key)))
        yield apps


def report(rows: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    """The medians of the rounds, and after/before ratios."""
    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in rows.items() if runs}
    print(f"\n{NUMBERS} numbers per app, {args.messages} messages per round through POST /messages to 20 "
          f"recipients, {args.rounds} rounds each, alternating (medians)\n")
    print("| | ZapPool's own CPU/msg | app process | node driver | Chromium CPU/msg | simulator CPU/msg | msg/s | "
          "p50 latency | p99 latency |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, m in med.items():
        print(f"| {name} | {m['zappool']:.2f} ms | {m['app']:.2f} ms | {m['driver']:.2f} ms | {m['chromium']:.2f} ms | "
              f"{m['simulator']:.2f} ms | "
              f"{m['msg_s']:.1f} | {m['p50']:.0f} ms | {m['p99']:.0f} ms |")
    for name in (n for n in med if n != "after" and "after" in med):
        b, a = med[name], med["after"]
        print(f"| after/{name} | " + " | ".join(f"{a[k] / b[k]:.2f}" for k in
                                               ("zappool", "app", "driver", "chromium", "simulator",
                                                "msg_s", "p50", "p99")) + " |")


if __name__ == "__main__":
    main()
