"""Accounts and API keys: real auth.json files in temp folders, an injected clock, the CLI as a subprocess."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from backend.auth import cli as auth_cli
from backend.auth.passwords import (DEFAULT_SCRYPT, LoginThrottle, ScryptParams, hash_password, validate_new_password,
                                    verify_password)
from backend.auth.keys import api_key_from_headers
from backend.auth.service import AuthService
from backend.config import PROJECT_ROOT
from backend.errors import InvalidInput, NotFound, PasswordChangeRequired, TooManyAttempts, Unauthorized

# Cheap scrypt so the suite stays fast; the real costs are checked separately (test_default_costs).
FAST = ScryptParams(n=2 ** 10, r=8, p=1)
NEW = "correct horse battery"


class Clock:
    """A clock the test moves by hand: locks and timeouts are tested without sleeping."""

    def __init__(self, now: float = 1_750_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make(tmp_path: Path, clock: Clock):
    """A factory of AuthService on the same data folder (a restart is another call)."""
    def factory(**kwargs) -> AuthService:
        return AuthService.in_folder(tmp_path / "dados", clock=clock, scrypt=FAST, **kwargs)
    return factory


@pytest.fixture
def ready(make) -> AuthService:
    """A service whose admin password was changed, so keys can be created."""
    auth = make()
    auth.change_password("admin", NEW, username="admin")
    return auth


def auth_file(tmp_path: Path) -> Path:
    return tmp_path / "dados" / "auth.json"


# -- first run and the password -------------------------------------------------------------------------------

def test_first_run_admin_admin_works_and_must_change(make, tmp_path: Path) -> None:
    auth = make()
    assert auth.must_change_password()
    assert auth.check_password("admin", "admin")
    assert not auth.check_password("admin", "Admin")
    assert not auth.check_password("root", "admin")
    session = auth.login("admin", "admin")
    assert session.must_change and auth.session(session.token).must_change
    assert not auth_file(tmp_path).exists()  # nothing to write until something changes


def test_five_wrong_tries_then_a_growing_lock(make, clock: Clock) -> None:
    auth = make()
    for _ in range(5):
        assert auth.check_password("admin", "wrong") is False
    waits = []
    for _ in range(4):
        with pytest.raises(TooManyAttempts) as exc:
            auth.check_password("admin", "admin")  # even the right password is refused while locked
        assert exc.value.status == 429 and exc.value.code == "too_many_attempts"
        waits.append(exc.value.details["retryAfter"])
        clock.advance(waits[-1])
        assert auth.check_password("admin", "wrong") is False
    assert waits == [1, 2, 4, 8]
    clock.advance(16)
    assert auth.check_password("admin", "admin") is True  # the lock ran out: success clears the count
    for _ in range(5):
        assert auth.check_password("admin", "wrong") is False
    with pytest.raises(TooManyAttempts) as exc:
        auth.login("admin", "admin")
    assert exc.value.details["retryAfter"] == 1


def test_lock_is_capped_at_five_minutes_and_old_failures_are_forgotten(clock: Clock) -> None:
    throttle = LoginThrottle()
    for _ in range(30):
        delay = throttle.failed(["user:admin"], clock())
        clock.advance(delay)
    assert delay == 300
    for _ in range(2000):  # days of patient guessing: the delay stays at the cap instead of overflowing
        delay = throttle.failed(["user:admin"], clock())
    assert delay == 300
    clock.advance(2 * 3600)
    assert throttle.failed(["user:admin"], clock()) == 0  # counting starts again
    throttle.check(["user:admin"], clock())


def test_a_locked_source_is_locked_for_every_username(make) -> None:
    auth = make()
    for _ in range(5):
        auth.check_password("admin", "wrong", source="10.0.0.9")
    with pytest.raises(TooManyAttempts):
        auth.check_password("other", "x", source="10.0.0.9")
    with pytest.raises(TooManyAttempts):
        auth.check_password("admin", "x", source="10.0.0.7")  # and the username is locked from anywhere
    assert auth.check_password("other", "x", source="10.0.0.7") is False


@pytest.mark.parametrize("new, why", [("short", "at least 8"), ("ADMIN", "at least 8"), ("  admin  ", "default"),
                                      ("operador1", "username"), ("x" * 1025, "at most")])
def test_password_rules(new: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why) as exc:
        validate_new_password(new, username="operador1")
    assert exc.value.status == 422


def test_new_password_must_differ_from_the_old_one() -> None:
    with pytest.raises(InvalidInput, match="differ"):
        validate_new_password("same old secret", username="admin", old="same old secret")
    validate_new_password("a fine password", username="admin", old="admin")


def test_change_persists_across_restarts(make, tmp_path: Path) -> None:
    make().change_password("admin", NEW, username="admin")
    auth = make()
    assert not auth.must_change_password()
    assert auth.check_password("admin", NEW) and not auth.check_password("admin", "admin")
    text = auth_file(tmp_path).read_text()
    assert NEW not in text
    doc = json.loads(text)["admin"]
    assert doc["must_change"] is False and doc["changed_at"]
    assert {k: doc["password"][k] for k in ("algorithm", "n", "r", "p")} == {"algorithm": "scrypt", "n": 1024,
                                                                              "r": 8, "p": 1}
    if os.name == "posix":
        assert auth_file(tmp_path).stat().st_mode & 0o077 == 0  # mkstemp's 0600: only the owner reads it


def test_change_by_session_ends_the_other_sessions(make) -> None:
    auth = make()
    mine, other = auth.login("admin", "admin"), auth.login("admin", "admin")
    with pytest.raises(InvalidInput):
        auth.change_password("admin", "admin", token=mine.token)
    with pytest.raises(Unauthorized) as exc:
        auth.change_password("not it", NEW, token=mine.token)
    assert exc.value.code == "wrong_password"
    auth.change_password("admin", NEW, token=mine.token)
    assert auth.session(mine.token).must_change is False
    assert auth.session(other.token) is None
    with pytest.raises(Unauthorized):
        auth.change_password(NEW, "another good one", token=other.token)


def test_stored_hash_is_upgraded_when_costs_change(make, tmp_path: Path, clock: Clock) -> None:
    make().change_password("admin", NEW, username="admin")
    stronger = AuthService.in_folder(tmp_path / "dados", clock=clock, scrypt=ScryptParams(n=2 ** 11))
    assert stronger.check_password("admin", NEW)
    assert json.loads(auth_file(tmp_path).read_text())["admin"]["password"]["n"] == 2 ** 11
    assert make().check_password("admin", NEW)  # old costs still verify a newer hash


def test_default_costs() -> None:
    assert (DEFAULT_SCRYPT.n, DEFAULT_SCRYPT.r, DEFAULT_SCRYPT.p, DEFAULT_SCRYPT.salt_bytes) == (2 ** 17, 8, 1, 16)
    stored = hash_password(NEW)  # the one real-cost hash (~0.6 s): 128 MiB must fit scrypt's memory limit
    assert (stored.n, len(stored.hash)) == (2 ** 17, 44) and verify_password(NEW, stored)


def test_absurd_costs_in_the_file_are_refused() -> None:
    stored = hash_password(NEW, FAST)
    assert not verify_password(NEW, replace(stored, n=2 ** 30))
    assert not verify_password(NEW, replace(stored, salt="not base64!"))


# -- sessions -------------------------------------------------------------------------------------------------

def test_sessions_expire_when_idle_or_old(make, clock: Clock) -> None:
    auth = make(session_idle_s=60, session_max_s=150)
    session = auth.login("admin", "admin", source="127.0.0.1", owner_token=auth.owner_token)
    assert len(session.token) >= 40
    for _ in range(2):
        clock.advance(50)
        assert auth.session(session.token) is not None  # each use restarts the idle clock
    clock.advance(51)
    assert auth.session(session.token) is None  # 151 s old
    idle = auth.login("admin", "admin")
    clock.advance(61)
    assert auth.session(idle.token) is None
    gone = auth.login("admin", "admin")
    auth.logout(gone.token)
    assert auth.session(gone.token) is None and auth.session("") is None
    with pytest.raises(Unauthorized):
        auth.login("admin", "nope")


# -- API keys -------------------------------------------------------------------------------------------------

def test_keys_need_the_password_changed_first(make) -> None:
    with pytest.raises(PasswordChangeRequired) as exc:
        make().create_api_key("erp")
    assert exc.value.status == 403


def test_api_key_create_verify_list_revoke(ready: AuthService, tmp_path: Path) -> None:
    key_id, key = ready.create_api_key("  erp  ")
    assert key.startswith("zp_") and len(key) >= 40
    assert ready.verify_api_key(key) == key_id
    assert ready.verify_api_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert ready.verify_api_key("") is None and ready.verify_api_key("Bearer " + key) is None
    [info] = ready.list_api_keys()
    assert (info.id, info.name, info.prefix, info.active) == (key_id, "erp", key[:11], True)
    shown = json.dumps(info.to_dict())
    text = auth_file(tmp_path).read_text()
    assert key not in text and key not in shown and "hash" not in info.to_dict()
    assert key[11:] not in text  # only the short prefix is kept in clear
    assert ready.revoke_api_key(key_id).revoked_at
    assert ready.verify_api_key(key) is None
    assert ready.revoke_api_key(key_id).active is False  # again is fine
    with pytest.raises(NotFound):
        ready.revoke_api_key("nope")
    with pytest.raises(InvalidInput):
        ready.create_api_key("   ")


def test_last_used_is_written_at_most_once_a_minute(ready: AuthService, tmp_path: Path, clock: Clock) -> None:
    key_id, key = ready.create_api_key("erp")

    def last_used() -> str | None:
        return json.loads(auth_file(tmp_path).read_text())["api_keys"][0]["last_used_at"]

    ready.verify_api_key(key)
    first, inode = last_used(), auth_file(tmp_path).stat().st_ino
    assert first
    clock.advance(30)
    ready.verify_api_key(key)
    assert last_used() == first and auth_file(tmp_path).stat().st_ino == inode  # not rewritten
    clock.advance(31)
    ready.verify_api_key(key)
    assert last_used() != first and ready.list_api_keys()[0].last_used_at == last_used()


def test_keys_survive_a_restart_and_concurrent_creation(ready: AuthService, make) -> None:
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(ready.create_api_key("k")[0])) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(k.id for k in make().list_api_keys()) == sorted(ids)


def test_may_listen_beyond_loopback(make) -> None:
    auth = make()
    ok, why = auth.may_listen_beyond_loopback()
    assert not ok and "default" in why and "127.0.0.1" in why
    auth.change_password("admin", NEW, username="admin")
    ok, why = auth.may_listen_beyond_loopback()
    assert not ok and "No API key" in why
    key_id, _ = auth.create_api_key("erp")
    assert auth.may_listen_beyond_loopback()[0]
    auth.revoke_api_key(key_id)
    assert not auth.may_listen_beyond_loopback()[0]


def test_authenticate(ready: AuthService) -> None:
    key_id, key = ready.create_api_key("erp")
    session = ready.login("admin", NEW)
    assert ready.authenticate(api_key=key).id == key_id
    assert ready.authenticate(session_token=session.token).kind == "session"
    for bad in ({}, {"api_key": "zp_wrong"}, {"session_token": "nope"}):
        with pytest.raises(Unauthorized) as exc:
            ready.authenticate(**bad)
        assert exc.value.status == 401
    ready.revoke_api_key(key_id)
    with pytest.raises(Unauthorized):
        ready.authenticate(api_key=key)


def test_first_run_session_may_only_change_the_password(make) -> None:
    auth = make()
    session = auth.login("admin", "admin")
    with pytest.raises(PasswordChangeRequired):
        auth.authenticate(session_token=session.token)
    assert auth.authenticate(session_token=session.token, allow_password_change=True).id == "admin"


def test_api_key_from_headers() -> None:
    assert api_key_from_headers({"X-Api-Key": " zp_a "}) == "zp_a"
    assert api_key_from_headers({"authorization": "bearer zp_b"}) == "zp_b"
    assert api_key_from_headers({"Authorization": "Basic abc"}) is None
    assert api_key_from_headers({"Authorization": "Bearer "}) is None
    assert api_key_from_headers({}) is None


# -- damaged files and other processes ------------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"{not json", b'{"version": 1, "admin": {"username": 3}}', b"[]"])
def test_corrupt_file_is_set_aside_and_defaults_used(make, tmp_path: Path, content: bytes,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = auth_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with caplog.at_level(logging.ERROR):
        auth = make()
    assert auth.set_aside_as and auth.set_aside_as.read_bytes() == content and not path.exists()
    assert auth.must_change_password() and auth.check_password("admin", "admin")
    assert any("SEGURANÇA" in r.message and r.levelno == logging.ERROR for r in caplog.records)


def test_changes_by_another_process_are_seen_within_a_second(ready: AuthService, make, clock: Clock) -> None:
    key_id, key = ready.create_api_key("erp")
    assert ready.verify_api_key(key) == key_id
    make().revoke_api_key(key_id)  # as the command line would, while the app runs
    clock.advance(1.0)
    assert ready.verify_api_key(key) is None
    other_id, other = make().create_api_key("crm")
    clock.advance(1.0)
    assert ready.verify_api_key(other) == other_id


def test_a_change_here_never_overwrites_one_made_by_another_process(ready: AuthService, make) -> None:
    ready.create_api_key("erp")
    make().create_api_key("crm")  # the command line, less than a second ago
    ready.create_api_key("site")  # writes at once: must read the file first, not its copy in memory
    assert sorted(k.name for k in make().list_api_keys()) == ["crm", "erp", "site"]


def test_a_file_damaged_while_running_keeps_the_state_in_memory(ready: AuthService, tmp_path: Path) -> None:
    key_id, key = ready.create_api_key("erp")
    auth_file(tmp_path).write_text("{oops")
    assert ready.verify_api_key(key) == key_id and not ready.must_change_password()
    assert list((tmp_path / "dados").glob("auth.json.bad-*"))  # the damaged copy is kept
    ready.create_api_key("crm")  # the next write puts a good file back
    assert len(AuthService.in_folder(tmp_path / "dados", scrypt=FAST).list_api_keys()) == 2


# -- the command line -----------------------------------------------------------------------------------------

def run_cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.auth", "--data", str(data), *args],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)


@pytest.mark.process
def test_cli_keys_create_list_revoke(ready: AuthService, tmp_path: Path, clock: Clock) -> None:
    data = tmp_path / "dados"
    created = run_cli(data, "keys", "create", "erp")
    assert created.returncode == 0, created.stderr
    key = next(w for w in created.stdout.split() if w.startswith("zp_"))
    assert created.stdout.count(key) == 1 and "not be shown again" in created.stdout.lower()
    clock.advance(1.0)  # the running app looks at the file at most once a second
    key_id = ready.verify_api_key(key)
    assert key_id
    listed = run_cli(data, "keys", "list")
    assert key_id in listed.stdout and key[:11] in listed.stdout and key not in listed.stdout
    assert "active" in listed.stdout
    revoked = run_cli(data, "keys", "revoke", key_id)
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    clock.advance(1.0)
    assert ready.verify_api_key(key) is None
    assert "revoked" in run_cli(data, "keys", "list").stdout
    missing = run_cli(data, "keys", "revoke", "nope")
    assert missing.returncode == 1 and "No API key" in missing.stderr


@pytest.mark.process
def test_cli_refuses_keys_before_the_password_change(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "dados", "keys", "create", "erp")
    assert result.returncode == 1 and "backend.auth password" in result.stderr and "zp_" not in result.stdout


def test_cli_password(tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = SimpleNamespace(in_folder=lambda data: AuthService.in_folder(data, clock=clock, scrypt=FAST))
    monkeypatch.setattr(auth_cli, "AuthService", fast)
    data, out, err = tmp_path / "dados", io.StringIO(), io.StringIO()
    answers = iter(["admin", NEW, "typo"])
    assert auth_cli.main(["--data", str(data), "password"], out=out, err=err, prompt=lambda _: next(answers)) == 1
    assert "differ" in err.getvalue()
    answers = iter(["admin", NEW, NEW])
    assert auth_cli.main(["--data", str(data), "password"], out=out, err=err, prompt=lambda _: next(answers)) == 0
    answers = iter(["reset by owner", "reset by owner"])
    assert auth_cli.main(["--data", str(data), "password", "--reset"], out=out, err=err,
                         prompt=lambda _: next(answers)) == 0
    assert AuthService.in_folder(data, clock=clock, scrypt=FAST).check_password("admin", "reset by owner")
