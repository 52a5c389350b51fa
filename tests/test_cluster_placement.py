"""Which node drives which number (issue 20, backend/cluster/placement.py, registry.py, store/pg_snapshots.py):
the spreading rule on its own, then its PostgreSQL parts: the login snapshots written only under the lease,
the cluster's snapshot key opened only with its passphrase, the registry written only by the number's node."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from backend.cluster.keys import snapshot_sealer
from backend.cluster.node import ClusterNode
from backend.cluster.placement import assign, surplus
from backend.cluster.registry import NodeSessions, claim
from backend.errors import Conflict, LeaseLost
from backend.sealing import WrongPassphrase
from backend.store.pg_cluster import ClusterStore, NodeRecord
from backend.store.pg_db import PgDatabase
from backend.store.pg_sessions import PgSessionStore
from backend.store.pg_snapshots import PgClusterKeys, PgSnapshotShelf

NOW = datetime(2026, 12, 5, tzinfo=timezone.utc)


def node(name: str, leases: int, capacity: int = 10, *, alive: bool = True, draining: bool = False) -> NodeRecord:
    """A node as the cluster lists it."""
    return NodeRecord(name, capacity, NOW, NOW, draining, alive, leases)


def test_a_dead_nodes_numbers_go_to_the_nodes_with_most_room_and_never_past_capacity():
    nodes = [node("a", 3), node("b", 1, capacity=2), node("c", 0, alive=False), node("d", 0, draining=True)]
    given = assign([f"n{i}" for i in range(12)], nodes)
    assert given["n0"] == "a"  # a has 7 free, b 1: the dead and the draining node get nothing
    assert sorted(given.values()).count("b") == 1
    assert len(given) == 8 and set(given.values()) == {"a", "b"}  # 7 + 1 free: four numbers wait


def test_nodes_started_together_share_by_capacity_and_ties_go_by_name():
    assert assign(["x", "y", "z"], [node("b", 0), node("a", 0), node("c", 0, capacity=11)]) == {
        "x": "c", "y": "a", "z": "b"}  # c has one more free; then all have 10 free and a goes first


def test_a_node_holding_everything_hands_the_newcomers_their_share():
    nodes = [node("n1", 9), node("n2", 0), node("n3", 0)]
    assert surplus("n1", nodes) == 6
    assert surplus("n2", nodes) == 0


def test_a_fourth_node_gets_one_from_each_of_three_balanced_nodes():
    nodes = [node("n1", 3), node("n2", 3), node("n3", 3), node("n4", 0)]
    assert [surplus(n.name, nodes) for n in nodes] == [1, 1, 1, 0]
    after = [node("n1", 2), node("n2", 2), node("n3", 2), node("n4", 3)]
    assert [surplus(n.name, after) for n in after] == [0, 0, 0, 0]  # 2/2/2/3 is even: nothing goes round


def test_no_hand_over_to_a_dead_draining_or_full_node():
    assert surplus("n1", [node("n1", 6), node("n2", 0, alive=False), node("n3", 0, draining=True)]) == 0
    assert surplus("n1", [node("n1", 6), node("n2", 1, capacity=1)]) == 0
    assert surplus("gone", [node("n1", 6)]) == 0


@pytest.fixture
def db(pg_url: str) -> Iterator[PgDatabase]:
    """A migrated cluster database."""
    database = PgDatabase(pg_url).open()
    ClusterStore(database)
    yield database
    database.close()


def two_nodes(db: PgDatabase) -> tuple[ClusterNode, ClusterNode]:
    """Nodes a and b on one database (no heartbeat worker: the tests take leases by hand)."""
    store = ClusterStore(db)
    return ClusterNode(store, "a", capacity=5, ttl_s=30), ClusterNode(store, "b", capacity=5, ttl_s=30)


def test_a_snapshot_is_written_only_under_the_numbers_lease(db: PgDatabase):
    a, b = two_nodes(db)
    shelf_a = PgSnapshotShelf(db, fence=lambda cid: a.lease(cid).token)
    shelf_b = PgSnapshotShelf(db, fence=lambda cid: b.lease(cid).token)
    claim(a, "vendas")
    shelf_a.write("vendas", b"sealed by a")
    with pytest.raises(LeaseLost):
        shelf_b.write("vendas", b"sealed by b")  # b holds no lease
    with pytest.raises(LeaseLost):
        claim(b, "vendas")
    stale = a.lease("vendas")
    a.release("vendas")
    claim(b, "vendas")
    shelf_b.write("vendas", b"sealed by b")
    a._held["vendas"] = (stale, float("inf"))  # a believes it still holds it (a paused process): the database says no
    with pytest.raises(LeaseLost):
        shelf_a.write("vendas", b"stale bytes from a")
    assert shelf_b.read("vendas") == b"sealed by b"
    shelf_b.set_aside("vendas")
    assert shelf_b.read("vendas") is None
    assert db.one("SELECT sealed FROM profile_snapshots_aside WHERE client_id = 'vendas'")[0] == b"sealed by b"


def test_the_cluster_key_is_made_once_and_opens_only_with_its_passphrase(db: PgDatabase):
    first = snapshot_sealer(PgClusterKeys(db), "frase do cluster")
    second = snapshot_sealer(PgClusterKeys(db), "frase do cluster")
    sealed = first.seal(b"perfil", "snapshot/vendas")
    assert second.open(sealed, "snapshot/vendas") == b"perfil"
    assert b"perfil" not in sealed
    with pytest.raises(WrongPassphrase):
        snapshot_sealer(PgClusterKeys(db), "outra frase")


def test_the_registry_is_written_only_by_the_numbers_node(db: PgDatabase):
    a, b = two_nodes(db)
    on_a, on_b = NodeSessions(PgSessionStore(db), a), NodeSessions(PgSessionStore(db), b)
    on_a.save({"clientId": "vendas", "status": "ready"})  # new: a takes the lease, then writes
    assert a.lease("vendas").node == "a"
    on_b.save({"clientId": "vendas", "status": "disconnected"})  # b does not hold it: nothing written
    on_b.update("vendas", lambda r: r.update(status="error"))
    assert on_a.get("vendas")["status"] == "ready" and on_b.all() == []
    claim(b, "suporte")  # b holds a lease on a number nobody registered yet: a cannot add it
    with pytest.raises(Conflict):
        on_a.save({"clientId": "suporte", "status": "idle"})
    on_a.remove("vendas")
    assert on_b.get("vendas") is None and b.acquire("vendas") is not None  # removed and its lease given up
