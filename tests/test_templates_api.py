"""Templates over REST (issue 17 §1) on a real waitress server: create, list, change, preview, delete, the
refusals with their codes, and a template sent by POST /messages reaching the simulator rendered (Chromium)."""

from __future__ import annotations

import base64

from tests.api_support import connect
from tests.conftest import PHONE

ANA = "5511999990002"


def test_templates_round_trip_and_refusals(stack):
    api = stack.api
    made = api.call("POST", "/templates", {"name": "Pedido saiu",
                                            "text": '{Olá|Oi} {{nome|default("cliente")}}, pedido {{pedido}}.'})
    assert made.status == 201, made.body
    tpl = made.json
    assert (tpl["variables"], tpl["defaults"], tpl["required"]) == (["nome", "pedido"], {"nome": "cliente"},
                                                                  ["pedido"])

    preview = api.call("POST", f"/templates/{tpl['id']}/preview", {"variables": {"pedido": 42}})
    assert preview.status == 200 and preview.json["text"] in ("Olá cliente, pedido 42.", "Oi cliente, pedido 42.")
    assert preview.json["alternatives"] == [["Olá", "Oi"]]
    missing = api.call("POST", f"/templates/{tpl['id']}/preview", {"variables": {}})
    assert (missing.status, missing.json["error"]["code"], missing.json["error"]["details"]) == (
        422, "template_variable_missing", {"variables": ["pedido"]})

    patched = api.call("PATCH", f"/templates/{tpl['id']}", {"name": "Pedido enviado"})
    assert patched.status == 200 and patched.json["text"] == tpl["text"] and patched.json["name"] == "Pedido enviado"
    assert [t["name"] for t in api.call("GET", "/templates").json] == ["Pedido enviado"]
    taken = api.call("POST", "/templates", {"name": "pedido ENVIADO", "text": "x"})
    assert (taken.status, taken.json["error"]["code"]) == (409, "template_name_taken")
    escape = api.call("POST", "/templates", {"name": "mau", "text": "{{ cycler.__init__.__globals__ }}"})
    assert (escape.status, escape.json["error"]["code"], escape.json["error"]["details"]["line"]) == (
        422, "template_not_allowed", 1)
    broken = api.call("PUT", f"/templates/{tpl['id']}", {"name": "x", "text": "a\n{{ nome "})
    assert (broken.status, broken.json["error"]["code"], broken.json["error"]["details"]["line"]) == (
        422, "template_syntax", 2)

    assert api.call("DELETE", f"/templates/{tpl['id']}").status == 204
    gone = api.call("GET", f"/templates/{tpl['id']}")
    assert (gone.status, gone.json["error"]["code"]) == (404, "template_not_found")


def test_live_preview_of_unsaved_text_shows_unfilled_variables_by_name(stack):
    reply = stack.api.call("POST", "/templates/preview", {"text": "Oi {{nome}}, {{x|default(\"y\")}}",
                                                          "variables": {}})

    assert reply.status == 200 and reply.json["text"] == "Oi [nome], y"


def test_a_template_sent_through_post_messages_reaches_whatsapp_rendered(stack, sim):
    connect(stack, sim)
    tpl = stack.api.call("POST", "/templates", {"name": "Boas-vindas",
                                                 "text": "Olá {{nome}}, seu pedido {{pedido}} saiu!"}).json

    sent = stack.api.call("POST", "/messages?wait=true", {"to": ANA, "clientId": "vendas", "templateId": tpl["id"],
                                                          "variables": {"nome": "Ana", "pedido": "123"}})
    refused = stack.api.call("POST", "/messages", {"to": ANA, "templateId": tpl["id"], "variables": {"nome": "Ana"}})
    both = stack.api.call("POST", "/messages", {"to": ANA, "templateId": tpl["id"], "text": "oi"})

    assert sent.status == 200, sent.body
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["Olá Ana, seu pedido 123 saiu!"]
    assert (refused.status, refused.json["error"]["code"]) == (422, "template_variable_missing")
    assert (both.status, both.json["error"]["details"]) == (422, {"field": "templateId"})
    assert len(sim.control.sent(PHONE)) == 1  # nothing with a hole in it went out


def test_a_template_with_a_picture_goes_out_as_the_picture_with_the_text_as_caption(stack, sim):
    connect(stack, sim)
    picture = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(300_000)).decode()  # past the 64 KB of a plain body
    made = stack.api.call("POST", "/templates", {"name": "Cardápio", "text": "Oi {{nome}}, o cardápio de hoje",
                                                 "media": {"data": picture, "mimetype": "image/png",
                                                           "filename": "menu.png"}})
    assert made.status == 201, made.body
    assert made.json["media"] == {"mimetype": "image/png", "size": 300_008, "filename": "menu.png"}

    sent = stack.api.call("POST", "/messages?wait=true", {"to": ANA, "clientId": "vendas",
                                                          "templateId": made.json["id"], "variables": {"nome": "Ana"}})

    assert sent.status == 200, sent.body
    (out,) = sim.control.sent(PHONE)
    assert (out["type"], out["text"], out.get("filename")) == ("image", "Oi Ana, o cardápio de hoje", "menu.png")
