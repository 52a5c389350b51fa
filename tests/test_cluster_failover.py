"""Numbers that survive a machine (issue 20, placed mode: the nodes share ZAPOOL_CLUSTER_PASSPHRASE): real
`app.py` node processes on one real PostgreSQL and the simulator. A node killed with SIGKILL (its browsers
with it, as a machine that dies) loses its numbers to the others once its leases expire, and they come back
ready there from their login snapshots in PostgreSQL: nobody scans a QR code again. A node that joins takes its
share from the others, again without a scan. A node started with another passphrase stops and says why."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.auth.service import AuthService
from backend.store.pg_db import PgDatabase
from backend.store.pg_messages import PgMessageStore
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

    def start(name: str, database: str = pg_url) -> tuple[AppProcess, Api]:
        data = tmp_path / name / "dados"
        auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
        auth.reset_password("senha-forte-123")
        _, key = auth.create_api_key("testes")
        app = AppProcess(data, sim.url).start("--send-interval", "0", "--database", database, "--node", name,
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


class SteadyLoad:
    """Messages sent through one node's API to every number in turn, 5 a second, from a thread (without
    waiting: accepted into the shared outbox), until stopped. Keeps what was accepted and what was refused."""

    def __init__(self, api: Api, numbers: list[str]):
        self.api, self.numbers = api, numbers
        self.accepted: dict[str, tuple[str, str]] = {}  # message id -> (number, text)
        self.refused: list[tuple[int, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(0.2):
            client_id, text = self.numbers[i % len(self.numbers)], f"carga {i}"
            reply = self.api.call("POST", "/messages", {"to": CUSTOMER, "text": text, "clientId": client_id})
            if reply.status in (200, 202):
                self.accepted[reply.json["id"]] = (client_id, text)
            else:
                self.refused.append((reply.status, reply.json))
            i += 1


def senders_in_turn(sent: list[dict[str, Any]]) -> list[str]:
    """The tabs that sent for one phone, in order, each once per turn: [a, b] when b took over from a;
    [a, b, a] would be two places sending for one number at once."""
    turns: list[str] = []
    for record in sorted(sent, key=lambda r: r["at"]):
        if not turns or turns[-1] != record["session"]:
            turns.append(record["session"])
    return turns


def assert_each_sent_once_by_one_tab_at_a_time(sim, store: PgMessageStore, numbers: dict[str, str],
                                               load: SteadyLoad) -> list[list[str]]:
    """Every accepted message sent (at most one twice per number, the one in flight), and for each number no tab
    sending again after another took over; returns each number's tabs in turn."""
    wait_until(lambda: all(store.get(m).status in ("sent", "delivered", "read") for m in load.accepted),
               timeout=60, what="every accepted message sent", every=0.5)
    all_turns = []
    for client_id, phone in numbers.items():
        sent = sim.control.sent(phone)
        texts = [r["text"] for r in sent]
        wanted = {text for number, text in load.accepted.values() if number == client_id}
        assert wanted <= set(texts), (client_id, sorted(wanted - set(texts)))
        assert len(texts) - len(set(texts)) <= 1, (client_id, texts)
        turns = senders_in_turn(sent)
        assert len(turns) == len(set(turns)), (client_id, turns)
        all_turns.append(turns)
    return all_turns


def test_kill_9_under_load_numbers_come_back_elsewhere_without_a_scan_and_a_new_node_takes_its_share(
        nodes, sim, pg_url):
    """Three nodes, three numbers linked through each (the issue's 3/3/3); kill -9 of one under a steady load: its
    numbers ready on the others from their snapshots (no QR code scanned), every accepted message sent, at most
    one twice, one tab sending per number at a time. Then a fourth node joins and ends up with three numbers,
    ready, sending."""
    started = {name: nodes(name) for name in ("n1", "n2", "n3")}
    numbers = {f"num{i}": phone_of(i) for i in range(9)}
    for i, (client_id, phone) in enumerate(numbers.items()):
        link(sim, started[f"n{i % 3 + 1}"][1], client_id, phone)
    api1 = started["n1"][1]
    shared = PgDatabase(pg_url).open()
    wait_until(lambda: sorted(holders(api1).values()) == ["n1"] * 3 + ["n2"] * 3 + ["n3"] * 3, timeout=30,
               what="3/3/3", every=0.25)
    wait_until(lambda: shared.one("SELECT count(*) FROM profile_snapshots")[0] == 9, timeout=30,
               what="a login snapshot of every number", every=0.25)
    lost = sorted(c for c, n in holders(api1).items() if n == "n3")

    with SteadyLoad(started["n2"][1], list(numbers)) as load:  # through n2's API, n2 survives
        time.sleep(2)
        os.killpg(started["n3"][0].proc.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: (now := ready_where(api1)) and all(now.get(c) in ("n1", "n2") for c in lost),
                   timeout=60, what="n3's numbers ready elsewhere (no QR code scanned)", every=0.25)
        failover_s = time.monotonic() - killed_at
        time.sleep(2)
    assert load.refused == [] and len(load.accepted) > 30
    assert sorted(Counter(holders(api1).values()).items()) in ([("n1", 4), ("n2", 5)], [("n1", 5), ("n2", 4)])
    print(f"failover: kill -9 -> {len(lost)} numbers ready elsewhere in {failover_s:.1f} s (lease TTL {TTL} s)")

    turns = assert_each_sent_once_by_one_tab_at_a_time(sim, PgMessageStore(shared), numbers, load)
    assert [len(t) for t in turns] == [2 if c in lost else 1 for c in numbers]  # the dead node's, then the new
    shared.close()

    _, api4 = nodes("n4")
    spread = ["n1"] * 3 + ["n2"] * 3 + ["n4"] * 3
    wait_until(lambda: sorted(holders(api4).values()) == spread, timeout=60, what="the new node holding its share",
               every=0.25)
    wait_until(lambda: sorted(ready_where(api4).values()) == spread, timeout=60,
               what="every number ready again, three on n4 (no QR code scanned)", every=0.25)
    for client_id in sorted(c for c, n in holders(api4).items() if n == "n4"):
        send_through(sim, api4, client_id, numbers[client_id], f"Agora no n4: {client_id}")


def test_a_node_paused_past_its_leases_sends_nothing_when_it_resumes(nodes, sim, pg_url):
    started = {name: nodes(name) for name in ("n1", "n2")}
    numbers = {f"num{i}": phone_of(i) for i in range(4)}
    for i, (client_id, phone) in enumerate(numbers.items()):
        link(sim, started[f"n{i % 2 + 1}"][1], client_id, phone)
    api1 = started["n1"][1]
    shared = PgDatabase(pg_url).open()
    wait_until(lambda: shared.one("SELECT count(*) FROM profile_snapshots")[0] == 4, timeout=30,
               what="a login snapshot of every number", every=0.25)
    paused = started["n2"][0].proc.pid  # the node's own process: its browsers keep running, as in a long GC pause
    moved = sorted(c for c, n in holders(api1).items() if n == "n2")

    with SteadyLoad(api1, list(numbers)) as load:
        time.sleep(1)
        os.kill(paused, signal.SIGSTOP)
        try:
            wait_until(lambda: (now := ready_where(api1)) and all(now.get(c) == "n1" for c in moved),
                       timeout=60, what="the paused node's numbers ready on n1", every=0.5)
        finally:
            os.kill(paused, signal.SIGCONT)
        time.sleep(4)  # the resumed node finds its leases gone: whatever it had claimed is refused
    assert load.refused == []

    assert_each_sent_once_by_one_tab_at_a_time(sim, PgMessageStore(shared), numbers, load)
    shared.close()


def test_postgresql_restarted_under_load_the_nodes_wait_and_every_number_comes_back(nodes, sim):
    from bench.postgres import PostgresServer

    # Its own, as a deployment runs it (docs/CLUSTER.md: fsync and synchronous_commit on): this test crashes it,
    # and with synchronous_commit off a crash loses the last commits, messages the API had already accepted.
    server = PostgresServer(durable=True).start()
    try:
        url = server.create_database()
        started = {name: nodes(name, url) for name in ("n1", "n2", "n3")}
        numbers = {f"num{i}": phone_of(i) for i in range(6)}
        for i, (client_id, phone) in enumerate(numbers.items()):
            link(sim, started[f"n{i % 3 + 1}"][1], client_id, phone)
        api1 = started["n1"][1]
        shared = PgDatabase(url).open()
        wait_until(lambda: shared.one("SELECT count(*) FROM profile_snapshots")[0] == 6, timeout=30,
                   what="a login snapshot of every number", every=0.25)
        with SteadyLoad(api1, list(numbers)) as load:
            time.sleep(2)
            server.stop("immediate")  # as a crash: longer than the leases (4 s), so every node lets go
            time.sleep(6)
            server.start()
            wait_until(lambda: len(ready_where(api1)) == 6, timeout=90, what="every number ready again",
                       every=0.5)
            time.sleep(2)
        assert {status for status, _ in load.refused} <= {503}, load.refused  # refused only while it was down
        assert_each_sent_once_by_one_tab_at_a_time(sim, PgMessageStore(shared), numbers, load)
        shared.close()
    finally:
        server.close()


def test_media_a_dead_node_kept_is_fetched_again_by_the_node_that_takes_its_number(nodes, sim, pg_url):
    """A document received while n1 drove the number was kept on n1's disk; n1 dies. Asked through n2, which
    restored the number, it is downloaded again from WhatsApp (the shared log says it had media) and served
    whole, where before the node that took the number answered 404 for ever."""
    (first, api1), (_, api2) = nodes("n1"), nodes("n2")
    link(sim, api1, "num0", phone_of(0))
    shared = PgDatabase(pg_url).open()
    wait_until(lambda: shared.one("SELECT count(*) FROM profile_snapshots")[0] == 1, timeout=30,
               what="the number's login snapshot", every=0.25)
    shared.close()
    document = bytes(range(256)) * 40
    wa_id = sim.control.incoming(phone_of(0), CUSTOMER, media={
        "type": "document", "mimetype": "application/pdf", "filename": "boleto.pdf",
        "data": base64.b64encode(document).decode()})["id"]
    path = f"/clients/num0/messages/{wa_id}/media"
    wait_until(lambda: api1.call("GET", path).status == 200, timeout=20, what="kept on n1", every=0.25)

    os.killpg(first.proc.pid, signal.SIGKILL)
    wait_until(lambda: ready_where(api2).get("num0") == "n2", timeout=60, what="num0 ready on n2", every=0.25)
    got = wait_until(lambda: (r := api2.call("GET", path)).status == 200 and r, timeout=30,
                     what="the document fetched again on n2", every=0.5)

    assert got.body == document and got.headers["Content-Type"] == "application/pdf"
