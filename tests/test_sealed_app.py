"""A sealed data folder as a user meets it (issue 19): `app.py --seal` on the simulator, a number linked, text and
a document sent, a message with a contact's name received; then a clean stop, a kill -9, and a kill -9 with the
runtime folder wiped (a reboot). After each, nothing in the data folder holds in clear what was sent or received,
the contact's name, the document's bytes or the simulator's device id; and the number comes back without a scan,
the last time from its sealed snapshot alone.

The databases (messages.db, webhooks.db, ...) are sealed by SQLCipher (issue 19 step 5): they are grepped apart,
-wal and -shm included, so a failure says which part leaks.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.auth.service import AuthService
from backend.whatsapp.profiles import runtime_root
from tests.api_support import FAST_SCRYPT, Api
from tests.conftest import FAST, wait_until
from tests.ui_support import ROOT, AppProcess
from wasim import SimServer

pytestmark = pytest.mark.process
PHONE, CONTACT = "5511999990001", "5511988887777"
SENT, RECEIVED, NAME = "Pedido 4471 confirmado", "Chegou o boleto 9932?", "Josefina Quaresma"
DOC = b"%PDF-1.4 contrato sigiloso " * 200
DATABASES = ("messages.db", "webhooks.db", "audience.db", "templates.db", "schedules.db", "campaigns.db")


def _secrets(phone: SimServer, sim_state: Path) -> dict[str, bytes]:
    """What must never be in clear: texts, the contact's name, the document, the numbers, and the linked device's
    id and secret key (the HMAC key the page keeps in IndexedDB: whoever has it is that device)."""
    device = json.loads((sim_state / "state.json").read_text())["devices"][0]
    return {"sent text": SENT.encode(), "received text": RECEIVED.encode(), "contact name": NAME.encode(),
            "document bytes": DOC[:48], "device id": str(device["deviceId"]).encode(),
            "device secret": base64.b64decode(device["secret"]), "linked phone": PHONE.encode(),
            "contact phone": CONTACT.encode()}


def _found(data: Path, secrets: dict[str, bytes], databases: bool) -> list[str]:
    """`what in file` for each secret found in clear; the log may name numbers (the seed's lines), no more."""
    found = []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        rel = str(path.relative_to(data))
        if rel.startswith(DATABASES) != databases:
            continue
        raw = path.read_bytes()
        found += [f"{what} in {rel}" for what, secret in secrets.items() if secret in raw
                  and not (rel.startswith("logs/") and what in ("linked phone", "contact phone"))]
    return found


def _ready(app: AppProcess, api: Api, phone: SimServer, scans_before: int) -> None:
    """The number comes back by itself, without a scan (`app` just started again: on a new port)."""
    api.base = app.url
    wait_until(lambda: api.call("GET", "/clients/loja").json["status"] == "ready", 60, what="loja ready again")
    assert len(phone.control.state()["devices"]) == scans_before, "no new device: no scan"


def _kill(app: AppProcess) -> None:
    """kill -9 the app, then wait for its browsers to go (they end when their driver's pipe closes)."""
    assert app.proc is not None
    os.killpg(app.proc.pid, signal.SIGKILL)
    app.proc.wait(10)
    wait_until(lambda: not subprocess.run(["pgrep", "-f", f"user-data-dir={runtime_root(app.data)}"],
                                          capture_output=True, check=False).stdout, 30, what="browsers gone")


@dataclass
class Run:
    """What the scenario found: secrets in clear outside and inside the databases, after each stage."""

    outside: dict[str, list[str]]
    databases: list[str]
    restored_from_snapshot: bool
    restored_from_backup: bool


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The scenario, once for the module's two checks."""
    tmp_path = tmp_path_factory.mktemp("sealed")
    with pytest.MonkeyPatch.context() as env, SimServer(state_dir=tmp_path / "sim", **FAST) as phone:
        env.setenv("ZAPOOL_PASSPHRASE", "frase do teste selado")
        env.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        yield _scenario(phone, tmp_path)


def _scenario(phone: SimServer, tmp_path: Path) -> Run:
    """Link, talk, stop, crash, crash and reboot; grep the data folder after each."""
    data, outside = tmp_path / "dados", {}
    auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
    auth.reset_password("senha-forte-123")
    _, key = auth.create_api_key("crm")
    app = AppProcess(data, phone.url).start("--seal")
    api = Api(app.url, key)
    try:
        assert api.call("POST", "/clients", {"clientId": "loja"}).json["status"] == "qr_ready"
        phone.control.scan(api.call("GET", "/clients/loja/qr", headers={"Accept": "application/json"}).json["code"],
                           PHONE)
        wait_until(lambda: api.call("GET", "/clients/loja").json["status"] == "ready", 30, what="loja ready")
        api.call("POST", "/messages", {"clientId": "loja", "to": CONTACT, "text": SENT})
        doc = api.call("POST", "/messages", {"clientId": "loja", "to": CONTACT, "media": {
            "mimetype": "application/pdf", "filename": "contrato.pdf", "data": base64.b64encode(DOC).decode()}})
        phone.control.incoming(PHONE, CONTACT, RECEIVED, notify_name=NAME)
        wait_until(lambda: len(phone.control.sent(PHONE)) == 2, 30, what="both sent")
        served = api.call("GET", f"/clients/loja/messages/{doc.json['id']}/media")  # sealed on disk, served clear
        assert served.status == 200 and served.body == DOC
        wait_until(lambda: "instantâneo selado do perfil" in app.output(), 60, what="the first snapshot")
        secrets, devices = _secrets(phone, tmp_path / "sim"), len(phone.control.state()["devices"])
        assert app.stop() == 0
        outside["a clean stop"] = _found(data, secrets, databases=False)
        for stage in ("kill -9", "kill -9 and a reboot"):
            app.start()
            _ready(app, api, phone, devices)
            wait_until(lambda: "instantâneo selado do perfil" in app.output(), 60, what="a new snapshot")
            _kill(app)
            if stage.endswith("reboot"):
                shutil.rmtree(runtime_root(data))  # the RAM folder is gone: only the sealed snapshot is left
            outside[stage] = _found(data, secrets, databases=False)
        app.start()
        _ready(app, api, phone, devices)  # from the snapshot alone, without a scan
        restored = "perfil restaurado do instantâneo selado" in app.output()
    finally:
        app.stop()
    return Run(outside, _found(data, secrets, databases=True), restored,
               _from_backup(data, tmp_path, phone, key, devices))


def _from_backup(data: Path, tmp_path: Path, phone: SimServer, key: str, devices: int) -> bool:
    """Export the folder, import it as another machine would, start the app there: the number is ready, no scan."""
    backup, other = tmp_path / "copia.zpb", tmp_path / "outra" / "dados"
    for argv in (["--data", str(data), "export", str(backup)], ["--data", str(other), "import", str(backup)]):
        done = subprocess.run([sys.executable, "app.py", "seal", *argv], cwd=ROOT, capture_output=True, text=True,
                              timeout=120, check=False, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
    app = AppProcess(other, phone.url).start()
    try:
        _ready(app, Api(app.url, key), phone, devices)
        return "perfil restaurado do instantâneo selado" in app.output()
    finally:
        app.stop()


def test_nothing_in_clear_after_a_stop_a_crash_and_a_reboot_and_the_number_comes_back(run: Run):
    assert run.outside == {"a clean stop": [], "kill -9": [], "kill -9 and a reboot": []}
    assert run.restored_from_snapshot, "after the reboot the number came back from its sealed snapshot"


def test_a_backup_imported_in_another_folder_brings_the_number_back_without_a_scan(run: Run):
    assert run.restored_from_backup


def test_the_databases_hold_nothing_in_clear(run: Run):
    assert run.databases == []
