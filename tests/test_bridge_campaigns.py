"""The Campaigns window's bridge operations (issue 17 §4) on the real service, a number linked on the simulator:
preview, create, follow to the end, recipients, report and its CSV, the refusals as REST's envelope, and the
window opened; signed in only."""

from __future__ import annotations

from tests.api_support import PHONE
from tests.conftest import wait_until
from tests.desktop_support import error, link, ok, sign_in

ALL_DAY = {"from": "00:00", "to": "24:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}


def test_the_campaigns_window_operations(desk, sim):
    bridge = desk.bridge
    assert error(bridge.list_campaigns())["code"] == "unauthorized"  # no session yet
    sign_in(desk)
    link(desk, sim)
    desk.service.audience.import_csv(b"Nome;Telefone\nAna;5511900000001\nBia;5511900000002\n", ["feira"])
    template = ok(bridge.create_template({"name": "oi", "text": "Oi {{nome}}!"}))
    body = {"name": "Feira", "templateId": template["id"], "audience": {"tags": ["feira"]}, "window": ALL_DAY,
            "delay": {"min": 0, "max": 0}, "warmup": False}

    assert [m["text"] for m in ok(bridge.preview_campaign(body))["messages"]] == ["Oi Ana!", "Oi Bia!"]
    refused = error(bridge.create_campaign({**body, "delay": {"min": 3, "max": 1}}))
    assert refused == {"code": "invalid_input", "message": refused["message"], "details": {"field": "delay.min"}}
    assert error(bridge.create_campaign("not an object"))["details"] == {"field": "body"}
    made = ok(bridge.create_campaign(body))
    wait_until(lambda: ok(bridge.get_campaign(made["id"]))["status"] == "finished", 30, what="finished")
    assert [c["id"] for c in ok(bridge.list_campaigns())] == [made["id"]]
    assert sorted(m["to"] for m in sim.control.sent(PHONE)) == ["5511900000001", "5511900000002"]

    recipients = ok(bridge.campaign_recipients(made["id"]))["items"]
    assert [(r["phone"], r["clientId"]) for r in recipients] == [("5511900000001", "vendas"),
                                                                ("5511900000002", "vendas")]
    assert ok(bridge.campaign_report(made["id"]))["funnel"]["sent"] == 2
    assert ok(bridge.campaign_report_csv(made["id"])).splitlines()[0] == \
        "phone,name,status,clientId,messageId,error,replied"
    assert error(bridge.pause_campaign(made["id"]))["code"] == "campaign_state_conflict"
    assert error(bridge.get_campaign("cmp_0000000000000000"))["code"] == "campaign_not_found"

    ok(bridge.open_campaigns_window())
    assert any(w.url.endswith("/ui/campaigns.html") for w in desk.gui.windows)
