"""The desktop bridge, called directly as pywebview calls it, over a real pool on the simulator.

Where REST has the same operation, the bridge's answer is compared with the real REST server's over the same
service. The stand-in for pywebview and the fixtures are in tests/desktop_support.py.
"""

from __future__ import annotations

import base64
import inspect
import logging
import re

from backend.config import DESKTOP_USER_AGENT
from tests.api_support import PHONE
from tests.conftest import wait_until
from tests.desktop_support import NEW_PASSWORD, OTHER, ROOT, error, link, ok, png_base64, pusher, sign_in

# -- the contract ------------------------------------------------------------------------------------------------

def test_the_bridge_has_exactly_the_operations_of_the_readme_and_nothing_else_to_walk(desk):
    table = (ROOT / "frontend" / "README.md").read_text(encoding="utf-8")
    readme = set(re.findall(r"^\| `[^`]+` \| `([a-z_]+)`", table, flags=re.MULTILINE))
    public = {name for name in dir(desk.bridge) if not name.startswith("_")}

    # 33 + 7 (Groups dialog) + message_media_link + 3 (contacts) + 10 (the Contacts window, issue 17 §2)
    # + 7 (templates, issue 17 §1) + contact_picture_link (issue 16) + 5 (schedules, issue 17 §3) + 6 (reports, issue 18)
    # + 11 (the Campaigns window, issue 17 §4) + sealing_state, request_sealing (issue 19)
    assert len(readme) == 86 and public == readme
    # pywebview walks public attributes too: every public name must be a method, nothing else.
    assert all(inspect.ismethod(getattr(desk.bridge, name)) for name in public)


# -- logging in -----------------------------------------------------------------------------------------------

def test_first_run_login_must_change_the_password_before_anything_else(desk):
    bridge = desk.bridge
    before = [bridge.list_all_clients_info(), bridge.me(), bridge.logout(), bridge.change_password("admin", "x" * 12)]
    wrong = bridge.login("admin", "errada")
    first = ok(bridge.login("admin", "admin"))
    blocked = [bridge.get_pool_stats(), bridge.open_pool_manager(), bridge.pick_file(), bridge.create_api_key("k")]
    me_first = ok(bridge.me())
    weak = bridge.change_password("admin", "admin")
    wrong_old = bridge.change_password("nao-e-essa", NEW_PASSWORD)
    changed = ok(bridge.change_password("admin", NEW_PASSWORD))
    me_after, listed = ok(bridge.me()), ok(bridge.list_all_clients_info())
    ok(bridge.logout())
    after_logout = bridge.get_pool_stats()
    again = ok(bridge.login("admin", NEW_PASSWORD))

    assert [error(e)["code"] for e in before] == ["unauthorized"] * 4
    assert error(wrong)["code"] == "wrong_credentials"
    assert first == {"username": "admin", "mustChangePassword": True}
    assert [error(e)["code"] for e in blocked] == ["password_change_required"] * 4
    assert me_first == {"kind": "session", "id": "admin", "mustChangePassword": True}
    assert error(weak)["code"] == "invalid_input" and error(weak)["details"] == {  # the facts the windows translate
        "field": "newPassword", "rule": "too_short", "minLength": 8, "maxLength": 1024}
    assert error(wrong_old)["code"] == "wrong_password"
    assert changed == {"ok": True} and listed == []
    assert me_after == {"kind": "session", "id": "admin", "mustChangePassword": False}
    assert error(after_logout)["code"] == "unauthorized"
    assert again == {"username": "admin", "mustChangePassword": False}
    assert desk.gui.windows == [], "nothing opened while refused"


def test_arguments_are_checked_like_rest_body_fields(desk):
    sign_in(desk)
    missing = desk.bridge.login("admin")
    not_text = desk.bridge.login(123, "x")
    too_many = desk.bridge.get_pool_stats("extra")
    options = desk.bridge.create_client({"clientId": "vendas"})

    assert error(missing) == {"code": "invalid_input", "message": "login takes (username, password)",
                              "details": {"arguments": ["username", "password"]}}
    assert error(not_text)["details"] == {"field": "username"}
    assert error(too_many)["code"] == "invalid_input"
    assert error(options)["details"] == {"field": "clientId"}


# -- the operations on a real number ------------------------------------------------------------------------------

def test_a_number_linked_used_and_removed_through_the_bridge(desk, sim):
    sign_in(desk)
    notes: list[tuple[str, str]] = []
    events = pusher(desk, notes).start()
    main = desk.windows.open_main()
    try:
        info = link(desk, sim)
        stats = ok(desk.bridge.get_pool_stats())
        listed = ok(desk.bridge.list_all_clients_info())
        no_qr = desk.bridge.get_qr("vendas")
        pairing = desk.bridge.request_pairing_code("vendas", "11988887777")
        text = ok(desk.bridge.send_text("vendas", "11988887777", "Olá do desktop"))
        media = ok(desk.bridge.send_media("vendas", "5511988887777",
                                          {"data": png_base64(), "mimetype": "image/png", "filename": "verde.png",
                                           "caption": "uma foto"}))
        wait_until(lambda: all(ok(desk.bridge.list_chats("vendas"))["items"]) and
                   desk.service.get_message(media["id"])["status"] in ("sent", "delivered", "read"), what="sent")
        shown = ok(desk.bridge.message_media_link("vendas", media["id"]))  # the chat window's preview of what it sent
        sim.control.incoming(PHONE, OTHER, "Chegou!", notify_name="Fulana")
        chat = wait_until(lambda: next((c for c in ok(desk.bridge.list_chats("vendas"))["items"]
                                        if c["unreadCount"]), None), what="incoming chat")
        thread = ok(desk.bridge.chat_messages("vendas", chat["chatId"]))
        read = ok(desk.bridge.mark_chat_read("vendas", chat["chatId"]))
        wait_until(lambda: any(e["type"] == "message" for e in main.pushed()), what="message pushed")
    finally:
        events.stop()

    assert info["phoneNumber"] == PHONE
    assert (shown["mimetype"], shown["filename"]) == ("image/png", "verde.png")
    # The window loads the link as it is, without credentials; the bytes never crossed the bridge.
    served, forged = (desk.rest().call("GET", url, key=None) for url in (shown["url"], shown["url"][:-4] + "AAAA"))
    assert (served.status, served.headers["Content-Type"]) == (200, "image/png")
    assert served.body == base64.b64decode(png_base64()) and shown["size"] == len(served.body)
    assert (forged.status, forged.json["error"]["code"]) == (404, "media_link_invalid")
    assert stats["readyClients"] == 1 and stats["currentClients"] == 1
    assert [(c["clientId"], c["status"]) for c in listed] == [("vendas", "ready")]
    assert error(no_qr)["code"] == "no_qr_code" and error(pairing)["code"] == "conflict"
    assert text["status"] in ("queued", "sending", "sent") and text["to"] == "5511988887777"
    assert [(m["type"], m["text"], m["filename"]) for m in sim.control.sent(PHONE)] == [
        ("chat", "Olá do desktop", None), ("image", "uma foto", "verde.png")]
    assert [m["body"] for m in thread["items"]] == ["Chegou!"]
    assert read == {"clientId": "vendas", "chatId": chat["chatId"], "marked": 1}
    assert sim.sim.mail.chats[PHONE][OTHER].unread == 0, "read on the phone too"
    assert ("Nova mensagem — vendas", "Fulana: Chegou!") in notes
    types = [e["type"] for e in main.pushed()]
    assert {"client_added", "qr", "ready", "message", "message_status"} <= set(types)

    disconnected = ok(desk.bridge.disconnect_client("vendas"))
    reconnected = ok(desk.bridge.reconnect_client("vendas"))
    wait_until(lambda: ok(desk.bridge.get_client("vendas"))["status"] == "ready", what="ready again, no scan")
    ok(desk.bridge.disconnect_client("vendas"))
    restored = ok(desk.bridge.restore_persisted_sessions())
    logged_out = ok(desk.bridge.logout_client("vendas"))
    removed = desk.bridge.remove_client("vendas")

    assert disconnected["status"] == "disconnected" and reconnected["status"] in ("authenticated", "ready")
    assert restored == {"restored": 0, "total": 0}, "disconnected on purpose: not restored"
    assert logged_out["status"] == "disconnected" and logged_out["reason"] == "logged_out"
    assert removed == {"result": None} and ok(desk.bridge.list_all_clients_info()) == []


# -- errors: REST's envelopes -------------------------------------------------------------------------------------

def test_refusals_are_the_errors_rest_gives_for_the_same_request(desk, sim):
    sign_in(desk)
    key = ok(desk.bridge.create_api_key("comparar"))["key"]
    rest = desk.rest(key)
    png = {"data": png_base64(), "mimetype": "image/png"}
    cases = [
        (desk.bridge.get_client("fantasma"), rest.call("GET", "/clients/fantasma")),
        (desk.bridge.disconnect_client("fantasma"), rest.call("POST", "/clients/fantasma/disconnect")),
        (desk.bridge.reconnect_client("fantasma"), rest.call("POST", "/clients/fantasma/reconnect")),
        (desk.bridge.logout_client("fantasma"), rest.call("POST", "/clients/fantasma/logout")),
        (desk.bridge.remove_client("fantasma"), rest.call("DELETE", "/clients/fantasma")),
        (desk.bridge.get_qr("fantasma"), rest.call("GET", "/clients/fantasma/qr", headers={"Accept": "application/json"})),
        (desk.bridge.create_client("../x"), rest.call("POST", "/clients", {"clientId": "../x"})),
        (desk.bridge.create_client(5), rest.call("POST", "/clients", {"clientId": 5})),
        (desk.bridge.create_client(None, ["x"]), rest.call("POST", "/clients", {"name": ["x"]})),
        (desk.bridge.request_pairing_code("fantasma", "11988887777"),
         rest.call("POST", "/clients/fantasma/pairing-code", {"phoneNumber": "11988887777"})),
        (desk.bridge.request_pairing_code("fantasma", "abc"),
         rest.call("POST", "/clients/fantasma/pairing-code", {"phoneNumber": "abc"})),
        (desk.bridge.send_text("fantasma", "11988887777", "oi"),
         rest.call("POST", "/clients/fantasma/messages", {"to": "11988887777", "text": "oi"})),
        (desk.bridge.send_text("fantasma", "11988887777", 5),
         rest.call("POST", "/clients/fantasma/messages", {"to": "11988887777", "text": 5})),
        (desk.bridge.send_text("fantasma", None, "oi"), rest.call("POST", "/clients/fantasma/messages", {"text": "oi"})),
        (desk.bridge.send_media("fantasma", "11988887777", {**png, "data": 5}),
         rest.call("POST", "/clients/fantasma/messages", {"to": "11988887777", "media": {**png, "data": 5}})),
        (desk.bridge.send_media("fantasma", "11988887777", png),
         rest.call("POST", "/clients/fantasma/messages", {"to": "11988887777", "media": png})),
        (desk.bridge.list_chats("fantasma"), rest.call("GET", "/clients/fantasma/chats")),
        (desk.bridge.list_chats("fantasma", None, 0), rest.call("GET", "/clients/fantasma/chats?limit=0")),
        (desk.bridge.chat_messages("fantasma", f"{OTHER}@c.us"),
         rest.call("GET", f"/clients/fantasma/chats/{OTHER}@c.us/messages")),
        (desk.bridge.message_media_link("fantasma", "x"), rest.call("GET", "/clients/fantasma/messages/x/media")),
        (desk.bridge.mark_chat_read("fantasma", f"{OTHER}@c.us"),
         rest.call("POST", f"/clients/fantasma/chats/{OTHER}@c.us/read")),
        (desk.bridge.set_preferences({"language": "xx"}), rest.call("PUT", "/preferences", {"language": "xx"})),
        (desk.bridge.set_preferences("en"), rest.call("PUT", "/preferences", raw=b'"en"')),
        (desk.bridge.create_api_key(""), rest.call("POST", "/auth/keys", {"name": ""})),
        (desk.bridge.revoke_api_key("nenhuma"), rest.call("DELETE", "/auth/keys/nenhuma")),
        (desk.bridge.get_client_limits("fantasma"), rest.call("GET", "/clients/fantasma/limits")),
        (desk.bridge.set_client_limits("fantasma", {"hourlyCap": 5}),
         rest.call("PUT", "/clients/fantasma/limits", {"hourlyCap": 5})),
        (desk.bridge.change_password("errada", "Outra-senha-456"),
         rest.call("POST", "/auth/password", {"oldPassword": "errada", "newPassword": "Outra-senha-456"})),
    ]

    for number, (bridged, reply) in enumerate(cases):
        assert reply.status >= 400, (number, reply.body)
        rest_error, bridge_error = reply.json["error"], error(bridged)
        assert (bridge_error["code"], bridge_error["details"]) == (rest_error["code"], rest_error["details"]), \
            (number, bridged, reply.json)
    assert error(desk.bridge.open_qr_window("fantasma"))["code"] == "not_found"
    assert error(desk.bridge.open_chat_window("fantasma"))["code"] == "not_found"
    assert desk.gui.windows == []


def test_api_keys_and_preferences_through_the_bridge(desk):
    sign_in(desk)
    created = ok(desk.bridge.create_api_key("integração"))
    listed = ok(desk.bridge.list_api_keys())
    revoked = ok(desk.bridge.revoke_api_key(created["id"]))
    prefs = ok(desk.bridge.set_preferences({"language": "en", "cardOrder": ["b", "a", "b"]}))

    assert created["key"].startswith("zp_") and desk.auth.verify_api_key(created["key"]) is None
    assert [(k["id"], k["name"], k["active"]) for k in listed] == [(created["id"], "integração", True)]
    assert revoked["active"] is False
    assert prefs == {"language": "en", "notifications": True, "cardOrder": ["b", "a"], "browserPath": None,
                     "maxClients": None, "healthCheckInterval": None, "reconnectDelay": None, "autoReconnect": None,
                     "onDemandIdle": None}
    assert ok(desk.bridge.get_preferences()) == prefs


def test_an_unexpected_failure_is_internal_and_logged_never_a_trace(desk, monkeypatch, caplog):
    sign_in(desk)

    def broken() -> None:
        raise RuntimeError("segredo interno /caminho/arquivo.py")

    monkeypatch.setattr(desk.service, "get_pool_stats", broken)
    with caplog.at_level(logging.ERROR, logger="backend.desktop.bridge"):
        answer = desk.bridge.get_pool_stats()

    assert answer == {"error": {"code": "internal", "message": "Internal error: see ZapPool's log for details",
                                "details": {}}}
    assert "get_pool_stats" in caplog.text and "segredo interno" in caplog.text, "the trace goes to the log"


def test_the_pages_allow_eval_only_in_the_desktop_windows(desk):
    browser = desk.rest(None).call("GET", "/", key=None)
    window = desk.rest(None).call("GET", "/", key=None, headers={"User-Agent": DESKTOP_USER_AGENT})

    assert "'unsafe-eval'" not in browser.headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-eval';" in window.headers["Content-Security-Policy"]
    assert window.headers["Content-Security-Policy"].replace(" 'unsafe-eval'", "") == \
        browser.headers["Content-Security-Policy"], "nothing else relaxed"


def test_a_numbers_limits_through_the_bridge_are_checked_as_rest_checks_them(desk):
    sign_in(desk)
    desk.pool.add("balcao")
    key = ok(desk.bridge.create_api_key("comparar limites"))["key"]
    rest = desk.rest(key)
    for hostile in ({"hourlyCap": -1}, {"dailyCap": 1.5}, {"jitterS": "1"}, {"x": 1}, ["hourlyCap"], "5"):
        bridged = error(desk.bridge.set_client_limits("balcao", hostile))
        reply = rest.call("PUT", "/clients/balcao/limits", hostile)
        assert (bridged["code"], bridged["details"]) == (reply.json["error"]["code"], reply.json["error"]["details"])
    saved = ok(desk.bridge.set_client_limits("balcao", {"dailyCap": 100, "intervalS": 3}))
    assert (saved["dailyCap"], saved["intervalS"], saved["sentToday"]) == (100, 3, 0)
    assert rest.call("GET", "/clients/balcao/limits").json == ok(desk.bridge.get_client_limits("balcao"))


def test_a_numbers_mode_through_the_bridge_is_checked_as_rest_checks_it(desk):
    sign_in(desk)
    desk.pool.add("avisos")
    rest = desk.rest(ok(desk.bridge.create_api_key("comparar modo"))["key"])
    for hostile in ("sim", 1, None):
        bridged = error(desk.bridge.set_client_mode("avisos", hostile))
        reply = rest.call("PATCH", "/clients/avisos", {"onDemand": hostile})
        assert (bridged["code"], bridged["details"]) == (reply.json["error"]["code"], reply.json["error"]["details"])
        assert reply.status == 422 and bridged["details"] == {"field": "onDemand"}
    changed = ok(desk.bridge.set_client_mode("avisos", True))
    assert (changed["onDemand"], changed["sleeping"]) == (True, False), "never linked: nothing to wake"
    assert rest.call("GET", "/clients/avisos").json["onDemand"] is True


def test_templates_through_the_bridge_are_rests(desk):
    sign_in(desk)
    rest = desk.rest(ok(desk.bridge.create_api_key("comparar modelos"))["key"])
    made = rest.call("POST", "/templates", {"name": "Oi", "text": "Oi {{nome}}"}).json

    assert ok(desk.bridge.list_templates()) == rest.call("GET", "/templates").json == [made]
    assert ok(desk.bridge.preview_template(made["id"], {"nome": "Ana"}))["text"] == "Oi Ana"
    for hostile in ((made["id"], {}), (made["id"], ["nome"]), ("tpl_0000000000000000", {}), (5, {})):
        bridged = error(desk.bridge.preview_template(*hostile))
        assert bridged["code"] in ("template_variable_missing", "invalid_input", "template_not_found")
    missing = error(desk.bridge.preview_template(made["id"], {}))
    reply = rest.call("POST", f"/templates/{made['id']}/preview", {"variables": {}})
    assert (missing["code"], missing["details"]) == (reply.json["error"]["code"], reply.json["error"]["details"])


def test_the_templates_window_edits_through_the_bridge_as_rest_does(desk):
    sign_in(desk)
    rest = desk.rest(ok(desk.bridge.create_api_key("janela de modelos"))["key"])
    made = ok(desk.bridge.create_template({"name": "Aviso", "text": "{Oi|Olá} {{nome}}"}))
    changed = ok(desk.bridge.update_template(made["id"], {"text": "Oi {{nome|default(\"cliente\")}}"}))

    assert rest.call("GET", f"/templates/{made['id']}").json == changed and changed["name"] == "Aviso"
    assert ok(desk.bridge.preview_template_text("Oi {{nome}}", {}))["text"] == "Oi [nome]"
    for hostile in ({"name": "x", "text": "{{ ''.__class__ }}"}, {"name": "aviso", "text": "x"}, ["Aviso"]):
        bridged = error(desk.bridge.create_template(hostile))
        reply = rest.call("POST", "/templates", hostile)
        assert bridged["code"] == reply.json["error"]["code"]
    assert desk.bridge.delete_template(made["id"]) == {"result": None}
    assert rest.call("GET", "/templates").json == []
