"""Send throughput of a three-node cluster beside one node (issue 20), side by side in one run, pacing off.

Two placed clusters (ZAPOOL_CLUSTER_PASSPHRASE) on one real PostgreSQL server, each in its own database, and
the simulator in its own process: "one" is 1 node driving 6 numbers, "three" is 3 nodes driving 2 numbers
each (6 numbers too). Each round accepts `--messages` messages through one node's API (pinned to the
cluster's numbers in turn, from 4 threads) and times from the first request until the shared outbox has them
all sent; rounds alternate one, three, one, ... CPU seconds of each cluster's processes (app.py and its
Chromium), read from /proc before and after each round, are reported per message.

Read the wall-clock ratio for what it is: both clusters run on this one machine (`nproc` 2), so "three"'s
nodes share the same two cores as "one"'s single node. What a cluster adds per message is the CPU figure:
with the same CPU per message, three nodes on three such machines send three times what one does, until the
database is the limit (its own CPU is reported too).

    .venv/bin/python -m bench.cluster_throughput --rounds 5 --messages 120
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

from bench.cluster_events import ROOT, Node, wait
from bench.postgres import PostgresServer
from bench.procs import descendants
from wasim.control import SimControl

PASSPHRASE = "frase do cluster de medida"
FAST = {"ack_delivered_ms": 100, "ack_read_ms": 200, "load_ms": 20, "main_ready_on_qr": True}
CONTACT = "5521977776666"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_simulator() -> tuple[subprocess.Popen[str], SimControl, str]:
    """`python -m wasim` in its own process; its process, its control client and its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "wasim", "--port", str(port)], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    control = SimControl(url)
    wait(lambda: _answers(control), 30, 0.2)
    control.configure(**FAST)
    return proc, control, url


def _answers(control: SimControl) -> bool:
    """Whether the simulator answers yet."""
    try:
        control.state()
    except OSError:
        return False
    return True


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes and their descendants, from /proc."""
    total = 0
    for pid in {p for root in pids for p in [root, *descendants(root)]}:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


class Cluster:
    """Nodes of this tree on one database, each with its numbers linked on the simulator."""

    def __init__(self, label: str, folder: Path, db_url: str, sim: SimControl, sim_url: str, per_node: list[int]):
        self.label, self.db_url = label, db_url
        os.environ["ZAPOOL_CLUSTER_PASSPHRASE"] = PASSPHRASE
        self.nodes = [Node(ROOT, folder / label, f"{label}{i}", sim_url, db_url, rate=100_000)
                      for i in range(len(per_node))]
        self.numbers: list[str] = []
        for i, (node, count) in enumerate(zip(self.nodes, per_node)):
            for j in range(count):
                self._link(node, sim, f"{label}{i}n{j}", f"55119{len(label)}{i}{j:06d}")  # 13 digits, unique

    def _link(self, node: Node, sim: SimControl, client_id: str, phone: str) -> None:
        """Add a number through `node`'s API and scan its QR code."""
        node.call("POST", "/clients", {"clientId": client_id})
        code = wait(lambda: node.call("GET", f"/clients/{client_id}/qr",
                                      headers={"Accept": "application/json"}).get("code"), 30, 0.2)
        sim.scan(code, phone)
        wait(lambda: node.call("GET", f"/clients/{client_id}")["status"] == "ready", 30, 0.1)
        self.numbers.append(client_id)

    def pids(self) -> list[int]:
        """The nodes' processes."""
        return [node.proc.pid for node in self.nodes]

    def round(self, messages: int, tag: str) -> tuple[float, float]:
        """Accept `messages` through the first node, wait until all are sent: (seconds, CPU seconds)."""
        cpu_before, started = cpu_seconds(self.pids()), time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            ids = list(pool.map(lambda i: self.nodes[0].call("POST", "/messages", {
                "to": CONTACT, "text": f"{tag} {i}", "clientId": self.numbers[i % len(self.numbers)]})["id"],
                range(messages)))
        with psycopg.connect(self.db_url) as conn:
            wait(lambda: conn.execute("SELECT count(*) FROM messages WHERE id = ANY(%s) AND status IN "
                                      "('sent', 'delivered', 'read')", (ids,)).fetchone()[0] == messages, 120, 0.02)
        return time.monotonic() - started, cpu_seconds(self.pids()) - cpu_before

    def stop(self) -> None:
        """Stop every node (drained)."""
        for node in self.nodes:
            node.stop()


def main() -> None:
    """Build both clusters, run the rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=120)
    args = parser.parse_args()
    server = PostgresServer().start()
    sim_proc, sim, sim_url = start_simulator()
    folder = Path(tempfile.mkdtemp(prefix="zapool-throughput-"))
    clusters: list[Cluster] = []
    try:
        clusters = [Cluster("one", folder, server.create_database(), sim, sim_url, [6]),
                    Cluster("three", folder, server.create_database(), sim, sim_url, [2, 2, 2])]
        time.sleep(3)  # leases settled, first snapshots written
        results = {c.label: [] for c in clusters}
        db_cpu = {c.label: [] for c in clusters}
        for r in range(args.rounds):
            for cluster in clusters:
                before = server_cpu(server)
                results[cluster.label].append(cluster.round(args.messages, f"r{r}"))
                db_cpu[cluster.label].append(server_cpu(server) - before)
        report(results, db_cpu, args.messages)
    finally:
        for cluster in clusters:
            cluster.stop()
        os.killpg(sim_proc.pid, 15)
        server.close()


def server_cpu(server: PostgresServer) -> float:
    """CPU seconds of every PostgreSQL process of this server (the postmaster and its backends)."""
    pid = int((server.data / "postmaster.pid").read_text().split()[0])
    return cpu_seconds([pid])


def report(results: dict[str, list[tuple[float, float]]], db_cpu: dict[str, list[float]], messages: int) -> None:
    """Medians per cluster and the ratio three/one."""
    rate = {k: statistics.median(messages / s for s, _ in v) for k, v in results.items()}
    cpu = {k: statistics.median(c / messages * 1000 for _, c in v) for k, v in results.items()}
    db = {k: statistics.median(c / messages * 1000 for c in v) for k, v in db_cpu.items()}
    print(f"{'cluster':8} {'msgs/s (median)':>16} {'node CPU ms/msg':>16} {'PostgreSQL CPU ms/msg':>22}")
    for label in results:
        print(f"{label:8} {rate[label]:16.1f} {cpu[label]:16.2f} {db[label]:22.2f}")
    print(f"three/one: throughput {rate['three'] / rate['one']:.2f}x, node CPU per message "
          f"{cpu['three'] / cpu['one']:.2f}x (rounds: {len(results['one'])}, {messages} messages each)")


if __name__ == "__main__":
    main()
