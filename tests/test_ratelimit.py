"""The request rate per API key on a real server on a free port: a key over its rate gets 429 with Retry-After
and RateLimit-* (and nothing it asked for is done), other keys and the owner's window go on, a key cannot raise
its own rate, and the rate set from the command line (a real process) takes hold on the running server."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api_support import Api, Stack
from tests.conftest import wait_until

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]


def _login(stack: Stack) -> dict[str, str]:
    """The owner's window: a session cookie, sent from ZapPool's own origin."""
    login = stack.api.call("POST", "/auth/login", {"username": "admin", "password": "senha-forte-123"}, key=None,
                           headers={"Origin": stack.server.url})
    assert login.status == 200, login.body
    return {"Cookie": login.headers["Set-Cookie"].split(";")[0], "Origin": stack.server.url}


def test_a_key_over_its_rate_gets_429_with_retry_after_and_ratelimit_headers_and_others_go_on(stack: Stack):
    key_id, key = stack.auth.create_api_key("integração em loop", rate_per_minute=5)
    loop = Api(stack.server.url, key)
    replies = [loop.call("GET", "/stats") for _ in range(5)]
    assert [r.status for r in replies] == [200] * 5
    assert [r.headers["RateLimit-Remaining"] for r in replies] == ["4", "3", "2", "1", "0"]
    assert {r.headers["RateLimit-Limit"] for r in replies} == {"5"}
    assert replies[0].headers["RateLimit-Policy"] == "5;w=60"

    refused = loop.call("POST", "/clients", {"clientId": "inundacao"})
    assert refused.status == 429 and refused.json["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60 and refused.headers["RateLimit-Remaining"] == "0"
    assert stack.api.call("GET", "/clients/inundacao").status == 404, "the refused request did nothing"
    assert stack.api.call("GET", "/stats").status == 200, "another key is not held up"
    assert stack.api.call("GET", "/stats", key=None, headers=_login(stack)).status == 200, "nor the owner"
    assert "RateLimit-Limit" not in stack.api.call("GET", "/stats", key=None, headers=_login(stack)).headers


def test_a_key_cannot_raise_its_own_rate_only_the_owners_window_can(stack: Stack):
    key_id, key = stack.auth.create_api_key("limitada", rate_per_minute=3)
    limited = Api(stack.server.url, key)
    raised = limited.call("PUT", f"/auth/keys/{key_id}/rate-limit", {"ratePerMinute": 100000})
    assert raised.status == 403 and raised.json["error"]["code"] == "session_required"
    assert stack.api.call("PUT", f"/auth/keys/{key_id}/rate-limit", {"ratePerMinute": 100000}).status == 403
    assert next(k for k in stack.auth.list_api_keys() if k.id == key_id).rate_per_minute == 3

    owner = _login(stack)
    for bad in (0, -1, 1.5, True, "10", 10 ** 9):
        reply = stack.api.call("PUT", f"/auth/keys/{key_id}/rate-limit", {"ratePerMinute": bad}, key=None,
                               headers=owner)
        assert reply.status == 422 and reply.json["error"]["details"]["field"] == "ratePerMinute", bad
    assert stack.api.call("PUT", "/auth/keys/nenhuma/rate-limit", {"ratePerMinute": 5}, key=None,
                          headers=owner).status == 404
    ok = stack.api.call("PUT", f"/auth/keys/{key_id}/rate-limit", {"ratePerMinute": 50}, key=None, headers=owner)
    assert ok.status == 200 and ok.json["ratePerMinute"] == 50
    assert {limited.call("GET", "/stats").status for _ in range(10)} == {200}, "the owner raised it"


def test_a_rate_given_on_the_command_line_holds_on_the_running_server(stack: Stack, settings):
    made = subprocess.run([sys.executable, "-m", "backend.auth", "--data", str(settings.data_dir), "keys", "create",
                           "erp", "--rate", "2"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    key = next(line.strip() for line in made.stdout.splitlines() if line.strip().startswith("zp_"))
    stored = json.loads((settings.data_dir / "auth.json").read_text())["api_keys"]
    assert [k["rate_per_minute"] for k in stored if k["name"] == "erp"] == [2]

    erp = Api(stack.server.url, key)  # the server reads the changed auth.json within a second
    first = wait_until(lambda: (r := erp.call("GET", "/stats")).status != 401 and r, 5, what="the new key to work")
    assert first.status == 200 and first.headers["RateLimit-Limit"] == "2"
    assert [erp.call("GET", "/stats").status for _ in range(2)] == [200, 429]


def test_a_flooding_key_is_logged_once_not_once_per_refused_request(stack: Stack, caplog):
    _, key = stack.auth.create_api_key("enchente", rate_per_minute=2)
    flood = Api(stack.server.url, key)
    with caplog.at_level(logging.INFO):
        statuses = [flood.call("GET", "/stats").status for _ in range(40)]
    assert statuses == [200, 200] + [429] * 38
    lines = [r.getMessage() for r in caplog.records if "requisições por minuto" in r.getMessage()]
    assert len(lines) == 1, lines
