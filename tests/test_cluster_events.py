"""Events across the nodes of a cluster (issue 20) over a real PostgreSQL's LISTEN/NOTIFY: each node's relay
(backend/cluster/relay.py) puts the other nodes' events on its own bus, never its own twice, big ones by
reference, and listens again after PostgreSQL restarts."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from backend.cluster.relay import EventRelay
from backend.events.bus import EventBus
from backend.events.hub import ClientEvent
from backend.store.pg_db import PgDatabase
from backend.store.pg_events import NOTIFY_LIMIT, EventStore, Listener
from tests.conftest import wait_until


class Node:
    """One node's relay and bus on the cluster's database; `woken` records the lanes it was asked to run."""

    def __init__(self, url: str, name: str):
        self.db = PgDatabase(url, wait_s=1.0).open()
        self.bus = EventBus(first_id=EventStore(self.db).first_event_id())  # as build_service makes it
        self.bus.node = name
        self.woken: list[str | None] = []
        self.relay = EventRelay(EventStore(self.db), Listener(url), name, self.bus, self.woken.append)

    def raise_event(self, client_id: str, name: str, data: dict) -> None:
        """What the pool does with one of this node's events: its own bus, and the relay."""
        event = ClientEvent(client_id, name, data)
        self.bus.publish(event)
        self.relay.publish(event)

    def seen(self) -> list[tuple[str, str | None, str | None]]:
        """(type, clientId, node) of every event on this node's bus."""
        return [(e.type, e.client_id, e.node) for e in self.bus.after(self.bus.oldest_id() - 1).events]

    def close(self) -> None:
        self.relay.stop()
        self.db.close()


@pytest.fixture
def two_nodes(pg_url: str) -> Iterator[tuple[Node, Node]]:
    a, b = Node(pg_url, "a"), Node(pg_url, "b")
    a.relay.start()
    b.relay.start()
    yield a, b
    a.close()
    b.close()


def test_an_event_on_one_node_reaches_the_others_bus_once_and_never_comes_back_twice(two_nodes):
    a, b = two_nodes
    a.raise_event("vendas", "message", {"body": "Olá <b>cliente</b>", "from": "5511988887777@c.us"})
    wait_until(lambda: b.seen(), timeout=5, what="b to hear a's event")
    [relayed] = b.bus.after(b.bus.oldest_id() - 1).events
    assert (relayed.type, relayed.client_id, relayed.node) == ("message", "vendas", "a")
    assert relayed.data == {"body": "Olá <b>cliente</b>", "from": "5511988887777@c.us"}
    assert relayed.to_dict()["node"] == "a"
    time.sleep(0.5)  # a heard its own notification meanwhile: dropped
    assert a.seen() == [("message", "vendas", "a")]
    assert b.seen() == [("message", "vendas", "a")]
    assert (a.relay.relayed, b.relay.relayed) == (0, 1)


def test_an_event_id_one_node_gave_resumes_nothing_on_another(two_nodes):
    """A stream moved to another node with the last id the first one gave is told to read the state again (a
    gap: SSE's `reset`), never handed the events after some unrelated event of that node's. Before, every bus
    numbered from its start time in milliseconds: b's first id, a few ms after a's, was one of a's ids."""
    a, b = two_nodes
    b.raise_event("sac", "message", {"on": "b"})
    b_id = b.bus.latest_id
    for n in range(300):
        a.raise_event("loja", "message", {"n": n})
    wait_until(lambda: len(b.seen()) == 301 and len(a.seen()) == 301, what="each node's events relayed")

    on_a = {e.data.get("n"): e.id for e in a.bus.after(a.bus.oldest_id() - 1).events}
    assert a.bus.after(b_id).gap and b.bus.after(on_a[298]).gap
    resumed = a.bus.after(on_a[298])  # on its own node an id resumes where it was
    assert not resumed.gap and {"n": 299} in [e.data for e in resumed.events]
    assert [e.data for e in b.bus.after(b_id).events][:2] == [{"n": 0}, {"n": 1}]


def test_an_event_too_big_for_a_notification_goes_by_reference_intact(two_nodes):
    a, b = two_nodes
    body = "x" * (NOTIFY_LIMIT * 3)
    a.raise_event("vendas", "message", {"body": body})
    a.raise_event("vendas", "status", {"status": "ready"})
    wait_until(lambda: len(b.seen()) == 2, timeout=5, what="both events on b")
    big, small = b.bus.after(b.bus.oldest_id() - 1).events
    assert big.data["body"] == body and small.data == {"status": "ready"}  # and in the order sent
    assert a.relay.by_reference == 1


def test_a_message_queued_on_another_node_wakes_this_nodes_lanes(two_nodes):
    a, b = two_nodes
    a.raise_event("vendas", "message_status", {"status": "queued", "messageId": "m1"})
    a.raise_event("", "message_status", {"status": "queued", "messageId": "m2"})  # auto-routed
    a.raise_event("vendas", "message_status", {"status": "sent", "messageId": "m1"})
    wait_until(lambda: len(b.seen()) == 3, timeout=5, what="the three statuses on b")
    assert b.woken == ["vendas", None]
    assert a.woken == []


def test_a_forged_or_malformed_notification_is_ignored(two_nodes, pg_url):
    _, b = two_nodes
    forged = ['not json', '[1]', '{"node":"x","type":"rm -rf","clientId":"v","data":{}}',
              '{"node":"x","type":"message","clientId":5,"data":{}}', '{"node":"x","ref":999999}',
              '{"node":"x","type":"message","clientId":"v","data":"text"}']
    db = PgDatabase(pg_url).open()
    for payload in forged:
        db.one("SELECT pg_notify('zapool_events', %s)", (payload,))
    db.one("""SELECT pg_notify('zapool_events', '{"node":"x","type":"status","clientId":"v","data":{}}')""")
    db.close()
    wait_until(lambda: b.seen(), timeout=5, what="the one well-formed event")
    assert b.seen() == [("status", "v", "x")]


def test_the_listener_hears_again_after_postgresql_restarts(pg_server):
    from bench.postgres import PostgresServer

    server = PostgresServer().start()  # its own: this test stops it
    try:
        url = server.create_database()
        a, b = Node(url, "a"), Node(url, "b")
        a.relay.start()
        b.relay.start()
        a.raise_event("vendas", "status", {"status": "ready"})
        wait_until(lambda: len(b.seen()) == 1, timeout=5, what="b hears a before the restart")
        server.restart()
        wait_until(lambda: not b.relay.listening or b.woken, timeout=10, what="b to notice the restart")
        wait_until(lambda: b.relay.listening and b.woken == [None], timeout=20, what="b listening again")
        a.raise_event("vendas", "status", {"status": "disconnected"})
        wait_until(lambda: len(b.seen()) == 2, timeout=15, what="b hears a after the restart")
        assert [e.data["status"] for e in b.bus.after(b.bus.oldest_id() - 1).events] == ["ready", "disconnected"]
        a.close()
        b.close()
    finally:
        server.close()
