"""Any node answers for any number (issue 20, backend/api/forward.py): two `app.py` nodes on one real
PostgreSQL, a number linked on n1, and every call about it made through n2's API: its info, disconnect,
reconnect (no scan), its QR refusal, all answered by n1 as n1 answers them. The token between nodes opens
nothing without the cluster's secret, and a caller without credentials is refused at the entry node."""

from __future__ import annotations

import base64

import pytest

from tests.api_support import Api
from tests.conftest import PHONE, link_number, wait_until
from tests.test_cluster_app import nodes  # noqa: F401 - the fixture: app.py nodes with an API key each

pytestmark = [pytest.mark.process, pytest.mark.browser]
PEER = "5521977776666"


def link_vendas_on(api: Api, sim) -> None:
    """The number "vendas" added through `api`'s node and linked by scanning its QR code on the simulator."""
    link_number(sim, PHONE, "vendas",
                start=lambda: api.call("POST", "/clients", {"clientId": "vendas"}).json,
                code=lambda: api.call("GET", "/clients/vendas/qr", headers={"Accept": "application/json"}).json["code"],
                info=lambda: api.call("GET", "/clients/vendas").json, timeout=30)


def test_calls_about_another_nodes_number_are_answered_by_that_node(nodes, sim):  # noqa: F811
    _, api1 = nodes("n1", "--lease-ttl", "5", "--allow-picture-origin", sim.url)
    link_vendas_on(api1, sim)
    _, api2 = nodes("n2", "--lease-ttl", "5")

    info = api2.call("GET", "/clients/vendas")
    assert info.status == 200 and (info.json["status"], info.json["phoneNumber"], info.json["node"]) == (
        "ready", PHONE, "n1")
    assert api2.call("POST", "/clients/vendas/disconnect").status == 200
    assert api1.call("GET", "/clients/vendas").json["status"] == "disconnected"  # done on n1
    again = api2.call("POST", "/clients/vendas/reconnect")
    assert again.status == 200, again.json
    wait_until(lambda: api2.call("GET", "/clients/vendas").json["status"] == "ready", timeout=30,
               what="reconnected on n1 without a scan", every=0.25)
    refused = api2.call("GET", "/clients/vendas/qr", headers={"Accept": "application/json"})
    assert refused.status == 409  # n1's own answer: no QR code while it is ready
    assert api2.call("GET", "/clients/nada").status == 404


def test_a_forwarded_answer_keeps_its_headers_and_a_download_resumes(nodes, sim):  # noqa: F811
    """The owner's headers come back through the entry node: a media download's Content-Disposition, a Range
    answered 206, a picture's cache and content policy (before, only Content-Type came back)."""
    _, api1 = nodes("n1", "--lease-ttl", "5", "--allow-picture-origin", sim.url)
    link_vendas_on(api1, sim)
    _, api2 = nodes("n2", "--lease-ttl", "5")
    document = bytes(range(256)) * 40
    sim.control.contacts(PHONE, [{"number": PEER, "name": "Ana", "picture": True}])
    wa_id = sim.control.incoming(PHONE, PEER, media={"type": "document", "mimetype": "application/pdf",
                                                     "filename": "pedido.pdf",
                                                     "data": base64.b64encode(document).decode()})["id"]
    path = f"/clients/vendas/messages/{wa_id}/media"

    whole = wait_until(lambda: (r := api2.call("GET", path)).status == 200 and r, timeout=20,
                       what="the document kept on n1", every=0.25)
    part = api2.call("GET", path, headers={"Range": "bytes=10-19"})
    picture = api2.call("GET", f"/clients/vendas/contacts/{PEER}/picture")

    assert whole.body == document and whole.headers["Content-Disposition"].startswith("attachment")
    assert part.status == 206 and part.body == document[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(document)}"
    assert picture.status == 200 and picture.headers["Cache-Control"] == "private, max-age=3600"
    assert picture.headers["Content-Security-Policy"] == "default-src 'none'"


def test_the_node_token_opens_nothing_without_the_clusters_secret(nodes):  # noqa: F811
    app1, api1 = nodes("n1", "--lease-ttl", "5")
    forged = Api(app1.url, None).call("GET", "/clients/all", headers={"X-ZapPool-Node-Token": "adivinhado"})
    assert forged.status == 401
    assert Api(app1.url, None).call("GET", "/clients/vendas").status == 401


def test_a_message_with_media_for_another_nodes_number_is_sent_through_any_node(nodes, sim):  # noqa: F811
    """POST /messages naming n1's number, sent to n2 with a document: passed to n1, which accepts the bytes
    and sends them (before: 409 other_node, the file being n2's)."""
    _, api1 = nodes("n1", "--lease-ttl", "5")
    link_vendas_on(api1, sim)
    _, api2 = nodes("n2", "--lease-ttl", "5")
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 8

    sent = api2.call("POST", "/messages?wait=true", {
        "clientId": "vendas", "to": PEER, "media": {"data": base64.b64encode(pdf).decode(),
                                                    "mimetype": "application/pdf", "filename": "pedido.pdf",
                                                    "caption": "segue o pedido"}})

    assert sent.status == 200, sent.json
    assert sent.json["status"] == "sent" and sent.json["clientId"] == "vendas"
    received = [m for m in sim.control.sent(PHONE) if m.get("filename") == "pedido.pdf"]
    assert len(received) == 1
