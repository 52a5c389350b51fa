"""The shared outbox on PostgreSQL under leases (issue 20): claims fenced by the number's lease in the
database, the shared auto-routed queue taken with SKIP LOCKED by competing nodes, and a dead node's in-flight
messages taken back (and only those). The outbox's whole behaviour on this store: tests/test_outbox_unit.py."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from backend.errors import LeaseLost
from backend.store.pg_cluster import ClusterStore
from backend.store.pg_db import PgDatabase
from backend.store.pg_messages import PgMessageStore
from tests.conftest import wait_until

TO = "5511988887777"
FAR = 2**62  # "due now" for claims: any time after every message's next_attempt_at


@pytest.fixture
def open_db(pg_url: str) -> Iterator[Callable[[], PgDatabase]]:
    """Opens pools on the test's database (one per node); all closed after."""
    opened: list[PgDatabase] = []

    def open_one() -> PgDatabase:
        opened.append(PgDatabase(pg_url).open())
        return opened[-1]

    yield open_one
    for db in opened:
        db.close()


def time_passes(db: PgDatabase, client_id: str) -> None:
    """The number's lease runs out, as if its TTL had passed (real time: tests/test_cluster_leases.py)."""
    with db.transaction() as conn:
        conn.execute("UPDATE leases SET expires_at = clock_timestamp() - interval '1 ms' WHERE client_id = %s",
                     (client_id,))


def node_store(open_db: Callable[[], PgDatabase], tokens: dict[str, int]) -> PgMessageStore:
    """A node's message store fencing with the tokens it believes it holds (a paused node's belief may be
    stale: that is the point)."""
    return PgMessageStore(open_db(), fence=lambda client: tokens[client])


def accept(store: PgMessageStore, message_id: str, client_id: str | None) -> None:
    """Queue a text, pinned to a number or auto-routed (None)."""
    store.add_outgoing(message_id, client_id=client_id, to_number=TO, chat=f"{TO}@c.us", type="chat", body="oi")


def test_a_claim_under_a_stale_token_is_refused_and_the_current_owner_claims_it(open_db):
    leases = ClusterStore(open_db())
    old = leases.acquire("a", "node1", 30)
    node1 = node_store(open_db, {"a": old.token})
    accept(node1, "m1", "a")
    time_passes(open_db(), "a")
    new = leases.acquire("a", "node2", 30)
    node2 = node_store(open_db, {"a": new.token})
    with pytest.raises(LeaseLost):
        node1.claim_next("a", FAR)
    assert node1.get("m1").status == "queued"
    claimed = node2.claim_next("a", FAR)
    assert claimed is not None and claimed.id == "m1" and claimed.status == "sending"


def test_a_stale_claimer_cannot_mark_sent_and_the_new_owner_takes_its_in_flight_message_back(open_db):
    leases = ClusterStore(open_db())
    old = leases.acquire("a", "node1", 30)
    node1 = node_store(open_db, {"a": old.token})
    accept(node1, "m1", "a")
    assert node1.claim_next("a", FAR).status == "sending"  # then node1 stalls past its lease
    time_passes(open_db(), "a")
    new = leases.acquire("a", "node2", 30)
    node2 = node_store(open_db, {"a": new.token})
    with pytest.raises(LeaseLost):
        node1.mark_sent("m1", wa_id="true_x_W1", chat=None, ack=1)
    with pytest.raises(LeaseLost):
        node1.retry_later("m1", next_attempt_at=0, code="timeout", reason="x")
    back = node2.recover_in_flight()
    assert [(r.id, r.status, r.possible_duplicate) for r in back] == [("m1", "queued", True)]
    assert node2.claim_next("a", FAR).key_id == back[0].key_id  # the same WhatsApp id: looked for, not resent
    assert node2.mark_sent("m1", wa_id="true_x_W1", chat=None, ack=1).status == "sent"


def test_recovery_leaves_the_messages_live_nodes_are_sending_alone(open_db):
    leases = ClusterStore(open_db())
    lease_a, lease_b = leases.acquire("a", "node1", 30), leases.acquire("b", "node2", 30)
    node1 = node_store(open_db, {"a": lease_a.token})
    node2 = node_store(open_db, {"b": lease_b.token})
    accept(node1, "m1", "a")
    accept(node2, "m2", "b")
    node1.claim_next("a", FAR)
    node2.claim_next("b", FAR)
    time_passes(open_db(), "b")  # node2's lease runs out; node1's does not
    assert [r.id for r in node1.recover_in_flight()] == ["m2"]
    assert node1.get("m1").status == "sending"


def test_competing_nodes_take_each_auto_routed_message_exactly_once(open_db):
    leases = ClusterStore(open_db())
    numbers = [f"n{i}" for i in range(6)]
    stores = [node_store(open_db, {n: leases.acquire(n, f"node{i % 3}", 60).token for n in numbers[i::3]})
              for i in range(3)]
    for i in range(300):
        accept(stores[0], f"m{i:03d}", None)
    taken: list[tuple[str, str]] = []
    lock = threading.Lock()

    def drain(store: PgMessageStore, number: str) -> None:
        while (record := store.claim_auto(number, FAR, FAR)) is not None:
            with lock:
                taken.append((record.id, number))
            store.mark_sent(record.id, wa_id=f"w{record.id}", chat=None, ack=1)

    threads = [threading.Thread(target=drain, args=(stores[i % 3], n)) for i, n in enumerate(numbers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    per_message = Counter(message_id for message_id, _ in taken)
    assert len(per_message) == 300 and set(per_message.values()) == {1}
    assert len({number for _, number in taken}) == 6  # every node's numbers took a share
    for number in numbers:  # and each number's share left oldest first
        mine = [message_id for message_id, n in taken if n == number]
        assert mine == sorted(mine)
    assert stores[1].totals().sent == 300 and stores[2].totals().pending == 0


def test_a_node_stalled_inside_its_claim_does_not_hold_up_the_others_shared_queue(open_db, pg_url):
    import psycopg

    leases = ClusterStore(open_db())
    node2 = node_store(open_db, {"b": leases.acquire("b", "node2", 60).token})
    for i in range(3):
        accept(node2, f"m{i}", None)
    with psycopg.connect(pg_url) as stalled:  # node1, mid-claim of the oldest, paused with its row locked
        stalled.execute("SELECT id FROM messages WHERE id = 'm0' FOR UPDATE")
        result: list[str] = []
        worker = threading.Thread(target=lambda: result.append(node2.claim_auto("b", FAR, FAR).id), daemon=True)
        worker.start()
        worker.join(3)
        assert result == ["m1"], "node2 waited for node1's lock instead of taking the next message"


def test_postgresql_restarted_the_store_waits_unavailable_then_resumes_with_nothing_lost(pg_server):
    from backend.errors import Unavailable
    from bench.postgres import PostgresServer

    server = PostgresServer().start()  # its own: this test stops it
    db = PgDatabase(server.create_database(), wait_s=1.0).open()
    try:
        store = PgMessageStore(db)
        accept(store, "m1", "a")
        server.stop()
        with pytest.raises(Unavailable) as down:
            accept(store, "m2", "a")
        assert down.value.status == 503 and down.value.details["retryAfter"] >= 1
        time.sleep(7)  # a longer outage: the pool's retry delay has grown meanwhile
        server.start()
        back_at = time.monotonic()

        def accepted() -> bool:
            try:
                accept(store, "m2", "a")  # the same store: its pool replaces the dead connections
                return True
            except Unavailable:
                return False

        wait_until(accepted, timeout=15, what="the store to resume", every=0.2)
        assert time.monotonic() - back_at < 4, "resumed seconds after the server, not after a grown back-off"
        assert [store.claim_next("a", FAR).id for _ in range(2)] == ["m1", "m2"]
    finally:
        db.close()
        server.close()
