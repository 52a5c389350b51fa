"""kill -9 of the whole app mid-campaign, then a restart on the same folder: every recipient gets its message
once, none twice, none lost (issue 17 §4). app.py runs as a user runs it (bench/chaos/harness.App, its own
process group, headless, on the simulator); what the recipients got is read at the simulator."""

from __future__ import annotations

from collections import Counter

import pytest

from backend.store.audience import AudienceStore, NewCustomer
from bench.chaos.harness import App, prepare
from tests.conftest import PHONE, connect, wait_until

PHONE_B = "5511999990002"
ALL_DAY = {"from": "00:00", "to": "24:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
COUNT = 60


@pytest.mark.process
def test_kill_9_mid_campaign_then_restart_sends_each_recipient_once(make_pool, sim, settings) -> None:
    data = settings.data_dir
    linking = make_pool()
    connect(linking, sim, "a", PHONE)
    connect(linking, sim, "b", PHONE_B)
    linking.shutdown()
    audience = AudienceStore(data / "audience.db")
    audience.upsert_many([NewCustomer(f"55119{n:08d}", f"P{n}") for n in range(COUNT)], "2026-12-04T00:00:00Z")
    audience.close()
    app = App(data, sim.url, prepare(sim, data, 0), tree=False).start()
    try:
        app.wait_ready(2, timeout=60)
        status, template = app.call("POST", "/templates", {"name": "t", "text": "Olá {{nome}}"})
        assert status == 201, template
        status, made = app.call("POST", "/campaigns", {
            "name": "queda", "templateId": template["id"], "audience": "all", "window": ALL_DAY,
            "delay": {"min": 0.05, "max": 0.15}, "warmup": False})
        assert status == 201, made

        def out() -> list[tuple[str, str]]:
            return [(m["to"], m["text"]) for p in (PHONE, PHONE_B) for m in sim.control.sent(p)]

        wait_until(lambda: len(out()) >= COUNT // 3, 60, what="a third sent")
        app.kill9()
        at_kill = len(out())
        assert at_kill < COUNT, "killed mid-campaign"

        app.start()
        app.wait_ready(2, timeout=60)
        wait_until(lambda: app.call("GET", f"/campaigns/{made['id']}")[1]["status"] == "finished", 90,
                   what="the campaign finished after the restart")
        got = Counter(out())
        assert max(got.values()) == 1, [m for m, n in got.items() if n > 1]  # no duplicate
        assert set(got) == {(f"55119{n:08d}", f"Olá P{n}") for n in range(COUNT)}  # no loss
        _, final = app.call("GET", f"/campaigns/{made['id']}")
        assert (final["counts"]["sent"], final["counts"]["failed"]) == (COUNT, 0)
    finally:
        app.ensure_stopped()
