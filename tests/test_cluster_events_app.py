"""One cluster seen from any node (issue 20), on two real `app.py` nodes, a real PostgreSQL and the simulator:
an SSE client on one node sees what the other node's number received, /clients/all and /stats list the whole
cluster with each number's node, /health answers for each node, /metrics labels its samples by node, and a
message accepted by one node's API is sent by the owner without waiting for its poll."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.api_support import EventStream
from tests.conftest import PHONE, link_number, wait_until
from tests.test_cluster_app import nodes  # noqa: F401 - the two-node rig (a fixture)
from tests.ui_support import launch_browser, log_in

pytestmark = [pytest.mark.process, pytest.mark.browser]
CONTACT = "5521977776666"


def test_one_cluster_seen_from_any_node(nodes, sim):  # noqa: F811 - the fixture imported above
    _, api1 = nodes("n1", "--node-capacity", "4", "--lease-ttl", "15")
    second, api2 = nodes("n2", "--node-capacity", "6", "--lease-ttl", "15")
    link_number(sim, PHONE, "vendas",
                start=lambda: api1.call("POST", "/clients", {"clientId": "vendas"}).json,
                code=lambda: api1.call("GET", "/clients/vendas/qr", headers={"Accept": "application/json"}).json["code"],
                info=lambda: api1.call("GET", "/clients/vendas").json, timeout=30)
    on_owner = EventStream(api1.base, "/events?types=message,message_status", key=api1.key)
    elsewhere = EventStream(api2.base, "/events?types=message,message_status", key=api2.key)
    try:
        sim.control.incoming(PHONE, CONTACT, "Oi, <b>chegou</b>?")
        seen = elsewhere.wait_event("message", lambda e: e["data"]["message"]["body"] == "Oi, <b>chegou</b>?",
                                    timeout=10)
        assert (seen["clientId"], seen["node"]) == ("vendas", "n1")
        on_owner.wait_event("message")
        time.sleep(1.5)  # n1 also heard its own notification by now: it must not show the message twice
        assert [e["node"] for e in on_owner.of_type("message")] == ["n1"]
        assert len(elsewhere.of_type("message")) == 1

        # Accepted by n2's API (auto-routed: n2 drives no number), sent by n1, its statuses seen on n2's stream.
        accepted = api2.call("POST", "/messages", {"to": CONTACT, "text": "Resposta via n2"})
        assert accepted.status == 202, accepted.json
        elsewhere.wait_event("message_status", lambda e: e["data"]["message"]["id"] == accepted.json["id"]
                             and e["data"]["status"] == "sent" and e["node"] == "n1", timeout=15)
    finally:
        on_owner.close()
        elsewhere.close()

    listed = api2.call("GET", "/clients/all").json
    assert [(c["clientId"], c["status"], c["node"]) for c in listed] == [("vendas", "ready", "n1")]
    stats = api2.call("GET", "/stats").json
    assert (stats["currentClients"], stats["readyClients"], stats["clientsByStatus"]) == (1, 1, {"ready": 1})
    assert [(n["node"], n["currentClients"]) for n in stats["nodes"]] == [("n2", 0), ("n1", 1)]

    owner, other = api1.call("GET", "/health", key=None), api2.call("GET", "/health", key=None)
    assert owner.status == other.status == 200
    assert {k: owner.json[k] for k in ("status", "node", "database", "events", "leases")} == {
        "status": "ok", "node": "n1", "database": "ok", "events": "listening", "leases": 1}
    assert (other.json["node"], other.json["leases"], other.json["clients"]) == ("n2", 0, 0)

    text = api1.call("GET", "/metrics").body.decode()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all('node="n1"' in line for line in samples)
    assert 'zapool_client_status{node="n1",client_id="vendas",status="ready"} 1' in samples
    assert re.search(r'^zapool_messages_sent_total\{node="n1",client_id="vendas"\} 1$', text, re.MULTILINE)
    assert "vendas" not in api2.call("GET", "/metrics").body.decode()  # n2 reports only what it drives

    with sync_playwright() as pw:  # n2's pool window shows n1's number, with its node
        browser = launch_browser(pw)
        try:
            page = browser.new_context(locale="pt-BR").new_page()
            log_in(page, second.url, "senha-forte-123")
            page.goto(second.url + "/ui/pool.html")
            card = page.locator('.card[data-client-id="vendas"]')
            expect(card.locator('dd[data-role="node"]')).to_have_text("n1")
            expect(card.locator(".badge")).to_have_class(re.compile("status-ready"))
            api1.call("POST", "/clients", {"clientId": "suporte"})  # added on n1 while n2's window is open
            added = page.locator('.card[data-client-id="suporte"]')
            expect(added.locator('dd[data-role="node"]')).to_have_text("n1")
        finally:
            browser.close()

    api1.call("POST", "/clients/vendas/disconnect")  # a change on n1 shows on n2 at once, not at a heartbeat
    wait_until(lambda: [c["status"] for c in api2.call("GET", "/clients/all").json if c["clientId"] == "vendas"]
               == ["disconnected"],
               timeout=3, what="n2 to list vendas as disconnected")  # heartbeat: 5 s


def test_the_embedded_default_shows_no_node(nodes):  # noqa: F811 - the fixture imported above
    _, api = nodes("alone", database=None)
    health = api.call("GET", "/health", key=None).json
    assert set(health) == {"status", "version", "clients", "readyClients"}
    assert "nodes" not in api.call("GET", "/stats").json
    assert "node=" not in api.call("GET", "/metrics").body.decode()
    assert all("node" not in item for item in api.call("GET", "/clients/all").json)


def test_postgresql_restarted_health_says_degraded_then_events_flow_again(nodes, pg_server):  # noqa: F811
    from bench.postgres import PostgresServer

    server = PostgresServer().start()  # its own: this test stops it
    try:
        url = server.create_database()
        _, api1 = nodes("n1", database=url)
        _, api2 = nodes("n2", database=url)
        server.stop()
        down = api1.call("GET", "/health", key=None)
        assert down.status == 503
        assert (down.json["status"], down.json["database"], down.json["node"]) == ("degraded", "unreachable", "n1")
        server.start()
        for api in (api1, api2):
            wait_until(lambda api=api: api.call("GET", "/health", key=None).json["events"] == "listening",
                       timeout=20, what="listening again")
            assert api.call("GET", "/health", key=None).status == 200
        stream = EventStream(api2.base, "/events?types=client_added", key=api2.key)
        try:
            api1.call("POST", "/clients", {"clientId": "depois"})
            added = stream.wait_event("client_added", timeout=20)
            assert (added["clientId"], added["node"]) == ("depois", "n1")
        finally:
            stream.close()
    finally:
        server.close()
