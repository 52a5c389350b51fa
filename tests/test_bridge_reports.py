"""The Reports window's bridge operations (issue 18) on the real service: each report as REST gives it, its CSV,
the settings, refusals named as REST names them, the window opened; signed in only."""

from __future__ import annotations

from tests.desktop_support import error, ok, sign_in


def test_the_reports_window_operations(desk, tmp_path):
    bridge = desk.bridge
    assert error(bridge.report("summary"))["code"] == "unauthorized"  # no session yet
    sign_in(desk)
    store = desk.service.outbox.store
    store.add_incoming([("n1", "in1", {"from": "5511999990001@c.us", "id": "false_x_1", "body": "oi"})])

    summary = ok(bridge.report("summary", {"clientId": "n1"}))
    assert (summary["incoming"], summary["customerConversations"], summary["responseRate"]) == (1, 1, 0.0)
    assert summary == desk.service.reports.summary({"clientId": "n1"})
    assert len(ok(bridge.report("heatmap"))["rows"]) == 168
    assert ok(bridge.report_csv("funnel", {})).startswith("clientId,sent,delivered,read,replied,failed")
    assert ok(bridge.report_csv("volume", {"clientId": "n2"})) == (
        "date,clientId,incoming,outgoing,groupIncoming,groupOutgoing,failed\r\n")  # an empty period: the header
    assert error(bridge.report("everything"))["details"] == {"field": "name"}
    assert error(bridge.report("summary", {"groups": "some"}))["details"] == {"field": "groups"}
    assert error(bridge.report("summary", {"from": 5}))["details"] == {"field": "from"}
    assert error(bridge.report_csv("nope"))["code"] == "invalid_input"

    assert ok(bridge.set_report_settings({"responseTargetMinutes": 5}))["responseTargetMinutes"] == 5
    assert ok(bridge.get_report_settings())["conversationGapHours"] == 24
    assert error(bridge.set_report_settings({"conversationGapHours": 0}))["details"] == {
        "field": "conversationGapHours"}

    ok(bridge.open_reports_window())
    target = tmp_path / "funil.csv"
    assert ok(bridge.save_report_csv("funnel", {"clientId": "n1"})) == {"saved": False, "path": None}  # cancelled
    desk.gui.dialog_answer = (str(target),)
    assert ok(bridge.save_report_csv("funnel", {"clientId": "n1"})) == {"saved": True, "path": str(target)}
    assert target.read_bytes().startswith(b"\xef\xbb\xbfclientId,sent,")  # a BOM for Excel, then the table
    assert desk.gui.dialogs[-1][1] == "zapool-funnel.csv"
    assert any(w.url.endswith("/ui/reports.html") for w in desk.gui.windows)
