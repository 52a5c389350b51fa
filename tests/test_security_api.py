"""Issue 14's findings 1, 2, 3, 7, 8 and 14, each sent as the attack it was found with, against a real server
on a free port: DNS rebinding, claiming a fresh install, huge and mistyped bodies, slowloris, the browser path
through REST, locking the owner out, and the headers every answer carries."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app import parse_args
from backend.api.server import ApiServer, app_config
from backend.auth.service import AuthService
from backend.desktop.bridge import DesktopSession
from backend.store.preferences import PreferencesStore
from tests.api_support import FAST_SCRYPT, api_app, shut_down
from tests.conftest import running_pool

PASSWORD = "senha-forte-123"
SMALL_BODY = 64 * 1024  # guard.py's caps, as the contract states them
MEDIA_BODY = 150 * 1024 * 1024


@dataclass
class Reply:
    """A raw HTTP answer: status, headers (lower-case names), the JSON body if any."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str:
        return self.json["error"]["code"]


def send(port: int, raw: bytes, timeout: float = 5.0) -> Reply:
    """Send bytes as they are (any Host, any Content-Length) and read one answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        want = int(headers.get("content-length", "0"))
        while len(body) < want:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return Reply(int(lines[0].split()[1]), headers, body)


def request(port: int, method: str, path: str, body: Any = None, *, host: str | None = None,
            content_type: str = "application/json", headers: dict[str, str] | None = None) -> Reply:
    """One request with a chosen Host (default: 127.0.0.1:port) and body type."""
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", "Connection: close"]
    if data:
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(data)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return send(port, ("\r\n".join(lines) + "\r\n\r\n").encode() + data)


@pytest.fixture
def fresh(runtime, settings) -> Iterator[tuple[ApiServer, AuthService]]:
    """A first-run ZapPool (admin/admin) serving on a free port."""
    yield from _serve(runtime, settings, None)


@pytest.fixture
def owned(runtime, settings) -> Iterator[tuple[ApiServer, AuthService]]:
    """A ZapPool whose password has been changed, with an API key (auth.test_key)."""
    yield from _serve(runtime, settings, PASSWORD)


def _serve(runtime, settings, password: str | None, config: dict[str, Any] | None = None):
    pool = running_pool(settings, runtime)
    auth = AuthService.in_folder(settings.data_dir, scrypt=FAST_SCRYPT)
    if password:
        auth.reset_password(password)
        auth.test_key = auth.create_api_key("testes")[1]
    server = ApiServer(api_app(pool, auth, test_config=config), auth, port=0).start()
    try:
        yield server, auth
    finally:
        shut_down(server, pool)


# -- finding 1: DNS rebinding, and claiming a fresh install ----------------------------------------------------

def test_a_rebinding_page_cannot_log_in_change_the_password_or_make_a_key(fresh) -> None:
    server, auth = fresh
    evil = {"host": f"evil.example:{server.port}", "content_type": "text/plain",
            "headers": {"Origin": f"http://evil.example:{server.port}"}}

    login = request(server.port, "POST", "/auth/login", {"username": "admin", "password": "admin"}, **evil)
    password = request(server.port, "POST", "/auth/password", {"oldPassword": "admin", "newPassword": "x" * 12},
                       **evil)
    key = request(server.port, "POST", "/auth/keys", {"name": "evil"}, **evil)
    health = request(server.port, "GET", "/health", host=f"evil.example:{server.port}")
    ours = [request(server.port, "GET", "/health", host=f"{name}:{server.port}").status
            for name in ("127.0.0.1", "localhost", "[::1]", "LOCALHOST")]

    for reply in (login, password, key, health):
        assert reply.status == 421 and reply.code == "host_not_allowed", reply.body
        assert "set-cookie" not in reply.headers
    assert auth.must_change_password() and auth.list_api_keys() == [], "nothing changed"
    assert ours == [200] * 4


def test_allowed_host_admits_only_the_names_given(runtime, settings) -> None:
    config = app_config(parse_args(["--allowed-host", "zap.lan"]))  # the command line's own path to the setting
    for server, _auth in _serve(runtime, settings, None, config):
        named = request(server.port, "GET", "/health", host=f"zap.lan:{server.port}")
        other = request(server.port, "GET", "/health", host=f"evil.lan:{server.port}")
        assert named.status == 200 and other.status == 421


def test_listening_wider_answers_to_its_own_address_and_the_allowed_names_only(runtime, settings) -> None:
    pool = running_pool(settings, runtime)
    auth = AuthService.in_folder(settings.data_dir, scrypt=FAST_SCRYPT)
    auth.reset_password(PASSWORD)
    auth.create_api_key("lan")
    server = ApiServer(api_app(pool, auth, test_config={"ALLOWED_HOSTS": ("zap.lan",)}), auth, host="0.0.0.0",
                       port=0).start()
    try:
        own = request(server.port, "GET", "/health", host=f"0.0.0.0:{server.port}")  # app.py's url: windows, 2nd launch
        named = request(server.port, "GET", "/health", host=f"zap.lan:{server.port}")
        rebound = request(server.port, "GET", "/health", host=f"evil.example:{server.port}")
    finally:
        shut_down(server, pool)

    assert server.host == "0.0.0.0" and own.status == 200 and named.status == 200
    assert rebound.status == 421 and "--allowed-host" in rebound.json["error"]["message"]


def test_another_local_user_cannot_claim_a_fresh_install_but_the_owner_gets_in(fresh) -> None:
    server, auth = fresh
    origin = {"Origin": f"http://127.0.0.1:{server.port}"}
    stranger = request(server.port, "POST", "/auth/login", {"username": "admin", "password": "admin"},
                       headers=origin)
    wrong_link = request(server.port, "POST", "/auth/login",
                         {"username": "admin", "password": "admin", "ownerToken": "guess"}, headers=origin)
    link = {"username": "admin", "password": "admin", "ownerToken": getattr(auth, "owner_token", "-")}
    terminal = request(server.port, "POST", "/auth/login", link, headers=origin)
    window = DesktopSession(auth).login("admin", "admin")  # the desktop window: the js_api bridge, no HTTP

    assert stranger.status == 403 and stranger.code == "owner_link_required"
    assert "set-cookie" not in stranger.headers and wrong_link.status == 403
    assert terminal.status == 200 and terminal.json["mustChangePassword"] is True
    assert window == {"username": "admin", "mustChangePassword": True}


# -- finding 2: bodies ----------------------------------------------------------------------------------------

def test_a_huge_body_is_refused_from_its_content_length_before_it_is_sent(fresh) -> None:
    server, _auth = fresh
    head = ("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: {length}\r\n\r\n")
    started = time.monotonic()
    login = send(server.port, head.format(path="/auth/login", length=32 << 20).encode(), timeout=3)
    media = send(server.port, head.format(path="/messages", length=MEDIA_BODY + 1).encode(), timeout=3)
    took = time.monotonic() - started
    just_over = request(server.port, "POST", "/auth/login", b'{"username": "' + b"a" * SMALL_BODY + b'"}')

    assert login.status == 413 and login.code == "request_entity_too_large" and str(SMALL_BODY) in \
        login.json["error"]["message"].replace(",", "")
    assert media.status == 413 and took < 2, "answered without waiting for a body that never comes"
    assert just_over.status == 413


def test_json_routes_take_application_json_only(owned) -> None:
    server, auth = owned
    login = request(server.port, "POST", "/auth/login", {"username": "admin", "password": PASSWORD},
                    content_type="text/plain")
    form = request(server.port, "POST", "/auth/keys", b"name=evil", content_type="application/x-www-form-urlencoded",
                   headers={"X-Api-Key": auth.test_key})
    fine = request(server.port, "POST", "/auth/keys", {"name": "erp"}, headers={"X-Api-Key": auth.test_key})

    assert login.status == 415 and login.code == "unsupported_media_type" and "set-cookie" not in login.headers
    assert form.status == 415 and [k.name for k in auth.list_api_keys()] == ["testes", "erp"]
    assert fine.status == 201


def test_the_contract_states_each_routes_body_limit(owned) -> None:
    server, auth = owned
    doc = request(server.port, "GET", "/openapi.json", headers={"X-Api-Key": auth.test_key}).json
    login = doc["paths"]["/auth/login"]["post"]
    send_media = doc["paths"]["/clients/{client_id}/messages"]["post"]

    assert login["requestBody"]["x-maxBodyBytes"] == SMALL_BODY
    assert send_media["requestBody"]["x-maxBodyBytes"] == MEDIA_BODY
    assert {"413", "415", "421"} <= set(login["responses"])


# -- finding 3: slowloris -------------------------------------------------------------------------------------

def test_a_request_is_answered_within_a_second_while_200_half_requests_hang(fresh) -> None:
    server, _auth = fresh
    hanging = []
    try:
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            sock.sendall(b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            hanging.append(sock)
        time.sleep(0.5)
        started = time.monotonic()
        health = send(server.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                      timeout=3)
        took = time.monotonic() - started
    finally:
        for sock in hanging:
            sock.close()

    assert health.status == 200 and took < 1.0, f"{took:.2f} s"


def test_headers_dripped_a_byte_at_a_time_do_not_hold_a_connection_forever(fresh) -> None:
    server, _auth = fresh
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=1)
    started, closed = time.monotonic(), False
    try:
        for byte in b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 200:
            sock.sendall(bytes([byte]))
            time.sleep(0.5)
            if time.monotonic() - started > 20:
                break
    except OSError:  # the server closed it: the next write fails
        closed = True
    finally:
        sock.close()

    assert closed and time.monotonic() - started < 18


# -- finding 7: the browser path ------------------------------------------------------------------------------

def test_the_browser_path_cannot_be_set_through_rest(owned, settings) -> None:
    server, auth = owned
    origin = {"Origin": f"http://127.0.0.1:{server.port}"}
    with_key = request(server.port, "PUT", "/preferences", {"browserPath": "/bin/sh"},
                       headers={"X-Api-Key": auth.test_key})
    login = request(server.port, "POST", "/auth/login", {"username": "admin", "password": PASSWORD})
    cookie = login.headers["set-cookie"].split(";")[0]
    with_session = request(server.port, "PUT", "/preferences", {"browserPath": "/tmp/evil", "language": "en"},
                           headers={**origin, "Cookie": cookie})
    other = request(server.port, "PUT", "/preferences", {"language": "en"}, headers={**origin, "Cookie": cookie})

    assert with_key.status == 403 and with_key.code == "desktop_only_preference"
    assert with_session.status == 403 and with_session.json["error"]["details"]["field"] == "browserPath"
    assert other.status == 200
    assert PreferencesStore(settings.data_dir / "preferences.json").get()["browserPath"] is None


# -- finding 8: locking the owner out -------------------------------------------------------------------------

def test_a_strangers_failed_logins_never_lock_the_owner_out(owned) -> None:
    server, auth = owned
    wrong = [request(server.port, "POST", "/auth/login", {"username": "admin", "password": f"chute-{i}"}).status
             for i in range(8)]
    stranger = request(server.port, "POST", "/auth/login", {"username": "admin", "password": PASSWORD})
    terminal = request(server.port, "POST", "/auth/login",
                       {"username": "admin", "password": PASSWORD, "ownerToken": getattr(auth, "owner_token", "-")})
    window = DesktopSession(auth).login("admin", PASSWORD)

    assert wrong[:5] == [401] * 5 and wrong[-1] == 429
    assert stranger.status == 429, "the stranger stays locked"
    assert terminal.status == 200 and window["username"] == "admin"


# -- finding 14: headers --------------------------------------------------------------------------------------

def test_every_answer_says_nosniff_and_docs_has_a_policy(fresh) -> None:
    server, _auth = fresh
    answers = [request(server.port, "GET", "/health"), request(server.port, "GET", "/nowhere"),
               request(server.port, "GET", "/stats"), request(server.port, "GET", "/health", host="evil.example"),
               send(server.port, b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999\r\n\r\n")]
    docs = request(server.port, "GET", "/docs")

    assert [a.headers.get("x-content-type-options") for a in answers] == ["nosniff"] * 5
    assert "default-src 'none'" in docs.headers["content-security-policy"]
    assert "script-src" not in docs.headers["content-security-policy"]


@pytest.mark.parametrize("config, forwarded, secure", [
    ({"BEHIND_HTTPS": True}, None, True),
    ({"TRUSTED_PROXY": "127.0.0.1"}, "https", True),
    ({}, "https", False),  # nobody said the proxy is trusted: anyone could send the header
])
def test_cookies_are_secure_behind_https(runtime, settings, config, forwarded, secure) -> None:
    for server, auth in _serve(runtime, settings, PASSWORD, config):
        headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
        login = request(server.port, "POST", "/auth/login", {"username": "admin", "password": PASSWORD},
                        headers=headers)
        assert login.status == 200
        assert ("; secure" in login.headers["set-cookie"].lower()) is secure
