"""A campaign's clock arithmetic (backend/campaigns/plan.py) and settings (spec.py): the window in the campaign's
time zone, the warm-up ramp, the expected end. Pure functions of the time handed in: no browser, no files."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from backend.audience.service import check_tags
from backend.campaigns import plan
from backend.campaigns.errors import CampaignWindowInvalid
from backend.campaigns.spec import Spec, Warmup, Window, read_spec
from backend.errors import InvalidInput

SP = ZoneInfo("America/Sao_Paulo")
LISBON = ZoneInfo("Europe/Lisbon")


def at(*parts: int, zone: ZoneInfo = SP) -> float:
    return datetime(*parts, tzinfo=zone).timestamp()


def spec(**changes) -> Spec:
    base = {"name": "x", "templateId": "tpl_0000000000000000", "audience": "all", "delay": {"min": 30, "max": 90}}
    return read_spec({**base, **changes}, at(2026, 12, 7, 9, 0), check_tags)


def test_the_default_window_is_eight_to_eight_monday_to_saturday_in_sao_paulo() -> None:
    window = spec().window
    assert window == Window(480, 1200, (0, 1, 2, 3, 4, 5), "America/Sao_Paulo")
    assert plan.allowed(window, at(2026, 12, 7, 8, 0))  # Monday 08:00
    assert not plan.allowed(window, at(2026, 12, 7, 20, 0))  # 20:00 is already closed
    assert not plan.allowed(window, at(2026, 12, 6, 12, 0))  # Sunday
    assert plan.allowed(window, at(2026, 12, 7, 11, 30, zone=ZoneInfo("UTC")))  # 08:30 in São Paulo
    # Saturday night: the next opening is Monday 08:00, Sunday skipped
    assert plan.next_open(window, at(2026, 12, 5, 21, 0)) == at(2026, 12, 7, 8, 0)


def test_a_window_in_a_zone_with_summer_time_opens_at_its_wall_clock_hour() -> None:
    window = Window(9 * 60, 17 * 60, tuple(range(7)), "Europe/Lisbon")
    # the night Lisbon moves its clocks forward (29 March 2026): still 09:00 local the next morning
    assert plan.next_open(window, at(2026, 3, 28, 20, 0, zone=LISBON)) == at(2026, 3, 29, 9, 0, zone=LISBON)
    assert plan.next_day(window, at(2026, 3, 29, 12, 0, zone=LISBON)) - at(2026, 3, 29, 0, 0, zone=LISBON) == 23 * 3600


def test_warm_up_starts_low_and_grows_day_by_day_up_to_the_cap() -> None:
    ramp = spec()
    assert ramp.warmup == Warmup(True, 20, 1.5)
    linked = at(2026, 12, 7, 15, 0)
    assert [plan.allowance(ramp, linked, linked + d * 86400) for d in range(8)] == [20, 30, 45, 67, 101, 151, 200, 200]
    assert plan.allowance(ramp, at(2020, 1, 1, 0, 0), linked) == 200  # an old number: the cap
    assert plan.allowance(spec(warmup=False), linked, linked) == 200
    custom = spec(warmup={"start": 5, "growth": 2}, dailyCap=30)
    assert [plan.allowance(custom, linked, linked + d * 86400) for d in range(5)] == [5, 10, 20, 30, 30]


def test_the_expected_end_counts_the_window_and_the_allowances() -> None:
    fast = spec(window={"from": "08:00", "to": "20:00"}, delay={"min": 0, "max": 0}, warmup=False, dailyCap=50)
    monday = at(2026, 12, 7, 9, 0)
    # 120 messages, two numbers of 50 a day: 100 on Monday, the last 20 on Tuesday from 08:00, 10 each, 1 s apiece
    end = plan.expected_end(fast, monday, 120, {"a": (None, 0), "b": (None, 0)})
    assert end == at(2026, 12, 8, 8, 0) + 10
    assert plan.expected_end(fast, monday, 10, {}) is None  # no number: no end to promise
    evening = at(2026, 12, 5, 22, 0)  # Saturday night: nothing until Monday 08:00
    assert plan.expected_end(fast, evening, 2, {"a": (None, 0)}) == at(2026, 12, 7, 8, 0) + 2


@pytest.mark.parametrize(("changes", "field"), [
    ({"delay": {"min": 5, "max": 1}}, "delay.min"), ({"delay": {"min": 0, "max": 3601}}, "delay.max"),
    ({"delay": {"min": True, "max": 2}}, "delay.min"), ({"dailyCap": 1.5}, "dailyCap"),
    ({"audience": {"tags": ["a"], "other": 1}}, "audience"), ({"clientIds": []}, "clientIds"),
    ({"startAt": "amanhã"}, "startAt"), ({"checkNumbers": "yes"}, "checkNumbers"), ({"name": " "}, "name"),
])
def test_bad_settings_name_their_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        spec(**changes)
    assert refused.value.details["field"] == field


@pytest.mark.parametrize("window", [{"from": "8:00"}, {"from": "12:00", "to": "12:00"}, {"days": []},
                                    {"timezone": "../../etc/passwd"}, {"timezone": 3}, {"start": "08:00"}])
def test_a_bad_window_is_refused_as_such(window: dict) -> None:
    with pytest.raises(CampaignWindowInvalid):
        spec(window=window)


def test_settings_survive_their_stored_form() -> None:
    made = spec(window={"from": "09:30", "to": "24:00", "days": ["sun", "mon"], "timezone": "America/Manaus"},
                clientIds=["a", "b", "a"], warmup={"start": 10})
    assert Spec.from_json(made.to_json()) == made
    assert made.to_dict()["window"] == {"from": "09:30", "to": "24:00", "days": ["mon", "sun"],
                                        "timezone": "America/Manaus"}
    assert made.client_ids == ["a", "b"]
