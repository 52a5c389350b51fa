"""The Contacts window's bridge operations (issue 17 §2) on the real service: a CSV read by the window (base64)
imported with its report, the list, tags, opt-outs by hand, the keywords, and the window opened; signed in only."""

from __future__ import annotations

import base64

from tests.desktop_support import error, ok, sign_in


def test_the_contacts_window_operations(desk):
    bridge = desk.bridge
    csv = base64.b64encode("Nome,Celular\nAna,(11) 98888-7777\nSem,\n".encode()).decode()
    assert error(bridge.import_contacts(csv))["code"] == "unauthorized"  # no session yet
    sign_in(desk)

    report = ok(bridge.import_contacts(csv, ["feira"]))
    assert report == {"imported": 1, "merged": 0, "invalid": [
        {"line": 3, "reason": "no_phone", "message": "the row has no phone number"}]}
    assert error(bridge.import_contacts("não é base64!"))["details"] == {"field": "data"}
    ana = ok(bridge.list_audience("Ana"))["items"][0]
    assert ana["phone"] == "5511988887777" and ana["tags"] == ["feira"]
    assert ok(bridge.change_audience_contact(ana["id"], {"addTags": ["vip"]}))["tags"] == ["feira", "vip"]
    assert ok(bridge.list_audience_tags()) == [{"name": "feira", "count": 1}, {"name": "vip", "count": 1}]

    assert ok(bridge.add_optout("11 98888-7777"))["how"] == "manual"
    assert ok(bridge.list_audience())["items"][0]["optedOut"] is True
    assert [o["phone"] for o in ok(bridge.list_optouts())["items"]] == ["5511988887777"]
    ok(bridge.remove_optout("5511988887777"))
    assert error(bridge.remove_optout("5511988887777"))["code"] == "optout_not_found"
    assert ok(bridge.set_optout_settings({"keywords": ["sair"]}))["keywords"] == ["sair"]
    assert ok(bridge.get_optout_settings())["keywords"] == ["sair"]

    ok(bridge.open_contacts_window())
    assert any(w.url.endswith("/ui/contacts.html") for w in desk.gui.windows)
