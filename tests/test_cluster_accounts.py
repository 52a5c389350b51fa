"""The cluster's admin and API keys in PostgreSQL (issue 20, backend/store/pg_accounts.py): any node answers
the API, so a key made through one node works on every node, one revoked through another stops within a
second, and each node's own auth.json is merged in at start without bringing back what the cluster revoked."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.auth.service import AuthService
from backend.store.accounts import AccountsStore
from backend.store.pg_accounts import PgAccountsStore
from backend.store.pg_db import PgDatabase
from backend.store.pg_login_sessions import TOUCH_S, PgLoginSessions
from tests.api_support import FAST_SCRYPT

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(pg_db: PgDatabase) -> PgDatabase:
    """The cluster's database (pg_support.py's, opened)."""
    return pg_db


def node_auth(db: PgDatabase, folder: Path, clock: Clock) -> AuthService:
    """A node's AuthService over the cluster's accounts, its own auth.json merged in."""
    return AuthService(PgAccountsStore(db, AccountsStore(folder / "auth.json"), clock), scrypt=FAST_SCRYPT)


def test_a_key_made_on_one_node_works_on_another_and_a_revocation_reaches_it_within_a_second(db, tmp_path):
    clock = Clock()
    a, b = node_auth(db, tmp_path / "a", clock), node_auth(db, tmp_path / "b", clock)
    a.reset_password("senha-do-cluster")
    key_id, key = a.create_api_key("erp")
    clock.now += 1.1
    assert b.verify_api_key(key) == key_id
    b.revoke_api_key(key_id)
    assert b.verify_api_key(key) is None  # at once on the node that revoked it
    clock.now += 1.1
    assert a.verify_api_key(key) is None  # within a second on the other


def test_each_nodes_own_accounts_are_merged_in_without_undoing_a_revocation(db, tmp_path):
    clock = Clock()
    first = AuthService.in_folder(tmp_path / "a", scrypt=FAST_SCRYPT)
    first.reset_password("senha-do-primeiro")
    kept_id, kept = first.create_api_key("crm")
    second = AuthService.in_folder(tmp_path / "b", scrypt=FAST_SCRYPT)
    second.reset_password("senha-do-segundo")
    other_id, other = second.create_api_key("erp")

    on_a = node_auth(db, tmp_path / "a", clock)
    on_b = node_auth(db, tmp_path / "b", clock)  # its keys join; the first node's admin stays the cluster's
    assert on_b.verify_api_key(kept) == kept_id and on_a.verify_api_key(other) is None  # a reads within 1 s
    clock.now += 1.1
    assert on_a.verify_api_key(other) == other_id
    assert on_b.login("admin", "senha-do-primeiro") is not None
    on_a.revoke_api_key(kept_id)
    again = node_auth(db, tmp_path / "a", clock)  # node a restarts, its auth.json still holds the key active
    assert again.verify_api_key(kept) is None


def test_the_terminals_key_commands_reach_a_running_cluster_with_database(db, pg_url, tmp_path):
    """`ZapPool auth --database URL keys ...` acts on the cluster's records: a key made there works on a running
    node within a second, and a revocation stops it, no node restarted (before, the commands wrote one folder's
    auth.json, which a node merges only when it starts)."""
    node = AuthService(PgAccountsStore(db, AccountsStore(tmp_path / "node" / "auth.json")), scrypt=FAST_SCRYPT)
    node.reset_password("senha-do-cluster")

    def terminal(*args: str) -> str:
        done = subprocess.run([sys.executable, "app.py", "auth", "--data", str(tmp_path / "terminal"),
                               "--database", pg_url, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    made = terminal("keys", "create", "erp")
    key = re.search(r"^    (\S+)$", made, re.M).group(1)
    key_id = re.search(r"id (\S+),", made).group(1)
    time.sleep(1.1)  # a node looks at the cluster's records at most once a second
    works = node.verify_api_key(key)
    listed = terminal("keys", "list")
    terminal("keys", "revoke", key_id)
    time.sleep(1.1)

    assert works == key_id and "erp" in listed and "active" in listed
    assert node.verify_api_key(key) is None
    refused = subprocess.run([sys.executable, "app.py", "auth", "--database", "mysql://x", "keys", "list"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "PostgreSQL URL" in refused.stderr and "Traceback" not in refused.stderr


def cluster_auth(db: PgDatabase, folder: Path, clock) -> AuthService:
    """A node's AuthService with the cluster's accounts and login sessions."""
    return AuthService(PgAccountsStore(db, AccountsStore(folder / "auth.json"), clock), clock=clock,
                       scrypt=FAST_SCRYPT, sessions=PgLoginSessions(db), session_idle_s=600)


def test_a_window_logged_in_through_one_node_is_logged_in_on_all_and_a_logout_ends_it_everywhere(db, tmp_path):
    """The windows' login sessions in PostgreSQL (store/pg_login_sessions.py): no sticky sessions needed behind
    a load balancer; before, each node knew only its own. The table keeps the token's digest, never the token."""
    now = [1_800_000_000.0]
    a, b = (cluster_auth(db, tmp_path / name, lambda: now[0]) for name in ("a", "b"))
    a.reset_password("senha-do-cluster")
    now[0] += 1.1  # b reads the cluster's accounts at most once a second
    first = a.login("admin", "senha-do-cluster")
    second = b.login("admin", "senha-do-cluster")

    seen_on_b = b.session(first.token)
    b.logout(first.token)
    after_logout = a.session(first.token)
    other = b.login("admin", "senha-do-cluster")
    a.change_password("senha-do-cluster", "outra-senha-1", token=second.token)  # keeps its own session only
    ended_by_the_change, kept = b.session(other.token), b.session(second.token)
    now[0] += 1.1
    third = b.login("admin", "outra-senha-1")
    now[0] += 601  # idle past the limit
    idle = a.session(third.token)
    stored = db.all("SELECT key, username FROM cluster_login_sessions")

    assert seen_on_b is not None and seen_on_b.username == "admin"
    assert after_logout is None
    assert ended_by_the_change is None and kept is not None
    assert idle is None and a.session(second.token) is None
    assert all(first.token not in row[0] and second.token not in row[0] for row in stored)


def test_the_idle_clock_is_written_at_most_every_half_minute_not_per_request(db, tmp_path):
    now = [1_800_000_000.0]
    a = cluster_auth(db, tmp_path / "a", lambda: now[0])
    a.reset_password("senha-do-cluster")
    token = a.login("admin", "senha-do-cluster").token

    def stored_last_seen() -> float:
        return db.one("SELECT last_seen_at FROM cluster_login_sessions")[0]

    now[0] += 10
    a.session(token)
    unchanged = stored_last_seen()
    now[0] += TOUCH_S
    a.session(token)

    assert unchanged == 1_800_000_000.0 and stored_last_seen() == now[0]
