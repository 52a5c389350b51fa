"""Numbers that survive a machine (issue 20, placed mode: the nodes share ZAPOOL_CLUSTER_PASSPHRASE): real
`app.py` node processes on one real PostgreSQL and the simulator. A node killed with SIGKILL (its browsers
with it, as a machine that dies) loses its numbers to the others once its leases expire, and they come back
ready there from their login snapshots in PostgreSQL: nobody scans a QR code again. A node that joins takes its
share from the others, again without a scan. A node started with another passphrase stops and says why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.auth.service import AuthService
from backend.store.pg_db import PgDatabase
from tests.api_support import FAST_SCRYPT, Api
from tests.conftest import link_number, wait_until
from tests.ui_support import ROOT, AppProcess

pytestmark = [pytest.mark.process, pytest.mark.browser]
TTL = "4"
PASSPHRASE = "frase do cluster de testes"
CUSTOMER = "5511988887777"


def phone_of(i: int) -> str:
    """The simulator's phone that links number i."""
    return f"55119999900{i:02d}"


@pytest.fixture
def nodes(tmp_path: Path, sim, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., tuple[AppProcess, Api]]]:
    """Starts placed cluster nodes (app.py processes), each on its own data folder; all stopped after."""
    monkeypatch.setenv("ZAPOOL_CLUSTER_PASSPHRASE", PASSPHRASE)
    started: list[AppProcess] = []

    def start(name: str) -> tuple[AppProcess, Api]:
        data = tmp_path / name / "dados"
        auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
        auth.reset_password("senha-forte-123")
        _, key = auth.create_api_key("testes")
        app = AppProcess(data, sim.url).start("--send-interval", "0", "--database", pg_url, "--node", name,
                                              "--node-capacity", "5", "--lease-ttl", TTL)
        started.append(app)
        return app, Api(app.url, key)

    yield start
    for app in started:
        app.stop()


def holders(api: Api) -> dict[str, str]:
    """Number -> node, from /cluster's live leases."""
    return {lease["clientId"]: lease["node"] for lease in api.call("GET", "/cluster").json["leases"]}


def ready_where(api: Api) -> dict[str, str]:
    """Number -> node of every number the cluster lists as ready (from any node's /clients/all)."""
    listed = api.call("GET", "/clients/all")
    assert listed.status == 200, listed.json
    return {c["clientId"]: c.get("node") for c in listed.json if c["status"] == "ready"}


def link(sim, api: Api, client_id: str, phone: str) -> None:
    """Add a number through this node's API and scan its QR code on the simulator's phone."""
    link_number(sim, phone, client_id, start=lambda: api.call("POST", "/clients", {"clientId": client_id}).json,
                code=lambda: api.call("GET", f"/clients/{client_id}/qr", headers={"Accept": "application/json"}).json["code"],
                info=lambda: api.call("GET", f"/clients/{client_id}").json, timeout=30)


def send_through(sim, api: Api, client_id: str, phone: str, text: str) -> None:
    """A message sent by the number (through any node's API), arriving at the simulator from that phone."""
    sent = api.call("POST", "/messages?wait=true", {"to": CUSTOMER, "text": text, "clientId": client_id})
    assert sent.status == 200 and sent.json["status"] in ("sent", "delivered", "read"), sent.json
    assert text in [m["text"] for m in sim.control.sent(phone)]


def test_a_killed_nodes_numbers_come_back_elsewhere_without_a_scan_and_a_new_node_takes_its_share(nodes, sim, pg_url):
    started = {name: nodes(name) for name in ("n1", "n2", "n3")}
    numbers = {f"num{i}": phone_of(i) for i in range(6)}
    for i, (client_id, phone) in enumerate(numbers.items()):  # two numbers linked through each node's API
        link(sim, started[f"n{i % 3 + 1}"][1], client_id, phone)
    api1 = started["n1"][1]
    wait_until(lambda: sorted(holders(api1).values()) == ["n1", "n1", "n2", "n2", "n3", "n3"], timeout=20,
               what="two numbers held by each node", every=0.25)
    wait_until(lambda: len(ready_where(api1)) == 6, timeout=20, what="every number ready", every=0.25)
    snapshots = PgDatabase(pg_url).open()  # the first login snapshots, written a few seconds after login
    wait_until(lambda: snapshots.one("SELECT count(*) FROM profile_snapshots")[0] == 6, timeout=30,
               what="a login snapshot of every number in PostgreSQL", every=0.25)
    snapshots.close()

    victim, _ = started["n3"]
    lost = sorted(c for c, n in holders(api1).items() if n == "n3")
    os.killpg(victim.proc.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: (now := ready_where(api1)) and all(now.get(c) in ("n1", "n2") for c in lost), timeout=60,
               what="n3's numbers ready on n1 and n2 (no QR code scanned)", every=0.25)
    failover_s = time.monotonic() - killed_at
    assert sorted(holders(api1).values()) == ["n1", "n1", "n1", "n2", "n2", "n2"]
    for client_id in lost:
        send_through(sim, api1, client_id, numbers[client_id], f"De volta em outro nó: {client_id}")
    print(f"failover: kill -9 -> {len(lost)} numbers ready elsewhere in {failover_s:.1f} s (lease TTL {TTL} s)")

    _, api4 = nodes("n4")
    wait_until(lambda: sorted(holders(api4).values()) == ["n1", "n1", "n2", "n2", "n4", "n4"], timeout=60,
               what="the new node holding its share", every=0.25)
    wait_until(lambda: sorted(ready_where(api4).values()) == ["n1", "n1", "n2", "n2", "n4", "n4"], timeout=60,
               what="every number ready again, two on n4 (no QR code scanned)", every=0.25)
    moved = sorted(c for c, n in holders(api4).items() if n == "n4")
    for client_id in moved:
        send_through(sim, api4, client_id, numbers[client_id], f"Agora no n4: {client_id}")


def test_a_node_with_another_passphrase_stops_and_says_why(nodes, tmp_path, pg_url, sim):
    nodes("n1")  # the first node made the cluster's key under PASSPHRASE
    data = tmp_path / "n2" / "dados"
    AuthService.in_folder(data, scrypt=FAST_SCRYPT).reset_password("senha-forte-123")
    refused = subprocess.run(
        [sys.executable, "app.py", "--headless", "--port", "0", "--data", str(data), "--whatsapp-url", sim.url,
         "--database", pg_url, "--node", "n2"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "ZAPOOL_CLUSTER_PASSPHRASE": "outra frase qualquer"})
    assert refused.returncode != 0
    assert "ZAPOOL_CLUSTER_PASSPHRASE does not open this cluster's snapshot key" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout
