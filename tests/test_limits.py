"""Per-number limits through the REST API on a real server and the simulator: GET|PUT /clients/{id}/limits,
a message over a cap waiting (queued, with its reason and a rate_limited event) and going once the cap allows,
and hostile input refused with a 4xx JSON error that changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.api_support import PHONE, EventStream, Stack, connect
from tests.conftest import wait_until

pytestmark = pytest.mark.browser
TO = "5511988887777"


def test_a_number_over_its_hourly_cap_holds_the_message_visibly_and_sends_it_once_the_cap_is_raised(
        stack: Stack, sim):
    connect(stack, sim)
    api = stack.api
    before = api.call("GET", "/clients/vendas/limits")
    assert before.status == 200 and before.json["sentThisHour"] == 0 and before.json["hourlyCap"] == 0

    changed = api.call("PUT", "/clients/vendas/limits", {"hourlyCap": 1, "intervalS": 0.5, "jitterS": 0})
    assert changed.status == 200, changed.body
    assert (changed.json["hourlyCap"], changed.json["intervalS"], changed.json["dailyCap"]) == (1, 0.5, 0)
    stream = EventStream(stack.server.url, "/events?types=rate_limited", key=api.key)
    try:
        first = api.call("POST", "/clients/vendas/messages", {"to": TO, "text": "primeira"}).json
        second = api.call("POST", "/clients/vendas/messages", {"to": TO, "text": "segunda"}).json
        held = stream.wait_event("rate_limited")["data"]
    finally:
        stream.close()
    assert held["cap"] == "hourly" and held["limit"] == 1 and held["message"]["id"] == second["id"]
    waiting = api.call("GET", f"/messages/{second['id']}").json
    assert waiting["status"] == "queued" and waiting["errorCode"] == "rate_limited"
    assert "hourly cap of 1" in waiting["reason"]
    assert api.call("GET", f"/messages/{first['id']}").json["status"] in ("sent", "delivered", "read")
    assert api.call("GET", "/clients/vendas/limits").json["sentThisHour"] == 1
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["primeira"], "the contact got only the first"

    raised = api.call("PUT", "/clients/vendas/limits", {"hourlyCap": None})  # back to the default: no cap here
    assert raised.status == 200 and raised.json["hourlyCap"] == 0
    sent = wait_until(lambda: (m := api.call("GET", f"/messages/{second['id']}").json)["status"] not in ("queued", "sending") and m,
                      10, what="the held message to go")
    assert sent["status"] in ("sent", "delivered", "read") and sent["reason"] is None
    assert api.call("GET", "/clients/vendas/limits").json["sentThisHour"] == 2
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["primeira", "segunda"]


@pytest.mark.parametrize("body", [
    {"hourlyCap": -1}, {"hourlyCap": 1.5}, {"hourlyCap": True}, {"dailyCap": "100"}, {"dailyCap": 10 ** 12},
    {"intervalS": -0.1}, {"intervalS": 86400}, {"jitterS": []}, {"evil": 1}, {"__proto__": {"hourlyCap": 0}},
])
def test_hostile_limits_are_refused_with_422_and_change_nothing(stack: Stack, sim, body):
    connect(stack, sim)
    before = stack.api.call("GET", "/clients/vendas/limits").json
    reply = stack.api.call("PUT", "/clients/vendas/limits", body)
    assert reply.status == 422 and reply.json["error"]["code"] == "invalid_input", reply.body
    assert stack.api.call("GET", "/clients/vendas/limits").json == before


def test_limits_refuse_what_is_not_json_an_unknown_number_and_callers_without_a_key(stack: Stack):
    api = stack.api
    assert api.call("PUT", "/clients/nobody/limits", {"hourlyCap": 1}).status == 404
    assert api.call("GET", "/clients/nobody/limits").status == 404
    assert api.call("GET", "/clients/nobody/limits", key=None).status == 401
    assert api.call("PUT", "/clients/nobody/limits", raw=json.dumps({"hourlyCap": 1}).encode(), key=None).status == 401


def test_limits_refuse_a_body_that_is_not_an_object_or_not_finite(stack: Stack, sim):
    connect(stack, sim)
    for raw in (b"[1]", b'{"intervalS": 1e999}', b'{"hourlyCap": NaN}', b"not json"):
        reply = stack.api.call("PUT", "/clients/vendas/limits", raw=raw)
        assert reply.status in (400, 422) and "error" in reply.json, raw
    assert stack.api.call("GET", "/clients/vendas/limits").json["intervalS"] == 0
