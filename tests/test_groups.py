"""Groups end to end (issue 16, section 3): the REST routes of /clients/{id}/groups, sending to a group through
POST /messages and the outbox, incoming group messages with their author, and the group events on SSE, all on
real Chromium against the simulator, whose groups keep WhatsApp's rules (wasim/groups.py)."""

from __future__ import annotations

from typing import Any

from backend.webhooks.service import WebhookService
from bench.webhook_receiver import wait_for
from tests.api_support import EventStream, connect
from tests.conftest import PHONE, running_pool, wait_until
from tests.conftest import connect as conftest_connect
from tests.desktop_support import png_base64
from tests.webhook_support import receiver  # noqa: F401 - a fixture

ANA, BETO, CAIO = "5511999990002", "5511999990003", "5511999990004"
BASE = "/clients/vendas/groups"


def _events(stack, types: str = "group_joined,group_left,group_participants,group_updated,message") -> EventStream:
    return EventStream(stack.server.url, f"/events?types={types}", key=stack.api.key)


def _group_of_other(sim, members: list[str], subject: str = "Família") -> str:
    """A group that Ana created (she is its super admin) with `members`."""
    return sim.control.group(ANA, "create", subject=subject, participants=members)["gid"]


def _by_number(group: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["number"]: p for p in group["participants"]}


def test_create_list_and_manage_a_group_as_its_admin(stack, sim):
    connect(stack, sim)
    events = _events(stack)

    made = stack.api.call("POST", BASE, {"subject": "Clientes VIP", "participants": [ANA, "+55 11 99999-0003"]})

    assert made.status == 201, made.body
    group = made.json
    gid = group["id"]
    assert gid.endswith("@g.us") and group["subject"] == "Clientes VIP" and group["iAmAdmin"] is True
    people = _by_number(group)
    assert set(people) == {PHONE, ANA, BETO} and people[PHONE]["isSuperAdmin"] and not people[ANA]["isAdmin"]
    assert [g["id"] for g in stack.api.call("GET", BASE).json] == [gid]
    assert {p["id"] for p in sim.control.group_info(gid)["participants"]} == {PHONE, ANA, BETO}
    events.wait_event("group_participants", lambda e: e["data"]["action"] == "added")

    added = stack.api.call("POST", f"{BASE}/{gid}/participants", {"participants": [CAIO]})
    assert added.status == 200, added.body
    assert added.json["results"] == [{"participant": f"{CAIO}@c.us", "number": CAIO, "status": "added", "code": 200}]
    promoted = stack.api.call("POST", f"{BASE}/{gid}/admins", {"participants": [ANA]})
    assert _by_number(promoted.json)[ANA]["isAdmin"] is True
    again = stack.api.call("POST", f"{BASE}/{gid}/admins", {"participants": [ANA]})
    assert again.status == 409 and again.json["error"]["code"] == "already_group_admin"
    demoted = stack.api.call("DELETE", f"{BASE}/{gid}/admins/{ANA}")
    assert _by_number(demoted.json)[ANA]["isAdmin"] is False
    removed = stack.api.call("DELETE", f"{BASE}/{gid}/participants", {"participants": [BETO]})
    assert BETO not in _by_number(removed.json)
    gone = stack.api.call("DELETE", f"{BASE}/{gid}/participants", {"participants": [BETO]})
    assert gone.status == 404 and gone.json["error"]["code"] == "not_group_member"
    changed = stack.api.call("PATCH", f"{BASE}/{gid}", {"subject": "Clientes Ouro", "description": "Só ofertas"})
    assert (changed.json["subject"], changed.json["description"]) == ("Clientes Ouro", "Só ofertas")
    assert sim.control.group_info(gid)["subject"] == "Clientes Ouro"

    kinds = {(e["data"]["action"], tuple(e["data"]["participants"])) for e in events.of_type("group_participants")}
    assert {("added", (f"{CAIO}@c.us",)), ("promoted", (f"{ANA}@c.us",)), ("demoted", (f"{ANA}@c.us",)),
            ("removed", (f"{BETO}@c.us",))} <= kinds
    events.wait_event("group_updated", lambda e: e["data"].get("subject") == "Clientes Ouro")
    events.close()


def test_refusals_name_their_reason(stack, sim):
    connect(stack, sim)
    sim.control.set_numbers([PHONE, ANA, BETO, CAIO])
    gid = _group_of_other(sim, [PHONE, BETO])

    not_on_whatsapp = stack.api.call("POST", BASE, {"subject": "X", "participants": [ANA, "5511988880000"]})
    not_admin = stack.api.call("POST", f"{BASE}/{gid}/participants", {"participants": [CAIO]})
    no_invite = stack.api.call("GET", f"{BASE}/{gid}/invite")
    sim.control.group_configure(gid, restrict=True)
    no_subject = stack.api.call("PATCH", f"{BASE}/{gid}", {"subject": "Meu nome"})
    not_mine = stack.api.call("GET", f"{BASE}/120363000000000000@g.us")
    bad_id = stack.api.call("GET", f"{BASE}/nao-e-grupo")

    assert (not_on_whatsapp.status, not_on_whatsapp.json["error"]["code"]) == (422, "participant_not_on_whatsapp")
    assert not_on_whatsapp.json["error"]["details"]["participant"] == "5511988880000"
    for reply in (not_admin, no_invite, no_subject):
        assert (reply.status, reply.json["error"]["code"]) == (403, "not_group_admin"), reply.body
    assert sim.control.group_info(gid)["subject"] == "Família"  # nothing changed
    assert (not_mine.status, not_mine.json["error"]["code"]) == (404, "group_not_found")
    assert bad_id.status == 404  # a path that could not name a group

    mine = stack.api.call("POST", BASE, {"subject": "Pequeno", "participants": [ANA]}).json["id"]
    sim.control.group_configure(mine, sizeLimit=2)
    full = stack.api.call("POST", f"{BASE}/{mine}/participants", {"participants": [CAIO]})
    assert (full.status, full.json["error"]["code"]) == (409, "group_full")
    assert CAIO not in {p["id"] for p in sim.control.group_info(mine)["participants"]}


def test_invite_links_revoke_join_and_leave(stack, sim):
    connect(stack, sim)
    events = _events(stack)
    mine = stack.api.call("POST", BASE, {"subject": "Loja", "participants": [ANA]}).json["id"]

    link = stack.api.call("GET", f"{BASE}/{mine}/invite").json
    assert link["link"] == "https://chat.whatsapp.com/" + link["code"] == "https://chat.whatsapp.com/" + \
        sim.control.group_info(mine)["invite"]
    fresh = stack.api.call("DELETE", f"{BASE}/{mine}/invite").json
    assert fresh["code"] != link["code"]

    other = _group_of_other(sim, [BETO], subject="Vizinhos")
    old_code = sim.control.group(ANA, "invite", groupId=other)
    sim.control.group(ANA, "revoke", groupId=other)
    refused = stack.api.call("POST", f"{BASE}/join", {"invite": f"https://chat.whatsapp.com/{old_code}"})
    assert (refused.status, refused.json["error"]["code"]) == (404, "invalid_invite")
    new_code = sim.control.group(ANA, "invite", groupId=other)
    joined = stack.api.call("POST", f"{BASE}/join", {"invite": f"https://chat.whatsapp.com/{new_code}"})
    assert joined.status == 200, joined.body
    assert joined.json["id"] == other and joined.json["subject"] == "Vizinhos" and joined.json["iAmAdmin"] is False
    events.wait_event("group_joined", lambda e: e["data"]["groupId"] == other)

    left = stack.api.call("DELETE", f"{BASE}/{other}")
    assert left.status == 204
    assert PHONE not in {p["id"] for p in sim.control.group_info(other)["participants"]}
    events.wait_event("group_left", lambda e: e["data"]["groupId"] == other and e["data"]["removed"] is False)
    after = stack.api.call("GET", f"{BASE}/{other}")
    assert (after.status, after.json["error"]["code"]) == (404, "group_not_found")
    events.close()


def test_what_others_do_in_a_group_reaches_the_api_as_events(stack, sim):
    connect(stack, sim)
    events = _events(stack)
    gid = _group_of_other(sim, [PHONE, BETO])
    events.wait_event("group_joined", lambda e: e["data"]["groupId"] == gid and e["data"]["author"] == f"{ANA}@c.us")

    sim.control.group(BETO, "send", groupId=gid, text=f"Oi @{PHONE}, tudo bem?", notifyName="Beto <b>")
    incoming = events.wait_event("message", lambda e: e["data"]["message"]["from"] == gid)["data"]["message"]
    sim.control.group(CAIO, "join", code=sim.control.group(ANA, "invite", groupId=gid))  # someone joins by link
    joined = events.wait_event("group_participants", lambda e: e["data"]["action"] == "joined")["data"]
    assert (joined["groupId"], joined["participants"], joined["author"]) == (gid, [f"{CAIO}@c.us"], f"{CAIO}@c.us")
    sim.control.group(ANA, "subject", groupId=gid, value="Família Silva")
    sim.control.group(ANA, "remove", groupId=gid, participants=[PHONE])

    assert incoming["author"] == f"{BETO}@c.us" and incoming["notifyName"] == "Beto <b>"
    assert incoming["body"] == f"Oi @{PHONE}, tudo bem?" and incoming["mentions"] == [f"{PHONE}@c.us"]
    events.wait_event("group_updated", lambda e: e["data"] == {"groupId": gid, "author": f"{ANA}@c.us",
                                                               "subject": "Família Silva"})
    left = events.wait_event("group_left", lambda e: e["data"]["groupId"] == gid)
    assert left["data"]["removed"] is True and left["data"]["author"] == f"{ANA}@c.us"
    logged = wait_until(lambda: stack.api.call("GET", f"/messages?clientId=vendas&chat={gid}").json["items"],
                        what="the group message in the log")
    assert [(m["body"], m.get("from") or m.get("sender")) for m in logged] == [(f"Oi @{PHONE}, tudo bem?", f"{BETO}@c.us")]
    # ^ the subject notice is news about the group, not a message: it is not in the log
    events.close()


def test_sending_to_a_group_goes_through_the_outbox_with_acks_and_mentions(stack, sim):
    connect(stack, sim)
    gid = stack.api.call("POST", BASE, {"subject": "Equipe", "participants": [ANA, BETO]}).json["id"]
    lookups = sim.control.state()["lookups"]
    events = _events(stack, "message_status")

    sent = stack.api.call("POST", "/messages?wait=true", {"to": gid, "clientId": "vendas", "text": f"Reunião, @{ANA}"})
    no_number = stack.api.call("POST", "/messages", {"to": gid, "text": "de qualquer número"})

    assert sent.status == 200, sent.body
    assert sent.json["status"] in ("sent", "delivered", "read") and sent.json["chatId"] == gid
    said = sim.control.group_info(gid)["messages"]
    assert [(m["author"], m["body"], m["mentions"]) for m in said] == [(PHONE, f"Reunião, @{ANA}", [ANA])]
    assert sim.control.state()["lookups"] == lookups  # a group id is never looked up as a number
    events.wait_event("message_status", lambda e: e["data"]["status"] == "read"
                      and e["data"]["message"]["id"] == sent.json["id"])
    assert (no_number.status, no_number.json["error"]["details"]) == (422, {"field": "clientId"})
    photo = stack.api.call("POST", "/messages?wait=true", {"to": gid, "clientId": "vendas", "media": {
        "data": png_base64(), "mimetype": "image/png", "filename": "verde.png", "caption": "Cardápio"}})
    assert photo.status == 200, photo.body
    last = sim.control.group_info(gid)["messages"][-1]
    assert (last["type"], last["mimetype"], last["caption"], last["filename"]) == (
        "image", "image/png", "Cardápio", "verde.png")
    events.close()


def test_group_events_and_group_messages_reach_a_webhook(runtime, settings, sim, receiver):
    pool = running_pool(settings, runtime)
    hooks = WebhookService.in_folder(settings.data_dir, base_delay_s=0.2, http_timeout_s=5)
    hooks.start()
    pool.subscribe(hooks.publish)
    try:
        hook = hooks.add(receiver.url("/crm"), ["group_joined", "group_participants", "message"])
        receiver.secrets["/crm"] = hook["secret"]
        conftest_connect(pool, sim, "vendas")
        gid = _group_of_other(sim, [PHONE, BETO])
        sim.control.group(BETO, "send", groupId=gid, text="bom dia", notifyName="Beto")

        hits = wait_for(lambda: (got := receiver.ok("/crm")) and {h.json["event"] for h in got} >= {
            "group_joined", "group_participants", "message"} and got, what="the group deliveries")
        by_event = {h.json["event"]: h.json["data"] for h in hits}
        assert all(h.valid for h in hits)
        assert by_event["group_joined"] == {"groupId": gid, "author": f"{ANA}@c.us"}
        message = by_event["message"]["message"]
        assert (message["from"], message["author"], message["notifyName"], message["body"]) == (
            gid, f"{BETO}@c.us", "Beto", "bom dia")
    finally:
        pool.shutdown()
        hooks.stop()
