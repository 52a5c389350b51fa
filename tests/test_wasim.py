"""The WhatsApp Web simulator on its own, driven by real Chromium through Playwright (no ZapPool code)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from wasim import SimError, SimServer
from wasim.browser import ARGS, UA, Tab, data_url

FAST = {"first_qr_ms": 600, "qr_ms": 300, "max_qrs": 3, "ack_delivered_ms": 100, "ack_read_ms": 150,
        "load_ms": 50, "require_create_chat": True, "main_ready_on_qr": False}
PHONE = "5511999990001"
PEER = "5511988887777"


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimServer]:
    """One simulator for the module."""
    with SimServer(**FAST) as server:
        yield server


@pytest.fixture
def sim(sim_server: SimServer) -> SimServer:
    """The simulator reset to a clean state with fast timings, once the last test's tabs are gone."""
    sim_server.control.wait_for(lambda s: not s["sessions"], timeout=5)  # closed tabs drop their session
    sim_server.control.reset()
    sim_server.control.configure(**FAST)
    return sim_server


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Playwright for the module."""
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile with a normal (not headless) user agent."""
    ctx = browser.new_context(user_agent=UA)
    yield ctx
    ctx.close()


@pytest.fixture
def tab(context: BrowserContext, sim: SimServer) -> Tab:
    """An open simulator tab."""
    return Tab(context.new_page(), sim.url).open()


@pytest.fixture
def linked(tab: Tab, sim: SimServer) -> Tab:
    """A tab logged in as PHONE."""
    tab.link(sim, PHONE)
    return tab


# --- the page ---------------------------------------------------------------------------------------------


def test_headless_user_agent_gets_the_outdated_browser_page(browser: Browser, sim: SimServer):
    ctx = browser.new_context()  # Playwright's default headless UA says HeadlessChrome
    try:
        page = ctx.new_page()
        page.goto(sim.url)
        assert "HeadlessChrome" in page.evaluate("navigator.userAgent")
        assert page.evaluate("typeof window.WPP") == "undefined"
        assert "Chrome 85+" in page.inner_text("body")
    finally:
        ctx.close()


def test_normal_user_agent_boots_wpp_after_load_ms(context: BrowserContext, sim: SimServer):
    sim.control.configure(load_ms=600)
    t = Tab(context.new_page(), sim.url)
    t.page.goto(sim.url, wait_until="domcontentloaded")

    assert t.js("[typeof WPP.on, WPP.isReady]") == ["function", False]
    t.page.wait_for_function("WPP.isReady === true")
    assert t.js("WPP.version") == "4.6.0"
    assert sim.control.state()["sessions"][0]["userAgent"] == UA
    assert t.rejection("() => WPP.contact.queryExists('5511988887777@c.us')")["code"] == "not_authenticated"


# --- QR codes and pairing ---------------------------------------------------------------------------------


def test_qr_codes_rotate_go_idle_and_refresh(tab: Tab, sim: SimServer):
    tab.wait_event("conn.qrcode_idle", timeout=5)

    codes = tab.payloads("conn.auth_code_change")
    assert [c is None for c in codes] == [False, False, False, True]
    full = [c["fullCode"] for c in codes[:3]]
    assert len(set(full)) == 3
    for code in codes[:3]:
        assert code["type"] == "multidevice" and code["ref"].startswith("2@")
        assert code["fullCode"] == ",".join([code["ref"], code["staticKeyPair"], code["identityKeyPair"],
                                             code["secretKey"]])
        assert 150 <= len(code["fullCode"]) <= 250
    assert tab.js("[WPP.conn.isIdle(), WPP.conn.isAuthenticated()]") == [True, False]
    assert tab.js("WPP.conn.getAuthCode()") is None
    assert sim.control.state()["sessions"][0]["status"] == "idle"

    fresh = tab.js("WPP.conn.refreshQR()")
    assert fresh["fullCode"] not in full
    assert tab.js("WPP.conn.isIdle()") is False
    assert tab.js("WPP.conn.getAuthCode().then(c => c.fullCode)") == fresh["fullCode"]
    session = sim.control.state()["sessions"][0]
    assert (session["status"], session["qr"], session["qrIndex"]) == ("qr", fresh["fullCode"], 1)


def test_scanning_the_current_code_logs_in(tab: Tab, sim: SimServer):
    tab.link(sim, PHONE)

    tail = tab.names()[tab.names().index("conn.authenticated"):]
    assert tail[:3] == ["conn.authenticated", "conn.main_loaded", "conn.main_ready"]
    assert tab.js("WPP.conn.getMyUserId()")["_serialized"] == f"{PHONE}@c.us"
    assert tab.js("WPP.conn.getMyUserId().toString()") == f"{PHONE}@c.us"
    assert tab.js("[WPP.conn.isAuthenticated(), WPP.conn.isMainLoaded(), WPP.conn.isMainReady(), "
                  "WPP.conn.isOnline()]") == [True, True, True, True]
    assert tab.js("WPP.conn.getAuthCode()") is None
    state = sim.control.wait_for(lambda s: s["sessions"][0]["status"] == "ready")
    assert state["sessions"][0]["phone"] == PHONE
    assert [d["phone"] for d in state["devices"]] == [PHONE]


def test_stale_and_unknown_codes_are_refused(tab: Tab, sim: SimServer):
    first = tab.current_code()
    tab.wait_event("conn.auth_code_change", lambda c: c and c["fullCode"] != first, timeout=3)

    with pytest.raises(SimError) as stale:
        sim.control.scan(first, PHONE)
    assert stale.value.status == 404
    with pytest.raises(SimError) as unknown:
        sim.control.scan("2@nope,a,b,c", PHONE)
    assert unknown.value.status == 404
    with pytest.raises(SimError) as bad_phone:
        sim.control.scan(tab.current_code(), "+55 11")
    assert bad_phone.value.status == 400
    assert sim.control.state()["devices"] == []
    assert tab.js("WPP.conn.isAuthenticated()") is False


def test_pairing_code_links_the_phone_that_asked(tab: Tab, sim: SimServer):
    assert tab.rejection("() => WPP.conn.genLinkDeviceCodeForPhoneNumber('')")["code"] == \
        "send_the_phone_number_to_connect"
    code = tab.js("WPP.conn.genLinkDeviceCodeForPhoneNumber('5511999990002')")
    assert re.fullmatch(r"[A-Z0-9]{8}", code)
    session = sim.control.state()["sessions"][0]
    assert (session["status"], session["pairingCode"], session["pairingPhone"]) == ("pairing", code, "5511999990002")
    assert tab.js("WPP.conn.getAuthCode()") is None

    with pytest.raises(SimError) as wrong_phone:
        sim.control.pair(code, "5511999990003")
    assert wrong_phone.value.status == 400
    with pytest.raises(SimError) as unknown:
        sim.control.pair("ZZZZ9999")
    assert unknown.value.status == 404
    sim.control.pair(code[:4] + "-" + code[4:].lower())  # as a person types it
    tab.wait_event("conn.main_ready")

    assert tab.js("WPP.conn.getMyUserId().user") == "5511999990002"
    assert tab.rejection("() => WPP.conn.genLinkDeviceCodeForPhoneNumber('5511999990002')")["code"] == \
        "cannot_get_code_for_already_authenticated"


def test_login_while_offline_is_ready_once_the_network_returns(tab: Tab, sim: SimServer):
    code = tab.current_code()
    sim.control.network(False)
    sim.control.scan(code, PHONE)
    tab.wait_event("conn.main_loaded")
    tab.page.wait_for_timeout(200)
    assert "conn.main_ready" not in tab.names()
    assert sim.control.state()["sessions"][0]["status"] == "offline"

    sim.control.network(True)
    tab.wait_event("conn.main_ready")
    sim.control.wait_for(lambda s: s["sessions"][0]["status"] == "ready")


def test_main_ready_on_qr_mimics_the_real_bundle(context: BrowserContext, sim: SimServer):
    sim.control.configure(main_ready_on_qr=True)
    t = Tab(context.new_page(), sim.url).open()
    t.wait_event("conn.main_ready")
    assert t.js("[WPP.conn.isMainReady(), WPP.conn.isAuthenticated()]") == [True, False]

    sim.control.scan(t.current_code(), PHONE)
    t.wait_event("conn.main_loaded")
    t.page.wait_for_function("WPP.conn.isAuthenticated()")
    t.page.wait_for_timeout(150)
    assert t.names().count("conn.main_ready") == 1, "once per page load, like WA-JS"


# --- the login kept in the profile ------------------------------------------------------------------------


def test_persistent_profile_resumes_without_a_scan(playwright: Playwright, sim: SimServer, tmp_path: Path):
    def launch() -> BrowserContext:
        return playwright.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path="/usr/bin/chromium", args=ARGS, user_agent=UA)

    ctx = launch()
    Tab(ctx.new_page(), sim.url).open().link(sim, PHONE)
    ctx.close()
    ctx = launch()
    try:
        again = Tab(ctx.new_page(), sim.url).open()
        again.wait_event("conn.main_ready")
        assert "conn.auth_code_change" not in again.names()
        assert "conn.authenticated" not in again.names()  # WA-JS only emits it for a fresh login
        assert again.names().index("conn.main_loaded") < again.names().index("conn.main_ready")
        assert again.js("WPP.conn.getMyUserId().user") == PHONE
    finally:
        ctx.close()


def test_storage_state_copy_is_not_logged_in(browser: Browser, context: BrowserContext, sim: SimServer):
    Tab(context.new_page(), sim.url).open().link(sim, PHONE)
    state = context.storage_state(indexed_db=True)
    assert "wawc" in json.dumps(state), "the copy holds the login record (with {} for key and blob)"

    copy = browser.new_context(user_agent=UA, storage_state=state)
    try:
        clone = Tab(copy.new_page(), sim.url).open()
        clone.wait_event("conn.auth_code_change", lambda c: c)
        assert clone.js("WPP.conn.isAuthenticated()") is False
        assert clone.js("""new Promise((ok) => { const r = indexedDB.open('wawc');
          r.onsuccess = () => { const g = r.result.transaction('user').objectStore('user').get('login');
          g.onsuccess = () => ok(g.result === undefined); }; })""") is True
    finally:
        copy.close()


def test_unlink_from_the_phone_logs_out_and_reloads_to_qr(linked: Tab, sim: SimServer):
    assert sim.control.unlink(PHONE, "md_opt_out") == {"devices": 1, "sessions": 1}

    mark = len(linked.events)
    linked.wait_event("conn.logout", after=mark)
    assert linked.names()[mark:mark + 2] == ["conn.logout_reason", "conn.logout"]
    assert linked.payloads("conn.logout_reason")[-1] == "md_opt_out"
    linked.wait_event("conn.auth_code_change", lambda c: c, after=mark)  # the page reloaded to the QR screen
    assert linked.js("WPP.conn.isAuthenticated()") is False
    assert sim.control.state()["devices"] == []
    with pytest.raises(SimError) as again:
        sim.control.unlink(PHONE)
    assert again.value.status == 404


def test_logout_from_the_page(linked: Tab, sim: SimServer):
    mark = len(linked.events)
    assert linked.js("WPP.conn.logout()") is True

    assert linked.payloads("conn.logout_reason")[-1] == "user_initiated"
    linked.wait_event("conn.auth_code_change", lambda c: c, after=mark)
    assert linked.names()[mark:mark + 2] == ["conn.logout_reason", "conn.logout"]
    assert sim.control.state()["devices"] == []
    assert linked.js("WPP.conn.isAuthenticated()") is False


# --- sending ----------------------------------------------------------------------------------------------


def test_text_and_every_media_type_are_recorded_byte_exact(linked: Tab, sim: SimServer):
    media = [("image", "image/jpeg", {}), ("document", "application/pdf", {"filename": "nota.pdf"}),
             ("audio", "audio/mpeg", {}), ("ptt", "audio/ogg", {"type": "audio", "isPtt": True}),
             ("video", "video/mp4", {}), ("sticker", "image/webp", {})]
    text = "Olá, mundo! ✓ 🎉"
    linked.js("([to, t]) => WPP.chat.sendTextMessage(to, t, {createChat: true})", [f"{PEER}@c.us", text])
    expected = [("chat", text, hashlib.sha256(text.encode()).hexdigest(), len(text.encode()))]
    for i, (kind, mime, extra) in enumerate(media):
        blob = bytes((i * 31 + n) % 256 for n in range(4096 + i))
        options = {"type": kind, "caption": f"legenda {kind}", **extra}
        result = linked.js("([to, c, o]) => WPP.chat.sendFileMessage(to, c, o)",
                           [f"{PEER}@c.us", data_url(mime, blob), options])
        assert result["ack"] == 1 and result["sendMsgResult"]["messageSendResult"] == "OK"
        expected.append((kind, f"legenda {kind}", hashlib.sha256(blob).hexdigest(), len(blob)))

    sent = sim.control.sent(PHONE)
    assert [(m["type"], m["text"], m["sha256"], m["size"]) for m in sent] == expected
    assert sent[2]["filename"] == "nota.pdf" and sent[2]["mimetype"] == "application/pdf"
    assert {m["to"] for m in sent} == {PEER}


def test_a_100_mb_file_goes_through(linked: Tab, sim: SimServer):
    size = 100 * 1024 * 1024
    result = linked.js("""async ([to, size]) => {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = i % 251;
      const file = new File([bytes], 'grande.bin', {type: 'application/octet-stream'});
      return WPP.chat.sendFileMessage(to, file, {type: 'document', createChat: true});
    }""", [f"{PEER}@c.us", size])
    assert result["ack"] == 1

    pattern = bytes(range(251))
    data = pattern * (size // 251) + pattern[:size % 251]
    (record,) = sim.control.sent(PHONE)
    assert (record["size"], record["filename"]) == (size, "grande.bin")
    assert record["sha256"] == hashlib.sha256(data).hexdigest()


def test_unknown_chat_needs_create_chat_and_unknown_numbers_fail(linked: Tab, sim: SimServer):
    send = "([to, o]) => WPP.chat.sendTextMessage(to, 'oi', o)"
    err = linked.rejection(send, [f"{PEER}@c.us", {}])
    assert err["code"] == "chat_not_found"
    linked.js(send, [f"{PEER}@c.us", {"createChat": True}])
    linked.js(send, [f"{PEER}@c.us", {}])  # the chat exists now

    sim.control.set_numbers([PEER])
    err = linked.rejection(send, ["5511900001111@c.us", {"createChat": True}])
    assert err["code"] == "chat_not_found" and "not on WhatsApp" in err["message"]
    assert len(sim.control.sent(PHONE)) == 2
    assert linked.rejection("() => WPP.chat.sendTextMessage('not a number', 'x')")["code"] == "invalid_wid"


def test_query_exists_and_the_brazilian_ninth_digit(linked: Tab, sim: SimServer):
    query = "(id) => WPP.contact.queryExists(id).then(r => r && {wid: r.wid._serialized, biz: r.biz})"
    assert linked.js(query, "5511900001111@c.us") == {"wid": "5511900001111@c.us", "biz": False}

    sim.control.set_numbers(["5511988887777", "551187776666"])
    assert linked.js(query, "5511900001111@c.us") is None
    assert linked.js(query, "5511988887777@c.us")["wid"] == "5511988887777@c.us"
    assert linked.js(query, "551188887777@c.us")["wid"] == "5511988887777@c.us"  # asked without the 9
    assert linked.js(query, "5511987776666@c.us")["wid"] == "551187776666@c.us"  # asked with the 9
    assert linked.js(query, f"{PHONE}@c.us")["wid"] == f"{PHONE}@c.us"  # linked phones always exist
    assert linked.js("WPP.contact.queryWidExists('551188887777@c.us').then(r => r.wid.user)") == "5511988887777"


def test_acks_and_our_own_new_message(linked: Tab, sim: SimServer):
    result = linked.js("(to) => WPP.chat.sendTextMessage(to, 'ack?', {createChat: true})", f"{PEER}@c.us")
    linked.wait_event("chat.msg_ack_change", lambda e: e["ack"] == 3 and e["ids"][0]["_serialized"] == result["id"])

    acks = [e for e in linked.payloads("chat.msg_ack_change") if e["ids"][0]["_serialized"] == result["id"]]
    assert [e["ack"] for e in acks] == [1, 2, 3]
    assert all(e["chat"] == f"{PEER}@c.us" for e in acks)
    own = [m for m in linked.payloads("chat.new_message") if m["id"]["_serialized"] == result["id"]]
    assert own[0]["id"]["fromMe"] is True and own[0]["body"] == "ack?"
    assert result["id"] == f"true_{PEER}@c.us_{own[0]['id']['id']}"
    assert re.fullmatch(r"3EB0[0-9A-F]{16}", own[0]["id"]["id"])
    assert [(m["id"], m["ack"]) for m in sim.control.sent(PHONE)] == [(result["id"], 3)]


def test_sends_acks_and_reads_travel_on_one_websocket_as_on_whatsapp_web(linked: Tab, sim: SimServer):
    """WhatsApp Web speaks to its server over one WebSocket, not an HTTP request per action. ZapPool's benchmarks
    count Playwright's driver, which tracks every HTTP request a page makes: the simulator must not add any."""
    requests: list[str] = []
    linked.page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    for n in range(3):
        result = linked.js("([to, n]) => WPP.chat.sendTextMessage(to, `ws ${n}`, {createChat: true})",
                           [f"{PEER}@c.us", n])
    linked.wait_event("chat.msg_ack_change", lambda e: e["ack"] == 3 and e["ids"][0]["_serialized"] == result["id"])
    linked.js("() => WPP.chat.list()")

    assert requests == []
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["ws 0", "ws 1", "ws 2"]


def test_a_page_api_frame_that_is_not_a_request_changes_nothing_and_the_socket_keeps_serving(linked: Tab, sim: SimServer):
    """Frames from a page are input like any other: garbage, a route outside the page API, or a path that
    escapes it gets an error or nothing, and the page's next real request is answered."""
    answers = linked.js("""async () => {
      const socket = window.__wasim.wire.socket;
      const frame = (id, head) => {
        const h = new TextEncoder().encode(JSON.stringify(head));
        const sizes = new Uint8Array(8);
        new DataView(sizes.buffer).setUint32(0, id);
        new DataView(sizes.buffer).setUint32(4, h.length);
        return new Blob([sizes, h]);
      };
      const replies = [];
      const listen = (msg) => { const f = JSON.parse(msg.data); if (f.id >= 900000) replies.push([f.id, f.status]); };
      socket.addEventListener('message', listen);
      socket.send(new Blob([new Uint8Array([1, 2, 3])]));
      socket.send(frame(900001, { method: 'POST', path: '/_sim/reset' }));
      socket.send(frame(900002, { method: 'DELETE', path: '/_sim/api/chats' }));
      socket.send(frame(900003, { method: 'GET', path: '/_sim/api/../state' }));
      await new Promise((r) => setTimeout(r, 300));
      socket.removeEventListener('message', listen);
      return replies.sort();
    }""")

    assert answers == [[900001, 400], [900002, 400], [900003, 404]]
    assert linked.js("() => WPP.conn.isAuthenticated()") is True
    assert sim.control.state()["devices"], "the control route /_sim/reset was not reachable from the page"


def test_a_chosen_message_id_and_finding_a_message_by_it(linked: Tab, context: BrowserContext, sim: SimServer):
    chat, key = f"{PEER}@c.us", f"true_{PEER}@c.us_3EB0000011112222AAAA"
    send = "([to, t, k]) => WPP.chat.sendTextMessage(to, t, {createChat: true, messageId: k})"
    find = "(k) => WPP.chat.getMessageById(k).then(m => ({id: m.id._serialized, ack: m.ack, body: m.body}))"
    assert linked.rejection(find, key)["code"] == "chat_not_found", "no chat with that contact yet"

    # WA-JS's checks on messageId: a key of ours, to this very chat.
    assert linked.rejection(send, [chat, "x", f"false_{PEER}@c.us_3EB0000011112222AAAA"])["code"] == \
        "message_key_is_not_from_me"
    assert linked.rejection(send, [chat, "x", "true_5511900001111@c.us_3EB0000011112222AAAA"])["code"] == \
        "message_key_remote_id_is_not_same_of_chat"
    assert linked.js(send, [chat, "com id", key])["id"] == key
    assert [m["id"] for m in sim.control.sent(PHONE)] == [key]

    found = linked.js(find, key)
    assert found["id"] == key and found["body"] == "com id" and found["ack"] >= 1
    assert linked.rejection(find, f"true_{PEER}@c.us_3EB0FFFFFFFFFFFFFFFF")["code"] == "msg_not_found"
    other = Tab(context.new_page(), sim.url).open()  # another page of the same phone finds it in the history
    other.wait_event("conn.main_ready")
    assert other.js(find, key)["body"] == "com id"

    sim.control.network(False)  # waiting to go out: found in the page that sent it, with ack 0
    linked.wait_event("conn.online", lambda up: up is False)
    waiting = f"true_{PEER}@c.us_3EB0000033334444BBBB"
    linked.js("([to, k]) => { WPP.chat.sendTextMessage(to, 'na fila', {messageId: k}); }", [chat, waiting])
    linked.wait_event("chat.new_message", lambda m: m["id"]["_serialized"] == waiting)
    assert linked.js(find, waiting)["ack"] == 0 and sim.control.sent(PHONE)[-1]["id"] == key
    sim.control.network(True)


def test_ack_steps_can_be_disabled(linked: Tab, sim: SimServer):
    sim.control.configure(ack_delivered_ms=50, ack_read_ms=0)
    linked.js("(to) => WPP.chat.sendTextMessage(to, 'x', {createChat: true})", f"{PEER}@c.us")
    linked.wait_event("chat.msg_ack_change", lambda e: e["ack"] == 2)
    linked.page.wait_for_timeout(300)
    assert [e["ack"] for e in linked.payloads("chat.msg_ack_change")] == [1, 2]


# --- receiving and history --------------------------------------------------------------------------------


def test_incoming_text_and_media(linked: Tab, sim: SimServer):
    answer = sim.control.incoming(PHONE, PEER, "Oi, tudo bem?", notify_name="Maria")
    assert answer["delivered"] is True
    msg = linked.wait_event("chat.new_message", lambda m: not m["id"]["fromMe"])
    assert (msg["from"], msg["to"], msg["body"], msg["type"]) == (f"{PEER}@c.us", f"{PHONE}@c.us", "Oi, tudo bem?",
                                                                  "chat")
    assert msg["isNewMsg"] is True and msg["notifyName"] == "Maria" and msg["id"]["_serialized"] == answer["id"]

    photo = b"\xff\xd8fake jpeg"
    media = {"type": "image", "mimetype": "image/jpeg", "caption": "foto", "data": base64.b64encode(photo).decode()}
    answer = sim.control.incoming(PHONE, PEER, media=media)
    img = linked.wait_event("chat.new_message", lambda m: m["id"]["_serialized"] == answer["id"])
    # As on the real site the message carries no bytes, only their filehash: they come from downloadMedia.
    assert (img["type"], img["caption"], img["size"], img["body"]) == ("image", "foto", len(photo), "")
    assert img["filehash"] == base64.b64encode(hashlib.sha256(photo).digest()).decode()


def test_incoming_for_a_phone_without_tabs_waits_for_it(tab: Tab, sim: SimServer):
    assert sim.control.incoming("5511999990009", PEER, "chegou depois")["delivered"] is False
    tab.link(sim, "5511999990009")
    msg = tab.wait_event("chat.new_message", lambda m: m["body"] == "chegou depois")
    assert msg["to"] == "5511999990009@c.us"


def test_history_held_before_linking_is_listed_without_new_message_events(tab: Tab, sim: SimServer):
    now = int(time.time())
    days_ago, hours_ago = now - 3 * 86400, now - 2 * 3600
    ids = sim.control.history(PHONE, PEER, [{"text": "antiga lida", "t": days_ago},
                                            {"text": "minha resposta", "t": days_ago + 60, "fromMe": True},
                                            {"text": "antiga 1", "t": hours_ago},
                                            {"text": "antiga 2", "t": hours_ago + 5}], unread=2,
                              notify_name="Maria")["ids"]
    assert ids[1].startswith(f"true_{PEER}@c.us_") and ids[2].startswith(f"false_{PEER}@c.us_")
    tab.link(sim, PHONE)
    chats = tab.js("WPP.chat.list({onlyWithUnreadMessage: true}).then(l => l.map(c => [c.id._serialized, c.name, "
                   "c.unreadCount, c.t]))")
    assert chats == [[f"{PEER}@c.us", "Maria", 2, hours_ago + 5]]
    unread = tab.js("(c) => WPP.chat.getMessages(c, {count: -1, onlyUnread: true}).then(l => l.map(m => "
                    "[m.id._serialized, m.body, m.t]))", f"{PEER}@c.us")
    assert unread == [[ids[2], "antiga 1", hours_ago], [ids[3], "antiga 2", hours_ago + 5]]
    assert len(tab.js("(c) => WPP.chat.getMessages(c, {count: -1})", f"{PEER}@c.us")) == 4
    sim.control.incoming(PHONE, PEER, "nova")  # the stream delivers: had history fired, it came before this
    tab.wait_event("chat.new_message", lambda m: m["body"] == "nova")
    assert [m["body"] for m in tab.payloads("chat.new_message")] == ["nova"], "no event for the history"
    with pytest.raises(SimError) as linked:
        sim.control.history(PHONE, PEER, [{"text": "tarde demais", "t": now}])
    assert linked.value.status == 409
    with pytest.raises(SimError) as bad:
        sim.control.history("5511999990002", PEER, [{"text": "sem hora"}])
    assert bad.value.status == 400


def test_network_down_holds_sends_until_it_is_back(linked: Tab, context: BrowserContext, sim: SimServer):
    sim.control.network(False)
    assert linked.wait_event("conn.online", lambda up: up is False) is False
    assert linked.js("WPP.conn.isOnline()") is False
    assert sim.control.state()["sessions"][0]["status"] == "offline"
    linked.js("(to) => { window.__done = null; WPP.chat.sendTextMessage(to, 'na fila', {createChat: true})"
              ".then(r => window.__done = r); }", f"{PEER}@c.us")
    linked.wait_event("chat.new_message", lambda m: m["body"] == "na fila")  # its chat exists now
    quick = linked.js("(to) => WPP.chat.sendTextMessage(to, 'sem esperar', {waitForAck: false})", f"{PEER}@c.us")
    assert quick["ack"] == 0 and quick["sendMsgResult"] is None
    assert sim.control.incoming(PHONE, PEER, "enquanto caído")["delivered"] is False
    second = Tab(context.new_page(), sim.url).open()  # loaded while down: loads, but is not ready
    second.wait_event("conn.main_loaded")
    linked.page.wait_for_timeout(300)
    assert linked.js("window.__done") is None and sim.control.sent(PHONE) == []
    assert second.js("[WPP.conn.isOnline(), WPP.conn.isMainReady()]") == [False, False]

    sim.control.network(True)
    linked.wait_event("conn.online", lambda up: up is True)
    linked.page.wait_for_function("window.__done !== null")
    assert linked.js("window.__done.ack") == 1
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["na fila", "sem esperar"]
    linked.wait_event("chat.new_message", lambda m: m["body"] == "enquanto caído")
    second.wait_event("conn.main_ready")


def test_chat_list_messages_and_mark_read(linked: Tab, sim: SimServer):
    other = "5521977776666"
    linked.js("(to) => WPP.chat.sendTextMessage(to, 'primeira', {createChat: true})", f"{PEER}@c.us")
    sim.control.incoming(PHONE, other, "de outro", notify_name="João")
    sim.control.incoming(PHONE, PEER, "resposta", notify_name="Maria")
    linked.wait_event("chat.new_message", lambda m: m["body"] == "resposta")

    chats = linked.js("WPP.chat.list().then(l => l.map(c => [c.id._serialized, c.name, c.unreadCount, "
                      "c.lastMessage && c.lastMessage.body]))")
    assert chats == [[f"{PEER}@c.us", "Maria", 1, "resposta"], [f"{other}@c.us", "João", 1, "de outro"]]
    assert linked.js("WPP.chat.list({count: 1}).then(l => l.length)") == 1
    history = linked.js("(c) => WPP.chat.getMessages(c, {count: 10}).then(l => l.map(m => [m.id.fromMe, m.body]))",
                        f"{PEER}@c.us")
    assert history == [[True, "primeira"], [False, "resposta"]]

    read = linked.js("(c) => WPP.chat.markIsRead(c).then(r => [r.wid._serialized, r.unreadCount])", f"{other}@c.us")
    assert read == [f"{other}@c.us", 0]
    change = linked.wait_event("chat.unread_count_changed", lambda e: e["unreadCount"] == 0)
    assert change["previousUnreadCount"] == 1 and change["chat"]["id"] == f"{other}@c.us"

    linked.page.reload()  # history lives on the server
    linked.page.wait_for_function("WPP.conn.isMainReady()")
    assert linked.js("WPP.chat.list().then(l => l.map(c => c.unreadCount))") == [1, 0]
    unread = ("(c) => WPP.chat.list({onlyWithUnreadMessage: true}).then(l => Promise.all(l.map(c => "
              "WPP.chat.getMessages(c.id, {count: -1, onlyUnread: true}).then(m => [c.id._serialized, m.map(x => x.body)]))))")
    sim.control.incoming(PHONE, PEER, "mais uma")
    linked.wait_event("chat.new_message", lambda m: m["body"] == "mais uma")
    assert linked.js(unread) == [[f"{PEER}@c.us", ["resposta", "mais uma"]]], "the unread incoming ones, not ours"


def test_group_chats_are_listed_paged_back_and_marked_read(linked: Tab, sim: SimServer):
    ana = "5511977770002"
    sim.control.incoming(PHONE, PEER, "oi", notify_name="Maria")
    gid = sim.control.group(ana, "create", subject="Família", participants=[PHONE])["gid"]
    for n in range(5):
        sim.control.group(ana, "send", groupId=gid, text=f"msg {n} @{PHONE}", notifyName="Ana")
    linked.wait_event("chat.new_message", lambda m: m["body"].startswith("msg 4"))

    listed = linked.js("WPP.chat.list().then(l => l.map(c => [c.id._serialized, c.isGroup, c.name, c.unreadCount, "
                       "c.lastMessage && c.lastMessage.body, c.lastMessage && c.lastMessage.author && c.lastMessage.author._serialized]))")
    assert listed[0] == [gid, True, "Família", 5, f"msg 4 @{PHONE}", f"{ana}@c.us"], "the group, newest, on top"
    assert listed[1][:2] == [f"{PEER}@c.us", False]
    assert linked.js("WPP.chat.list({onlyGroups: true}).then(l => l.map(c => c.id._serialized))") == [gid]
    assert linked.js("WPP.chat.list({onlyUsers: true}).then(l => l.map(c => c.id._serialized))") == [f"{PEER}@c.us"]

    last = linked.js("(g) => WPP.chat.getMessages(g, {count: 2}).then(l => l.map(m => [m.id._serialized, m.body, "
                     "m.author._serialized, m.mentionedJidList.map(w => w._serialized)]))", gid)
    assert [m[1] for m in last] == [f"msg 3 @{PHONE}", f"msg 4 @{PHONE}"]
    assert last[0][2] == f"{ana}@c.us" and last[0][3] == [f"{PHONE}@c.us"]
    older = linked.js("([g, id]) => WPP.chat.getMessages(g, {count: 2, direction: 'before', id})"
                      ".then(l => l.map(m => m.body))", [gid, last[0][0]])
    assert older == [f"msg 1 @{PHONE}", f"msg 2 @{PHONE}"], "the page before the oldest one shown"

    read = linked.js("(g) => WPP.chat.markIsRead(g).then(r => [r.wid._serialized, r.unreadCount])", gid)
    assert read == [gid, 0]
    assert linked.js("WPP.chat.list({onlyGroups: true}).then(l => l[0].unreadCount)") == 0


def test_a_groups_picture_is_set_by_its_members_and_shown_to_them_only(linked: Tab, sim: SimServer):
    """The `icon` action (WPP.group.setIcon/removeIcon): a gp2 `picture` notice in the group's chat, the picture
    through WPP.contact.getProfilePictureUrl(groupId) for members only; in a restricted group, admins only."""
    ana, beto = "5511977770002", "5511977770003"
    gid = sim.control.group(ana, "create", subject="Família", participants=[PHONE, beto])["gid"]
    apart = sim.control.group(ana, "create", subject="Sem nós", participants=[beto])["gid"]
    url = "(g) => WPP.contact.getProfilePictureUrl(g)"
    assert linked.js(url, gid) is None

    first = sim.control.group(beto, "icon", groupId=gid, picture=True)
    notice = linked.wait_event("chat.new_message", lambda m: m["type"] == "gp2")
    sim.control.group(ana, "icon", groupId=apart, picture=True)
    shown = linked.js(url, gid)
    served = urllib.request.urlopen(shown).status
    sim.control.group_configure(gid, restrict=True)
    with pytest.raises(SimError) as refused:
        sim.control.group(beto, "icon", groupId=gid, picture=True)
    sim.control.group(ana, "icon", groupId=gid, picture=None)

    assert first is True and notice["subtype"] == "picture"
    assert shown.startswith(sim.url + "_sim/pp?group=") and served == 200
    assert linked.js(url, apart) is None, "a group we are not in"
    assert (refused.value.status, refused.value.body["code"]) == (403, "you_are_not_allowed_set_group_picture")
    assert linked.js(url, gid) is None
    with pytest.raises(urllib.error.HTTPError):  # the old picture's URL stops working, as an expired CDN URL
        urllib.request.urlopen(shown)


def test_group_mentions_follow_detect_mentioned_and_at_all_mentions_everyone_else(linked: Tab, sim: SimServer):
    """WA-JS's detectMentioned (on by default): "@<number>" of a member mentions them, the exact "@all" every
    other member; turned off, the text mentions no one."""
    ana, beto = "5511977770002", "5511977770003"
    gid = sim.control.group(ana, "create", subject="Turma", participants=[PHONE, beto])["gid"]
    send = "([g, text, opts]) => WPP.chat.sendTextMessage(g, text, opts)"
    linked.js(send, [gid, f"oi @{beto}", {}])
    linked.js(send, [gid, "todos: @all", {}])
    linked.js(send, [gid, "ninguém: @All e @allan", {}])
    linked.js(send, [gid, f"sem menção @{beto} @all", {"detectMentioned": False}])

    sent = [(m["body"], m["mentions"]) for m in sim.control.group_info(gid)["messages"] if m["author"] == PHONE]
    assert sent == [(f"oi @{beto}", [beto]), ("todos: @all", sorted([ana, beto])), ("ninguém: @All e @allan", []),
                    (f"sem menção @{beto} @all", [])]


# --- control API and phone page ---------------------------------------------------------------------------


def test_the_phone_page_scans_writes_drops_the_network_and_unlinks(browser: Browser, tab: Tab, sim: SimServer):
    # The phone page is a second page to load and click: give it a code that lives long enough under load
    # (the server times each code when it shows it: a fresh one now gets the long lifetime).
    sim.control.configure(first_qr_ms=60_000, qr_ms=60_000, max_qrs=10)
    seen = len(tab.events)
    tab.js("WPP.conn.refreshQR()")
    tab.wait_event("conn.auth_code_change", lambda p: p, after=seen)
    ctx = browser.new_context()
    try:
        phone = ctx.new_page()
        phone.goto(sim.url + "_sim/phone")
        phone.fill('input[data-key^="scan-"]', "5511999990005")
        phone.click('button:has-text("Escanear como +55 11 99999-0005")')
        tab.wait_event("conn.main_ready")
        assert tab.js("WPP.conn.getMyUserId().user") == "5511999990005"

        phone.fill('input[data-key="text-5511999990005"]', "escrito no celular")
        phone.click('button:has-text("Enviar para este número")')
        tab.wait_event("chat.new_message", lambda m: m["body"] == "escrito no celular")
        phone.click('button:has-text("Derrubar a rede")')
        tab.wait_event("conn.online", lambda up: up is False)
        phone.click('button:has-text("Restabelecer a rede")')
        tab.wait_event("conn.online", lambda up: up is True)
        phone.click('button:has-text("Desconectar aparelho")')
        tab.wait_event("conn.logout")
    finally:
        ctx.close()


def test_control_api_errors_and_phone_page(sim: SimServer):
    with urllib.request.urlopen(sim.url + "_sim/phone") as response:
        assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(SimError) as missing:
        sim.control._call("GET", "nothing-here")
    assert missing.value.status == 404 and "error" in missing.value.body
    with pytest.raises(SimError) as bad:
        sim.control.configure(qr_ms="fast")
    assert bad.value.status == 400
    with pytest.raises(SimError):
        sim.control.set_numbers(["12"])
    with pytest.raises(TimeoutError):
        sim.control.wait_for(lambda s: False, timeout=0.2)
    assert sim.control.network(False) == {"network": "down"}
    assert sim.control.state()["network"] == "down"
    sim.control.reset()
    assert sim.control.state()["network"] == "up"


def test_chat_list_is_in_whatsapps_order_and_pages_as_wa_js_does(tab: Tab, sim: SimServer):
    """WhatsApp's order (pinned first, then the most recent by `t`, whatever order the history came in), and
    WA-JS 4.6.0's paging: `count` chats from the chat `id` (direction 'after', the default: it and those below
    it; 'before': the `count` above it), cut after the filters. Only a plain first page is cut on the server,
    which records how many chats each read took (-1: all)."""
    now = int(time.time())
    a, b, c, d = "5511911110001", "5511922220002", "5511933330003", "5511944440004"
    sim.control.history(PHONE, a, [{"text": "a", "t": now - 100}])
    sim.control.history(PHONE, b, [{"text": "b", "t": now - 300}], unread=1)
    sim.control.history(PHONE, c, [{"text": "c", "t": now - 200}])
    sim.control.history(PHONE, d, [{"text": "d", "t": now - 900}], pinned=True)
    tab.link(sim, PHONE)
    users = "(o) => WPP.chat.list(o).then(l => l.map(c => c.id._serialized.split('@')[0]))"
    before = len(sim.control.state()["chatLists"])

    assert tab.js(users, {}) == [d, a, c, b]
    assert tab.js(users, {"count": 2}) == [d, a]
    assert tab.js(users, {"count": 2, "id": f"{a}@c.us"}) == [a, c]
    assert tab.js(users, {"count": 2, "id": f"{b}@c.us", "direction": "before"}) == [a, c]
    assert tab.js(users, {"count": 5, "id": f"{c}@c.us", "direction": "before"}) == [d, a]
    assert tab.js(users, {"count": 1, "onlyWithUnreadMessage": True}) == [b]
    assert sim.control.state()["chatLists"][before:] == [-1, 2, -1, -1, -1, -1]
