"""Scheduled messages over REST (issue 17 §3) on a real waitress server: make, list, filter, change, cancel, every
refusal with its code (each answer checked against /openapi.json by Api.call), and a schedule made over REST
reaching the simulator's phone once, from the worker the app starts."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from backend.schedules.timing import machine_zone
from tests.api_support import connect
from tests.conftest import PHONE, wait_until

ANA = "5511999990002"
LATER = "2030-01-02T09:00:00-03:00"


def error(reply) -> tuple[int, str, dict]:
    """A refusal's status, code and details."""
    return reply.status, reply.json["error"]["code"], reply.json["error"]["details"]


def test_schedules_round_trip(stack):
    api = stack.api
    made = api.call("POST", "/schedules", {"to": ANA, "text": "Lembrete", "at": LATER, "rrule": "weekly"})
    assert made.status == 201, made.body
    one = made.json
    assert (one["status"], one["rrule"], one["missed"], one["graceS"], one["clientId"], one["tz"]) == (
        "active", "FREQ=WEEKLY", "send", 3600, None, machine_zone())  # the machine's zone when none is named
    assert datetime.fromisoformat(one["nextAt"]) == datetime.fromisoformat(LATER)
    once = api.call("POST", "/schedules", {"to": ANA, "text": "Só hoje", "at": "2030-01-02T12:00:00Z",
                                           "tz": "Europe/Lisbon", "missed": "skip", "graceS": 0}).json
    assert once["at"] == "2030-01-02T12:00:00+00:00" and once["tz"] == "Europe/Lisbon"

    changed = api.call("PATCH", f"/schedules/{one['id']}", {"text": "Lembrete semanal", "rrule": "FREQ=WEEKLY;BYDAY=FR",
                                                            "tz": "America/Sao_Paulo"})
    assert changed.status == 200 and changed.json["text"] == "Lembrete semanal"
    assert changed.json["nextAt"] == "2030-01-04T09:00:00-03:00"  # the first Friday from 2 January, 09:00 there
    cancelled = api.call("DELETE", f"/schedules/{once['id']}")
    assert cancelled.status == 200 and (cancelled.json["status"], cancelled.json["nextAt"]) == ("cancelled", None)

    assert [s["id"] for s in api.call("GET", "/schedules").json["items"]] == [one["id"], once["id"]]
    assert [s["id"] for s in api.call("GET", "/schedules?status=active").json["items"]] == [one["id"]]
    assert api.call("GET", "/schedules?clientId=vendas").json == {"items": [], "nextCursor": None}
    first = api.call("GET", "/schedules?limit=1").json
    assert [s["id"] for s in first["items"]] == [one["id"]] and first["nextCursor"]
    rest = api.call("GET", f"/schedules?limit=1&cursor={first['nextCursor']}").json
    assert [s["id"] for s in rest["items"]] == [once["id"]] and rest["nextCursor"] is None
    assert api.call("GET", f"/schedules/{one['id']}").json["text"] == "Lembrete semanal"

    again = api.call("DELETE", f"/schedules/{once['id']}")
    late = api.call("PATCH", f"/schedules/{once['id']}", {"text": "tarde demais"})
    assert error(again) == (409, "schedule_not_active", {"scheduleId": once["id"], "status": "cancelled"})
    assert error(late)[:2] == (409, "schedule_not_active")


def test_every_refusal_has_its_code(stack):
    api = stack.api
    tpl = api.call("POST", "/templates", {"name": "Aviso", "text": "Oi {{nome}}"}).json
    past = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    cases = [
        ({"to": ANA, "text": "x", "at": "2030-01-02T09:00:00"}, (422, "schedule_bad_time", "no_offset")),
        ({"to": ANA, "text": "x", "at": "amanhã cedo"}, (422, "schedule_bad_time", "unparsable")),
        ({"to": ANA, "text": "x", "at": past}, (422, "schedule_bad_time", "past")),
        ({"to": ANA, "text": "x", "at": "2099-01-01T09:00:00Z"}, (422, "schedule_bad_time", "too_far")),
        ({"to": ANA, "text": "x", "at": LATER, "tz": "Mars/Olympus"}, (422, "schedule_unknown_timezone", None)),
        ({"to": ANA, "text": "x", "at": LATER, "tz": "../../etc/passwd"}, (422, "schedule_unknown_timezone", None)),
        ({"to": ANA, "text": "x", "at": LATER, "rrule": "FREQ=MINUTELY"}, (422, "schedule_too_frequent", None)),
        ({"to": ANA, "text": "x", "at": LATER, "rrule": "FREQ=DAILY;BYHOUR=9,10;BYMINUTE=0,30"},
         (422, "schedule_too_frequent", None)),
        ({"to": ANA, "text": "x", "at": LATER, "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31"},
         (422, "schedule_bad_rule", "never")),
        ({"to": ANA, "text": "x", "at": LATER, "rrule": "FREQ=DAILY;BYHOUR=99"}, (422, "schedule_bad_rule", "unparsable")),
        ({"to": ANA, "text": "x", "at": LATER, "missed": "maybe"}, (422, "invalid_input", None)),
        ({"to": ANA, "text": "x", "at": LATER, "graceS": -1}, (422, "invalid_input", None)),
        ({"to": ANA, "text": "x", "at": LATER, "when": "now"}, (422, "invalid_input", None)),
        ({"to": ANA, "at": LATER}, (422, "invalid_input", None)),
        ({"to": ANA, "text": "x", "templateId": tpl["id"], "at": LATER}, (422, "invalid_input", None)),
        ({"to": ANA, "text": "   ", "at": LATER}, (422, "invalid_text", None)),
        ({"to": "123", "text": "x", "at": LATER}, (422, "invalid_number", None)),
        ({"to": ANA, "templateId": tpl["id"], "at": LATER}, (422, "template_variable_missing", None)),
        ({"to": ANA, "templateId": "tpl_0000000000000000", "at": LATER}, (404, "template_not_found", None)),
        ({"to": ANA, "text": "x", "at": LATER, "clientId": "ninguem"}, (404, "not_found", None)),
    ]
    for body, (status, code, reason) in cases:
        reply = api.call("POST", "/schedules", body)
        assert error(reply)[:2] == (status, code), (body, reply.body)
        assert reply.json["error"]["details"].get("reason") == reason, (body, reply.body)

    assert error(api.call("POST", "/schedules", raw=b"{not json"))[:2] == (400, "malformed_json")
    assert error(api.call("GET", "/schedules?status=someday"))[:2] == (422, "invalid_input")
    assert error(api.call("GET", "/schedules?limit=0"))[:2] == (422, "invalid_input")
    assert error(api.call("GET", "/schedules?cursor=abc"))[:2] == (422, "invalid_input")
    assert error(api.call("GET", "/schedules/sch_0000000000000000"))[:2] == (404, "schedule_not_found")
    assert api.call("GET", "/schedules/../etc").status == 404
    made = api.call("POST", "/schedules", {"to": ANA, "templateId": tpl["id"], "variables": {"nome": "Ana"},
                                           "at": LATER}).json
    assert error(api.call("PATCH", f"/schedules/{made['id']}", {"at": "2030-01-02 09:00"}))[:2] == (
        422, "schedule_bad_time")
    assert error(api.call("PATCH", f"/schedules/{made['id']}", {"variables": {}}))[:2] == (
        422, "template_variable_missing")
    assert api.call("GET", f"/schedules/{made['id']}").json["variables"] == {"nome": "Ana"}  # nothing changed


def test_a_schedule_made_over_rest_reaches_the_phone_once(stack, sim):
    connect(stack, sim)
    schedules = stack.server.app.extensions["zapool.service"].schedules
    schedules.start()
    try:
        at = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
        made = stack.api.call("POST", "/schedules", {"to": ANA, "clientId": "vendas", "text": "Hora marcada",
                                                     "at": at}).json
        wait_until(lambda: stack.api.call("GET", f"/schedules/{made['id']}").json["status"] == "finished", 20,
                   what="the occurrence handled")
        run = stack.api.call("GET", f"/schedules/{made['id']}").json["lastRuns"][0]
        wait_until(lambda: stack.api.call("GET", f"/messages/{run['messageId']}").json["status"] in
                   ("sent", "delivered", "read"), 20, what="sent")
        time.sleep(0.5)
        assert [m["text"] for m in sim.control.sent(PHONE)] == ["Hora marcada"]
    finally:
        schedules.stop()
