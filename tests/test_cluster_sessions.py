"""The sessions registry's one interface (backend/store/session_protocol.py): the desktop's TinyDB file and the
cluster's PostgreSQL table implement it alike (each test below runs on both), and in PostgreSQL a number saved
or removed through one node's store is seen by every other node's (issue 20)."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.store.pg_db import PgDatabase
from backend.store.pg_sessions import PgSessionStore
from backend.store.session_protocol import SessionRecords
from backend.store.sessions import SessionStore


def record(client_id: str, status: str = "ready") -> dict:
    """A record in the seed's shape."""
    return {"clientId": client_id, "status": status, "phoneNumber": "5511999990000",
            "metadata": {"name": "<b>Ana</b>", "createdAt": "2026-01-01T00:00:00.000Z"}}


@pytest.fixture(params=["tinydb", "postgres"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], SessionRecords]]:
    """A factory of stores over one backing file or database (two calls: two nodes, or a restart)."""
    dbs: list[PgDatabase] = []
    if request.param == "tinydb":
        yield lambda: SessionStore(tmp_path / "whatsapp-sessions.json")
        return
    url = request.getfixturevalue("pg_url")

    def make() -> SessionRecords:
        dbs.append(PgDatabase(url).open())
        return PgSessionStore(dbs[-1])
    yield make
    for db in dbs:
        db.close()


@pytest.mark.parametrize("implementation", [SessionStore, PgSessionStore])
def test_both_stores_have_the_protocols_members(implementation: type) -> None:
    for name, value in vars(SessionRecords).items():
        if name.startswith("_"):
            continue
        found = inspect.getattr_static(implementation, name, None)
        if isinstance(value, property):
            assert isinstance(found, property), name
        elif callable(value):
            assert found is not None and inspect.signature(found) == inspect.signature(value), name


def test_records_round_trip_in_first_saved_order(make_store: Callable[[], SessionRecords]) -> None:
    store = make_store()
    store.save(record("b"))
    store.save(record("a"))
    store.save(record("b", "disconnected"))  # replaces, keeps its place
    assert [r["clientId"] for r in store.all()] == ["b", "a"]
    assert store.get("b") == record("b", "disconnected")
    assert store.get("missing") is None
    assert store.set_aside_as is None


def test_update_changes_one_record_and_ignores_absent(make_store: Callable[[], SessionRecords]) -> None:
    store = make_store()
    store.save(record("a"))
    store.update("a", lambda r: r.update(status="stopped"))
    store.update("missing", lambda r: r.update(status="stopped"))
    assert store.get("a")["status"] == "stopped"
    assert store.get("missing") is None


def test_records_survive_a_restart_and_removal_is_for_good(make_store: Callable[[], SessionRecords]) -> None:
    first = make_store()
    first.save(record("a"))
    first.save(record("b"))
    first.remove("a")
    assert [r["clientId"] for r in make_store().all()] == ["b"]


def test_a_number_added_on_one_node_exists_on_every_node(pg_url: str) -> None:
    node_a, node_b = PgDatabase(pg_url).open(), PgDatabase(pg_url).open()
    try:
        on_a, on_b = PgSessionStore(node_a), PgSessionStore(node_b)
        on_a.save(record("vendas"))
        assert on_b.get("vendas") == record("vendas")
        on_b.update("vendas", lambda r: r.update(status="stopped"))
        assert on_a.get("vendas")["status"] == "stopped"
        on_b.remove("vendas")
        assert on_a.all() == []
    finally:
        node_a.close()
        node_b.close()


def test_two_nodes_changing_one_number_lose_neither_change(pg_url: str) -> None:
    dbs = [PgDatabase(pg_url).open() for _ in range(2)]
    try:
        stores = [PgSessionStore(db) for db in dbs]
        stores[0].save({**record("vendas"), "metadata": {"count": 0}})

        def bump(store: PgSessionStore) -> None:
            for _ in range(30):
                store.update("vendas", lambda r: r["metadata"].update(count=r["metadata"]["count"] + 1))
        threads = [threading.Thread(target=bump, args=(store,)) for store in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert stores[1].get("vendas")["metadata"]["count"] == 60
    finally:
        for db in dbs:
            db.close()
