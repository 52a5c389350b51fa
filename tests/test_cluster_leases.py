"""Leases with fencing on a real PostgreSQL (issue 20): one owner per number, a higher token for every new
owner, and writes under a stale lease refused by the database itself, also from a process paused past its
lease (a real SIGSTOP)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from backend.cluster import ClusterNode
from backend.errors import LeaseLost, Unavailable
from backend.store.pg_cluster import STALE_LEASE, ClusterStore, Lease
from backend.store.pg_db import PgDatabase
from bench.postgres import PostgresServer
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(pg_url: str) -> Iterator[PgDatabase]:
    """The test's database, opened; closed after."""
    database = PgDatabase(pg_url).open()
    yield database
    database.close()


@pytest.fixture
def store(db: PgDatabase) -> ClusterStore:
    """A cluster store over the test's database, with a table for the fenced writes the tests make."""
    with db.transaction() as conn:
        conn.execute("CREATE TABLE writes (client_id text, node text, token bigint)")
    return ClusterStore(db)


def time_passes(db: PgDatabase, client_id: str) -> None:
    """The number's lease runs out, as if its TTL had passed (one test per behaviour waits for real)."""
    with db.transaction() as conn:
        conn.execute("UPDATE leases SET expires_at = clock_timestamp() - interval '1 ms' WHERE client_id = %s",
                     (client_id,))


def writes(db: PgDatabase) -> list[tuple[str, str, int]]:
    """The fenced writes that were committed."""
    return [tuple(row) for row in db.all("SELECT client_id, node, token FROM writes ORDER BY token")]


def test_migrations_run_once_even_when_nodes_start_together(db: PgDatabase):
    stores, errors = [], []

    def start() -> None:
        try:
            stores.append(ClusterStore(PgDatabase(db.url).open()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(stores) == 4
    assert db.all("SELECT component, version FROM schema_migrations ORDER BY version") == [("cluster", 1),
                                                                                          ("cluster", 2)]


def test_two_nodes_never_hold_one_lease_even_when_they_race_for_it(store: ClusterStore):
    numbers = [f"n{i}" for i in range(20)]
    won: dict[str, list[str]] = {n: [] for n in numbers}
    start = threading.Barrier(6)

    def race(node: str) -> None:
        start.wait()
        for number in numbers:
            if store.acquire(number, node, 30) is not None:
                won[number].append(node)

    threads = [threading.Thread(target=race, args=(f"node{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(len(owners) == 1 for owners in won.values()), won
    assert {lease.client_id: lease.node for lease in store.leases()} == {n: won[n][0] for n in numbers}
    assert store.acquire("n0", "latecomer", 30) is None


def test_an_expired_lease_is_taken_by_another_node_with_a_higher_token(store: ClusterStore):
    first = store.acquire("5511999990001", "a", 1.0)
    assert first is not None and store.acquire("5511999990001", "b", 30) is None
    time.sleep(1.1)  # real time: the database's clock decides
    second = store.acquire("5511999990001", "b", 30)
    assert second is not None and second.node == "b" and second.token > first.token
    assert store.heartbeat("a", 1, 30) == []  # a's heartbeat no longer renews it
    assert [lease.node for lease in store.leases()] == ["b"]


def test_a_write_under_a_stale_token_is_refused_by_the_database(store: ClusterStore, db: PgDatabase):
    old = store.acquire("5511999990001", "a", 30)
    assert old is not None
    with store.fenced(old) as conn:
        conn.execute("INSERT INTO writes VALUES (%s, %s, %s)", (old.client_id, "a", old.token))
    time_passes(db, "5511999990001")
    new = store.acquire("5511999990001", "b", 30)
    assert new is not None
    with pytest.raises(LeaseLost):
        with store.fenced(old) as conn:
            conn.execute("INSERT INTO writes VALUES (%s, %s, %s)", (old.client_id, "a", old.token))
    with store.fenced(new) as conn:
        conn.execute("INSERT INTO writes VALUES (%s, %s, %s)", (new.client_id, "b", new.token))
    # The check is the database's: plain SQL with the old token fails there, with ZapPool's SQLSTATE.
    with psycopg.connect(db.url) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("SELECT zapool_fence(%s, %s)", (old.client_id, old.token))
    assert refused.value.sqlstate == STALE_LEASE
    assert writes(db) == [("5511999990001", "a", old.token), ("5511999990001", "b", new.token)]


def test_an_expired_lease_refuses_writes_even_before_anyone_takes_it(store: ClusterStore, db: PgDatabase):
    lease = store.acquire("5511999990001", "a", 30)
    assert lease is not None
    with store.fenced(lease):
        pass  # fine while it lasts
    time_passes(db, "5511999990001")
    with pytest.raises(LeaseLost):
        with store.fenced(lease):
            pass


def test_the_heartbeat_keeps_a_lease_for_many_ttls_and_a_drained_node_hands_it_over_at_once(store):
    node = ClusterNode(store, "a", capacity=3, ttl_s=2.0, renew_every_s=0.2)
    node.start()
    try:
        lease = node.acquire("5511999990001")
        assert lease is not None
        time.sleep(4.5)  # 2.25 TTLs
        assert store.acquire("5511999990001", "b", 30) is None
        assert node.lease("5511999990001").token == lease.token
        assert [(n.name, n.alive, n.leases) for n in store.nodes(2.0)] == [("a", True, 1)]
    finally:
        node.stop()
    taken = store.acquire("5511999990001", "b", 30)
    assert taken is not None and taken.token == lease.token + 1


def test_a_node_that_loses_a_lease_forgets_it_and_tells_its_listeners(store: ClusterStore):
    node = ClusterNode(store, "a", capacity=3, ttl_s=0.4, renew_every_s=10)  # no renewal in time
    node.start()
    lost: list[Lease] = []
    node.on_lost(lost.append)
    try:
        lease = node.acquire("5511999990001")
        wait_until(lambda: store.acquire("5511999990001", "b", 30), timeout=5, what="the lease to run out")
        with pytest.raises(LeaseLost):
            node.lease("5511999990001")  # its own deadline passed: it knows without asking
        node._worker.kick()
        wait_until(lambda: lost == [lease], timeout=5)
        assert node.held() == []
    finally:
        node.stop()


def test_a_node_cut_off_from_postgresql_stops_driving_its_numbers_by_its_own_deadline(pg_server: PostgresServer):
    server = PostgresServer().start()  # its own server: this test stops it
    db = PgDatabase(server.create_database(), wait_s=0.5).open()
    try:
        store = ClusterStore(db)
        node = ClusterNode(store, "a", capacity=1, ttl_s=1.0, renew_every_s=0.2)
        node.start()
        lease = node.acquire("5511999990001")
        assert lease is not None and node.lease("5511999990001") == lease
        server.stop()
        with pytest.raises(Unavailable):
            store.acquire("5511999990002", "a", 1.0)
        wait_until(lambda: node.held() == [], timeout=5)
        with pytest.raises(LeaseLost):
            node.lease("5511999990001")
        node.stop(release=False)
    finally:
        db.close()
        server.close()


@pytest.mark.process
def test_a_holder_paused_past_its_lease_cannot_write_when_it_resumes(store: ClusterStore, db: PgDatabase):
    child = subprocess.Popen([sys.executable, "-m", "tests.cluster_holder", db.url, "paused", "5511999990001",
                              "2.0"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        def ask(command: str) -> str:
            child.stdin.write(command + "\n")
            child.stdin.flush()
            return child.stdout.readline().strip()

        token = int(child.stdout.readline().split()[1])
        assert ask("write") == "written"
        os.kill(child.pid, signal.SIGSTOP)
        time.sleep(2.3)
        taker = store.acquire("5511999990001", "taker", 30)
        assert taker is not None and taker.token == token + 1
        os.kill(child.pid, signal.SIGCONT)
        assert ask("write") == "refused lease_lost"
        assert ask("local") == "lost"
        assert writes(db) == [("5511999990001", "paused", token)]
    finally:
        child.kill()
        child.wait(10)
