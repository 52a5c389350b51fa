"""Scheduled messages in a cluster (issue 20, store/pg_schedules.py, schedules/runner.py): two nodes' schedule
services on one real PostgreSQL, each over its own (never started) pool and outbox, with the clock the test
moves. A schedule made through either node is seen by both; each occurrence is queued once, by the node that
drives its number (or by one node for a schedule of no number in particular); another node's schedules never
hide a node's own from its worker; and a number that moved to the other node has its schedule fired there."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backend.assembly import build_pool
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.schedules import ScheduleService
from backend.schedules.runner import BATCH
from backend.store.pg_db import PgDatabase
from backend.store.pg_schedules import PgScheduleStore
from backend.store.pg_templates import PgTemplateStore
from backend.templates import TemplatesService
from backend.whatsapp.pool import WhatsAppPool

pytestmark = pytest.mark.postgres
TO = "5511988887777"
START = datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Node:
    """One node's pool (its numbers added, not started), the numbers it drives, and its schedule service."""

    pool: WhatsAppPool
    drives: set[str]
    service: ScheduleService

    def run(self) -> None:
        """The worker's steps until nothing more is due now."""
        while self.service.runner.step() == 0:
            pass

    def queued(self) -> list[str]:
        """The ids of what this node's outbox holds."""
        return [m.id for m in self.pool.outbox.list_messages(direction="out", limit=500).items]

    def bodies(self) -> list[str]:
        """The texts this node's outbox holds, sorted."""
        return sorted(self.pool.outbox.get(i).body for i in self.queued())


@pytest.fixture
def nodes(tmp_path: Path, pg_url: str) -> Iterator[dict[str, Node]]:
    """Nodes a and b; both pools know the numbers "loja" and "sac" (a's and b's), as a placed cluster's do."""
    clock = [START]
    made: dict[str, Node] = {}
    databases = []
    for name, drives in (("a", {"loja"}), ("b", {"sac"})):
        settings = Settings(data_dir=tmp_path / name, send_interval_s=0, send_jitter_s=0)
        pool = build_pool(settings, EngineRuntime(settings))
        for number in ("loja", "sac"):
            pool.add(number)
        db = PgDatabase(pg_url).open()
        databases.append(db)
        node = Node(pool, set(drives), None)  # type: ignore[arg-type] - the service is made next
        node.service = ScheduleService(PgScheduleStore(db), pool.outbox, pool, TemplatesService(PgTemplateStore(db)),
                                       clock=lambda: clock[0], mine=lambda node=node: sorted(node.drives))
        made[name] = node
    made["clock"] = clock  # type: ignore[assignment] - the test moves it
    yield made
    for node in (made["a"], made["b"]):
        node.service.stop()
        node.pool.outbox.store.close()
    for db in databases:
        db.close()


def test_each_occurrence_is_queued_once_by_the_node_that_drives_its_number(nodes):
    a, b, clock = nodes["a"], nodes["b"], nodes["clock"]
    at = (START + timedelta(minutes=5)).isoformat()
    of_loja = b.service.create({"clientId": "loja", "to": TO, "text": "da loja", "at": at, "rrule": "daily"})
    of_sac = a.service.create({"clientId": "sac", "to": TO, "text": "do sac", "at": at})
    anyone = a.service.create({"to": TO, "text": "de qualquer número", "at": at})

    assert {s["id"] for s in b.service.list()["items"]} == {of_loja["id"], of_sac["id"], anyone["id"]}
    clock[0] = START + timedelta(minutes=5, seconds=2)
    a.run()
    b.run()

    assert a.bodies() == ["da loja", "de qualquer número"] and b.bodies() == ["do sac"]
    assert a.service.get(of_loja["id"])["lastRuns"][0]["outcome"] == "queued"
    assert b.service.get(anyone["id"])["status"] == "finished"


def test_a_number_moved_to_the_other_node_has_its_schedule_fired_there(nodes):
    a, b, clock = nodes["a"], nodes["b"], nodes["clock"]
    made = a.service.create({"clientId": "loja", "to": TO, "text": "bom dia", "at": (START + timedelta(hours=1))
                             .isoformat(), "rrule": "daily"})
    a.drives.discard("loja")  # node a died; b took the number's lease
    b.drives.add("loja")
    clock[0] = START + timedelta(hours=1, seconds=1)
    a.run()
    b.run()

    assert a.queued() == [] and len(b.queued()) == 1
    assert b.service.get(made["id"])["lastRuns"][0]["outcome"] == "queued"


def test_other_nodes_schedules_never_hide_a_nodes_own_from_its_worker(nodes):
    a, b, clock = nodes["a"], nodes["b"], nodes["clock"]
    for n in range(BATCH + 5):  # more due schedules of b's number than a worker takes in one step
        b.service.create({"clientId": "sac", "to": TO, "text": f"sac {n}", "at": (START + timedelta(minutes=1))
                          .isoformat()})
    mine = a.service.create({"clientId": "loja", "to": TO, "text": "a de a",
                             "at": (START + timedelta(minutes=2)).isoformat()})
    clock[0] = START + timedelta(minutes=2, seconds=1)

    a.run()

    assert a.bodies() == ["a de a"]
    assert a.service.get(mine["id"])["status"] == "finished"
