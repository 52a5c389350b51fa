"""Cluster mode from the command line (issue 20): `app.py --headless --database URL --node NAME` nodes on one
real PostgreSQL, a number linked on the simulator and sent through the shared, fenced outbox, /cluster read
from any node, and a stopped node drained (its lease given up at once, itself no longer alive)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.auth.service import AuthService
from backend.store.pg_db import PgDatabase
from backend.store.pg_messages import PgMessageStore
from tests.api_support import FAST_SCRYPT, Api
from tests.conftest import PHONE, link_number, wait_until
from tests.test_app import ROOT, Output, finish
from tests.ui_support import AppProcess

pytestmark = [pytest.mark.process, pytest.mark.browser]
TO = "5511988887777"


@pytest.fixture
def nodes(tmp_path: Path, sim, pg_url: str) -> Iterator[Callable[..., tuple[AppProcess, Api]]]:
    """Starts app.py processes, each on its own data folder with an API key (cluster nodes unless
    database=None); all stopped after."""
    started: list[AppProcess] = []

    def start(name: str, *extra: str, database: str | None = pg_url) -> tuple[AppProcess, Api]:
        data = tmp_path / name / "dados"
        auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
        auth.reset_password("senha-forte-123")
        _, key = auth.create_api_key("testes")
        cluster = ("--database", database, "--node", name) if database else ()
        app = AppProcess(data, sim.url).start("--send-interval", "0", "--no-restore", *cluster, *extra)
        started.append(app)
        return app, Api(app.url, key)

    yield start
    for app in started:
        app.stop()


def test_nodes_share_the_cluster_send_under_their_lease_and_a_stopped_node_is_drained(nodes, sim, pg_url):
    first, api1 = nodes("n1", "--node-capacity", "4", "--lease-ttl", "5")
    link_number(sim, PHONE, "vendas",
                start=lambda: api1.call("POST", "/clients", {"clientId": "vendas"}).json,
                code=lambda: api1.call("GET", "/clients/vendas/qr", headers={"Accept": "application/json"}).json["code"],
                info=lambda: api1.call("GET", "/clients/vendas").json, timeout=30)
    # Queued by someone else into the shared outbox (another node's API): the owner's lane runs it all the same.
    shared = PgMessageStore(PgDatabase(pg_url).open())
    shared.add_outgoing("de-outro-no", client_id="vendas", to_number=TO, chat=f"{TO}@c.us", type="chat",
                        body="Aceita por outro nó")
    wait_until(lambda: [m["text"] for m in sim.control.sent(PHONE)] == ["Aceita por outro nó"], timeout=15,
               what="the owner to send what another node accepted")
    wait_until(lambda: shared.get("de-outro-no").status in ("sent", "delivered", "read"), what="marked sent")
    shared.close()
    sent = api1.call("POST", "/messages?wait=true", {"to": TO, "text": "Olá do cluster", "clientId": "vendas"})
    assert sent.status == 200 and sent.json["status"] in ("sent", "delivered", "read"), sent.json
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["Aceita por outro nó", "Olá do cluster"]

    second, api2 = nodes("n2", "--node-capacity", "6", "--lease-ttl", "5")
    seen = api2.call("GET", "/cluster").json  # any node answers for the whole cluster
    assert seen["node"] == "n2"
    assert [(n["name"], n["alive"], n["capacity"], n["leases"]) for n in seen["nodes"]] == [
        ("n1", True, 4, 1), ("n2", True, 6, 0)]
    assert [(lease["clientId"], lease["node"]) for lease in seen["leases"]] == [("vendas", "n1")]
    assert seen["capacity"] == {"total": 10, "used": 1, "nodesAlive": 2}
    assert api2.call("GET", f"/messages/{sent.json['id']}").json["status"] in ("sent", "delivered", "read")

    assert first.stop() == 0
    after = api2.call("GET", "/cluster").json
    assert after["leases"] == []  # drained: given up at once, not left to expire
    wait_until(lambda: [n["alive"] for n in api2.call("GET", "/cluster").json["nodes"]] == [False, True],
               timeout=20, what="n1 no longer alive")


def test_without_a_database_there_is_no_cluster_to_show(nodes):
    _, api = nodes("alone", database=None)
    refused = api.call("GET", "/cluster")
    assert refused.status == 404 and refused.json["error"]["details"]["reason"] == "not_clustered"


def test_a_template_written_on_one_node_is_the_same_on_every_node(nodes):
    """Templates live in the cluster's PostgreSQL (store/pg_templates.py): written through n1, listed, changed
    and deleted through n2, and one name per cluster (before, each node had its own templates.db)."""
    _, api1 = nodes("n1")
    _, api2 = nodes("n2")
    made = api1.call("POST", "/templates", {"name": "Boas-vindas", "text": "Oi {{nome}}, tudo bem?"})
    assert made.status == 201, made.json

    listed = api2.call("GET", "/templates")
    taken = api2.call("POST", "/templates", {"name": "boas-vindas", "text": "outro"})
    changed = api2.call("PATCH", f"/templates/{made.json['id']}", {"text": "Olá {{nome}}!"})

    assert [t["name"] for t in listed.json] == ["Boas-vindas"]
    assert taken.status == 409
    assert changed.status == 200 and api1.call("GET", f"/templates/{made.json['id']}").json["text"] == "Olá {{nome}}!"
    assert api2.call("DELETE", f"/templates/{made.json['id']}").status == 204
    assert api1.call("GET", "/templates").json == []


def test_the_customer_list_and_an_opt_out_are_the_same_on_every_node(nodes):
    """The audience lives in the cluster's PostgreSQL (store/pg_audience.py): a customer added through n1 is
    found through n2, and an opt-out recorded through n2 marks that customer on n1, where a campaign reads it
    (before, each node had its own audience.db, and an opt-out heard by one node did not stop another's)."""
    _, api1 = nodes("n1")
    _, api2 = nodes("n2")
    made = api1.call("POST", "/contacts", {"phone": "+55 11 91111-0001", "name": "Ana Souza", "tags": ["VIP"]})
    assert made.status == 201, made.json

    found = api2.call("GET", "/contacts?q=souza")
    out = api2.call("POST", "/contacts/optouts", {"phone": "5511911110001"})
    again = api1.call("GET", f"/contacts/{made.json['id']}")

    assert [c["phone"] for c in found.json["items"]] == ["5511911110001"]
    assert out.status == 201 and again.json["optedOut"] is True
    assert [o["phone"] for o in api1.call("GET", "/contacts/optouts").json["items"]] == ["5511911110001"]


def test_a_browser_logged_in_through_one_node_is_logged_in_on_the_other(nodes):
    """Login sessions in the cluster's PostgreSQL: the cookie n1 set opens n2 (no sticky sessions), and a logout
    through n2 ends it on n1."""
    app1, _ = nodes("n1")
    app2, _ = nodes("n2")
    logged = Api(app1.url, None).call("POST", "/auth/login", {"username": "admin", "password": "senha-forte-123"},
                                      headers={"Origin": app1.url})
    assert logged.status == 200, logged.json
    cookie = {"Cookie": logged.headers["Set-Cookie"].split(";", 1)[0]}

    on_n2 = Api(app2.url, None).call("GET", "/auth/me", headers=cookie)
    out = Api(app2.url, None).call("POST", "/auth/logout", headers={**cookie, "Origin": app2.url})
    on_n1 = Api(app1.url, None).call("GET", "/auth/me", headers=cookie)

    assert on_n2.status == 200 and on_n2.json["kind"] == "session"
    assert out.status == 200 and on_n1.status == 401


def test_the_persons_preferences_are_the_clusters_and_the_machines_stay_on_it(nodes):
    """Behind a load balancer the windows reach either node: the language, the cards' order and the pool's
    health checks set through n1 are what n2 shows (store/pg_preferences.py); the browser's path and maxClients
    describe one machine and stay on it. Before, each node kept its own preferences.json."""
    _, api1 = nodes("n1")
    _, api2 = nodes("n2")
    changed = api1.call("PUT", "/preferences", {"language": "en", "cardOrder": ["sac", "vendas"], "maxClients": 7,
                                                "healthCheckInterval": 30})
    assert changed.status == 200, changed.json

    on_n2 = api2.call("GET", "/preferences").json
    mine = api2.call("PUT", "/preferences", {"maxClients": 3, "notifications": False}).json
    on_n1 = api1.call("GET", "/preferences").json

    assert (on_n2["language"], on_n2["cardOrder"], on_n2["healthCheckInterval"]) == ("en", ["sac", "vendas"], 30)
    assert on_n2["maxClients"] is None and mine["maxClients"] == 3
    assert (on_n1["maxClients"], on_n1["notifications"], on_n1["language"]) == (7, False, "en")
    refused = api2.call("PUT", "/preferences", {"language": "klingon", "cardOrder": ["x"]})
    assert refused.status == 422 and api1.call("GET", "/preferences").json["cardOrder"] == ["sac", "vendas"]


# app.py as the node's container image runs it: without the desktop's packages (deploy/Containerfile leaves out
# pywebview, PyQt6 and PyGObject), any import of them failing as it would there.
WITHOUT_DESKTOP = """
import importlib.abc, runpy, sys
class LeftOut(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("webview", "PyQt6", "gi", "cairo"):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, LeftOut())
sys.argv = ["app.py", *sys.argv[1:]]
runpy.run_path("app.py", run_name="__main__")
"""


def test_a_node_runs_without_the_desktops_packages_as_its_container_image_has_it(tmp_path, sim, pg_url):
    """The container image (deploy/Containerfile, not built on this machine: no container daemon) installs the
    project's dependencies but the desktop's; a node started that way joins the cluster, answers /health and
    stops cleanly on SIGTERM (the container's stop)."""
    proc = subprocess.Popen([sys.executable, "-c", WITHOUT_DESKTOP, "--headless", "--port", "0", "--data",
                             str(tmp_path / "dados"), "--whatsapp-url", sim.url, "--database", pg_url, "--node",
                             "imagem"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = Output(proc)
    try:
        url = output.wait_for("API REST:").split()[2]
        with urllib.request.urlopen(f"{url}/health", timeout=10) as reply:
            health = json.loads(reply.read())
    finally:
        code, text, _ = finish(proc, output, signal.SIGTERM, group=False)

    assert (health["node"], health["database"]) == ("imagem", "ok")
    assert code == 0 and "Traceback" not in text, text[-3000:]
