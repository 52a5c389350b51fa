"""Contacts and chats from WhatsApp (issue 16 section 1), through the REST API, on real Chromium and the
simulator: the address book and its search, one contact with its picture (or none when hidden), the cache and
its invalidation, WhatsApp's chat list merged with the log, and history paged backwards into the log without
being announced as new messages."""

from __future__ import annotations

import time
from typing import Any

from tests.api_support import PHONE, connect
from tests.conftest import wait_until

ANA, BRUNO, CARLA, DIEGO = "5511911110001", "5511922220002", "5511933330003", "5511944440004"


def _book(sim) -> None:
    """The phone's address book: two saved contacts (one a business with a picture), one hidden picture."""
    sim.control.contacts(PHONE, [
        {"number": ANA, "name": "Ana Souza", "pushname": "Aninha", "picture": "https://pps.example/ana.jpg"},
        {"number": BRUNO, "name": "Bruno <b>Padaria</b>", "business": True},
    ])


def test_contacts_list_search_and_details(stack, sim):
    """The picker's list: saved contacts first, searchable by name words or number digits; one contact's
    details carry its picture URL, or null when it hides it; an unknown number is a 404."""
    _book(sim)
    sim.control.history(PHONE, CARLA, [{"text": "oi", "t": int(time.time()) - 60}], notify_name="Carlinha")
    connect(stack, sim)

    everyone = stack.api.call("GET", "/clients/vendas/contacts").json
    by_name = stack.api.call("GET", "/clients/vendas/contacts?search=souza").json
    by_digits = stack.api.call("GET", f"/clients/vendas/contacts?search={BRUNO[-6:]}").json
    ana = stack.api.call("GET", f"/clients/vendas/contacts/{ANA}").json
    bruno = stack.api.call("GET", f"/clients/vendas/contacts/{BRUNO}@c.us").json
    unknown = stack.api.call("GET", f"/clients/vendas/contacts/{DIEGO}")
    bad = stack.api.call("GET", "/clients/vendas/contacts/abc")

    assert [c["displayName"] for c in everyone["items"]] == ["Ana Souza", "Bruno <b>Padaria</b>", "Carlinha"]
    assert everyone["items"][2] | {} == {"id": f"{CARLA}@c.us", "number": CARLA, "name": None, "pushname": "Carlinha",
                                         "isBusiness": False, "isMyContact": False, "displayName": "Carlinha"}
    assert [c["id"] for c in by_name["items"]] == [f"{ANA}@c.us"] and by_name["total"] == 1
    assert [c["id"] for c in by_digits["items"]] == [f"{BRUNO}@c.us"]
    assert ana["profilePictureUrl"] == "https://pps.example/ana.jpg" and ana["pushname"] == "Aninha"
    assert bruno["profilePictureUrl"] is None and bruno["isBusiness"] is True
    assert unknown.status == 404 and unknown.json["error"]["code"] == "not_found"
    assert bad.status == 422 and bad.json["error"]["details"]["field"] == "contactId"


def test_contact_details_are_cached_and_a_message_refreshes_them(stack, sim):
    """Within the expiry a rename on the phone is not asked again (the cache answers); a message from the
    contact drops its entry, so its new push name shows at once."""
    _book(sim)
    connect(stack, sim)
    first = stack.api.call("GET", f"/clients/vendas/contacts/{ANA}").json
    sim.control.contacts(PHONE, [{"number": ANA, "name": "Ana S. (novo)", "pushname": "Aninha"}])
    cached = stack.api.call("GET", f"/clients/vendas/contacts/{ANA}").json

    sim.control.contacts(PHONE, [{"number": ANA, "name": "Ana S. (novo)", "pushname": "Ana Nova"}])
    sim.control.incoming(PHONE, ANA, "mudei meu nome", notify_name="Ana Nova")
    wait_until(lambda: stack.api.call("GET", f"/clients/vendas/contacts/{ANA}").json["pushname"] == "Ana Nova",
               10, what="the contact refreshed after its message")
    after = stack.api.call("GET", f"/clients/vendas/contacts/{ANA}").json

    assert first["name"] == cached["name"] == "Ana Souza"
    assert after["name"] == "Ana S. (novo)"


def test_a_reconnected_number_asks_whatsapp_again(stack, sim):
    """Leaving ready drops what the cache kept for the number (the next login may even be another account):
    after a disconnect and reconnect, a rename made on the phone meanwhile shows at once."""
    _book(sim)
    connect(stack, sim)
    before = stack.api.call("GET", f"/clients/vendas/contacts/{ANA}").json
    assert stack.api.call("POST", "/clients/vendas/disconnect").json["status"] == "disconnected"
    sim.control.contacts(PHONE, [{"number": ANA, "name": "Ana Renomeada"}])
    assert stack.api.call("POST", "/clients/vendas/reconnect").json["status"] == "ready"
    after = stack.api.call("GET", f"/clients/vendas/contacts/{ANA}").json
    book = stack.api.call("GET", "/clients/vendas/contacts?search=renomeada").json

    assert (before["name"], after["name"]) == ("Ana Souza", "Ana Renomeada")
    assert [c["id"] for c in book["items"]] == [f"{ANA}@c.us"]


def test_chat_list_is_whatsapps_merged_with_the_log(stack, sim):
    """GET chats while ready: WhatsApp's chats (with name, unread, archived, pinned, muted, last message) and
    what ZapPool sent, each once, pinned first; the log's own fields stay."""
    now = int(time.time())
    sim.control.history(PHONE, ANA, [{"text": "bom dia", "t": now - 3600}], unread=1, notify_name="Ana",
                        pinned=True)
    sim.control.history(PHONE, BRUNO, [{"text": "pedido pronto", "t": now - 7200}], archived=True, muted_until=-1)
    connect(stack, sim)
    sent = stack.api.call("POST", "/messages?wait=true", {"to": CARLA, "text": "Olá Carla"})
    assert sent.status == 200, sent.body

    chats = stack.api.call("GET", "/clients/vendas/chats").json["items"]
    by_id = {c["chatId"]: c for c in chats}

    assert [c["chatId"] for c in chats] == [f"{ANA}@c.us", f"{CARLA}@c.us", f"{BRUNO}@c.us"]
    assert by_id[f"{ANA}@c.us"]["pinned"] and by_id[f"{ANA}@c.us"]["whatsappUnreadCount"] == 1
    assert by_id[f"{ANA}@c.us"]["preview"]["body"] == "bom dia" and by_id[f"{ANA}@c.us"]["onWhatsApp"]
    assert by_id[f"{BRUNO}@c.us"]["archived"] and by_id[f"{BRUNO}@c.us"]["muted"]
    carla = by_id[f"{CARLA}@c.us"]
    assert carla["lastMessage"]["body"] == "Olá Carla" and carla["messageCount"] == 1
    assert carla["preview"]["fromMe"] is True and not carla["isGroup"]
    page = stack.api.call("GET", "/clients/vendas/chats?limit=2").json
    rest = stack.api.call("GET", f"/clients/vendas/chats?limit=2&cursor={page['nextCursor']}").json
    assert [c["chatId"] for c in page["items"] + rest["items"]] == [c["chatId"] for c in chats]
    assert rest["nextCursor"] is None


def _older_history(sim, count: int) -> list[str]:
    """`count` messages of Ana's chat from before the link, one a minute, every third ours; their texts."""
    start = int(time.time()) - count * 60
    messages = [{"text": f"msg {i:03d}", "t": start + i * 60, "fromMe": i % 3 == 0} for i in range(count)]
    sim.control.history(PHONE, ANA, messages)
    return [m["text"] for m in messages]


def test_history_pages_backwards_into_the_log_without_events(stack, sim):
    """Scrolling back: ?before=now, then before the oldest shown, until a short page; every page lands in the
    log once (a second look is local, a repeat adds nothing), and none is announced as a new message (no
    message event for SSE, webhooks or notifications) nor counted as received."""
    texts = _older_history(sim, 120)
    heard: list[Any] = []
    stack.pool.subscribe(heard.append, {"message"})
    connect(stack, sim)
    chat = f"/clients/vendas/chats/{ANA}@c.us/messages"

    pages, before = [], "now"
    while True:
        page = stack.api.call("GET", f"{chat}?before={before}&limit=50").json
        pages.append([m["body"] for m in page["items"]])
        if len(page["items"]) < 50:
            break
        before = page["items"][-1]["waMessageId"]
    again = stack.api.call("GET", f"{chat}?before=now&limit=50").json
    local: list[str] = []
    cursor = ""
    while cursor is not None:
        page = stack.api.call("GET", f"{chat}?limit=50{'&cursor=' + cursor if cursor else ''}").json
        local += [m["body"] for m in page["items"]]
        cursor = page["nextCursor"]

    assert [len(p) for p in pages] == [50, 50, 20]
    assert [text for page in pages for text in page] == texts[::-1]
    assert [m["body"] for m in again["items"]] == texts[::-1][:50]
    assert local == texts[::-1], "the log holds the history once, in order"
    first = stack.api.call("GET", f"{chat}?before=now&limit=1").json["items"][0]
    assert first["direction"] == "in" and first["status"] == "read"
    assert heard == []
    assert stack.api.call("GET", "/stats").json["totalMessages"] == 0
    assert stack.pool.outbox.totals().received == 0


def test_history_refuses_a_key_of_another_chat(stack, sim):
    """?before= must be a message of this very chat (or `now`): anything else is a 422 naming the field."""
    connect(stack, sim)
    wrong = stack.api.call("GET", f"/clients/vendas/chats/{ANA}@c.us/messages?before=false_{BRUNO}@c.us_3EB0AAAA")
    junk = stack.api.call("GET", f"/clients/vendas/chats/{ANA}@c.us/messages?before=%3Cscript%3E")
    assert wrong.status == junk.status == 422
    assert wrong.json["error"]["details"]["field"] == "before"


def test_a_groups_history_keeps_who_wrote_each_message(tmp_path):
    """WhatsApp's page of a group's history (bridge.js's shape: `from` the group, `author` the member) goes into
    the log with the member as its sender, as a live group message does: the window shows who wrote it."""
    from backend.store.history import HistoryLog
    from backend.store.messages import MessageStore

    gid = "120363012345678901@g.us"
    page = [{"id": f"false_{gid}_AAAA{n}_{who}@c.us", "fromMe": False, "from": gid, "to": f"{PHONE}@c.us",
             "author": f"{who}@c.us", "type": "chat", "body": f"msg {n}", "t": 1_700_000_000 + n, "notifyName": name}
            for n, (who, name) in enumerate([(ANA, "Aninha"), (BRUNO, "Bruno")])]
    records = HistoryLog(MessageStore(tmp_path / "messages.db").database).add("vendas", gid, page)
    assert [(r.to_dict()["from"], r.to_dict()["notifyName"], r.chat) for r in records] == [
        (f"{BRUNO}@c.us", "Bruno", gid), (f"{ANA}@c.us", "Aninha", gid)]
