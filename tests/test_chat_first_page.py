"""The chat list's first page (issue 16, the chat window's first paint): GET /clients/{id}/chats without a cursor
asks WhatsApp's page for its first chats only (WPP.chat.list({count})), not its whole list, and still shows what
ZapPool itself wrote; the pages after it read the whole list, without a gap or a repeat. Through the REST API,
on real Chromium and the simulator, which records how many chats each chat.list read took."""

from __future__ import annotations

import time
from typing import Any

from backend.contacts.chats import MARGIN
from tests.api_support import PHONE, connect
from tests.conftest import wait_until

PINNED, OLD = "5511900000001", "5511900000002"


def _peers(count: int) -> list[str]:
    """`count` numbers of the phone's other chats."""
    return [f"55119{i + 10:08d}" for i in range(count)]


def _reads(sim) -> list[int]:
    """How many chats each chat.list read so far took (-1: all of them)."""
    return sim.control.state()["chatLists"]


def _all_pages(stack, limit: int) -> list[dict[str, Any]]:
    """Every chat, page by page from the first, `limit` at a time."""
    page = stack.api.call("GET", f"/clients/vendas/chats?limit={limit}").json
    items = page["items"]
    while page["nextCursor"]:
        page = stack.api.call("GET", f"/clients/vendas/chats?limit={limit}&cursor={page['nextCursor']}").json
        items += page["items"]
    return items


def test_the_first_page_asks_whatsapp_for_its_first_chats_only(stack, sim):
    """A number with 41 chats, one pinned: the first page of 10 takes WhatsApp's first 20 chats (10 more for
    chats active within the same second at its edge), pinned first, and is the whole list's first 10; paging on
    from it gives every chat once, in the whole list's order."""
    now = int(time.time())
    for i, peer in enumerate(_peers(40)):
        sim.control.history(PHONE, peer, [{"text": f"olá {i}", "t": now - 4000 + i * 60}])
    sim.control.history(PHONE, PINNED, [{"text": "fixada", "t": now - 9000}], pinned=True)
    connect(stack, sim)
    wait_until(lambda: _reads(sim), 10, what="the catch-up's read of the unread chats")
    whole = stack.api.call("GET", "/clients/vendas/chats?limit=200").json
    before = len(_reads(sim))

    first = stack.api.call("GET", "/clients/vendas/chats?limit=10").json
    asked = _reads(sim)[before:]
    paged = _all_pages(stack, 10)

    ids = [c["chatId"] for c in whole["items"]]
    assert len(ids) == 41 and whole["nextCursor"] is None
    assert asked == [10 + MARGIN], "the first page read WhatsApp's first chats only"
    assert [c["chatId"] for c in first["items"]] == ids[:10] and ids[0] == f"{PINNED}@c.us"
    assert first["items"][0]["pinned"] and all(c["onWhatsApp"] for c in first["items"])
    assert first["nextCursor"]
    assert [c["chatId"] for c in paged] == ids, "no chat missing or twice across the pages"


def test_a_chat_zappool_wrote_to_below_whatsapps_first_chats_shows_on_the_first_page(stack, sim):
    """This machine's clock runs ten minutes ahead of WhatsApp's: a message ZapPool sends now to an old chat is
    the newest in ZapPool's log, while WhatsApp lists that chat below 30 chats of five minutes ago (past its
    first 15). The first page of 5 still shows it on top, as WhatsApp knows it (the name saved on the phone),
    with the message as its preview: the first chats did not settle the page, so the whole list was read."""
    now = int(time.time())
    sim.control.contacts(PHONE, [{"number": OLD, "name": "Cliente Antigo"}])
    sim.control.history(PHONE, OLD, [{"text": "faz tempo", "t": now - 86400}])
    for i, peer in enumerate(_peers(30)):
        sim.control.history(PHONE, peer, [{"text": f"olá {i}", "t": now - 300 + i}])
    sim.control.configure(clock_lag_ms=600_000)
    try:
        connect(stack, sim)
        wait_until(lambda: _reads(sim), 10, what="the catch-up's read of the unread chats")
        sent = stack.api.call("POST", "/messages?wait=true", {"to": OLD, "text": "voltei"})
        assert sent.status == 200, sent.body
        before = len(_reads(sim))
        first = stack.api.call("GET", "/clients/vendas/chats?limit=5").json
        asked = _reads(sim)[before:]
    finally:
        sim.control.configure(clock_lag_ms=0)

    top = first["items"][0]
    assert top["chatId"] == f"{OLD}@c.us" and top["preview"]["body"] == "voltei" and top["preview"]["fromMe"]
    assert top["name"] == "Cliente Antigo" and top["onWhatsApp"], "WhatsApp's own entry, not the log's alone"
    assert asked == [5 + MARGIN, -1], "the first chats, then the whole list"
    assert [c["chatId"] for c in first["items"][1:]] == [f"{p}@c.us" for p in reversed(_peers(30)[-4:])]
