"""The schedule bridge operations (issue 17 §3) on the real service, as the chat window's ⏰ dialog and the
Scheduled messages window call them: make, list by status, change, cancel, the refusals in the error envelope,
and the window opened; signed in only."""

from __future__ import annotations

from tests.desktop_support import error, ok, sign_in

ANA = "5511988887777"


def test_the_schedule_operations(desk):
    bridge = desk.bridge
    fields = {"to": ANA, "text": "Lembrete", "at": "2030-01-02T09:00:00-03:00", "tz": "America/Sao_Paulo",
              "rrule": "monthly"}
    assert error(bridge.create_schedule(fields))["code"] == "unauthorized"  # no session yet
    sign_in(desk)

    made = ok(bridge.create_schedule(fields))
    assert (made["nextAt"], made["rrule"], made["status"]) == ("2030-01-02T09:00:00-03:00", "FREQ=MONTHLY", "active")
    assert error(bridge.create_schedule({**fields, "rrule": "FREQ=MINUTELY"}))["code"] == "schedule_too_frequent"
    assert error(bridge.create_schedule("não é um objeto"))["details"] == {"field": "fields"}
    changed = ok(bridge.update_schedule(made["id"], {"at": "2030-01-05T08:00:00-03:00"}))
    assert changed["nextAt"] == "2030-01-05T08:00:00-03:00"
    assert [s["id"] for s in ok(bridge.list_schedules(None, "active"))["items"]] == [made["id"]]
    assert ok(bridge.cancel_schedule(made["id"]))["status"] == "cancelled"
    assert error(bridge.cancel_schedule(made["id"]))["code"] == "schedule_not_active"
    assert ok(bridge.list_schedules(None, "active"))["items"] == []
    assert error(bridge.list_schedules(None, None, None, 500))["details"] == {"field": "limit"}

    ok(bridge.open_schedules_window())
    assert any(w.url.endswith("/ui/schedules.html") for w in desk.gui.windows)
