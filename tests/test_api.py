"""The REST API through a real waitress server on a free port, over a real pool on the simulator."""

from __future__ import annotations

import http.client
import io
import json
import logging
import re
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image

from backend.api.server import ApiServer, safe_host
from backend.auth.service import AuthService
from backend.store.preferences import PreferencesStore
from tests.api_support import FAST_SCRYPT, PHONE, Api, Stack, api_app, connect
from tests.conftest import running_pool, wait_until

# -- the envelope, pinned -------------------------------------------------------------------------------------

def test_every_error_has_the_same_envelope(stack, sim):
    missing = stack.api.call("GET", "/clients/nao-existe")
    malformed = stack.api.call("POST", "/clients", raw=b"{not json")
    wrong_type = stack.api.call("POST", "/clients", {"clientId": 123})
    bad_id = stack.api.call("POST", "/clients", {"clientId": "../../etc"})
    not_allowed = stack.api.call("PUT", "/stats", {})

    assert missing.status == 404 and missing.json == {"error": {
        "code": "not_found", "message": "No client 'nao-existe' in the pool", "details": {"clientId": "nao-existe"}}}
    assert malformed.status == 400 and malformed.json["error"]["code"] == "malformed_json"
    assert wrong_type.status == 422 and wrong_type.json["error"]["details"] == {"field": "clientId"}
    assert bad_id.status == 422 and bad_id.json["error"]["code"] == "invalid_client_id"
    assert not_allowed.status == 405 and set(not_allowed.json["error"]) == {"code", "message", "details"}
    for reply in (missing, malformed, wrong_type, bad_id, not_allowed):
        assert reply.headers["Content-Type"] == "application/json"
        assert b"Traceback" not in reply.body


def test_oversized_body_is_refused_with_the_envelope(stack, sim):
    # Refused from the declared Content-Length before any of the body is read, so the answer comes back to a
    # client that waits for it (tests/test_reliability_input.py: and one that sends the body anyway is cut off).
    conn = http.client.HTTPConnection(urlsplit(stack.server.url).hostname, stack.server.port, timeout=10)
    conn.putrequest("POST", "/messages")
    for name, value in (("X-Api-Key", stack.api.key), ("Content-Type", "application/json"),
                        ("Content-Length", str(151 * 1024 * 1024))):
        conn.putheader(name, value)
    conn.endheaders()
    reply = conn.getresponse()

    assert reply.status == 413 and json.loads(reply.read())["error"]["code"] == "request_entity_too_large"
    conn.close()


# -- credentials on every route ---------------------------------------------------------------------------------

def _routes(stack: Stack) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, with sample values for its variables."""
    app = stack.server.app
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "meta.health", "auth.login", "ui.index", "ui.asset", "ui.emoji_font",  # no data
                             "ui.chart_library",  # issue 18: uPlot, no data
                             "ui.versioned_asset",  # the frontend's files, versioned: tests/test_frontend_version.py
                             "meta.show_instance",  # its own credential: tests/test_instance_app.py
                             "media.media_link",  # its signed token: tests/test_bridge.py, test_media_links.py
                             "contacts.picture_link"):  # its signed token: tests/test_pictures.py
            continue
        # A sample each converter accepts: a group id is digits@g.us, anything else takes "x1".
        path = re.sub(r"<group:[^<>]+>", "120363012345678901@g.us", rule.rule)
        path = re.sub(r"<int:[^<>]+>", "1", path)  # a customer's id (/contacts/<int>)
        path = re.sub(r"<template:[^<>]+>", "tpl_0123456789abcdef", path)  # issue 17 §1: a template id
        path = re.sub(r"<schedule:[^<>]+>", "sch_0123456789abcdef", path)  # issue 17 §3: a schedule id
        path = re.sub(r"<campaign:[^<>]+>", "cmp_0123456789abcdef", path)  # issue 17 §4: a campaign id
        path = re.sub(r"<(?:[^:<>]+:)?[^<>]+>", "x1", path)
        routes += [(m, path) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_every_route_but_health_login_and_the_frontend_files_needs_credentials(stack, sim):
    routes = _routes(stack)
    stack.auth.revoke_api_key(stack.key_id)
    revoked = stack.api.key

    assert len(routes) >= 25
    for method, path in routes:
        for key in (None, "zp_wrong", revoked):
            body = {} if method != "GET" and path != "/contacts/import" else None  # the import's body is a CSV
            reply = stack.api.call(method, path, body, key=key)
            assert reply.status == 401, (method, path, key, reply.body)
            assert reply.json["error"]["code"] == "unauthorized"
    assert stack.api.call("GET", "/health", key=None).status == 200


def test_bearer_token_works_like_the_key_header(stack, sim):
    reply = stack.api.call("GET", "/stats", key=None, headers={"Authorization": f"Bearer {stack.api.key}"})

    assert reply.status == 200


def test_desktop_session_cookie_must_change_password_and_checks_origin(runtime, settings, sim):
    pool = running_pool(settings, runtime)
    auth = AuthService.in_folder(settings.data_dir, scrypt=FAST_SCRYPT)  # first run: admin/admin
    server = ApiServer(api_app(pool, auth), auth, port=0).start()
    api = Api(server.url, None)
    try:
        login = api.call("POST", "/auth/login", {"username": "admin", "password": "admin",
                                                 "ownerToken": auth.owner_token})
        cookie = login.headers["Set-Cookie"]
        session = {"Cookie": cookie.split(";")[0]}
        origin = {**session, "Origin": server.url}
        blocked = api.call("GET", "/stats", headers=session)
        changed = api.call("POST", "/auth/password", {"oldPassword": "admin", "newPassword": "uma-senha-boa"},
                           headers=origin)
        after = api.call("GET", "/stats", headers=session)
        cross_site = api.call("POST", "/clients", {"clientId": "x"},
                              headers={**session, "Origin": "http://evil.example"})
        wrong = [api.call("POST", "/auth/login", {"username": "admin", "password": f"e{i}"}) for i in range(6)]
    finally:
        server.stop()
        pool.shutdown()

    assert login.status == 200 and login.json == {"username": "admin", "mustChangePassword": True}
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert blocked.status == 403 and blocked.json["error"]["code"] == "password_change_required"
    assert changed.status == 200 and after.status == 200
    assert cross_site.status == 403 and cross_site.json["error"]["code"] == "origin_refused"
    assert [w.status for w in wrong[:5]] == [401] * 5
    assert wrong[5].status == 429 and int(wrong[5].headers["Retry-After"]) >= 1


def test_refuses_to_listen_beyond_loopback_with_default_credentials(settings, caplog):
    auth = AuthService.in_folder(settings.data_dir, scrypt=FAST_SCRYPT)

    with caplog.at_level(logging.ERROR):
        host = safe_host("0.0.0.0", auth)

    assert host == "127.0.0.1"
    assert "admin password is still the default" in caplog.text


# -- the seed's endpoints and the numbers -----------------------------------------------------------------------

def test_seed_endpoints_have_the_seeds_shapes(stack, sim):
    connect(stack, sim)

    ready = stack.api.call("GET", "/clients").json
    everyone = stack.api.call("GET", "/clients/all").json
    stats = stack.api.call("GET", "/stats").json

    assert ready == ["vendas"]
    assert {"clientId", "status", "phoneNumber", "qrCode", "metadata", "isReady"} <= set(everyone[0])
    assert {"createdAt", "lastQRAt", "connectedAt", "messageCount"} <= set(everyone[0]["metadata"])
    assert set(stats) == {"totalCreated", "totalConnected", "totalDisconnected", "totalMessages",
                          "currentClients", "maxClients", "readyClients", "clientsByStatus"}
    assert stats["readyClients"] == 1 and stats["clientsByStatus"] == {"ready": 1}


def test_qr_as_png_svg_and_json_then_409_once_linked(stack, sim):
    stack.api.call("POST", "/clients", {"clientId": "vendas", "name": "Vendas"})

    png = stack.api.call("GET", "/clients/vendas/qr")
    svg = stack.api.call("GET", "/clients/vendas/qr?format=svg")
    as_json = stack.api.call("GET", "/clients/vendas/qr", headers={"Accept": "application/json"}).json
    live = sim.control.state()["sessions"][0]["qr"]

    assert png.headers["Content-Type"] == "image/png"
    (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.body)),
                                         formats=zxingcpp.BarcodeFormat.QRCode)
    assert decoded.text == live == as_json["code"]
    assert svg.headers["Content-Type"].startswith("image/svg+xml") and b"<svg" in svg.body
    assert as_json["dataUrl"].startswith("data:image/png;base64,") and as_json["expiresAt"] > as_json["shownAt"]
    sim.control.scan(live, PHONE)
    wait_until(lambda: stack.api.call("GET", "/clients/vendas").json["status"] == "ready", what="ready")
    linked = stack.api.call("GET", "/clients/vendas/qr")
    assert linked.status == 409 and linked.json["error"]["code"] == "no_qr_code"


def test_pairing_code(stack, sim):
    stack.api.call("POST", "/clients", {"clientId": "vendas"})

    reply = stack.api.call("POST", "/clients/vendas/pairing-code", {"phoneNumber": "+55 11 99999-0002"})
    sim.control.pair(reply.json["code"])

    assert reply.status == 200 and len(reply.json["code"]) == 8
    wait_until(lambda: stack.api.call("GET", "/clients/vendas").json["phoneNumber"] == "5511999990002",
               what="linked by code")


def test_disconnect_reconnect_logout_remove(stack, sim, settings):
    connect(stack, sim)

    down = stack.api.call("POST", "/clients/vendas/disconnect").json
    up = stack.api.call("POST", "/clients/vendas/reconnect").json
    out = stack.api.call("POST", "/clients/vendas/logout").json
    gone = stack.api.call("DELETE", "/clients/vendas")

    assert (down["status"], down["reason"]) == ("disconnected", "manual")
    assert up["status"] == "ready"
    assert (out["status"], out["reason"]) == ("disconnected", "logged_out")
    assert gone.status == 204
    assert stack.api.call("GET", "/clients/vendas").status == 404
    assert not (settings.sessions_dir / "vendas").exists()


def test_restore_and_number_lookup(stack, sim):
    sim.control.set_numbers(["554188887777"])
    connect(stack, sim)

    restored = stack.api.call("POST", "/sessions/restore").json
    found = stack.api.call("GET", "/clients/vendas/numbers/5541988887777").json
    unknown = stack.api.call("GET", "/clients/vendas/numbers/5511912345678").json
    bad = stack.api.call("GET", "/clients/vendas/numbers/abc")

    assert restored == {"restored": 0, "total": 0}, "already connected: nothing to restore"
    assert found == {"number": "5541988887777", "exists": True, "id": "554188887777@c.us"}
    assert unknown["exists"] is False
    assert bad.status == 422 and bad.json["error"]["code"] == "invalid_number"


# -- messages --------------------------------------------------------------------------------------------------

def test_send_wait_queue_and_read_back(stack, sim):
    connect(stack, sim)

    waited = stack.api.call("POST", "/messages?wait=true", {"to": "5511988887777", "text": "Olá"})
    queued = stack.api.call("POST", "/clients/vendas/messages", {"to": "5511988887777", "text": "Tudo bem?"})
    media = stack.api.call("POST", "/messages?wait=true", {"to": "5511988887777", "clientId": "vendas", "media": {
        "data": "JVBERi0xLjQK", "mimetype": "application/pdf", "filename": "pedido.pdf", "caption": "Seu pedido"}})

    assert waited.status == 200 and waited.json["status"] in ("sent", "delivered", "read")
    assert queued.status == 202 and queued.json["status"] in ("queued", "sending", "sent")
    assert media.status == 200 and media.json["media"]["filename"] == "pedido.pdf"
    wait_until(lambda: stack.api.call("GET", f"/messages/{queued.json['id']}").json["status"] == "read",
               what="read")
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["Olá", "Tudo bem?", "Seu pedido"]
    listed = stack.api.call("GET", "/messages?clientId=vendas&direction=out&limit=2").json
    assert len(listed["items"]) == 2 and listed["nextCursor"]
    rest = stack.api.call("GET", f"/messages?clientId=vendas&direction=out&cursor={listed['nextCursor']}").json
    assert len(rest["items"]) == 1
    chats = stack.api.call("GET", "/clients/vendas/chats").json["items"]
    assert len(chats) == 1
    thread = stack.api.call("GET", f"/clients/vendas/chats/{chats[0]['chatId']}/messages").json["items"]
    assert [m["body"] for m in thread][::-1][:2] == ["Olá", "Tudo bem?"]


@pytest.mark.parametrize("body, code, field_name", [
    ({"to": "5511988887777"}, "invalid_input", "text"),
    ({"to": "abc", "text": "oi"}, "invalid_number", None),
    ({"to": "5511988887777", "text": ""}, "invalid_text", None),
    ({"to": 5511988887777, "text": "oi"}, "invalid_input", "to"),
    ({"to": "5511988887777", "media": {"data": "@@@", "mimetype": "image/png"}}, "invalid_media", None),
    ({"to": "5511988887777", "media": {"mimetype": "image/png"}}, "invalid_input", "data"),
])
def test_bad_messages_are_refused_with_the_reason(stack, sim, body, code, field_name):
    connect(stack, sim)

    reply = stack.api.call("POST", "/messages", body)

    assert reply.status == 422 and reply.json["error"]["code"] == code
    if field_name:
        assert reply.json["error"]["details"]["field"] == field_name
    assert stack.api.call("GET", "/messages").json["items"] == []


def test_no_ready_number_queues_or_refuses_to_wait_and_unknown_client_is_404(stack, sim):
    queued = stack.api.call("POST", "/messages", {"to": "5511988887777", "text": "quando houver número"})
    waited = stack.api.call("POST", "/messages?wait=true", {"to": "5511988887777", "text": "agora"})
    unknown = stack.api.call("POST", "/clients/fantasma/messages", {"to": "5511988887777", "text": "oi"})

    assert queued.status == 202 and queued.json["status"] == "queued", "kept until a number is ready"
    assert waited.status == 409 and waited.json["error"]["code"] == "client_not_ready"
    assert unknown.status == 404
    connect(stack, sim)
    wait_until(lambda: stack.api.call("GET", f"/messages/{queued.json['id']}").json["status"] != "queued",
               what="sent once a number connected")


def test_numbers_written_the_brazilian_way_are_understood(stack, sim):
    connect(stack, sim)

    sent = stack.api.call("POST", "/messages?wait=true", {"to": "(11) 98888-7777", "text": "oi"})
    looked_up = stack.api.call("GET", "/clients/vendas/numbers/11988887777").json
    foreign = stack.api.call("POST", "/messages", {"to": "+99 123", "text": "oi"})

    assert sent.status == 200 and sent.json["to"] == "5511988887777"
    assert looked_up["number"] == "5511988887777" and looked_up["exists"] is True
    assert foreign.status == 422 and foreign.json["error"]["code"] == "invalid_number"
    assert [m["to"] for m in sim.control.sent(PHONE)] == ["5511988887777"]


def test_opening_a_chat_clears_its_unread_count(stack, sim):
    connect(stack, sim)
    sim.control.incoming(PHONE, "5521977776666", "oi, tudo bem?")
    sim.control.incoming(PHONE, "5521977776666", "alguém aí?")
    wait_until(lambda: [c["unreadCount"] for c in stack.api.call("GET", "/clients/vendas/chats").json["items"]] == [2],
               what="both messages logged")

    before = stack.api.call("GET", "/clients/vendas/chats").json["items"][0]
    unread_on_phone = sim.sim.mail.chats[PHONE]["5521977776666"].unread
    read = stack.api.call("POST", f"/clients/vendas/chats/{before['chatId']}/read")
    after = stack.api.call("GET", "/clients/vendas/chats").json["items"][0]
    unknown = stack.api.call("POST", f"/clients/fantasma/chats/{before['chatId']}/read")

    assert read.status == 200 and read.json["marked"] == 2
    assert after["unreadCount"] == 0 and after["messageCount"] == 2
    assert (unread_on_phone, sim.sim.mail.chats[PHONE]["5521977776666"].unread) == (2, 0), "read on WhatsApp too"
    assert unknown.status == 404


def test_opening_a_new_conversation_marks_nothing_and_warns_nothing(stack, sim, caplog):
    connect(stack, sim)
    caplog.clear()  # what connecting logged (the root-sandbox warning here) is not this test's
    with caplog.at_level(logging.DEBUG, logger="backend"):
        read = stack.api.call("POST", "/clients/vendas/chats/5531966665555@c.us/read")  # no chat on WhatsApp yet
    assert read.status == 200 and read.json["marked"] == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("ainda não existe no WhatsApp" in r.getMessage() for r in caplog.records)


def test_preferences_are_checked_kept_and_survive_a_restart(stack, settings):
    first = stack.api.call("GET", "/preferences").json
    changed = stack.api.call("PUT", "/preferences", {"language": "en", "cardOrder": ["suporte", "vendas", "suporte"]})
    refused = [stack.api.call("PUT", "/preferences", body) for body in (
        {"language": "fr"}, {"notifications": "sim"}, {"cardOrder": "vendas"}, {"theme": "dark"},
        {"language": "pt-BR", "cardOrder": [1]})]
    kept = stack.api.call("GET", "/preferences").json

    limits = {"maxClients": None, "healthCheckInterval": None, "reconnectDelay": None, "autoReconnect": None,
              "onDemandIdle": None}
    assert first == {"language": "pt-BR", "notifications": True, "cardOrder": [], "browserPath": None, **limits}
    assert changed.json == {"language": "en", "notifications": True, "cardOrder": ["suporte", "vendas"],
                            "browserPath": None, **limits}
    assert [r.status for r in refused] == [422] * 5
    assert [r.json["error"]["details"]["field"] for r in refused] == ["language", "notifications", "cardOrder",
                                                                       "theme", "cardOrder"]
    assert kept == changed.json, "a refused change changes nothing, not even its valid part"
    assert PreferencesStore(stack.pool.settings.data_dir / "preferences.json").get() == kept, \
        "read back from dados/preferences.json"
    # browserPath is the desktop window's and the command line's only: tests/test_security_api.py


@pytest.mark.parametrize("content", [b"", b"{oops", b"[]", b'{"language": "klingon"}'])
def test_a_bad_preferences_file_is_set_aside_and_defaults_used(stack, settings, content):
    path = settings.data_dir / "preferences.json"
    path.write_bytes(content)

    prefs = PreferencesStore(stack.pool.settings.data_dir / "preferences.json").get()

    assert prefs["language"] == "pt-BR" and not path.exists()
    assert [p.read_bytes() for p in settings.data_dir.glob("preferences.json.bad-*")] == [content]


def test_the_frontend_is_served_with_a_policy_that_keeps_it_to_this_server(stack):
    page = stack.api.call("GET", "/", key=None)
    escapes = [stack.api.call("GET", path, key=None).status
               for path in ("/ui/../app.py", "/ui/%2e%2e/app.py", "/ui/..%2fapp.py", "/ui/nao-existe.html")]

    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"ZapPool" in page.body
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert escapes == [404, 404, 404, 404]


def test_all_is_not_a_client_id_and_a_wrong_method_says_which_are_allowed(stack):
    named_all = stack.api.call("POST", "/clients", {"clientId": "all"})
    wrong_method = stack.api.call("DELETE", "/clients/all")

    assert named_all.status == 422 and named_all.json["error"]["code"] == "invalid_client_id"
    assert wrong_method.status == 405 and wrong_method.json["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong_method.headers["Allow"] and "DELETE" not in wrong_method.headers["Allow"]
    assert stack.api.call("GET", "/clients/all").json == []


def test_the_logs_folder_is_named_and_opened_where_a_file_manager_exists(stack, settings, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # a server with no desktop: nothing to open the folder with

    reply = stack.api.call("POST", "/logs/open")

    assert reply.status == 200 and reply.json == {"path": str(settings.data_dir / "logs"), "opened": False}
    assert (settings.data_dir / "logs").is_dir()


def test_the_api_answers_in_a_process_holding_over_a_thousand_descriptors(stack: Stack):
    """waitress's default select() loop dies at the first socket numbered past 1023 and the API stops answering
    (seen in CI: a test run's leaked store files passed 1,000, and every later request hung). A ZapPool with many
    numbers and stores must keep answering: the loop uses poll()."""
    held = [open("/dev/null", "rb") for _ in range(1100)]  # noqa: SIM115 - held open on purpose
    try:
        connection = http.client.HTTPConnection(urlsplit(stack.server.url).netloc, timeout=10)
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        for handle in held:
            handle.close()
