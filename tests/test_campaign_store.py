"""The campaign store and its reads of the message log, on both backends (issue 20: campaigns.db for one
machine, the cluster's PostgreSQL for many). Two stores opened on the same data stand for two nodes: a recipient
is given to one number only, whichever node claims first; a cancel through one is the other's; and the log's
answers (outcome, replies, hand-back) read the same on both."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from backend.store.campaigns import (CANCELLED, CLAIMED, DONE, HANDED_OVER, PENDING, CampaignLog, CampaignStore,
                                     StoredCampaign, message_id_of)
from backend.store.messages import MessageStore
from backend.store.pg_campaigns import PgCampaignLog, PgCampaignStore
from backend.store.pg_db import PgDatabase
from backend.store.pg_messages import PgMessageStore

CAMPAIGN = StoredCampaign("cmp_0123456789abcdef", "Natal", "tpl_1", {"name": "Natal", "delay": {"min": 1}},
                          "scheduled", 3, 1_000, 2_000, None, None)
PEOPLE = [("5511900000001", "Ana", json.dumps({"pedido": "7"}), PENDING),
          ("5511900000002", "Bia", "{}", PENDING),
          ("5511900000003", "Caio", "{}", "skipped_optout")]


@dataclass
class Backend:
    """One backend's stores: `node()` opens the campaign store again (another node, or a restart)."""

    node: Callable[[], Any]
    log: Any
    messages: Any


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path) -> Iterator[Backend]:
    """The campaign store, the message log and its campaign reads, of each kind."""
    opened: list[Any] = []
    if request.param == "sqlite":
        messages = MessageStore(tmp_path / "messages.db")
        log = CampaignLog(messages.database)

        def node() -> Any:
            opened.append(CampaignStore(tmp_path / "campaigns.db"))
            return opened[-1]
    else:
        db = PgDatabase(request.getfixturevalue("pg_url")).open()
        messages, log = PgMessageStore(db), PgCampaignLog(db)

        def node() -> Any:
            return PgCampaignStore(db)
    yield Backend(node, log, messages)
    for store in opened:
        store.close()
    messages.close()


def test_a_recipient_goes_to_one_number_whichever_node_claims_it(backend):
    a, b = backend.node(), backend.node()
    a.create(CAMPAIGN, PEOPLE)

    first = a.claim(CAMPAIGN.id, 1, "loja", 5_000)
    again = b.claim(CAMPAIGN.id, 1, "sac", 5_001)  # the other node reached the same recipient a moment later

    assert first == message_id_of(CAMPAIGN.id, 1) and again is None
    assert b.claimed(CAMPAIGN.id) == [(1, "loja", first)]
    assert [r.seq for r in b.first(CAMPAIGN.id, 10)] == [2]  # the claimed one is nobody else's to take
    assert b.given_since("loja", 5_000) == 1 and b.given_since("sac", 0) == 0
    read = b.page(CAMPAIGN.id)[0]
    assert (read.phone, read.name, read.variables, read.state) == ("5511900000001", "Ana", {"pedido": "7"}, CLAIMED)
    assert b.get(CAMPAIGN.id) == CAMPAIGN and b.with_status("scheduled")[0].spec == {}


def test_a_cancel_through_one_node_stops_the_others_pending_and_keeps_what_was_claimed(backend):
    a, b = backend.node(), backend.node()
    a.create(CAMPAIGN, PEOPLE)
    assert a.set_status(CAMPAIGN.id, "running", only_from=("scheduled",), now_ms=3_000)
    a.claim(CAMPAIGN.id, 1, "loja", 3_100)

    assert b.set_status(CAMPAIGN.id, CANCELLED, only_from=("scheduled", "running"), now_ms=4_000)
    assert not a.set_status(CAMPAIGN.id, "running", only_from=("scheduled",), now_ms=4_100)  # nothing to start
    after = a.get(CAMPAIGN.id)

    assert (after.status, after.started_at, after.finished_at) == (CANCELLED, 3_000, 4_000)
    assert a.states(CAMPAIGN.id) == {CLAIMED: 1, CANCELLED: 1, "skipped_optout": 1}
    assert a.claim(CAMPAIGN.id, 2, "sac", 4_200) is None and a.unfinished(CAMPAIGN.id)
    assert a.move(CAMPAIGN.id, 1, DONE, only_from=(CLAIMED,)) and not a.unfinished(CAMPAIGN.id)


def test_a_message_handed_back_unsent_goes_again_under_the_next_id(backend):
    store, messages = backend.node(), backend.messages
    store.create(CAMPAIGN, PEOPLE)
    first = store.claim(CAMPAIGN.id, 1, "loja", 5_000)
    messages.add_outgoing(first, client_id="loja", to_number="5511900000001", chat="5511900000001@c.us", type="chat",
                          body="Oi Ana", tag=CAMPAIGN.id)

    assert backend.log.number_of(first) == (True, "loja") and backend.log.outcome([first]) == {first: ("queued", None)}
    assert backend.log.hand_back(first) and not backend.log.hand_back(first)  # once, and only while never tried
    store.hand_over(CAMPAIGN.id, 1)
    second = store.claim(CAMPAIGN.id, 1, "sac", 6_000, attempt=1)

    assert backend.log.outcome([first]) == {first: ("failed", HANDED_OVER)}
    assert second == f"{first}.1" and store.claimed(CAMPAIGN.id) == [(1, "sac", second)]
    assert backend.log.statuses(CAMPAIGN.id) == []  # the handed-back message is not counted


def test_the_log_says_what_was_sent_and_who_wrote_back(backend):
    store, messages = backend.node(), backend.messages
    store.create(CAMPAIGN, PEOPLE)
    ids = [store.claim(CAMPAIGN.id, seq, "loja", 5_000) for seq in (1, 2)]
    for message_id, person in zip(ids, PEOPLE):
        chat = f"{person[0]}@c.us"
        messages.add_outgoing(message_id, client_id="loja", to_number=person[0], chat=chat, type="chat", body="Oi",
                              tag=CAMPAIGN.id)
        assert messages.claim(message_id, "loja") is not None
        messages.mark_sent(message_id, wa_id=f"true_{chat}_{message_id}", chat=chat, ack=1)
    messages.add_incoming([("loja", "in-1", {"id": "false_ana_1", "from": f"{PEOPLE[0][0]}@c.us", "body": "Quero!",
                                             "type": "chat", "t": 1})])

    assert backend.log.statuses(CAMPAIGN.id) == [("loja", "sent", None, 2)]
    assert backend.log.replied(CAMPAIGN.id) == {"loja": 1} and backend.log.replied_ids(CAMPAIGN.id) == {ids[0]}
    assert not backend.log.hand_back(ids[1])  # sent: it stays with its number


def test_each_change_of_the_counts_is_told_once_and_at_most_once_a_second(backend):
    """campaign.progress in a cluster: every node advancing a campaign counts it, one tells each change."""
    a, b = backend.node(), backend.node()
    a.create(CAMPAIGN, PEOPLE)

    assert a.progress_turn(CAMPAIGN.id, {"sent": 1}, 10_000, 1_000)
    assert not b.progress_turn(CAMPAIGN.id, {"sent": 2}, 10_500, 1_000)  # within the second
    assert not b.progress_turn(CAMPAIGN.id, {"sent": 1}, 11_000, 1_000)  # the same counts: told already
    assert b.progress_turn(CAMPAIGN.id, {"sent": 2}, 11_000, 1_000)
