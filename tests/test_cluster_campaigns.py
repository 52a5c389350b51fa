"""Campaigns in a cluster (issue 20, store/pg_campaigns.py, campaigns/runner.py): real `app.py` nodes on one
real PostgreSQL and the simulator. A campaign made through one node is sent by every node's numbers, each
recipient by one number; killed with SIGKILL, the node that made it takes nothing with it: the other node takes
its number (from its login snapshot, no scan) and finishes the campaign, and its reports count both nodes'
messages. Before, a campaign lived in its node's
campaigns.db and read a node-local log where the shared outbox's messages never were."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest

from tests.conftest import wait_until
from tests.test_cluster_failover import holders, link, nodes, phone_of  # noqa: F401 - `nodes`: the fixture

pytestmark = [pytest.mark.process, pytest.mark.browser]
CUSTOMERS = [f"55119{n:08d}" for n in range(40)]
ALL_DAY = {"from": "00:00", "to": "24:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
CSV = {"Content-Type": "text/csv"}


def received(sim, phones: list[str]) -> Counter[str]:
    """How many messages each customer got from these phones, as the simulator saw them."""
    return Counter(m["to"] for phone in phones for m in sim.control.sent(phone) if m["text"].startswith("Oi "))


def test_a_campaign_is_sent_by_every_nodes_numbers_and_outlives_the_node_it_was_made_on(nodes, sim):  # noqa: F811
    (_, api1), (app2, api2) = nodes("n1"), nodes("n2")
    link(sim, api1, "num0", phone_of(0))
    link(sim, api2, "num1", phone_of(1))
    assert holders(api1) == {"num0": "n1", "num1": "n2"}
    sim.control.set_numbers(CUSTOMERS)
    rows = "".join(f"Pessoa {n};{phone}\n" for n, phone in enumerate(CUSTOMERS))
    assert api1.call("POST", "/contacts/import?tags=natal", raw=f"Nome;Telefone\n{rows}".encode(),
                     headers=CSV).json["imported"] == 40
    template_id = api1.call("POST", "/templates", {"name": "oi", "text": "Oi {{nome}}!"}).json["id"]

    body = {"name": "Natal", "templateId": template_id, "audience": {"tags": ["natal"]}, "window": ALL_DAY,
            "delay": {"min": 0.4, "max": 0.4}, "warmup": False}
    previews = [api.call("POST", "/campaigns/preview", body).json["expectedDurationS"] for api in (api1, api2)]
    assert previews == [20, 20]  # each node counts both nodes' numbers: 20 messages each, ~1 s a message

    made = api2.call("POST", "/campaigns", body)
    assert made.status == 201, made.json
    path = f"/campaigns/{made.json['id']}"
    wait_until(lambda: min(len(sim.control.sent(phone_of(i))) for i in (0, 1)) >= 4, timeout=60,
               what="both nodes' numbers sending the campaign", every=0.2)
    os.killpg(app2.proc.pid, signal.SIGKILL)  # the node the campaign was made on, with its number's browser

    wait_until(lambda: holders(api1).get("num1") == "n1", timeout=60, what="n1 taking num1", every=0.25)
    done = wait_until(lambda: (c := api1.call("GET", path).json)["status"] == "finished" and c, timeout=120,
                      what="the campaign finished by n1", every=0.5)

    got = received(sim, [phone_of(0), phone_of(1)])
    assert set(got) == set(CUSTOMERS)  # everyone, though the node that made it died half-way
    assert sum(got.values()) - len(got) <= 1, got.most_common(3)  # at most the one in flight at the kill, twice
    assert done["counts"]["sent"] == 40 and done["counts"]["pending"] == 0, done["counts"]
    after = {c["clientId"]: c["sent"] for c in api1.call("GET", f"{path}/report").json["perNumber"]}
    assert after["num1"] >= 4 and after["num0"] + after["num1"] == 40, after
    # the reports read the shared log's report tables: n2's sends are counted on n1 (before, a node-local log: 0)
    assert api1.call("GET", "/reports/summary").json["outgoing"] == 40
