"""GET /events (SSE), /webhooks and /metrics through a real waitress server over a real pool on the simulator."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from backend.api.server import ApiServer
from backend.events.bus import EventBus
from backend.events.hub import ClientEvent
from backend.events.lifecycle import MessageLifecycle
from backend.webhooks.service import WebhookService
from tests.api_support import api_stack, PHONE, EventStream, Stack, api_app, connect, schema_errors
from tests.conftest import wait_until
from bench.webhook_receiver import Receiver

KEEPALIVE_S = 0.3
MAX_STREAMS = 3
PAYLOAD_KEYS = {"id", "type", "clientId", "data", "timestamp"}
OTHER = "5511988887777"


@pytest.fixture
def stack(runtime, settings) -> Iterator[Stack]:
    """The app as app.py wires it (webhooks included) on a free port; short keep-alives, few streams."""
    with api_stack(runtime, settings, webhooks=WebhookService.in_folder(settings.data_dir, base_delay_s=0.2, http_timeout_s=5), test_config={"EVENTS_KEEPALIVE_S": KEEPALIVE_S, "EVENTS_MAX_STREAMS": MAX_STREAMS}) as made:
        yield made


def open_stream(stack: Stack, query: str = "", **kwargs) -> EventStream:
    """GET /events with the stack's key; the greeting has arrived when this returns a 200 stream."""
    stream = EventStream(stack.server.url, "/events" + query, key=kwargs.pop("key", stack.api.key), **kwargs)
    if stream.status == 200:
        wait_until(lambda: stream.comments, what="the stream's greeting")
    return stream


def steps_of(stream: EventStream, message_id: str) -> list[str]:
    """The message_status steps seen for one message."""
    return [e["data"]["status"] for e in stream.of_type("message_status") if e["data"]["message"]["id"] == message_id]


# -- the stream --------------------------------------------------------------------------------------------------

def test_a_real_flow_arrives_in_order(stack, sim):
    stream = open_stream(stack)

    created = stack.api.call("POST", "/clients", {"clientId": "vendas"})
    qr = stream.wait_event("qr")
    sim.control.scan(qr["data"]["code"], PHONE)
    stream.wait_event("ready")
    sent = stack.api.call("POST", "/clients/vendas/messages", {"to": OTHER, "text": "Olá"}).json
    stream.wait_for(lambda evs: steps_of(stream, sent["id"])[-1:] == ["read"], what="read")
    sim.control.incoming(PHONE, OTHER, "Obrigado!")
    incoming = stream.wait_event("message")
    sim.control.set_numbers([OTHER])
    nobody = stack.api.call("POST", "/clients/vendas/messages", {"to": "5511977776666", "text": "Alô?"}).json
    stream.wait_for(lambda evs: steps_of(stream, nobody["id"])[-1:] == ["failed"], what="failed")
    stream.close()

    assert created.status == 201
    events = stream.events
    assert all(set(e) == PAYLOAD_KEYS for e in events)
    assert [e["id"] for e in events] == list(range(events[0]["id"], events[0]["id"] + len(events))), "no gaps"
    assert all(e["clientId"] == "vendas" for e in events)
    assert events[0]["type"] == "client_added"
    assert qr["data"]["qrCode"].startswith("data:image/png;base64,") and qr["data"]["code"]
    lifecycle = [e["type"] for e in events if e["type"] in ("client_added", "qr", "authenticated", "ready")]
    assert lifecycle[:2] == ["client_added", "qr"] and lifecycle[-2:] == ["authenticated", "ready"]
    statuses = [e["data"]["status"] for e in stream.of_type("status")]
    assert statuses == ["initializing", "qr_ready", "authenticated", "ready"]
    assert steps_of(stream, sent["id"]) == ["queued", "sent", "delivered", "read"]
    last = [e for e in stream.of_type("message_status") if e["data"]["message"]["id"] == sent["id"]][-1]
    assert last["data"]["message"]["status"] == "read" and last["data"]["message"]["to"] == OTHER
    acks = [e["data"]["ack"] for e in stream.of_type("message_ack")]
    assert acks[-2:] == [2, 3]
    assert incoming["data"]["message"]["body"] == "Obrigado!"
    assert steps_of(stream, nobody["id"]) == ["queued", "failed"]
    failed = stream.of_type("message_status")[-1]["data"]["message"]
    assert failed["errorCode"] == "number_not_on_whatsapp" and failed["status"] == "failed"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", incoming["timestamp"])


def test_resume_with_last_event_id_gets_only_what_was_missed(stack, sim):
    first = open_stream(stack)
    stack.api.call("POST", "/clients", {"clientId": "vendas"})
    first.wait_event("qr")
    seen = first.events[1]["id"]  # as if the connection dropped after the second event
    first.close()
    stack.api.call("POST", "/clients/vendas/disconnect")
    bus = stack.server.app.extensions["zapool.service"].bus
    expected = [e.id for e in bus.after(seen).events]

    by_header = open_stream(stack, headers={"Last-Event-ID": str(seen)})
    by_query = open_stream(stack, f"?lastEventId={seen}")
    for stream in (by_header, by_query):
        stream.wait_for(lambda evs: len(evs) >= len(expected), what="the missed events")
    by_header.close()
    by_query.close()

    assert expected and expected[0] == seen + 1
    for stream in (by_header, by_query):  # anything newer may follow, nothing older
        assert [e["id"] for e in stream.events][:len(expected)] == expected
    missed = [e["type"] for e in by_header.events[:len(expected)]]
    assert "qr" in missed and missed[-1] == "disconnected"


def test_an_id_the_bus_no_longer_holds_gets_a_reset(stack, sim):
    bus = stack.server.app.extensions["zapool.service"].bus
    bus.emit("client_added", "x", {})

    too_old = open_stream(stack, "?lastEventId=5")
    unknown = open_stream(stack, f"?lastEventId={bus.latest_id + 100}")
    bad = stack.api.call("GET", "/events?lastEventId=abc")
    for stream in (too_old, unknown):
        stream.wait_event("reset")
    bus.emit("client_removed", "x", {})
    too_old.wait_event("client_removed")
    too_old.close()
    unknown.close()

    reset = too_old.events[0]
    assert reset["type"] == "reset" and reset["id"] == bus.latest_id - 1
    assert reset["data"] == {"reason": "too_old", "lastEventId": 5, "oldestEventId": bus.oldest_id()}
    assert unknown.events[0]["data"]["reason"] == "unknown_id"
    assert [e["type"] for e in too_old.events] == ["reset", "client_removed"], "live after the reset, no replay"
    assert bad.status == 422 and bad.json["error"]["details"]["field"] == "lastEventId"


def test_filters_by_client_and_type(stack, sim):
    only_b = open_stream(stack, "?clientId=b&types=status")
    two = open_stream(stack, "?clientId=a,b&types=client_added,client_removed")
    bad = stack.api.call("GET", "/events?types=status,bogus")

    stack.api.call("POST", "/clients", {"clientId": "a"})
    stack.api.call("POST", "/clients", {"clientId": "b"})
    only_b.wait_for(lambda evs: any(e["data"]["status"] == "qr_ready" for e in evs), what="b's QR status")
    stack.api.call("DELETE", "/clients/a")
    two.wait_event("client_removed")
    latest = stack.server.app.extensions["zapool.service"].bus.latest_id
    only_b.wait_for(lambda _: (only_b.last_event_id or 0) >= latest, what="the keep-alive's id")
    only_b.close()
    two.close()

    assert {(e["type"], e["clientId"]) for e in only_b.events} == {("status", "b")}
    assert [(e["type"], e["clientId"]) for e in two.events] == [
        ("client_added", "a"), ("client_added", "b"), ("client_removed", "a")]
    assert bad.status == 422 and bad.json["error"]["details"]["field"] == "types"
    assert "status" in bad.json["error"]["details"]["known"]


def test_keep_alive_comments_and_headers(stack, sim):
    stream = open_stream(stack)
    started = time.monotonic()

    stream.wait_for(lambda _: len(stream.comments) >= 3, what="keep-alives")
    took = time.monotonic() - started
    stream.close()

    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.headers["Cache-Control"] == "no-store"
    assert stream.retry == 3000 and stream.comments[0] == "ZapPool events"
    assert stream.comments[1:3] == ["keep-alive", "keep-alive"]
    assert KEEPALIVE_S < took < KEEPALIVE_S * 10


def test_head_answers_at_once_without_taking_a_place(stack, sim):
    replies = [stack.api.call("HEAD", "/events") for _ in range(MAX_STREAMS + 1)]

    assert [r.status for r in replies] == [200] * (MAX_STREAMS + 1)
    assert replies[0].headers["Content-Type"].startswith("text/event-stream")
    assert stack.server.app.extensions["zapool.streams"].open_count == 0


def test_stream_cap_answers_503_and_frees_a_place_on_hang_up(stack, sim):
    streams = [open_stream(stack) for _ in range(MAX_STREAMS)]

    refused = open_stream(stack)
    meanwhile = stack.api.call("GET", "/stats")
    streams[0].close()

    assert refused.status == 503 and refused.json["error"]["code"] == "too_many_streams"
    assert set(refused.json["error"]) == {"code", "message", "details"}
    assert int(refused.headers["Retry-After"]) >= 1
    assert meanwhile.status == 200, "ordinary requests still have threads"
    again = wait_until(lambda: (s := open_stream(stack)).status == 200 and s, timeout=10,
                       what="a place freed by the hang-up")
    for stream in (*streams[1:], again):
        stream.close()


def test_server_stop_ends_open_streams_at_once(stack, sim):
    app = api_app(stack.pool, stack.auth, test_config={"EVENTS_KEEPALIVE_S": 30})
    server = ApiServer(app, stack.auth, port=0).start()
    streams = [EventStream(server.url, key=stack.api.key) for _ in range(2)]
    wait_until(lambda: all(s.comments for s in streams), what="greetings")

    started = time.monotonic()
    server.stop()
    took = time.monotonic() - started

    assert took < 2.0, f"stop waited {took:.1f} s on open streams"
    wait_until(lambda: all(s.ended.is_set() for s in streams), timeout=2, what="streams ended")
    assert app.extensions["zapool.streams"].open_count == 0


def test_revoked_key_ends_its_stream_and_a_session_cookie_can_listen(stack, sim):
    other_id, other_key = stack.auth.create_api_key("revogada")
    revoked = open_stream(stack, key=other_key)
    login = stack.api.call("POST", "/auth/login", {"username": "admin", "password": "senha-forte-123"}, key=None)
    cookie = login.headers["Set-Cookie"].split(";")[0]
    by_cookie = open_stream(stack, key=None, headers={"Cookie": cookie})

    stack.auth.revoke_api_key(other_id)
    revoked.ended.wait(KEEPALIVE_S * 10)
    stack.api.call("POST", "/clients", {"clientId": "vendas"})
    by_cookie.wait_event("client_added")
    by_cookie.close()

    assert revoked.ended.is_set(), "a revoked key stops listening"
    assert by_cookie.status == 200


@pytest.mark.parametrize("path", ["/events", "/webhooks", "/webhooks/x/deliveries", "/metrics"])
def test_new_routes_need_credentials(stack, sim, path):
    reply = stack.api.call("GET", path, key=None)

    assert reply.status == 401 and reply.json["error"]["code"] == "unauthorized"


# -- the bus itself ------------------------------------------------------------------------------------------------

def test_bus_ring_keeps_the_last_events_and_reports_gaps():
    bus = EventBus(capacity=3, first_id=1)
    for n in range(5):
        bus.publish(ClientEvent("c", "status", {"n": n}))

    assert [e.id for e in bus.after(2).events] == [3, 4, 5]
    assert [e.data["n"] for e in bus.after(3).events] == [3, 4]
    assert bus.after(1).gap and bus.after(6).gap and not bus.after(5).gap
    assert bus.after(5).events == [] and bus.oldest_id() == 3 and bus.latest_id == 5
    started = time.monotonic()
    assert bus.wait(5, 0.2).events == [] and time.monotonic() - started >= 0.15
    bus.close()
    assert bus.publish(ClientEvent("c", "status", {})) is None and bus.wait(5, 5).events == []


@dataclass
class FakeRecord:
    """What MessageLifecycle reads of a MessageRecord."""

    id: str
    status: str
    client_id: str | None = "c"
    direction: str = "out"

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status}


def test_message_lifecycle_announces_each_step_once_and_in_order():
    seen: list[tuple[str, str, str]] = []
    lifecycle = MessageLifecycle(lambda e: seen.append((e.data["message"]["id"], e.data["status"], e.client_id)))

    for record in [FakeRecord("m1", "queued", None), FakeRecord("m1", "delivered"), FakeRecord("m1", "sent"),
                   FakeRecord("m1", "queued"), FakeRecord("m1", "read"), FakeRecord("m1", "read"),
                   FakeRecord("m2", "sending"), FakeRecord("m2", "queued"), FakeRecord("m2", "failed"),
                   FakeRecord("m2", "failed"), FakeRecord("m3", "sent"), FakeRecord("in", "received", direction="in")]:
        lifecycle.update(record)

    assert seen == [("m1", "queued", ""), ("m1", "sent", "c"), ("m1", "delivered", "c"), ("m1", "read", "c"),
                    ("m2", "queued", "c"), ("m2", "failed", "c"),
                    ("m3", "queued", "c"), ("m3", "sent", "c")]


# -- webhooks ------------------------------------------------------------------------------------------------------

def test_webhook_routes_and_a_real_ready_delivery(stack, sim):
    receiver = Receiver()
    secret = "s" * 24 + "-segredo"
    receiver.secrets["/hook"] = secret
    try:
        made = stack.api.call("POST", "/webhooks", {"url": receiver.url("/hook"), "events": ["ready", "status"],
                                                    "secret": secret})
        generated = stack.api.call("POST", "/webhooks", {"url": receiver.url("/other")})
        missing = stack.api.call("POST", "/webhooks", {"events": ["ready"]})
        wrong = stack.api.call("POST", "/webhooks", {"url": receiver.url("/x"), "events": ["nope"]})
        listed = stack.api.call("GET", "/webhooks").json
        connect(stack, sim)
        hook_id = made.json["id"]
        wait_until(lambda: any(h.json["event"] == "ready" for h in receiver.ok("/hook")), what="ready received")
        wait_until(lambda: any(d["event"] == "ready" and d["status"] == "delivered" for d in stack.api.call(
            "GET", f"/webhooks/{hook_id}/deliveries?limit=200").json["items"]), what="ready recorded as delivered")
        page = stack.api.call("GET", f"/webhooks/{hook_id}/deliveries?limit=2").json
        rest = stack.api.call("GET", f"/webhooks/{hook_id}/deliveries?limit=200&cursor={page['nextCursor']}").json
        bad_limit = stack.api.call("GET", f"/webhooks/{hook_id}/deliveries?limit=0")
        one = stack.api.call("GET", f"/webhooks/{hook_id}")
        removed = stack.api.call("DELETE", f"/webhooks/{hook_id}")
        after = stack.api.call("GET", f"/webhooks/{hook_id}")
    finally:
        receiver.close()

    assert made.status == 201 and made.json["secret"] == secret and made.json["events"] == ["ready", "status"]
    assert generated.status == 201 and len(generated.json["secret"]) >= 16
    assert missing.status == 422 and missing.json["error"]["details"]["field"] == "url"
    assert wrong.status == 422 and wrong.json["error"]["details"]["field"] == "events"
    assert [w["id"] for w in listed] == [hook_id, generated.json["id"]]
    assert all("secret" not in w and w["secretHint"].startswith("…") for w in listed)
    ready = next(h for h in receiver.ok("/hook") if h.json["event"] == "ready")
    assert ready.valid and ready.json["clientId"] == "vendas" and ready.json["data"]["phoneNumber"] == PHONE
    assert all(h.valid for h in receiver.on("/hook"))
    assert all(not schema_errors(h.json, "WebhookBody") for h in receiver.on("/hook") + receiver.on("/other"))
    assert len(page["items"]) == 2 and page["nextCursor"]
    newest_first = page["items"] + rest["items"]
    assert {d["id"] for d in page["items"]}.isdisjoint(d["id"] for d in rest["items"]) and rest["nextCursor"] is None
    assert any(d["event"] == "ready" and d["status"] == "delivered" for d in newest_first)
    assert all(not schema_errors(d["payload"], "WebhookBody") for d in newest_first)
    assert newest_first[0]["payload"]["event"] in ("ready", "status")
    assert bad_limit.status == 422
    assert one.status == 200 and one.json["url"] == receiver.url("/hook")
    assert removed.status == 204 and after.status == 404


def test_history_synced_at_link_reaches_no_webhook_and_no_log(stack, sim):
    """A phone linked with days-old unread chats (WhatsApp syncs them at link): the CRM's webhook and the
    message log get only what comes after the link."""
    now = int(time.time())
    sim.control.history(PHONE, OTHER, [{"text": "de anteontem", "t": now - 2 * 86400},
                                       {"text": "de hoje cedo", "t": now - 5 * 3600}], unread=2)
    receiver = Receiver()
    try:
        stack.api.call("POST", "/webhooks", {"url": receiver.url("/crm"), "events": ["message"]})
        connect(stack, sim)
        sim.control.incoming(PHONE, OTHER, "depois do link")
        wait_until(lambda: receiver.ok("/crm"), what="the new message's webhook")
        time.sleep(0.5)  # a history message emitted at ready would have been delivered before this one
        hooks = [h.json["data"]["message"]["body"] for h in receiver.ok("/crm")]
    finally:
        receiver.close()
    def logged() -> list[str]:
        return [m["body"] for m in stack.api.call("GET", "/messages?clientId=vendas&direction=in").json["items"]]

    wait_until(lambda: "depois do link" in logged(), what="the new message logged")
    assert hooks == ["depois do link"]
    assert logged() == ["depois do link"]


# -- metrics -------------------------------------------------------------------------------------------------------

SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? -?[0-9.e+-]+$')
COMMENT = re.compile(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$")


def test_metrics_in_prometheus_text_format(stack, sim):
    connect(stack, sim)
    stack.api.call("POST", "/webhooks", {"url": "http://127.0.0.1:9/nada", "events": ["message"]})
    sent = stack.api.call("POST", "/messages?wait=true", {"to": OTHER, "text": "Olá"})
    stack.api.call("POST", "/clients", {"clientId": "suporte"})

    reply = stack.api.call("GET", "/metrics")
    text = reply.body.decode()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))

    assert sent.status == 200
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert text.endswith("\n")
    bad = [line for line in text.splitlines() if not (COMMENT.match(line) or SAMPLE.match(line))]
    assert bad == []
    assert samples['zapool_client_status{client_id="vendas",status="ready"}'] == "1"
    assert samples['zapool_client_status{client_id="vendas",status="qr_ready"}'] == "0"
    assert samples['zapool_client_status{client_id="suporte",status="qr_ready"}'] == "1"
    assert sum(int(v) for k, v in samples.items() if k.startswith('zapool_client_status{client_id="vendas"')) == 1
    assert samples["zapool_clients_ready"] == "1" and samples["zapool_clients"] == "2"
    assert samples['zapool_messages_sent_total{client_id="vendas"}'] == "1"
    assert samples['zapool_messages_pending{client_id="vendas"}'] == "0"
    assert samples['zapool_messages_sent_total{client_id="suporte"}'] == "0"
    assert samples['zapool_pool_messages{kind="sent"}'] == "1"
    assert any(k.startswith("zapool_webhook_deliveries{") for k in samples)
    assert float(samples["zapool_uptime_seconds"]) > 0
    assert "# TYPE zapool_messages_sent_total counter" in text
