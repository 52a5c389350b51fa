"""Events across cluster nodes (issue 20), before and after LISTEN/NOTIFY, side by side in one run.

Two `app.py` nodes on one real PostgreSQL (bench/postgres.py) and the simulator: node `a` drives one linked
number, node `b` drives none. Each round POSTs an auto-routed message to **b**'s API and times it until the
simulator has it from a's number (API accept on b -> sent by the owner a). "before" is app.py of a given
commit (default: this branch's start, where a's lanes find other nodes' messages by their 2 s poll), exported
with `git archive`; "after" is this worktree, where b's `message_status queued` event reaches a over NOTIFY
and wakes its lanes. Rounds alternate (before, after, ...) on two live clusters, spaced at random so the poll's
phase is sampled fairly.

"after" also times an incoming message from the simulator to a frame on a's own SSE stream and on b's
(relayed over NOTIFY), and records the size of every notification payload by event type (NOTIFY's limit is
8000 bytes).

    .venv/bin/python -m bench.cluster_events --rounds 30 --before 91c8119
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

import psycopg

from backend.auth.passwords import ScryptParams
from backend.auth.service import AuthService
from bench.lazy_start import export
from bench.postgres import PostgresServer
from wasim import SimServer

ROOT = Path(__file__).resolve().parents[1]
FAST = {"first_qr_ms": 4000, "qr_ms": 2000, "max_qrs": 6, "ack_delivered_ms": 100, "ack_read_ms": 200,
        "load_ms": 20, "main_ready_on_qr": True, "require_create_chat": True}
CONTACT = "5521977776666"


class Node:
    """One app.py node from `tree`, on its own data folder with an API key."""

    def __init__(self, tree: Path, folder: Path, name: str, sim_url: str, db_url: str, rate: int | None = None):
        """`rate`: the API key's requests a minute (None: the API's default)."""
        data = folder / name
        auth = AuthService.in_folder(data, scrypt=ScryptParams(n=2 ** 10, r=8, p=1))
        auth.reset_password("senha-forte-123")
        _, self.key = auth.create_api_key("bench", rate)
        self.proc = subprocess.Popen(
            [sys.executable, "app.py", "--headless", "--port", "0", "--data", str(data), "--whatsapp-url", sim_url,
             "--send-interval", "0", "--no-restore", "--database", db_url, "--node", name, "--lease-ttl", "5"],
            cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert self.proc.stdout is not None
        self.url = next(m.group(1) for line in self.proc.stdout if (m := re.match(r"Interface: (\S+?)/?\s", line)))
        threading.Thread(target=lambda: [None for _ in self.proc.stdout or ()], daemon=True).start()

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """One API call; its JSON."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"X-Api-Key": self.key, "Content-Type": "application/json",
                                                  **(headers or {})})
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read() or b"null")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def wait(predicate: Any, timeout: float, pause: float = 0.005) -> Any:
    """Poll until truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(pause)
    raise TimeoutError("timed out")


def cluster(tree: Path, folder: Path, sim: SimServer, db_url: str, phone: str) -> tuple[Node, Node]:
    """Two nodes of `tree` on the database `db_url`; a's number `phone` linked and ready."""
    a = Node(tree, folder, "a", sim.url, db_url)
    b = Node(tree, folder, "b", sim.url, db_url)
    a.call("POST", "/clients", {"clientId": "vendas"})
    code = wait(lambda: a.call("GET", "/clients/vendas/qr", headers={"Accept": "application/json"}).get("code"), 30,
                0.2)
    sim.control.scan(code, phone)
    wait(lambda: a.call("GET", "/clients/vendas")["status"] == "ready", 30, 0.1)
    time.sleep(2)  # a's lease taken, its lanes settled
    return a, b


def one_send(sim: SimServer, a: Node, b: Node, phone: str, text: str) -> float:
    """Seconds from b's API accepting an auto-routed message to the simulator having it from a's number."""
    started = time.monotonic()
    b.call("POST", "/messages", {"to": CONTACT, "text": text})
    wait(lambda: any(m["text"] == text for m in sim.control.sent(phone)), 20, 0.01)
    return time.monotonic() - started


class Frames:
    """The arrival time of each `message` frame on one node's SSE stream."""

    def __init__(self, node: Node):
        request = urllib.request.Request(node.url + "/events?types=message", headers={"X-Api-Key": node.key})
        self.reply = urllib.request.urlopen(request, timeout=60)
        self.seen: dict[str, float] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self.reply:
            line = raw.decode()
            if line.startswith("data: "):
                self.seen[json.loads(line[6:])["data"]["message"]["body"]] = time.monotonic()


def listen_sizes(db_url: str, sizes: dict[str, list[int]], stop: threading.Event) -> None:
    """Record every notification's payload size by event type (a bench-side listener)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("LISTEN zapool_events")
        while not stop.is_set():
            for notify in conn.notifies(timeout=0.5):
                kind = json.loads(notify.payload).get("type", "by reference")
                sizes[kind].append(len(notify.payload.encode()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--before", default="91c8119", help="the commit to compare with")
    args = parser.parse_args()
    sizes: dict[str, list[int]] = defaultdict(list)
    stop = threading.Event()
    clusters: dict[str, tuple[Node, Node]] = {}
    with tempfile.TemporaryDirectory(prefix="cluster-events-") as tmp, SimServer(**FAST) as sim:
        pg = PostgresServer().start()
        try:
            Path(tmp, "before-tree").mkdir()
            trees = {"before": export(args.before, Path(tmp, "before-tree")), "after": ROOT}
            databases = {label: pg.create_database() for label in trees}
            for (label, tree), phone in zip(trees.items(), ("5511999990001", "5511999990002")):
                clusters[label] = cluster(tree, Path(tmp, label), sim, databases[label], phone)
            threading.Thread(target=listen_sizes, args=(databases["after"], sizes, stop), daemon=True).start()
            times: dict[str, list[float]] = {"before": [], "after": []}
            for i in range(args.rounds):
                for label, phone in (("before", "5511999990001"), ("after", "5511999990002")):
                    a, b = clusters[label]
                    times[label].append(one_send(sim, a, b, phone, f"{label} {i}"))
                    time.sleep(random.uniform(0.2, 2.2))
            relay = sse_rounds(sim, *clusters["after"], "5511999990002", max(5, args.rounds // 3))
            report(times, relay, sizes)
        finally:
            stop.set()
            for a, b in clusters.values():
                a.stop()
                b.stop()
            pg.close()


def sse_rounds(sim: SimServer, a: Node, b: Node, phone: str, rounds: int) -> dict[str, list[float]]:
    """Seconds from the simulator delivering an incoming message to its frame on a's stream and on b's."""
    own, other = Frames(a), Frames(b)
    out: dict[str, list[float]] = {"own": [], "relayed": []}
    time.sleep(1)
    for i in range(rounds):
        text = f"entrada {i}"
        started = time.monotonic()
        sim.control.incoming(phone, CONTACT, text)
        wait(lambda text=text: text in own.seen and text in other.seen, 20)
        out["own"].append(own.seen[text] - started)
        out["relayed"].append(other.seen[text] - started)
        time.sleep(0.3)
    return out


def report(times: dict[str, list[float]], relay: dict[str, list[float]], sizes: dict[str, list[int]]) -> None:
    """Medians and spreads in ms, the load average, the payload sizes."""
    def ms(values: list[float]) -> str:
        ordered = sorted(values)
        return (f"median {statistics.median(ordered) * 1000:.0f} ms, p90 "
                f"{ordered[int(len(ordered) * 0.9) - 1] * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms "
                f"(n={len(ordered)})")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for label, values in times.items():
        print(f"accept on b -> sent by a, {label}: {ms(values)}")
    for label, values in relay.items():
        print(f"incoming -> SSE frame, {label}: {ms(values)}")
    for kind, values in sorted(sizes.items()):
        print(f"NOTIFY payload {kind}: median {statistics.median(values):.0f} B, max {max(values)} B (n={len(values)})")


if __name__ == "__main__":
    main()
