"""Webhooks end to end: a real HTTP receiver that checks signatures, real SQLite files, restarts and retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.clock import backoff_s
from backend.errors import Conflict, InvalidInput, NotFound
from backend.events.hub import ClientEvent
from backend.webhooks.delivery import retry_after_s, sign
from backend.webhooks.service import MAX_WEBHOOKS, WebhookService
from bench.webhook_receiver import Receiver, free_port, wait_for
from tests.webhook_support import webhook_services

# Small delays so retries happen in milliseconds; timeouts stay generous where a test does not need them short.
FAST = {"http_timeout_s": 5, "base_delay_s": 0.02, "cap_delay_s": 0.2, "max_attempts": 5}


def msg(client: str, n: int) -> ClientEvent:
    """An incoming-message event."""
    return ClientEvent(client, "message", {"message": {"id": f"{client}-{n}", "body": f"olá {n}"}})


def status(client: str, new: str, previous: str, reason: str | None = None) -> ClientEvent:
    """A status event, as WhatsAppClient emits it."""
    return ClientEvent(client, "status", {"status": new, "previous": previous, "reason": reason})


@pytest.fixture
def make_service(tmp_path: Path) -> Iterator[Callable[..., WebhookService]]:
    """Services over tmp_path/dados with fast retries; all stopped at the end."""
    with webhook_services(tmp_path / "dados", FAST) as make:
        yield make


def subscribe(service: WebhookService, receiver: Receiver, path: str, events: list[str] | None = None,
              script: list[Any] | None = None) -> dict[str, Any]:
    """Add a webhook for one receiver path and teach the receiver its secret."""
    hook = service.add(receiver.url(path), events or ["*"])
    receiver.secrets[path] = hook["secret"]
    if script:
        receiver.scripts[path] = list(script)
    return hook


def items(service: WebhookService, hook: dict[str, Any]) -> list[dict[str, Any]]:
    """Every delivery of a webhook, oldest first."""
    return list(reversed(service.deliveries(hook["id"], limit=200)["items"]))


# -- delivery, signature, body -------------------------------------------------------------------------------

def test_delivery_is_signed_and_carries_the_documented_body_and_headers(make_service, receiver):
    service = make_service()
    hook = service.add(receiver.url("/crm"), ["message"], secret="s3cret-for-the-crm-0123")
    receiver.secrets["/crm"] = "s3cret-for-the-crm-0123"
    assert hook["secret"] == "s3cret-for-the-crm-0123"
    assert service.publish(msg("vendas", 1)) == 1
    hit = wait_for(lambda: receiver.ok("/crm"), what="the delivery")[0]
    assert hit.valid
    body = hit.json
    assert set(body) == {"id", "event", "clientId", "data", "timestamp"}
    assert body["event"] == "message" and body["clientId"] == "vendas"
    assert body["data"] == {"message": {"id": "vendas-1", "body": "olá 1"}}
    assert body["timestamp"].endswith("Z")
    assert hit.headers["Content-Type"] == "application/json"
    assert hit.headers["X-ZapPool-Event"] == "message"
    assert hit.headers["X-ZapPool-Delivery"] == body["id"]
    assert hit.headers["X-ZapPool-Signature"] == sign("s3cret-for-the-crm-0123", hit.body)
    assert abs(int(hit.headers["X-ZapPool-Timestamp"]) - time.time()) < 60
    assert hit.headers["X-ZapPool-Attempt"] == "1"
    done = wait_for(lambda: [d for d in items(service, hook) if d["status"] == "delivered"])[0]
    assert done["id"] == body["id"] and done["attempts"] == 1 and done["lastStatusCode"] == 200
    assert done["deliveredAt"] and done["payload"] == body


def test_generated_secret_is_shown_once_then_only_as_a_hint(make_service, receiver):
    service = make_service()
    hook = subscribe(service, receiver, "/gen")
    assert len(hook["secret"]) >= 32
    listed = service.list()
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "secret" not in listed[0] and "secret" not in service.get(hook["id"])
    assert listed[0]["secretHint"] == "…" + hook["secret"][-4:]
    service.publish(msg("a", 1))
    assert wait_for(lambda: receiver.ok("/gen"))[0].valid


# -- retries ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [500, 503, 408, 429])
def test_transient_errors_are_retried_with_the_same_signed_body(make_service, receiver, code):
    service = make_service()
    hook = subscribe(service, receiver, "/flaky", ["message"], script=[code, code, 200])
    service.publish(msg("a", 1))
    wait_for(lambda: receiver.ok("/flaky"), what="the third attempt")
    hits = receiver.on("/flaky")
    assert [h.answered for h in hits] == [code, code, 200]
    assert all(h.valid for h in hits) and len({h.body for h in hits}) == 1
    assert [h.headers["X-ZapPool-Attempt"] for h in hits] == ["1", "2", "3"]
    done = wait_for(lambda: [d for d in items(service, hook) if d["status"] == "delivered"])[0]
    assert done["attempts"] == 3 and done["lastError"] is None


@pytest.mark.parametrize("code", [400, 404, 410, 302])
def test_other_4xx_and_redirects_fail_at_once(make_service, receiver, code):
    service = make_service()
    script = [(302, {"Location": receiver.url("/elsewhere")})] if code == 302 else [code]
    hook = subscribe(service, receiver, "/gone", ["message"], script=script)
    service.publish(msg("a", 1))
    failed = wait_for(lambda: [d for d in items(service, hook) if d["status"] == "failed"])[0]
    assert failed["attempts"] == 1 and failed["lastStatusCode"] == code
    assert f"HTTP {code}" in failed["lastError"]
    time.sleep(0.3)  # several backoff steps: a retry would have come by now
    assert len(receiver.on("/gone")) == 1 and receiver.on("/elsewhere") == []


def test_gives_up_after_max_attempts(make_service, receiver):
    service = make_service(max_attempts=3)
    hook = subscribe(service, receiver, "/down", ["message"], script=[500])
    service.publish(msg("a", 1))
    failed = wait_for(lambda: [d for d in items(service, hook) if d["status"] == "failed"])[0]
    assert failed["attempts"] == 3 and failed["lastStatusCode"] == 500
    time.sleep(0.3)
    assert len(receiver.on("/down")) == 3


def test_retry_after_is_honored_on_429(make_service, receiver):
    service = make_service(cap_delay_s=5)
    subscribe(service, receiver, "/slow", ["message"], script=[(429, {"Retry-After": "1"}), 200])
    service.publish(msg("a", 1))
    wait_for(lambda: receiver.ok("/slow"), what="the retry")
    first, second = receiver.on("/slow")
    assert second.at - first.at >= 0.9  # base_delay is 0.02 s: only the header explains the wait


def test_retry_after_is_capped(make_service, receiver):
    service = make_service(cap_delay_s=0.2)
    subscribe(service, receiver, "/greedy", ["message"], script=[(503, {"Retry-After": "3600"}), 200])
    service.publish(msg("a", 1))
    wait_for(lambda: receiver.ok("/greedy"), timeout=5, what="a retry well before an hour")


def test_a_receiver_that_hangs_times_out_and_is_retried(make_service, receiver):
    service = make_service(http_timeout_s=0.3)
    hook = subscribe(service, receiver, "/hang", ["message"], script=["hang", 200])
    service.publish(msg("a", 1))
    wait_for(lambda: receiver.ok("/hang"), what="the retry after the timeout")
    done = wait_for(lambda: [d for d in items(service, hook) if d["status"] == "delivered"])[0]
    assert done["attempts"] == 2


def test_each_client_events_arrive_in_order_through_retries(make_service, receiver):
    service = make_service()
    subscribe(service, receiver, "/order", ["message"], script=[500, 500, 500, 200])
    for n in range(6):
        service.publish(msg("a", n))
        service.publish(msg("b", n))
    wait_for(lambda: len(receiver.ok("/order")) == 12, what="all twelve deliveries")
    for client in ("a", "b"):
        got = [h.json["data"]["message"]["id"] for h in receiver.ok("/order") if h.json["clientId"] == client]
        assert got == [f"{client}-{n}" for n in range(6)]


# -- never slow the pool down ------------------------------------------------------------------------------

def test_publish_stays_fast_while_a_delivery_is_stuck(make_service, receiver):
    service = make_service(http_timeout_s=15)
    hook = subscribe(service, receiver, "/stuck", ["message"], script=["hang"])
    service.publish(msg("first", 0))
    wait_for(lambda: receiver.hanging, what="the receiver to hang")
    started = time.monotonic()
    queued = sum(service.publish(msg(f"c{n % 10}", n)) for n in range(300))
    elapsed = time.monotonic() - started
    assert queued == 300
    assert receiver.hanging >= 1, "publishing must not wait for the stuck request"
    assert elapsed < 10, f"300 publishes took {elapsed:.1f} s"
    logging.getLogger(__name__).info("300 publishes while a delivery hung: %.3f s", elapsed)
    pending = service.deliveries(hook["id"], limit=200)["items"]
    assert {d["status"] for d in pending} <= {"pending", "delivering"}
    receiver.release.set()


# -- restarts ----------------------------------------------------------------------------------------------

def test_every_delivery_arrives_exactly_once_after_a_restart(make_service):
    port = free_port()  # nothing listens: every attempt is refused
    first = make_service(max_attempts=50)
    hook = first.add(f"http://127.0.0.1:{port}/after", ["message", "status"])
    for n in range(10):
        first.publish(msg("a" if n % 2 else "b", n))
    wait_for(lambda: any(d["attempts"] >= 1 for d in items(first, hook)), what="a refused attempt")
    first.stop(timeout=2)
    second = make_service(start=False, max_attempts=50)
    second.publish(status("a", "ready", "authenticated"))  # queued while nothing is sending
    expected = [d["id"] for d in items(second, hook)]
    assert len(expected) == 11 and all(d["status"] == "pending" for d in items(second, hook))
    receiver = Receiver(port)
    try:
        receiver.secrets["/after"] = hook["secret"]
        second.start()
        wait_for(lambda: len(receiver.ok("/after")) >= 11, what="every delivery after the restart")
        time.sleep(0.3)
        got = [h.json["id"] for h in receiver.ok("/after")]
        assert sorted(got) == sorted(expected) and len(set(got)) == len(got)
        assert len(receiver.on("/after")) == 11  # no duplicates: nothing had reached a receiver before
        assert all(h.valid for h in receiver.on("/after"))
        assert all(d["status"] == "delivered" for d in items(second, hook))
    finally:
        receiver.close()


def test_a_delivery_in_flight_at_stop_is_sent_again_after_restart(make_service, receiver):
    first = make_service(http_timeout_s=15)
    hook = subscribe(first, receiver, "/again", ["message"], script=["hang"])
    first.publish(msg("a", 1))
    wait_for(lambda: receiver.hanging, what="the receiver to hang")
    first.stop(timeout=0.2)  # the request is still open: its row stays "delivering"
    receiver.scripts["/again"] = [200]
    second = make_service()
    wait_for(lambda: receiver.ok("/again"), what="the resend")
    receiver.release.set()
    hits = receiver.on("/again")
    assert len(hits) == 2 and hits[0].body == hits[1].body and all(h.valid for h in hits)
    done = wait_for(lambda: [d for d in items(second, hook) if d["status"] == "delivered"])[0]
    assert done["attempts"] == 2  # at least once: receivers dedupe with X-ZapPool-Delivery


# -- which events become webhooks --------------------------------------------------------------------------

def test_qr_rotation_sends_at_most_one_webhook_per_status_change(make_service):
    service = make_service(start=False)
    everything = service.add("http://127.0.0.1:9/all", ["*"])
    with_qr = service.add("http://127.0.0.1:9/qr", ["qr", "status"])
    events = [status("a", "initializing", "idle"), status("a", "qr_ready", "initializing")]
    events += [ClientEvent("a", "qr", {"qrCode": "data:image/png;base64,xx", "code": f"2@{n}"}) for n in range(10)]
    events += [status("a", "qr_ready", "qr_ready", "new reason"), status("a", "disconnected", "qr_ready", "qr_timeout"),
               ClientEvent("a", "disconnected", {"reason": "qr_timeout"}),
               ClientEvent("a", "disconnected", {"reason": "qr_timeout"}),
               status("a", "initializing", "disconnected"), status("a", "qr_ready", "initializing")]
    events += [ClientEvent("a", "qr", {"qrCode": "data:,", "code": f"3@{n}"}) for n in range(5)]
    events += [status("a", "ready", "qr_ready"), ClientEvent("a", "ready", {"phoneNumber": "55"}),
               ClientEvent("a", "ready", {"phoneNumber": "55"}), ClientEvent("a", "unknown_event", {})]
    for event in events:
        service.publish(event)
    names = [d["event"] for d in items(service, everything)]
    assert "qr" not in names
    assert names.count("status") == 6 and names.count("disconnected") == 1 and names.count("ready") == 1
    sent_qr = [d["payload"]["data"]["code"] for d in items(service, with_qr) if d["event"] == "qr"]
    assert sent_qr == ["2@0", "3@0"]


def test_subscriptions_only_get_their_events(make_service):
    service = make_service(start=False)
    acks = service.add("http://127.0.0.1:9/acks", ["message_ack"])
    plus_qr = service.add("http://127.0.0.1:9/plus", ["*", "qr", "qr"])
    assert plus_qr["events"] == ["*", "qr"]
    service.publish(msg("a", 1))
    service.publish(ClientEvent("a", "message_ack", {"id": "x", "ack": 2, "chat": "c"}))
    service.publish(ClientEvent("a", "qr", {"code": "2@x"}))
    service.publish(ClientEvent("a", "code", {"code": "ABCD-EFGH"}))
    service.publish(ClientEvent("a", "client_removed", {}))
    assert [d["event"] for d in items(service, acks)] == ["message_ack"]
    assert [d["event"] for d in items(service, plus_qr)] == ["message", "message_ack", "qr", "client_removed"]


# -- managing webhooks -------------------------------------------------------------------------------------

def test_remove_deletes_the_webhook_and_its_queued_deliveries(make_service, receiver):
    service = make_service(start=False)
    kept = subscribe(service, receiver, "/kept", ["message"])
    dropped = subscribe(service, receiver, "/dropped", ["message"])
    service.publish(msg("a", 1))
    service.remove(dropped["id"])
    assert [h["id"] for h in service.list()] == [kept["id"]]
    with pytest.raises(NotFound):
        service.remove(dropped["id"])
    with pytest.raises(NotFound):
        service.deliveries(dropped["id"])
    service.start()
    wait_for(lambda: receiver.ok("/kept"))
    assert receiver.on("/dropped") == []
    assert service.publish(msg("a", 2)) == 1


def test_deliveries_page_newest_first(make_service):
    service = make_service(start=False)
    hook = service.add("http://127.0.0.1:9/p", ["message"])
    for n in range(5):
        service.publish(msg("a", n))
    page = service.deliveries(hook["id"], limit=2)
    seen = [d["payload"]["data"]["message"]["id"] for d in page["items"]]
    while page["nextCursor"]:
        page = service.deliveries(hook["id"], limit=2, cursor=page["nextCursor"])
        seen += [d["payload"]["data"]["message"]["id"] for d in page["items"]]
    assert seen == [f"a-{n}" for n in (4, 3, 2, 1, 0)]
    for bad in ({"limit": 0}, {"limit": 1000}, {"limit": "5"}, {"cursor": "not-a-cursor"}):
        with pytest.raises(InvalidInput) as caught:
            service.deliveries(hook["id"], **bad)
        assert caught.value.details["field"] == next(iter(bad))


@pytest.mark.parametrize("url", ["ftp://example.com/x", "example.com/hook", "http://", "http:///path",
                                 "https://user:pass@example.com/", "https://token@example.com/",
                                 "http://exa mple.com/", "http://example.com/a\nb", "http://exámple.com/",
                                 "http://example.com:99999/", "http://example.com/#frag", "javascript:alert(1)",
                                 "http://[::zz]/", "http://a..b/", "http://" + "a" * 2100, "", None, 42])
def test_bad_urls_are_refused_naming_the_field(make_service, url):
    with pytest.raises(InvalidInput) as caught:
        make_service(start=False).add(url, ["*"])
    assert caught.value.details["field"] == "url"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "https://crm.example.com/zap?token=abc",
                                 "http://[::1]:9000/", "http://localhost/", "  https://erp.local/x  "])
def test_good_urls_are_accepted(make_service, url):
    assert make_service(start=False).add(url, ["message"])["url"] == url.strip()


@pytest.mark.parametrize("events", ["message", [], ["mesage"], ["message", 3], ["*"] * 40, {"message": 1}])
def test_bad_events_are_refused(make_service, events):
    with pytest.raises(InvalidInput) as caught:
        make_service(start=False).add("http://127.0.0.1/x", events)
    assert caught.value.details["field"] == "events"


@pytest.mark.parametrize("secret", ["short", "x" * 257, "with spaces in the secret!", "ç" * 20, "tab\there0123456789",
                                    123])
def test_bad_secrets_are_refused(make_service, secret):
    with pytest.raises(InvalidInput) as caught:
        make_service(start=False).add("http://127.0.0.1/x", ["*"], secret=secret)
    assert caught.value.details["field"] == "secret"


def test_there_is_a_limit_on_webhooks(make_service):
    service = make_service(start=False)
    for n in range(MAX_WEBHOOKS):
        service.add(f"http://127.0.0.1/{n}", ["*"], secret="0123456789abcdef")
    with pytest.raises(Conflict):
        service.add("http://127.0.0.1/one-more", ["*"])


# -- the file ----------------------------------------------------------------------------------------------

def test_a_corrupt_database_is_set_aside_and_a_new_one_started(tmp_path, caplog):
    data = tmp_path / "dados"
    data.mkdir()
    (data / "webhooks.db").write_bytes(b"this is not sqlite" * 500)
    with caplog.at_level(logging.ERROR):
        service = WebhookService.in_folder(data, **FAST)
    try:
        assert service.set_aside_as is not None and service.set_aside_as.name.startswith("webhooks.db.bad-")
        assert service.set_aside_as.read_bytes().startswith(b"this is not sqlite")
        assert "webhooks.db" in caplog.text and service.set_aside_as.name in caplog.text
        assert service.list() == []
        assert service.add("http://127.0.0.1/x", ["*"])["id"].startswith("wh_")
    finally:
        service.stop()


def test_publish_after_stop_never_raises(make_service):
    service = make_service(start=False)
    service.add("http://127.0.0.1/x", ["*"])
    service.stop()
    assert service.publish(msg("a", 1)) == 0


# -- the arithmetic ----------------------------------------------------------------------------------------

def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    assert backoff_s(1, 2, 600, lambda: 0.0) == 1 and backoff_s(1, 2, 600, lambda: 1.0) == 2
    assert backoff_s(4, 2, 600, lambda: 1.0) == 16
    assert backoff_s(30, 2, 600, lambda: 1.0) == 600 and backoff_s(30, 2, 600, lambda: 0.0) == 300


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after_s("7", 0) == 7
    assert retry_after_s("Thu, 01 Jan 1970 00:01:40 GMT", 40) == 60
    assert retry_after_s("soon", 0) is None and retry_after_s(None, 0) is None


def test_a_transport_that_raises_counts_as_a_failed_attempt(make_service):
    def broken(url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> Any:
        raise RuntimeError("boom")

    service = make_service(transport=broken, max_attempts=2)
    hook = service.add("http://127.0.0.1:9/x", ["message"])
    service.publish(msg("a", 1))
    failed = wait_for(lambda: [d for d in items(service, hook) if d["status"] == "failed"])[0]
    assert failed["attempts"] == 2 and "RuntimeError" in failed["lastError"] and "boom" not in failed["lastError"]
