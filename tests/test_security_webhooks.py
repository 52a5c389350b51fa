"""Issue 14, findings 6 and 13, as attacks: webhook SSRF with a read-back channel, and replayed deliveries.

Everything real: ZapPool as app.py assembles it (its REST API on a free port, webhooks.db in a temporary
folder), receivers on real ports, and the `standardwebhooks` library from PyPI verifying as a receiver's code
does. The only stand-in is the DNS: socket.getaddrinfo answers for one made-up name, so a test can make that
name change its answer (rebinding) without a DNS server.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import app as zapool
from backend.auth.service import AuthService
from backend.config import Settings
from backend.events.hub import ClientEvent
from backend.webhooks.service import WebhookService
from bench.webhook_receiver import Receiver, wait_for
from tests.api_support import FAST_SCRYPT
from tests.webhook_support import webhook_services

FAST = {"http_timeout_s": 5, "base_delay_s": 0.02, "cap_delay_s": 0.2, "max_attempts": 3}
INTERNAL = b"db_password=hunter2; internal admin page"  # what an internal service would answer
REBIND = "rebind.zapool-test"


def msg(n: int) -> ClientEvent:
    """An incoming-message event."""
    return ClientEvent("vendas", "message", {"message": {"id": f"m{n}", "body": f"olá {n}"}})


# -- ZapPool as app.py builds it, on a free port ---------------------------------------------------------------

class Running:
    """ZapPool's parts from app.assemble(), started, and a client with an API key."""

    def __init__(self, folder: Path, *argv: str):
        auth = AuthService.in_folder(folder, scrypt=FAST_SCRYPT)
        auth.reset_password("senha-forte-123")  # listening beyond loopback needs both (safe_host)
        self.key = auth.create_api_key("testes")[1]
        args = zapool.parse_args(["--data", str(folder), "--port", "0", "--no-restore", *argv])
        self.parts = zapool.assemble(args, Settings(data_dir=folder, restore_on_start=False))
        self.parts.start()
        self.base = f"http://127.0.0.1:{self.parts.api.port}"

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request with the key; (status, parsed JSON or None)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"X-Api-Key": self.key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, raw = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        return status, json.loads(raw) if raw else None

    def stop(self) -> None:
        self.parts.stop()


@pytest.fixture
def zapool_at(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start ZapPool with some command-line options (stopped at the end)."""
    started: list[Running] = []

    def start(*argv: str) -> Running:
        started.append(Running(tmp_path / "dados", *argv))
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., WebhookService]]:
    with webhook_services(tmp_path / "hooks", FAST) as make:
        yield make


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The answers the made-up name REBIND gets from the resolver (change them during a test); other names go
    to the real resolver."""
    answers: dict[str, list[str]] = {REBIND: ["93.184.215.14"]}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port or 0))) for ip in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


# -- finding 6: no read-back ------------------------------------------------------------------------------------

def test_last_error_never_carries_the_receivers_body(zapool_at, receiver):
    """The attack: aim a webhook at an internal page that answers 404 with its content, read lastError."""
    running = zapool_at()  # loopback only: private targets are allowed, so this is about the read-back alone
    receiver.scripts["/admin"] = [(404, {"Content-Type": "text/plain"}, INTERNAL)]
    status, hook = running.call("POST", "/webhooks", {"url": receiver.url("/admin"), "events": ["message"]})
    assert status == 201
    running.parts.webhooks.publish(msg(1))
    wait_for(lambda: receiver.on("/admin"), what="the delivery")
    page = wait_for(lambda: (d := running.call("GET", f"/webhooks/{hook['id']}/deliveries")[1]["items"])
                    and d[0]["status"] == "failed" and d, what="the failed delivery")
    assert page[0]["lastStatusCode"] == 404
    assert page[0]["lastError"] == "HTTP 404 Not Found"
    assert b"hunter2" not in json.dumps(page).encode()


@pytest.mark.parametrize("line, expected", [
    (b"HTTP/1.1 500 db_password=hunter2\r\nContent-Length: 0\r\n\r\n", "HTTP 500 Internal Server Error"),
    (b"db_password=hunter2\r\n\r\n", "the answer was not valid HTTP")])
def test_a_made_up_reason_phrase_or_status_line_is_not_repeated(make_service, line, expected):
    """A receiver that puts its secrets in the status line (a reason phrase, or a line that is not HTTP)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def answer() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(line)
            conn.close()

    threading.Thread(target=answer, daemon=True).start()
    service = make_service()
    hook = service.add(f"http://127.0.0.1:{server.getsockname()[1]}/", ["message"])
    service.publish(msg(1))
    error = wait_for(lambda: service.deliveries(hook["id"])["items"][0]["lastError"], what="an attempt")
    server.close()
    assert error == expected


# -- finding 6: private targets when listening wider ---------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/", "http://localhost/", "http://10.1.2.3/",
                                 "http://192.168.0.1/admin", "http://169.254.169.254/latest/meta-data/",
                                 "http://[::1]:3000/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0:3000/",
                                 "http://100.64.0.1/", "http://[fe80::1]/", "http://[fd00::1]/",
                                 "http://[64:ff9b::7f00:1]/",
                                 "http://[2002:a00:1::1]/"])
def test_listening_wider_refuses_private_targets(zapool_at, url):
    running = zapool_at("--host", "0.0.0.0")
    status, body = running.call("POST", "/webhooks", {"url": url})
    assert status == 422, body
    assert body["error"]["code"] == "invalid_input" and body["error"]["details"]["field"] == "url"
    assert running.call("GET", "/webhooks")[1] == []


def test_a_name_with_one_private_answer_is_refused(zapool_at, dns):
    running = zapool_at("--host", "0.0.0.0")
    dns[REBIND] = ["93.184.215.14", "127.0.0.1"]
    status, body = running.call("POST", "/webhooks", {"url": f"http://{REBIND}/"})
    assert status == 422 and "127.0.0.1" in body["error"]["message"]


def test_public_targets_and_the_setting_still_work(zapool_at, receiver):
    running = zapool_at("--host", "0.0.0.0")
    assert running.call("POST", "/webhooks", {"url": "https://93.184.215.14/hook"})[0] == 201
    running.stop()
    allowed = zapool_at("--host", "0.0.0.0", "--allow-private-webhooks")
    assert allowed.call("POST", "/webhooks", {"url": receiver.url("/crm")})[0] == 201


def test_loopback_only_keeps_private_targets(zapool_at, receiver):
    running = zapool_at()
    assert running.call("POST", "/webhooks", {"url": receiver.url("/crm")})[0] == 201


def test_dns_rebinding_after_creation_is_refused_at_delivery(make_service, receiver, dns):
    """The name answered a public address when the webhook was made, then rebinds to 127.0.0.1."""
    service = make_service()
    service.guard_targets(True)
    hook = service.add(f"http://{REBIND}:{receiver.port}/internal", ["message"])
    dns[REBIND] = ["127.0.0.1"]
    service.publish(msg(1))
    failed = wait_for(lambda: (d := service.deliveries(hook["id"])["items"][0])["status"] == "failed" and d,
                      what="the refused delivery")
    assert failed["attempts"] == 1 and failed["lastError"].startswith("target refused")
    time.sleep(0.3)
    assert receiver.hits == []


def test_a_webhook_made_before_listening_wider_is_refused_at_delivery(make_service, receiver):
    before = make_service()
    hook = before.add(receiver.url("/old"), ["message"])
    before.stop()
    after = make_service()  # the next start, now beyond loopback
    after.guard_targets(True)
    after.publish(msg(1))
    failed = wait_for(lambda: (d := after.deliveries(hook["id"])["items"][0])["status"] == "failed" and d,
                      what="the refused delivery")
    assert "127.0.0.1" in failed["lastError"]
    assert receiver.hits == []


# -- finding 13: Standard Webhooks ----------------------------------------------------------------------------

def test_deliveries_verify_with_the_standardwebhooks_library(zapool_at, receiver):
    running = zapool_at()
    status, hook = running.call("POST", "/webhooks", {"url": receiver.url("/crm"), "events": ["message"]})
    assert status == 201 and hook["secret"].startswith("whsec_")
    receiver.secrets["/crm"] = hook["secret"]
    running.parts.webhooks.publish(msg(1))
    hit = wait_for(lambda: receiver.ok("/crm"), what="the delivery")[0]
    headers = dict(hit.headers.items())
    assert Webhook(hook["secret"]).verify(hit.body, headers) == hit.json
    assert hit.standard and hit.valid  # the old X-ZapPool-Signature still checks, for one release
    assert hit.headers["webhook-id"] == hit.json["id"] == hit.headers["X-ZapPool-Delivery"]
    assert abs(int(hit.headers["webhook-timestamp"]) - time.time()) < 60


def test_a_replayed_delivery_with_a_new_timestamp_is_refused(make_service, receiver):
    service = make_service()
    hook = service.add(receiver.url("/crm"), ["message"])
    receiver.secrets["/crm"] = hook["secret"]
    service.publish(msg(1))
    hit = wait_for(lambda: receiver.ok("/crm"), what="the delivery")[0]
    assert hit.standard, hit.standard_error  # as sent, it verifies
    replay = {**dict(hit.headers.items()), "webhook-timestamp": str(int(time.time()) + 1)}
    with pytest.raises(WebhookVerificationError):
        Webhook(hook["secret"]).verify(hit.body, replay)
    forged = {**dict(hit.headers.items()), "webhook-id": "dlv_" + "0" * 32}
    with pytest.raises(WebhookVerificationError):
        Webhook(hook["secret"]).verify(hit.body, forged)


def test_a_stale_delivery_is_refused_by_the_receiver(make_service):
    """A delivery signed six minutes ago (a captured request replayed now) is answered 401 by a receiver that
    verifies with the library; ZapPool sees the refusal."""
    strict = Receiver(strict=True)
    try:
        service = make_service(clock=lambda: time.time() - 360)
        hook = service.add(strict.url("/crm"), ["message"])
        strict.secrets["/crm"] = hook["secret"]
        service.publish(msg(1))
        hit = wait_for(lambda: strict.on("/crm"), what="the delivery")[0]
        assert not hit.standard and "too old" in (hit.standard_error or "")
        assert hit.answered == 401
    finally:
        strict.close()


def test_a_retry_keeps_the_id_and_is_signed_again(make_service, receiver):
    service = make_service()
    hook = service.add(receiver.url("/flaky"), ["message"])
    receiver.secrets["/flaky"] = hook["secret"]
    receiver.scripts["/flaky"] = [503, 200]
    service.publish(msg(1))
    wait_for(lambda: receiver.ok("/flaky"), what="the retried delivery")
    first, second = receiver.on("/flaky")[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.standard and second.standard


def test_a_callers_whsec_secret_and_a_plain_one_both_verify(make_service, receiver):
    service = make_service()
    mine = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    plain = "a-plain-secret-from-2024"
    for path, secret in (("/whsec", mine), ("/plain", plain)):
        service.add(receiver.url(path), ["message"], secret=secret)
        receiver.secrets[path] = secret
    service.publish(msg(1))
    hits = wait_for(lambda: len(receiver.ok()) == 2 and receiver.ok(), what="both deliveries")
    assert all(hit.standard and hit.valid for hit in hits), [hit.standard_error for hit in hits]


@pytest.mark.parametrize("secret", ["whsec_not-base64!!!!!!!!!!!", "whsec_" + "QUJD" * 4])
def test_a_broken_whsec_secret_is_refused(zapool_at, secret):
    running = zapool_at()
    status, body = running.call("POST", "/webhooks", {"url": "http://127.0.0.1:9/", "secret": secret})
    assert status == 422 and body["error"]["details"]["field"] == "secret"


def test_the_openapi_document_names_the_standard_headers(zapool_at):
    running = zapool_at()
    request = urllib.request.Request(running.base + "/openapi.json", headers={"X-Api-Key": running.key})
    with urllib.request.urlopen(request, timeout=30) as answer:
        document = json.loads(answer.read())
    names = {p["name"] for p in document["webhooks"]["poolEvent"]["post"]["parameters"]}
    assert {"webhook-id", "webhook-timestamp", "webhook-signature", "X-ZapPool-Signature"} <= names
