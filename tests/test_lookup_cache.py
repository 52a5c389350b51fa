"""The number look-up cache: WhatsApp is asked once per recipient, not once per send, and a kept id that stopped
working is asked again (backend/whatsapp/lookups.py). Counted at the simulator (its `lookups`)."""

from __future__ import annotations

import pytest

from backend.errors import NumberNotOnWhatsApp
from backend.whatsapp.lookups import LookUpCache
from tests.conftest import PHONE, link

RECIPIENTS = [f"55119888{n:05d}" for n in range(20)]


def lookups(sim) -> int:
    """queryExists calls the simulator has answered since its reset."""
    return sim.control.state()["lookups"]


@pytest.mark.browser
def test_a_burst_to_20_recipients_asks_whatsapp_20_times(make_client, sim):
    client, rec = make_client()
    link(client, rec, sim)
    before = lookups(sim)

    for n in range(1000):
        client.send_message(RECIPIENTS[n % 20], f"mensagem {n}")

    assert len(sim.control.sent(PHONE)) == 1000
    assert lookups(sim) - before <= 20


@pytest.mark.browser
def test_a_kept_id_that_moved_is_asked_again_and_the_message_goes(make_client, sim):
    sim.control.set_numbers(["554188887777"])  # registered before the ninth digit existed
    client, rec = make_client()
    link(client, rec, sim)
    assert client.send_message("5541988887777", "um")["to"] == "554188887777@c.us"

    sim.control.set_numbers(["5541988887777"])  # WhatsApp now knows it with the ninth digit
    before = lookups(sim)
    sent = client.send_message("5541988887777", "dois")

    assert sent["to"] == "5541988887777@c.us"
    assert [m["to"] for m in sim.control.sent(PHONE)] == ["554188887777", "5541988887777"]
    assert lookups(sim) - before == 1
    client.send_message("5541988887777", "três")  # the new id is kept
    assert lookups(sim) - before == 1


@pytest.mark.browser
def test_a_kept_number_that_left_whatsapp_is_a_clear_not_found(make_client, sim):
    sim.control.set_numbers(["5511988887777"])
    client, rec = make_client()
    link(client, rec, sim)
    client.send_message("5511988887777", "um")

    sim.control.set_numbers([])
    with pytest.raises(NumberNotOnWhatsApp):
        client.send_message("5511988887777", "dois")
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["um"]


@pytest.mark.browser
def test_an_explicit_check_refreshes_the_kept_answer(make_client, sim):
    sim.control.set_numbers([])
    client, rec = make_client()
    link(client, rec, sim)
    with pytest.raises(NumberNotOnWhatsApp):
        client.send_message("5511988887777", "antes")

    sim.control.set_numbers(["5511988887777"])  # installed WhatsApp meanwhile; the check sees it at once
    assert client.check_number("5511988887777")["exists"] is True
    before = lookups(sim)
    client.send_message("5511988887777", "depois")
    assert lookups(sim) == before


def test_answers_expire_found_after_a_day_missing_after_ten_minutes():
    now = [0.0]
    cache = LookUpCache(clock=lambda: now[0])
    cache.put({"number": "5511988887777", "exists": True, "id": "5511988887777@c.us"})
    cache.put({"number": "5511912345678", "exists": False, "id": None})
    now[0] = 599.0
    assert cache.get("5511912345678") is not None and cache.get("5511988887777") is not None
    now[0] = 601.0
    assert cache.get("5511912345678") is None and cache.get("5511988887777") is not None
    now[0] = 24 * 3600 + 1.0
    assert cache.get("5511988887777") is None


def test_the_cache_is_bounded_oldest_first():
    cache = LookUpCache(max_entries=3)
    for n in range(5):
        cache.put({"number": str(n), "exists": True, "id": f"{n}@c.us"})
    assert [cache.get(str(n)) is not None for n in range(5)] == [False, False, True, True, True]
