"""The customer list through the REST API (issue 17 §2) on a real waitress server, every answer checked against
/openapi.json; and the opt-out keyword end to end: a contact writes "sair" in the simulator (real Chromium), the
number's confirmation reaches the simulator once, and `contact.opted_out` reaches SSE and a webhook."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from backend.webhooks.service import WebhookService
from bench.webhook_receiver import Receiver
from tests.api_support import api_stack, PHONE, EventStream, Stack, connect
from tests.conftest import wait_until

OTHER = "5511988887777"
CSV = "text/csv; charset=utf-8"


@pytest.fixture
def stack(runtime, settings) -> Iterator[Stack]:
    """The app as app.py wires it (pool, webhooks, auth, build_service + create_app) on a free port."""
    with api_stack(runtime, settings, webhooks=WebhookService.in_folder(settings.data_dir, base_delay_s=0.2, http_timeout_s=5)) as made:
        yield made


def multipart(name: str, data: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    """A form upload as a browser sends it."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def declared_too_large(stack: Stack, length: int) -> int:
    """The status of an import whose headers declare `length` bytes (none of them sent)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.server.port, timeout=10)
    try:
        conn.putrequest("POST", "/contacts/import")
        for name, value in (("Content-Type", CSV), ("Content-Length", str(length)), ("X-Api-Key", stack.api.key)):
            conn.putheader(name, value)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_import_list_tag_and_delete_over_http(stack: Stack) -> None:
    api = stack.api
    body = "Nome;Celular;Cidade\r\nAna;(11) 98888-7777;Santos\r\nSem;;\r\n".encode("cp1252")
    report = api.call("POST", "/contacts/import?tags=feira", raw=body, headers={"Content-Type": CSV})
    assert report.status == 200, report.body
    assert report.json == {"imported": 1, "merged": 0, "invalid": [
        {"line": 3, "reason": "no_phone", "message": "the row has no phone number"}]}
    form, kind = multipart("google.csv", b"Name,Phone 1 - Value\nBeto,+55 21 99876-5432\nAna B,11 98888-7777\n",
                           {"tags": "site"})
    assert api.call("POST", "/contacts/import", raw=form, headers={"Content-Type": kind}).json["merged"] == 1

    listed = api.call("GET", "/contacts?tag=feira").json
    assert [(c["name"], c["tags"]) for c in listed["items"]] == [("Ana B", ["feira", "site"])]
    ana = listed["items"][0]
    changed = api.call("PATCH", f"/contacts/{ana['id']}", {"addTags": ["vip"], "removeTags": ["site"]}).json
    assert changed["tags"] == ["feira", "vip"] and changed["variables"] == {"Cidade": "Santos"}
    assert api.call("GET", "/contacts/tags").json["items"] == [
        {"name": "feira", "count": 1}, {"name": "site", "count": 1}, {"name": "vip", "count": 1}]
    first = api.call("GET", "/contacts?limit=1").json
    assert len(first["items"]) == 1 and first["nextCursor"]
    rest = api.call("GET", f"/contacts?limit=1&cursor={first['nextCursor']}").json
    assert rest["items"][0]["name"] == "Beto" and rest["nextCursor"] is None
    assert api.call("GET", "/contacts?q=Bet").json["items"][0]["phone"] == "5521998765432"
    assert api.call("DELETE", f"/contacts/{ana['id']}").status == 204
    gone = api.call("GET", f"/contacts/{ana['id']}")
    assert gone.status == 404 and gone.json["error"]["code"] == "contact_not_found"


def test_import_refusals_over_http(stack: Stack) -> None:
    api = stack.api
    as_json = api.call("POST", "/contacts/import", {"csv": "Telefone\n11987654321"})
    assert as_json.status == 415
    no_phone = api.call("POST", "/contacts/import", raw=b"Nome,Email\nAna,a@b.c\n", headers={"Content-Type": CSV})
    assert no_phone.status == 422 and no_phone.json["error"]["code"] == "csv_unreadable"
    assert declared_too_large(stack, 9 * 1024 * 1024) == 413  # refused from its headers, before its bytes
    assert api.call("GET", "/contacts").json["items"] == []


def test_opt_outs_and_settings_over_http(stack: Stack) -> None:
    api = stack.api
    made = api.call("POST", "/contacts/optouts", {"phone": "(11) 8765-4321"})
    assert made.status == 201 and made.json["phone"] == "5511987654321" and made.json["how"] == "api"
    created = api.call("POST", "/contacts", {"phone": "+55 11 98765-4321", "name": "<b>Maria</b>"}).json
    assert created["optedOut"] is True and created["name"] == "<b>Maria</b>"  # stored as text, never as HTML
    assert [o["phone"] for o in api.call("GET", "/contacts/optouts").json["items"]] == ["5511987654321"]
    assert api.call("DELETE", "/contacts/optouts/5511987654321").status == 204
    again = api.call("DELETE", "/contacts/optouts/5511987654321")
    assert again.status == 404 and again.json["error"]["code"] == "optout_not_found"
    assert api.call("GET", "/contacts/settings").json["keywords"] == ["SAIR", "PARAR", "STOP", "CANCELAR"]
    changed = api.call("PATCH", "/contacts/settings", {"keywords": ["Descadastrar"], "reply": "Ok, removido."})
    assert changed.json == {"keywords": ["Descadastrar"], "reply": "Ok, removido."}
    bad = api.call("PATCH", "/contacts/settings", {"keywords": []})
    assert bad.status == 422 and bad.json["error"]["details"]["field"] == "keywords"


def test_sair_from_the_simulator_opts_out_and_confirms_once(stack: Stack, sim) -> None:
    receiver = Receiver()
    try:
        stack.api.call("POST", "/webhooks", {"url": receiver.url("/crm"), "events": ["contact.opted_out"]})
        stream = EventStream(stack.server.url, "/events?types=contact.opted_out", key=stack.api.key)
        connect(stack, sim)
        sim.control.incoming(PHONE, OTHER, "obrigado, tchau")  # not a keyword: nothing happens
        sim.control.incoming(PHONE, OTHER, "  Sáir ")
        event = stream.wait_event("contact.opted_out")
        assert event["clientId"] == "vendas"
        assert event["data"]["optOut"]["phone"] == OTHER and event["data"]["optOut"]["how"] == "keyword"
        wait_until(lambda: sim.control.sent(PHONE), what="the confirmation at the simulator")
        sent = sim.control.sent(PHONE)
        assert [(m["to"], m["text"]) for m in sent] == [(OTHER, stack.api.call("GET", "/contacts/settings")
                                                        .json["reply"])]
        wait_until(lambda: receiver.ok("/crm"), what="the webhook")
        assert json.loads(receiver.ok("/crm")[0].body)["data"]["optOut"]["phone"] == OTHER
        assert stack.api.call("GET", "/contacts/optouts").json["items"][0]["clientId"] == "vendas"

        sim.control.incoming(PHONE, OTHER, "PARAR")  # already out: no second confirmation, no second event
        sim.control.incoming(PHONE, OTHER, "marco")
        wait_until(lambda: [m["body"] for m in stack.api.call("GET", "/messages?direction=in").json["items"]][:1]
                   == ["marco"], what="the later messages logged")
        time.sleep(1.0)
        assert len(sim.control.sent(PHONE)) == 1 and len(stream.of_type("contact.opted_out")) == 1

        # Opted back in, with the business's own keyword and reply: the old keyword does nothing, the new one
        # opts out again and confirms again (once per opt-out).
        assert stack.api.call("DELETE", f"/contacts/optouts/{OTHER}").status == 204
        stack.api.call("PATCH", "/contacts/settings", {"keywords": ["Descadastrar"], "reply": "Ok, removido."})
        sim.control.incoming(PHONE, OTHER, "SAIR")
        sim.control.incoming(PHONE, OTHER, "marco 2")
        wait_until(lambda: [m["body"] for m in stack.api.call("GET", "/messages?direction=in").json["items"]][:1]
                   == ["marco 2"], what="the old keyword logged")
        time.sleep(1.0)
        assert stack.api.call("GET", "/contacts/optouts").json["items"] == [] and len(sim.control.sent(PHONE)) == 1
        sim.control.incoming(PHONE, OTHER, "descadastrar")
        stream.wait_for(lambda evs: len(stream.of_type("contact.opted_out")) == 2, what="the second opt-out")
        wait_until(lambda: len(sim.control.sent(PHONE)) == 2, what="the second confirmation")
        assert sim.control.sent(PHONE)[-1]["text"] == "Ok, removido."
        stream.close()
    finally:
        receiver.close()
