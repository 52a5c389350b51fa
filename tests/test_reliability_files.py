"""Damaged files in dados/, met as a user meets them: `app.py --headless` started on the folder.

A real data folder is made once (a number linked on the simulator, messages in and out, queued documents, an
API key, a webhook, preferences). Each case copies it, damages one file (truncated, empty, binary garbage, or
valid JSON/SQLite of the wrong shape), starts the app and checks what a user would see: it answers, the bad
file is kept byte for byte as `<name>.bad-<UTC time>`, the terminal and logs/zapool.log say so, and everything
else is still there. Only two cases start a number's Chromium: the rest run with --no-restore (~1 s each).
"""

from __future__ import annotations

import base64
import json
import random
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.auth.service import AuthService
from backend.config import Settings
from backend.host.instance import running_instance
from backend.outbox.outbox import Outbox
from backend.store.media import MediaFiles
from backend.store.messages import MessageStore
from backend.store.preferences import PreferencesStore
from backend.webhooks.service import WebhookService
from tests.api_support import FAST_SCRYPT, Api
from tests.conftest import FAST, PHONE, running_pool, wait_until
from tests.ui_support import AppProcess
from wasim import SimServer

CONTACT = "5511988887777"
PASSWORD = "senha-forte-123"
GARBAGE = random.Random(7).randbytes(4096)
DOCUMENTS = {"truncated": b"%PDF-1.4 truncated " * 300, "empty": b"%PDF-1.4 empty " * 300,
             "garbage": b"%PDF-1.4 garbage " * 300, "missing": b"%PDF-1.4 missing " * 300}


@dataclass
class Saved:
    """The good data folder every case starts from, and what is in it."""

    data: Path
    sim: SimServer
    key: str
    messages: set[str]      # ids in messages.db
    webhook: str
    documents: dict[str, str]  # how its file will be damaged -> message id (queued for `loja`)
    wal: dict[str, bytes]   # a crash-time messages.db and its -wal holding one more message; webhooks.db's -wal


@pytest.fixture(scope="module")
def phone() -> Iterator[SimServer]:
    """This module's own simulator: `sim` forgets linked devices between tests, and the copies must log in."""
    with SimServer(**FAST) as server:
        yield server


def _link_and_talk(data: Path, phone: SimServer, runtime) -> None:
    """Link `loja`, send one message and receive one, as the app would have."""
    pool = running_pool(Settings(data_dir=data, whatsapp_url=phone.url, load_timeout_s=20, call_timeout_s=20,
                                 send_interval_s=0, send_jitter_s=0, restore_on_start=False), runtime)
    try:
        assert pool.create_and_initialize("loja", "Loja")["status"] == "qr_ready"
        phone.control.scan(pool.get("loja").qr.code, PHONE)
        wait_until(lambda: pool.get("loja").status.value == "ready", timeout=20, what="loja ready")
        pool.outbox.enqueue_text("loja", CONTACT, "Pedido confirmado")
        phone.control.incoming(PHONE, CONTACT, "Obrigado!")
        wait_until(lambda: len(pool.outbox.list_messages(limit=10).items) == 2
                   and pool.outbox.totals().pending == 0, what="one message out, one in")
    finally:
        pool.shutdown()  # the sessions file keeps `ready`: restorable
        pool.outbox.store.close()


def _queue_documents(data: Path) -> dict[str, str]:
    """Documents accepted for `loja` while it was away: each waits in messages.db with its bytes in media/."""
    outbox = Outbox(MessageStore(data / "messages.db"), MediaFiles(data / "media"))  # never started: queue only
    try:
        return {how: outbox.enqueue_media("loja", CONTACT, {"mimetype": "application/pdf", "filename": f"{how}.pdf",
                                                            "data": base64.b64encode(raw).decode()})
                for how, raw in DOCUMENTS.items()}
    finally:
        outbox.store.close()


def _crash_time_wal(db: Path, insert: str) -> tuple[bytes, bytes]:
    """The main file and -wal of a copy of `db` as a crash leaves them: one more row only in the WAL."""
    copy = db.parent.parent / "wal-copy" / db.name
    copy.parent.mkdir(exist_ok=True)
    shutil.copy(db, copy)
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute(insert)
    main, wal = copy.read_bytes(), copy.with_name(copy.name + "-wal").read_bytes()
    conn.close()
    return main, wal


@pytest.fixture(scope="module")
def saved(runtime, phone: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """A data folder as weeks of use leave it."""
    data = tmp_path_factory.mktemp("saved") / "dados"
    _link_and_talk(data, phone, runtime)
    documents = _queue_documents(data)
    auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
    auth.reset_password(PASSWORD)
    _, key = auth.create_api_key("crm")
    hooks = WebhookService.in_folder(data)
    webhook = hooks.add("http://127.0.0.1:9/crm", ["message"])["id"]
    hooks.stop()
    PreferencesStore(data / "preferences.json").update({"language": "en", "cardOrder": ["loja"]})
    store = MessageStore(data / "messages.db")
    messages = {m.id for m in store.list_messages(limit=50).items}
    store.close()
    now = "strftime('%s','now') * 1000"
    main, wal = _crash_time_wal(data / "messages.db", (
        "INSERT INTO messages (id, direction, client_id, chat, sender, type, body, status, created_at, updated_at)"
        f" VALUES ('{'f' * 32}', 'in', 'loja', '{CONTACT}@c.us', '{CONTACT}@c.us', 'chat', 'na WAL', 'received',"
        f" {now}, {now})"))
    _, foreign_wal = _crash_time_wal(data / "webhooks.db", (
        f"INSERT INTO webhooks (id, url, events, secret, created_at) VALUES ('wh_x', 'http://x/', '[]', 's', {now})"))
    return Saved(data, phone, key, messages, webhook, documents, {"main": main, "wal": wal, "foreign": foreign_wal})


# -- the damage ---------------------------------------------------------------------------------------------------

def _damaged(good: bytes, wrong_shape: bytes) -> dict[str, bytes]:
    """The four versions of a file: cut at 60 %, empty, random bytes, well-formed but of the wrong shape."""
    return {"truncated": good[: len(good) * 3 // 5], "empty": b"", "garbage": GARBAGE, "wrong-schema": wrong_shape}


def _other_sqlite(saved: Saved, name: str) -> bytes:
    """A good ZapPool database of the other kind: webhooks.db where messages.db belongs, and back."""
    return (saved.data / ("webhooks.db" if name == "messages.db" else "messages.db")).read_bytes()


WRONG_SHAPE: dict[str, Callable[[Saved], bytes]] = {
    # TinyDB's own layout instead of the seed's {"updatedAt", "sessions": [...]}
    "whatsapp-sessions.json": lambda s: json.dumps({"_default": {"1": {"clientId": "loja"}}}).encode(),
    "auth.json": lambda s: json.dumps({"version": 1, "admin": "admin", "api_keys": {}}).encode(),
    "preferences.json": lambda s: json.dumps({"version": 1, "language": "tlh", "cardOrder": "loja"}).encode(),
    "messages.db": lambda s: _other_sqlite(s, "messages.db"),
    "webhooks.db": lambda s: _other_sqlite(s, "webhooks.db"),
}
CASES = [(name, how) for name in WRONG_SHAPE for how in ("truncated", "empty", "garbage", "wrong-schema")]
SET_ASIDE = {case for case in CASES if not (case[0].endswith(".db") and case[1] == "empty")}
# A 0-byte file is what SQLite itself creates before the first write: an empty database, nothing to keep.


def _copy(saved: Saved, target: Path, *, profiles: bool = False) -> Path:
    """A copy of the saved folder; the Chromium profile's contents only when the case starts the number."""
    data = target / "dados"

    def skip(folder: str, names: list[str]) -> list[str]:
        """Inside sessions/<id>/: everything (the empty folder still says a login is kept there)."""
        return names if not profiles and Path(folder).parent.name == "sessions" else []

    shutil.copytree(saved.data, data, ignore=skip)
    return data


def _start(data: Path, saved: Saved, *extra: str) -> AppProcess:
    """app.py as a user starts it on `data`."""
    return AppProcess(data, saved.sim.url).start(*extra)


def _aside(data: Path, name: str) -> list[Path]:
    """Copies of `name` set aside in the folder."""
    return sorted(p for p in (data / name).parent.glob(Path(name).name + ".bad-*")
                  if not p.name.endswith(("-wal", "-shm")))


def _said(app: AppProcess, data: Path, text: str) -> bool:
    """`text` was said on the terminal and in the log file."""
    log_file = (data / "logs" / "zapool.log").read_text(encoding="utf-8", errors="replace")
    return text in app.output() and text in log_file


# -- what is kept -----------------------------------------------------------------------------------------------

def _check_kept(api: Api, saved: Saved, bad: str) -> None:
    """Everything the bad file did not hold is still there."""
    assert api.call("GET", "/health", key=None).status == 200
    numbers = api.call("GET", "/clients/all").json
    if bad == "whatsapp-sessions.json":
        # The list of numbers is gone with the file; their logins are not: each profile folder is listed again.
        assert [(n["clientId"], n["phoneNumber"]) for n in numbers] == [("loja", None)]
    else:
        assert [(n["clientId"], n["name"], n["phoneNumber"]) for n in numbers] == [("loja", "Loja", PHONE)]
    ids = {m["id"] for m in api.call("GET", "/messages?limit=50").json["items"]}
    assert ids == (set() if bad == "messages.db" else saved.messages)
    hooks = [h["id"] for h in api.call("GET", "/webhooks").json]
    assert hooks == ([] if bad == "webhooks.db" else [saved.webhook])
    language = api.call("GET", "/preferences").json["language"]
    assert language == ("pt-BR" if bad == "preferences.json" else "en")


def _session_api(app: AppProcess) -> Api:
    """After auth.json was set aside: first-run login admin/admin, the password changed, a cookie session."""
    api = Api(app.url, None)
    wait_until(lambda: "#owner=" in app.output(), what="the terminal's link")
    owner = app.output().split("#owner=")[1].split()[0]  # the link printed in the terminal: the owner's first login
    login = api.call("POST", "/auth/login", {"username": "admin", "password": "admin", "ownerToken": owner})
    assert login.status == 200 and login.json["mustChangePassword"] is True
    cookie = {"Cookie": login.headers["Set-Cookie"].split(";")[0], "Origin": app.url}
    changed = api.call("POST", "/auth/password", {"oldPassword": "admin", "newPassword": PASSWORD + "-2"},
                       headers=cookie)
    assert changed.status == 200

    class SessionApi(Api):
        def call(self, method, path, body=None, **kw):  # noqa: ANN001, ANN201 - same as Api.call
            return super().call(method, path, body, headers={**cookie, **kw.pop("headers", {})}, **kw)

    return SessionApi(app.url, None)


@pytest.mark.parametrize("name, how", CASES, ids=[f"{n}-{h}" for n, h in CASES])
def test_a_bad_file_is_set_aside_said_and_the_rest_kept(saved: Saved, tmp_path: Path, name: str, how: str) -> None:
    data = _copy(saved, tmp_path)
    bad = _damaged((data / name).read_bytes(), WRONG_SHAPE[name](saved))[how]
    (data / name).write_bytes(bad)
    extra = ("--host", "0.0.0.0") if name == "auth.json" else ()
    app = _start(data, saved, "--no-restore", *extra)
    try:
        if name == "auth.json":
            # By design (store/accounts.py): first-run defaults, every key void, and the API back on loopback.
            assert Api(app.url, saved.key).call("GET", "/stats").status == 401
            assert app.url.startswith("http://127.0.0.1:") and "Não vou escutar em 0.0.0.0" in app.output()
            assert _said(app, data, "SEGURANÇA: auth.json foi descartado")
            api = _session_api(app)
        else:
            api = Api(app.url, saved.key)
        _check_kept(api, saved, name)
    finally:
        assert app.stop() == 0, app.output()
    aside = _aside(data, name)
    if (name, how) in SET_ASIDE:
        assert [p.read_bytes() for p in aside] == [bad], "the bad file is kept exactly as it was"
        assert _said(app, data, f"guardado como {aside[0].name}")
    else:
        assert aside == []


# -- files the app rewrites or only appends to ------------------------------------------------------------------

@pytest.mark.parametrize("how", ["truncated", "empty", "garbage", "wrong-schema"])
def test_a_bad_instance_file_is_replaced_by_this_run(saved: Saved, tmp_path: Path, how: str) -> None:
    """zapool-instance.json only says where the running ZapPool listens: a leftover, good or bad, is rewritten."""
    data = _copy(saved, tmp_path)
    good = json.dumps({"pid": 1, "url": "http://127.0.0.1:1", "token": "t" * 32}).encode()
    (data / "zapool-instance.json").write_bytes(_damaged(good, b'["pid", 1]')[how])
    app = _start(data, saved, "--no-restore")
    try:
        assert running_instance(data).url == app.url
        _check_kept(Api(app.url, saved.key), saved, "zapool-instance.json")
    finally:
        assert app.stop() == 0, app.output()


@pytest.mark.parametrize("name", ["zapool.lock", "logs/zapool.log"])
def test_garbage_in_the_lock_or_the_log_changes_nothing(saved: Saved, tmp_path: Path, name: str) -> None:
    data = _copy(saved, tmp_path)
    (data / name).parent.mkdir(exist_ok=True)
    (data / name).write_bytes(GARBAGE)
    app = _start(data, saved, "--no-restore")
    try:
        _check_kept(Api(app.url, saved.key), saved, name)
    finally:
        assert app.stop() == 0, app.output()
    if name.startswith("logs/"):
        assert (data / name).read_bytes().startswith(GARBAGE) and b"[API] Escutando em" in (data / name).read_bytes()


# -- messages.db's write-ahead log ------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["truncated", "empty", "garbage", "foreign"])
def test_a_bad_wal_costs_at_most_what_it_held(saved: Saved, tmp_path: Path, how: str) -> None:
    """A crash leaves messages.db-wal beside the file. Cut short or empty, SQLite replays what was committed in
    full; random bytes or another database's WAL are set aside and the main file is kept."""
    data = _copy(saved, tmp_path)
    wal = {"truncated": saved.wal["wal"][: len(saved.wal["wal"]) * 3 // 5], "empty": b"", "garbage": GARBAGE,
           "foreign": saved.wal["foreign"]}[how]
    (data / "messages.db").write_bytes(saved.wal["main"])
    (data / "messages.db-wal").write_bytes(wal)
    app = _start(data, saved, "--no-restore")
    try:
        api = Api(app.url, saved.key)
        ids = {m["id"] for m in api.call("GET", "/messages?limit=50").json["items"]}
        assert saved.messages <= ids, "every message in the main file is kept"
        numbers = api.call("GET", "/clients/all").json
        assert [(n["clientId"], n["phoneNumber"]) for n in numbers] == [("loja", PHONE)]
    finally:
        assert app.stop() == 0, app.output()
    assert _aside(data, "messages.db") == []
    aside = sorted(data.glob("messages.db-wal.bad-*"))
    if how in ("garbage", "foreign"):
        assert [p.read_bytes() for p in aside] == [wal] and _said(app, data, f"guardado como {aside[0].name}")
    else:
        assert aside == []


# -- the two cases that start the number -----------------------------------------------------------------------

def test_a_bad_message_log_does_not_cost_the_linked_number(saved: Saved, tmp_path: Path) -> None:
    data = _copy(saved, tmp_path, profiles=True)
    (data / "messages.db").write_bytes(GARBAGE)
    scans = len(saved.sim.control.state()["devices"])
    app = _start(data, saved)
    try:
        api = Api(app.url, saved.key)
        wait_until(lambda: api.call("GET", "/clients/loja").json["status"] == "ready", timeout=30,
                   what="loja restored")
        assert len(saved.sim.control.state()["devices"]) == scans, "restored from its profile: no new scan"
        assert api.call("GET", "/messages").json["items"] == []
        assert [h["id"] for h in api.call("GET", "/webhooks").json] == [saved.webhook]
    finally:
        assert app.stop() == 0, app.output()
    aside = _aside(data, "messages.db")
    assert [p.read_bytes() for p in aside] == [GARBAGE] and _said(app, data, f"guardado como {aside[0].name}")


def test_damaged_media_of_queued_messages_is_not_sent(saved: Saved, tmp_path: Path) -> None:
    """A queued document whose bytes were cut, emptied, overwritten or lost fails with a reason once its number
    is back; the phone never gets a broken file, and the other messages are untouched."""
    data = _copy(saved, tmp_path, profiles=True)
    ids = saved.documents
    media = data / "media"
    (media / ids["truncated"]).write_bytes(DOCUMENTS["truncated"][:100])
    (media / ids["empty"]).write_bytes(b"")
    (media / ids["garbage"]).write_bytes(random.Random(1).randbytes(len(DOCUMENTS["garbage"])))
    (media / ids["missing"]).unlink()
    sent_before = len(saved.sim.control.sent(PHONE))
    app = _start(data, saved)
    try:
        api = Api(app.url, saved.key)

        def failed() -> dict[str, dict]:
            records = {how: api.call("GET", f"/messages/{i}").json for how, i in ids.items()}
            return records if all(r["status"] == "failed" for r in records.values()) else {}

        records = wait_until(failed, timeout=30, what="the four documents failed")
        assert all(r["errorCode"] == "invalid_media" for r in records.values()), records
        for how in ("truncated", "empty", "garbage"):
            assert "damaged" in records[how]["reason"], records[how]
        assert "missing" in records["missing"]["reason"]
        assert len(saved.sim.control.sent(PHONE)) == sent_before, "nothing reached the phone"
        assert saved.messages <= {m["id"] for m in api.call("GET", "/messages?limit=50").json["items"]}
    finally:
        assert app.stop() == 0, app.output()
