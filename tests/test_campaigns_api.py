"""Campaigns through the REST API on a real waitress server, every answer checked against /openapi.json: every
refusal of POST /campaigns and the control routes with its code; then a campaign run from the simulator's side
(real Chromium): preview, pause and resume, the recipients' pages, the report and its CSV, the campaign.* events
on SSE and a webhook."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timedelta, timezone
from collections.abc import Iterator

import pytest

from backend.webhooks.service import WebhookService
from bench.webhook_receiver import Receiver
from tests.api_support import PHONE, EventStream, Stack, api_stack, connect
from tests.conftest import wait_until

CSV = {"Content-Type": "text/csv; charset=utf-8"}
ALL_DAY = {"from": "00:00", "to": "24:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
EVENTS = ("campaign.started", "campaign.progress", "campaign.paused", "campaign.finished")


@pytest.fixture
def stack(runtime, settings) -> Iterator[Stack]:
    """The app as app.py wires it, with webhooks, on a free port."""
    hooks = WebhookService.in_folder(settings.data_dir, base_delay_s=0.2, http_timeout_s=5)
    with api_stack(runtime, settings, webhooks=hooks) as made:
        yield made


def imported(stack: Stack, rows: int, tag: str = "loja") -> str:
    """`rows` customers tagged `tag`, and a template using their name: the template's id."""
    body = "Nome;Telefone\n" + "".join(f"Pessoa {n};55119{n:08d}\n" for n in range(rows))
    assert stack.api.call("POST", f"/contacts/import?tags={tag}", raw=body.encode(), headers=CSV).status == 200
    return stack.api.call("POST", "/templates", {"name": "oi", "text": "Oi {{nome}}!"}).json["id"]


def refused(stack: Stack, body: dict, status: int, code: str, field: str | None = None) -> None:
    """POST /campaigns answers `status` with `code` (naming `field`), and nothing was made."""
    reply = stack.api.call("POST", "/campaigns", body)
    assert reply.status == status and reply.json["error"]["code"] == code, reply.body
    if field is not None:
        assert reply.json["error"]["details"]["field"] == field, reply.body


def test_every_refusal_names_its_reason(stack: Stack) -> None:
    template_id = imported(stack, 3)
    good = {"name": "Promo", "templateId": template_id, "audience": {"tags": ["loja"]}, "delay": {"min": 1, "max": 5}}
    refused(stack, {**good, "templateId": "tpl_0000000000000000"}, 422, "campaign_template_unknown", "templateId")
    refused(stack, {**good, "audience": {"tags": ["ninguem"]}}, 422, "campaign_audience_empty", "audience")
    refused(stack, {**good, "audience": {"tags": []}}, 422, "invalid_input", "audience.tags")
    refused(stack, {**good, "audience": "some"}, 422, "invalid_input", "audience")
    refused(stack, {**good, "delay": {"min": 9, "max": 2}}, 422, "invalid_input", "delay.min")
    refused(stack, {**good, "delay": {"min": -1, "max": 2}}, 422, "invalid_input", "delay.min")
    refused(stack, {k: v for k, v in good.items() if k != "delay"}, 422, "invalid_input", "delay")
    refused(stack, {**good, "window": {"from": "20:00", "to": "08:00"}}, 422, "campaign_window_invalid", "window.to")
    refused(stack, {**good, "window": {"from": "25:00"}}, 422, "campaign_window_invalid", "window.from")
    refused(stack, {**good, "window": {"days": ["someday"]}}, 422, "campaign_window_invalid", "window.days")
    refused(stack, {**good, "window": {"timezone": "Mars/Olympus"}}, 422, "campaign_window_invalid",
            "window.timezone")
    refused(stack, {**good, "clientIds": ["nenhum"]}, 422, "campaign_client_unknown", "clientIds")
    refused(stack, {**good, "startAt": "2026-03-01T09:00:00"}, 422, "invalid_input", "startAt")  # no offset
    refused(stack, {**good, "dailyCap": 0}, 422, "invalid_input", "dailyCap")
    refused(stack, {**good, "warmup": {"growth": 0.5}}, 422, "invalid_input", "warmup.growth")
    refused(stack, {**good, "tags": ["loja"]}, 422, "invalid_input", "tags")  # unknown field: a typo is no default
    for n in range(3):
        stack.api.call("POST", "/contacts/optouts", {"phone": f"55119{n:08d}"})
    refused(stack, good, 422, "campaign_audience_empty", "audience")  # everyone opted out
    assert stack.api.call("GET", "/campaigns").json == []

    missing = stack.api.call("GET", "/campaigns/cmp_0000000000000000")
    assert missing.status == 404 and missing.json["error"]["code"] == "campaign_not_found"
    assert stack.api.call("GET", "/campaigns/not-an-id").status == 404


def test_a_campaign_paused_resumed_and_reported(stack: Stack, sim) -> None:
    template_id = imported(stack, 6)
    stack.api.call("POST", "/contacts/optouts", {"phone": "5511900000005"})
    receiver = Receiver()
    try:
        stack.api.call("POST", "/webhooks", {"url": receiver.url("/crm"), "events": list(EVENTS)})
        stream = EventStream(stack.server.url, "/events?types=" + ",".join(EVENTS), key=stack.api.key)
        connect(stack, sim)
        body = {"name": "Lançamento", "templateId": template_id, "audience": "all", "window": ALL_DAY,
                "delay": {"min": 0.6, "max": 0.8}, "warmup": False, "checkNumbers": False}
        preview = stack.api.call("POST", "/campaigns/preview", body).json
        assert [m["text"] for m in preview["messages"]] == ["Oi Pessoa 0!", "Oi Pessoa 1!", "Oi Pessoa 2!"]
        assert (preview["audience"], preview["reachable"], preview["skipped"]["optedOut"]) == (6, 5, 1)
        assert 0 < preview["expectedDurationS"] < 60
        made = stack.api.call("POST", "/campaigns", body)
        assert made.status == 201 and made.json["status"] in ("scheduled", "running"), made.body
        one = f"/campaigns/{made.json['id']}"
        stream.wait_event("campaign.started")

        wait_until(lambda: len(sim.control.sent(PHONE)) >= 2, 20, what="two sent")
        paused = stack.api.call("POST", f"{one}/pause")
        assert paused.status == 200 and paused.json["status"] == "paused"
        stream.wait_event("campaign.paused")
        wait_until(lambda: stack.api.call("GET", one).json["counts"]["queued"] == 0, 20,
                   what="the message already in the number's queue sent")  # it still goes
        held = len(sim.control.sent(PHONE))
        time.sleep(2.0)
        assert len(sim.control.sent(PHONE)) == held < 5  # nothing new while paused
        again = stack.api.call("POST", f"{one}/pause")
        assert again.status == 409 and again.json["error"]["code"] == "campaign_state_conflict"
        assert stack.api.call("POST", f"{one}/resume").json["status"] == "running"
        finished = stream.wait_event("campaign.finished", timeout=30)
        assert finished["data"]["campaign"]["status"] == "finished" and finished["clientId"] is None
        assert finished["data"]["campaign"]["counts"]["sent"] == 5
        assert stream.of_type("campaign.progress"), "progress while it ran"
        assert len(sim.control.sent(PHONE)) == 5
        assert stack.api.call("POST", f"{one}/cancel").json["error"]["code"] == "campaign_state_conflict"

        first = stack.api.call("GET", f"{one}/recipients?limit=4").json
        assert first["items"][0]["status"] in ("sent", "delivered", "read")
        rest = stack.api.call("GET", f"{one}/recipients?cursor={first['nextCursor']}").json
        everyone = first["items"] + rest["items"]
        assert [r["phone"] for r in everyone] == [f"55119{n:08d}" for n in range(6)] and rest["nextCursor"] is None
        assert everyone[5]["status"] == "skipped_optout" and everyone[5]["messageId"] is None
        assert all(r["clientId"] == "vendas" and r["messageId"] for r in everyone[:5])

        sim.control.incoming(PHONE, "5511900000001", "quero saber mais")
        wait_until(lambda: stack.api.call("GET", f"{one}/report").json["funnel"]["replied"] == 1, 10,
                   what="the reply counted")
        report = stack.api.call("GET", f"{one}/report").json
        assert report["funnel"]["total"] == 6 and report["funnel"]["sent"] == 5
        assert report["counts"]["skipped"]["optedOut"] == 1
        assert [(n["clientId"], n["sent"], n["replied"]) for n in report["perNumber"]] == [("vendas", 5, 1)]
        by_campaign = stack.api.call("GET", f"/reports/funnel?campaignId={made.json['id']}").json
        assert (by_campaign["total"]["sent"], by_campaign["total"]["replied"]) == (5, 1)  # its messages carry its id
        assert stack.api.call("GET", "/reports/funnel?campaignId=cmp_0000000000000000").json["total"]["sent"] == 0
        exported = stack.api.call("GET", f"{one}/report?format=csv")
        assert exported.headers["Content-Type"].startswith("text/csv")
        lines = list(csv.DictReader(io.StringIO(exported.body.decode())))
        assert len(lines) == 6 and [r["replied"] for r in lines].count("yes") == 1
        assert lines[1]["replied"] == "yes" and lines[5]["status"] == "skipped_optout"
        assert stack.api.call("GET", f"{one}/report?format=xml").status == 422

        wait_until(lambda: {json.loads(d.body)["event"] for d in receiver.ok("/crm")} >= set(EVENTS), 15,
                   what="every campaign event at the webhook")
        stream.close()
    finally:
        receiver.close()


def test_cancel_stops_a_scheduled_campaign_for_good(stack: Stack) -> None:
    template_id = imported(stack, 2)
    made = stack.api.call("POST", "/campaigns", {
        "name": "Depois", "templateId": template_id, "audience": {"tags": ["loja"]}, "delay": {"min": 1, "max": 2},
        "startAt": "2099-01-01T09:00:00-03:00"}).json
    assert made["status"] == "scheduled" and made["startAt"] == "2099-01-01T12:00:00.000Z"
    cancelled = stack.api.call("POST", f"/campaigns/{made['id']}/cancel").json
    assert cancelled["status"] == "cancelled" and cancelled["counts"]["cancelled"] == 2
    resumed = stack.api.call("POST", f"/campaigns/{made['id']}/resume")
    assert resumed.status == 409 and resumed.json["error"]["details"]["status"] == "cancelled"
    assert [c["id"] for c in stack.api.call("GET", "/campaigns").json] == [made["id"]]


def test_those_a_variable_is_missing_for_are_left_out_and_counted(stack: Stack) -> None:
    body = "Nome;Telefone;Cidade\nAna;5511900000001;Santos\n;5511900000002;Rio\nCaio;5511900000003;\n"
    stack.api.call("POST", "/contacts/import", raw=body.encode(), headers=CSV)
    template_id = stack.api.call("POST", "/templates", {"name": "c", "text": "Oi {{nome}}, de {{Cidade}}"}).json["id"]
    asked = {"name": "Cidades", "templateId": template_id, "audience": "all", "delay": {"min": 1, "max": 2}}
    preview = stack.api.call("POST", "/campaigns/preview", asked).json
    assert (preview["reachable"], preview["skipped"]["missingVariable"]) == (1, 2)  # no name; no city
    assert [m["text"] for m in preview["messages"]] == ["Oi Ana, de Santos"]
    made = stack.api.call("POST", "/campaigns", asked).json
    assert made["counts"]["skipped"]["missingVariable"] == 2 and made["counts"]["pending"] == 1


def test_a_campaign_whose_template_is_deleted_pauses_and_loses_nobody(stack: Stack, sim) -> None:
    template_id = imported(stack, 3)
    connect(stack, sim)
    stream = EventStream(stack.server.url, "/events?types=campaign.paused", key=stack.api.key)
    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
    made = stack.api.call("POST", "/campaigns", {"name": "Sem modelo", "templateId": template_id, "audience": "all",
                                                 "window": ALL_DAY, "delay": {"min": 0, "max": 0},
                                                 "startAt": soon}).json
    assert made["status"] == "scheduled"
    assert stack.api.call("DELETE", f"/templates/{template_id}").status == 204
    paused = stream.wait_event("campaign.paused", timeout=30)
    stream.close()
    assert paused["data"]["campaign"]["counts"]["pending"] == 3 and sim.control.sent(PHONE) == []
    again = stack.api.call("GET", f"/campaigns/{made['id']}").json
    assert again["status"] == "paused" and again["counts"]["pending"] == 3
