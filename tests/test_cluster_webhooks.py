"""One webhook list for the cluster (issue 20, backend/store/pg_webhooks.py): a webhook added through one node
gets the events of the numbers another node drives, a removal on one stops it on all, and a node's own
webhooks join the list when it joins. Each node queues only its own numbers' events: each delivery is sent
once, by one node. Real webhooks.db files, a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.events.hub import ClientEvent
from backend.store.pg_db import PgDatabase
from backend.store.pg_webhooks import PgWebhookList
from backend.webhooks.service import WebhookService

TARGET = "http://127.0.0.1:9/hook"


@pytest.fixture
def db(pg_db: PgDatabase) -> PgDatabase:
    """The cluster's database (pg_support.py's, opened)."""
    return pg_db


@pytest.fixture
def node(tmp_path: Path) -> Iterator:
    """Makes a node's WebhookService in its own folder (not sending: deliveries stay queued to be read)."""
    made: list[WebhookService] = []

    def make(name: str) -> WebhookService:
        made.append(WebhookService.in_folder(tmp_path / name))
        return made[-1]

    yield make
    for service in made:
        service.stop()


def queued(service: WebhookService, webhook_id: str) -> list[str]:
    """The events queued for a webhook on this node."""
    return [d["event"] for d in service.deliveries(webhook_id)["items"]]


def test_a_webhook_added_on_one_node_gets_the_other_nodes_events_and_a_removal_reaches_both(db, node):
    a, b = node("a"), node("b")
    a.share(PgWebhookList(db))
    b.share(PgWebhookList(db))
    hook = a.add(TARGET, ["message"])
    assert b.list() == []  # until b's next heartbeat
    b.sync()
    assert [w["id"] for w in b.list()] == [hook["id"]]
    assert b.publish(ClientEvent("suporte", "message", {"message": {"id": "m1", "body": "oi"}})) == 1
    assert queued(b, hook["id"]) == ["message"] and queued(a, hook["id"]) == []  # sent once, by b

    b.remove(hook["id"])
    a.sync()
    assert a.list() == [] and b.list() == []
    assert a.publish(ClientEvent("vendas", "message", {"message": {"id": "m2", "body": "oi"}})) == 0


def test_a_nodes_own_webhooks_join_the_list_when_it_joins(db, node):
    a = node("a")
    mine = a.add(TARGET, ["ready"])  # before cluster mode
    a.share(PgWebhookList(db))
    b = node("b")
    b.share(PgWebhookList(db))
    assert [w["id"] for w in b.list()] == [mine["id"]]
    assert {w["id"] for w in a.list()} == {mine["id"]}
