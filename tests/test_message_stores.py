"""The message log's one interface (backend/store/message_protocol.py): the SQLite store of the desktop and the
PostgreSQL store of cluster mode implement it method for method, and behave alike (each test below runs on
both), so the outbox (tests/test_outbox_unit.py, also on both), the API and the windows run on either."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

from backend.store.limits import LimitStore
from backend.store.message_protocol import MessageLog, SendLimits
from backend.store.message_schema import MessageCounts
from backend.store.messages import MessageStore
from backend.store.pg_db import PgDatabase
from backend.store.pg_limits import PgLimitStore
from backend.store.pg_messages import PgMessageStore

STORES = {"sqlite": (MessageStore, LimitStore), "postgres": (PgMessageStore, PgLimitStore)}


def members(protocol: type) -> dict[str, inspect.Signature | None]:
    """A protocol's methods with their signatures (None for a property)."""
    found: dict[str, inspect.Signature | None] = {}
    for name, value in vars(protocol).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            found[name] = None
        elif callable(value):
            found[name] = inspect.signature(value)
    return found


def same_signature(implementation: type, name: str, wanted: inspect.Signature | None) -> bool:
    """Whether a class has the member with the protocol's parameters (names, kinds, defaults)."""
    value = inspect.getattr_static(implementation, name, None)
    if wanted is None:
        return isinstance(value, property)
    if not callable(value):
        return False
    have = inspect.signature(value).parameters
    return [(p.name, p.kind, p.default) for p in have.values()] == \
        [(p.name, p.kind, p.default) for p in wanted.parameters.values()]


@pytest.mark.parametrize("backend", sorted(STORES))
def test_each_message_store_implements_the_whole_interface_with_the_same_parameters(backend: str):
    store, limits = STORES[backend]
    assert [n for n, sig in members(MessageLog).items() if not same_signature(store, n, sig)] == []
    assert [n for n, sig in members(SendLimits).items() if not same_signature(limits, n, sig)] == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def log(request: pytest.FixtureRequest, tmp_path) -> Iterator[MessageLog]:
    """An empty message log of each kind, on a clock that moves one second per read."""
    ticks = iter(range(1_800_000_000, 1_900_000_000))
    clock = lambda: float(next(ticks))  # noqa: E731 - a clock is a callable
    if request.param == "sqlite":
        store: MessageLog = MessageStore(tmp_path / "messages.db", clock=clock)
    else:
        store = PgMessageStore(PgDatabase(request.getfixturevalue("pg_url")).open(), clock=clock)
    yield store
    store.close()


def incoming(n: int, chat: str = "5511911110000@c.us", **extra: object) -> dict[str, object]:
    """A WhatsApp message as WA-JS hands it over."""
    return {"id": f"false_{chat}_W{n}", "from": chat, "type": "chat", "body": f"oi {n}", "t": 1_700_000_000 + n,
            "notifyName": "Maria", **extra}


def test_incoming_messages_are_logged_once_and_shape_the_chats_and_their_unread_counts(log: MessageLog):
    items = [("loja", f"in{n}", incoming(n)) for n in range(3)]
    assert log.add_incoming(items) == 3
    assert log.add_incoming(items) == 0  # the catch-up at connect brings them again
    assert log.known_incoming("loja", ["false_5511911110000@c.us_W1", "nope"]) == {"false_5511911110000@c.us_W1"}
    doc = incoming(9, chat="5511922220000@c.us", type="document", mimetype="application/pdf", filename="a.pdf",
                   size=10, body=None, caption="nota")
    log.add_incoming([("loja", "in9", doc)])
    chats = log.list_chats("loja").items
    assert [(c.chat, c.unread, c.total) for c in chats] == [("5511922220000@c.us", 1, 1),
                                                            ("5511911110000@c.us", 3, 3)]
    assert chats[0].last_message.body == "nota" and chats[0].last_message.media["filename"] == "a.pdf"
    assert log.mark_chat_read("loja", "5511911110000@c.us") == 3
    assert [c.unread for c in log.list_chats("loja").items] == [1, 0]
    assert log.totals().received == 4 and log.counts()["loja"].received == 4


def test_the_log_pages_newest_first_with_cursors_and_filters(log: MessageLog):
    log.add_incoming([("loja", f"in{n}", incoming(n)) for n in range(5)])
    for n in range(3):
        log.add_outgoing(f"out{n}", client_id="loja", to_number="5511911110000", chat="5511911110000@c.us",
                         type="chat", body=f"resposta {n}")
    first = log.list_messages(limit=4)
    second = log.list_messages(cursor=first.next_cursor, limit=4)
    assert [m.id for m in first.items + second.items] == ["out2", "out1", "out0", "in4", "in3", "in2", "in1",
                                                          "in0"]
    assert second.next_cursor is None
    assert [m.id for m in log.list_messages(direction="out", limit=50).items] == ["out2", "out1", "out0"]
    assert {m.id for m in log.get_many(["in1", "out0", "none"])} == {"in1", "out0"}


def test_acks_move_a_sent_message_forward_only_and_a_gone_number_fails_its_queue(log: MessageLog):
    for n, client in enumerate(("loja", "loja", None)):
        log.add_outgoing(f"m{n}", client_id=client, to_number="5511911110000", chat="5511911110000@c.us",
                         type="chat", body="x")
    assert log.claim("m0", "loja").status == "sending"
    log.mark_sent("m0", wa_id="true_x_W0", chat=None, ack=1)
    advanced: list[str] = []
    assert log.apply_acks([("loja", "true_x_W0", 3), ("loja", "true_x_W0", 2), ("loja", "unknown", 2)],
                          advanced=advanced) == [("loja", "unknown", 2)]
    assert advanced == ["m0"] and log.get("m0").status == "read" and log.get("m0").read_at is not None
    assert log.assign("m2", "loja") and log.auto_holders() == {"loja"}
    assert [r.id for r in log.fail_queued_for("loja", "not_found", "removed")] == ["m1"]
    assert log.get("m2").client_id is None and log.next_auto(2**62)[0] == "m2"
    assert log.counts()["loja"] == MessageCounts(sent=1, received=0, pending=0, failed=1)
    assert log.totals().pending == 1
