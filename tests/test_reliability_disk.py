"""A full disk under dados/: every kind of write ZapPool makes is refused clearly, no file is left damaged, and
writing works again once space is freed.

The data folder is a real filesystem of its own, a 64 MB tmpfs (mounting needs root: elsewhere these tests are
skipped, and say why), filled to the last byte with a filler file. ZapPool runs as app.py assembles it: pool,
webhooks, accounts and the REST API on a free port.
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.api.server import ApiServer
from backend.auth.service import AuthService
from backend.config import Settings
from backend.webhooks.service import WebhookService
from backend.whatsapp.pool import WhatsAppPool
from tests.api_support import FAST_SCRYPT, Api, api_app, shut_down
from tests.conftest import running_pool, wait_until

SIZE_MB = 64
JSON_FILES = ("whatsapp-sessions.json", "auth.json", "preferences.json")
DATABASES = ("messages.db", "webhooks.db")


class Disk:
    """A small filesystem that can be filled to the last byte and freed again."""

    def __init__(self, root: Path):
        self.root = root
        self.filler = root / "filler"

    def fill(self) -> None:
        """Write until the filesystem says ENOSPC."""
        chunk = b"\0" * (1 << 20)
        with open(self.filler, "ab") as handle:
            try:
                while True:
                    handle.write(chunk)
                    handle.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        for size in (4096, 512, 1):  # the last partial chunk, down to a byte
            try:
                with open(self.filler, "ab") as handle:
                    while True:
                        handle.write(b"\0" * size)
                        handle.flush()
            except OSError:
                pass
        assert os.statvfs(self.root).f_bavail == 0

    def free(self) -> None:
        """Give the space back."""
        self.filler.unlink()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    """A fresh 64 MB tmpfs, unmounted afterwards."""
    root = tmp_path / "disk"
    root.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(root)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): needs root")
    try:
        yield Disk(root)
    finally:
        subprocess.run(["umount", "--lazy", str(root)], check=True)


@dataclass
class Zap:
    """ZapPool on the small disk."""

    data: Path
    pool: WhatsAppPool
    auth: AuthService
    api: Api


@pytest.fixture
def zap(disk: Disk, tmp_path: Path, runtime, sim) -> Iterator[Zap]:
    """Pool, webhooks, accounts and the API over a data folder on the small disk, with something in each file."""
    data = disk.root / "dados"
    # The numbers' Chromium profiles live off the small disk: closing a browser frees a few KB of its files,
    # which would let ZapPool's next write through and make the test depend on Chromium's housekeeping.
    data.mkdir()
    (tmp_path / "profiles").mkdir()
    (data / "sessions").symlink_to(tmp_path / "profiles", target_is_directory=True)
    pool = running_pool(Settings(data_dir=data, whatsapp_url=sim.url, load_timeout_s=20, call_timeout_s=20,
                                 send_interval_s=0, send_jitter_s=0), runtime)
    webhooks = WebhookService.in_folder(data)
    webhooks.start()
    auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
    auth.reset_password("senha-forte-123")
    _, key = auth.create_api_key("crm")
    server = ApiServer(api_app(pool, auth, webhooks), auth, port=0).start()
    api = Api(server.url, key)
    pool.add("loja", "Loja")
    assert api.call("POST", "/messages", {"to": "5511988887777", "text": "primeira"}).status == 202
    assert api.call("POST", "/webhooks", {"url": "http://127.0.0.1:9/crm", "events": ["message"]}).status == 201
    assert api.call("PUT", "/preferences", {"language": "en"}).status == 200
    try:
        yield Zap(data, pool, auth, api)
    finally:
        shut_down(server, pool)
        webhooks.stop()
        pool.outbox.store.close()


def snapshot(zap: Zap) -> dict[str, object]:
    """What a user could see of each file: JSON files byte for byte, the databases through the API."""
    state: dict[str, object] = {name: (zap.data / name).read_bytes() for name in JSON_FILES}
    state["messages"] = zap.api.call("GET", "/messages").json["items"]
    state["webhooks"] = zap.api.call("GET", "/webhooks").json
    state["media"] = sorted(p.name for p in (zap.data / "media").iterdir())
    return state


def sound(data: Path) -> None:
    """Every file parses: JSON loads, SQLite passes integrity_check; no temp file left behind."""
    for name in JSON_FILES:
        json.loads((data / name).read_bytes())
    for name in DATABASES:
        conn = sqlite3.connect(f"{(data / name).as_uri()}?mode=ro", uri=True)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)], name
        conn.close()
    assert not [p.name for p in data.rglob("*.tmp")]


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + os.urandom(200_000)).decode()  # bigger than the space left
WRITES: dict[str, tuple[str, str, Callable[[int], object], str]] = {
    # kind: (method, path, body for attempt n, file named in the error)
    "a new number": ("POST", "/clients", lambda n: {"clientId": f"novo{n}"}, "whatsapp-sessions.json"),
    "a text message": ("POST", "/messages", lambda n: {"to": "5511988887777", "text": f"oi {n}"}, "messages.db"),
    "a media message": ("POST", "/messages",
                        lambda n: {"to": "5511988887777", "media": {"mimetype": "image/png", "data": PNG}}, "*"),
    "an API key": ("POST", "/auth/keys", lambda n: {"name": f"erp {n}"}, "auth.json"),
    "preferences": ("PUT", "/preferences", lambda n: {"cardOrder": [f"c{n}"]}, "preferences.json"),
    "a webhook": ("POST", "/webhooks", lambda n: {"url": f"http://127.0.0.1:9/h{n}"}, "webhooks.db"),
}


@pytest.mark.parametrize("kind", list(WRITES))
def test_a_write_on_a_full_disk_is_refused_clearly_and_works_once_space_is_freed(disk: Disk, zap: Zap,
                                                                                  kind: str) -> None:
    method, path, body, file_name = WRITES[kind]
    before = snapshot(zap)
    disk.fill()
    refused = zap.api.call(method, path, body(1))
    after = snapshot(zap)
    disk.free()
    accepted = zap.api.call(method, path, body(2))

    assert refused.status == 507, refused.body
    error = refused.json["error"]
    assert error["code"] == "storage_full" and "disk holding ZapPool's data is full" in error["message"]
    assert file_name in ("*", error["details"]["file"]), error
    assert after == before, "nothing was half-written"
    sound(zap.data)
    assert accepted.status in (200, 201, 202), accepted.body
    if kind == "a new number":
        ids = [c["clientId"] for c in zap.api.call("GET", "/clients/all").json]
        assert ids == ["loja", "novo2"], "the refused number was not kept in memory either"


def test_reading_goes_on_while_the_disk_is_full(disk: Disk, zap: Zap) -> None:
    _, fresh_key = zap.auth.create_api_key("never used")  # its first use wants to write last_used_at
    disk.fill()
    fresh = Api(zap.api.base, fresh_key)

    assert fresh.call("GET", "/stats").status == 200
    assert zap.api.call("GET", "/health", key=None).status == 200
    assert len(zap.api.call("GET", "/messages").json["items"]) == 1
    assert [c["clientId"] for c in zap.api.call("GET", "/clients/all").json] == ["loja"]
    disk.free()
    sound(zap.data)


def test_a_status_change_on_a_full_disk_keeps_the_last_saved_one(disk: Disk, zap: Zap, caplog) -> None:
    """The status changes either way (it is the browser's), events still flow, the file keeps the last status
    it could save, and the next change after space is freed is saved."""
    seen: list[str] = []
    zap.pool.subscribe(lambda e: seen.append(e.data["status"]), {"status"})
    created = zap.api.call("POST", "/clients", {"clientId": "vendas"})
    assert created.status == 201 and created.json["status"] == "qr_ready"
    saved = lambda: {s["clientId"]: s["status"]  # noqa: E731
                     for s in json.loads((zap.data / "whatsapp-sessions.json").read_bytes())["sessions"]}
    wait_until(lambda: saved()["vendas"] == "qr_ready", what="qr_ready saved")  # the file's own writer thread
    disk.fill()
    with caplog.at_level(logging.ERROR):
        stopped = zap.api.call("POST", "/clients/vendas/disconnect")
    kept = saved()
    disk.free()
    again = zap.api.call("POST", "/clients/vendas/reconnect")

    assert stopped.status == 200 and stopped.json["status"] == "disconnected"
    assert "disconnected" in seen, "the status event still went out (API stream, webhooks)"
    assert kept["vendas"] == "qr_ready" and "estado de vendas (disconnected) não salvo" in caplog.text
    assert again.status == 200
    wait_until(lambda: saved()["vendas"] == "qr_ready", what="the next status saved")
    sound(zap.data)
