"""Hostile input through the real API server, and hostile text through the real windows.

Hand-written beside Schemathesis (tests/test_fuzz_api.py): ids that try to leave dados/, bodies too big or lying
about their size, invalid UTF-8, deep nesting, a wrong type in every field, media too large or not what it says
it is, and HTML in every name and text the windows show. Each is refused with a status and an error that names
the problem, and nothing is written outside the data folder.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from backend.auth.service import AuthService
from backend.store.messages import MessageStore
from backend.store.preferences import PreferencesStore
from backend.store.sessions import SessionStore
from backend.webhooks.service import WebhookService
from tests.api_support import api_stack, FAST_SCRYPT, Stack
from tests.ui_support import ROOT, AppProcess, launch_browser, log_in

TO = "5511988887777"
# Percent-encoded as a client would put them in a URL path (raw NUL or backslash cannot go on the wire).
HOSTILE_IDS = ["..", "..%2F..%2Fapp.py", "%2e%2e%2f%2e%2e%2fbackend", "%2Fetc%2Fpasswd", "..%5C..%5Cwindows",
               "C:%5Cwindows", "a%00b", "%ff%fe", "x" * 5000, "%3Cscript%3E"]
HOSTILE_BODY_IDS = ["../../x", "/etc/passwd", "..\\..\\x", "a\x00b", "x" * 5000, "loja/../../x", "ção", " loja",
                    "<img src=x>", "all"]


@pytest.fixture
def stack(runtime, settings) -> Iterator[Stack]:
    """The API as app.py builds it (webhooks included) over a pool on the simulator, with an API key."""
    with api_stack(runtime, settings, webhooks=WebhookService.in_folder(settings.data_dir)) as made:
        yield made


def tree(folder: Path) -> set[str]:
    """Every path under `folder`, relative."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def rss_kib(pid: int | str = "self") -> int:
    """Resident memory of a process."""
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


def routes_with_ids(stack: Stack) -> list[tuple[str, str, list[str]]]:
    """(method, rule, variable names) of every route that takes something from the path."""
    found = []
    for rule in stack.server.app.url_map.iter_rules():
        if rule.arguments and rule.endpoint != "static":
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule, sorted(rule.arguments)))
    return found


# -- ids ---------------------------------------------------------------------------------------------------------

def test_ids_that_try_to_leave_the_data_folder_are_refused(stack: Stack, settings) -> None:
    stack.pool.add("loja")  # a number that exists, so routes below it reach their own ids
    outside, repo = tree(settings.data_dir.parent), tree(ROOT / "frontend") | set(os.listdir(ROOT))
    answers = []
    for method, rule, names in routes_with_ids(stack):
        for slot in names:
            for hostile in HOSTILE_IDS:
                path = rule
                for name in names:
                    path = re.sub(rf"<(?:[^:<>]+:)?{name}>", hostile if name == slot else "loja", path)
                body = {} if method in ("POST", "PUT") else None
                answers.append((method, rule, slot, hostile[:20], stack.api.call(method, path, body)))
    for hostile in HOSTILE_BODY_IDS:
        answers.append(("POST", "/clients", "clientId", hostile[:20],
                        stack.api.call("POST", "/clients", {"clientId": hostile})))

    assert len(answers) > 200
    for method, rule, slot, hostile, reply in answers:
        where = (method, rule, slot, hostile, reply.status, reply.body[:200])
        assert reply.headers["Content-Type"] == "application/json" or reply.status == 204, where
        if slot == "chat_id":
            # A chat id is a key looked up in the log, never a path: an unknown one is an empty conversation.
            assert reply.status in (200, 404, 422), where
            assert reply.status != 200 or not reply.json.get("items"), where
        else:
            assert reply.status in (404, 422), where
            # media_not_found: a message id is a key looked up in the log, never a path (backend/media/);
            # invalid_input: a contact id that is no phone number (backend/contacts/ids.py); media_link_invalid: a
            # media link's token is only ever checked as a signature (backend/media/links.py); picture_link_invalid:
            # so is a picture link's, and its contact id is hashed, never a path (backend/store/pictures.py).
            assert reply.json["error"]["code"] in ("not_found", "invalid_client_id", "invalid_number", "invalid_input",
                                                   "media_not_found", "media_link_invalid",
                                                   "picture_link_invalid"), where
    assert tree(settings.data_dir.parent) - outside <= {str(p.relative_to(settings.data_dir.parent))
                                                        for p in settings.data_dir.rglob("*")}
    assert tree(ROOT / "frontend") | set(os.listdir(ROOT)) == repo, "nothing written in the program's folder"
    assert [c["clientId"] for c in stack.api.call("GET", "/clients/all").json] == ["loja"]
    assert not [p for p in settings.data_dir.rglob("*") if ".." in p.name or "passwd" in p.name]


# -- bodies: size and framing ------------------------------------------------------------------------------------

def _raw(stack: Stack, head: str) -> socket.socket:
    """A connection to the server that has sent `head` (request line and headers, no body yet)."""
    parts = urlsplit(stack.server.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    sock.sendall(head.encode())
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of the answer waiting on a raw connection."""
    reply = http.client.HTTPResponse(sock)
    reply.begin()
    return reply.status, json.loads(reply.read())


def test_a_body_over_the_cap_is_refused_before_it_is_read(stack: Stack) -> None:
    declared = 200 * 1024 * 1024
    before = rss_kib()
    sock = _raw(stack, f"POST /messages HTTP/1.1\r\nHost: x\r\nX-Api-Key: {stack.api.key}\r\n"
                       f"Content-Type: application/json\r\nContent-Length: {declared}\r\n\r\n")
    started = time.monotonic()
    status, body = _answer(sock)
    took = time.monotonic() - started
    sent, chunk = 0, b"x" * (1 << 20)
    try:  # a client that does not wait for the answer: how much does the server take before it hangs up?
        while sent < declared:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    sock.close()

    assert status == 413 and body["error"]["code"] == "request_entity_too_large", body
    assert "larger than ZapPool's limit of 157,286,400 bytes" in body["error"]["message"]
    assert took < 2, "answered from the headers alone"
    assert sent < 64 * 1024 * 1024, f"the server took {sent:,} bytes of a body it had refused"
    assert rss_kib() - before < 50_000, "memory did not grow with the body"


def test_a_lying_or_slow_request_holds_no_worker(stack: Stack) -> None:
    """Bodies shorter than their Content-Length and headers sent a byte at a time wait in waitress's event loop,
    not in its 16 worker threads: ordinary requests are answered meanwhile."""
    head = f"POST /messages HTTP/1.1\r\nHost: x\r\nX-Api-Key: {stack.api.key}\r\nContent-Type: application/json\r\n"
    stalled = [_raw(stack, head + "Content-Length: 1000\r\n\r\n{\"to\": ") for _ in range(20)]
    stalled += [_raw(stack, "GET /stats HTTP/1.1\r\nHost: x\r\nX-Ap") for _ in range(20)]
    try:
        started = time.monotonic()
        replies = [stack.api.call("GET", "/stats") for _ in range(10)]
        took = time.monotonic() - started
    finally:
        for sock in stalled:
            sock.close()

    assert [r.status for r in replies] == [200] * 10
    assert took < 3, f"10 requests took {took:.1f} s beside 40 stalled connections"


def test_broken_json_and_query_strings_are_refused_with_the_reason(stack: Stack) -> None:
    cases = [  # (method, path, raw body or None, status, code, field or words in the message)
        ("POST", "/messages", b'{"to": "\xff\xfe", "text": "oi"}', 400, "malformed_json", "not valid JSON"),
        ("POST", "/messages", b"[" * 100_000, 400, "malformed_json", "nested too deeply"),
        ("POST", "/webhooks", b'{"url": ' * 5_000, 400, "malformed_json", "JSON"),
        ("POST", "/webhooks", b'{"url": "http://127.0.0.1:9/x", "events": ' + b"[" * 500 + b"]" * 500 + b"}",
         422, "invalid_input", "events"),
        ("PUT", "/preferences", b'{"language": "en", "language": "\xc3\x28"}', 400, "malformed_json", "JSON"),
        ("GET", "/messages?limit=%ff", None, 422, "invalid_input", "limit"),
        ("GET", "/messages?since=%ff%fe", None, 422, "invalid_input", "since"),
        ("GET", "/messages?direction=%00", None, 422, "invalid_input", "direction"),
        ("GET", "/messages?cursor=%ff%fe%00", None, 422, "invalid_input", "cursor"),
        ("GET", "/webhooks/x/deliveries?limit=1e9", None, 422, "invalid_input", "limit"),
    ]
    for method, path, raw, status, code, named in cases:
        reply = stack.api.call(method, path, raw=raw)
        where = (method, path, (raw or b"")[:40], reply.status, reply.body[:200])
        assert reply.status == status and reply.json["error"]["code"] == code, where
        assert named in reply.json["error"]["message"] + json.dumps(reply.json["error"]["details"]), where
    # Filters that match nothing are not errors: nothing is found.
    assert stack.api.call("GET", "/messages?clientId=%ff%fe&chat=%00").json == {"items": [], "nextCursor": None}


BODIES = {  # route: (a valid body, field -> type)
    ("POST", "/clients"): ({}, {"clientId": str, "name": str}),
    ("POST", "/messages"): ({"to": TO, "text": "oi"}, {"to": str, "text": str, "clientId": str, "media": dict}),
    ("POST", "/clients/loja/messages"): ({"to": TO, "text": "oi"}, {"to": str, "text": str, "media": dict}),
    ("POST", "/clients/loja/pairing-code"): ({"phoneNumber": TO}, {"phoneNumber": str}),
    ("POST", "/webhooks"): ({"url": "http://127.0.0.1:9/x"}, {"url": str, "events": list, "secret": str}),
    ("POST", "/auth/login"): ({"username": "admin", "password": "x" * 12}, {"username": str, "password": str}),
    ("POST", "/auth/password"): ({"oldPassword": "x" * 12, "newPassword": "y" * 12},
                                 {"oldPassword": str, "newPassword": str}),
    ("POST", "/auth/keys"): ({"name": "erp"}, {"name": str}),
    ("PUT", "/preferences"): ({}, {"language": str, "notifications": bool, "cardOrder": list}),
}
WRONG = {str: [7, 1.5, True, ["a"], {"a": 1}], bool: ["true", 1, [True], {}], list: ["a", 7, {"a": 1}, True],
         dict: ["a", 7, ["a"], True]}
MEDIA = {"data": str, "mimetype": str, "filename": str, "caption": str}


def test_a_wrong_type_in_any_field_is_refused_naming_the_field(stack: Stack) -> None:
    stack.pool.add("loja")
    before = stack.api.call("GET", "/preferences").json
    refused = []
    for (method, path), (valid, fields) in BODIES.items():
        for body in (["a"], "a", 7, None):  # not an object at all
            raw = json.dumps(body).encode()
            refused.append((method, path, "(body)", stack.api.call(method, path, raw=raw)))
        for name, kind in fields.items():
            for wrong in WRONG[kind]:
                refused.append((method, path, name, stack.api.call(method, path, {**valid, name: wrong})))
    for name, kind in MEDIA.items():
        media = {"data": "JVBERi0xLjQK", "mimetype": "application/pdf"}
        for wrong in WRONG[kind]:
            refused.append(("POST", "/messages", name,
                            stack.api.call("POST", "/messages", {"to": TO, "media": {**media, name: wrong}})))

    assert len(refused) > 150
    for method, path, name, reply in refused:
        where = (method, path, name, reply.status, reply.body[:200])
        assert reply.status in (400, 422), where
        if name != "(body)":
            assert reply.json["error"]["details"].get("field") == name or name in reply.json["error"]["message"], where
    assert [c["clientId"] for c in stack.api.call("GET", "/clients/all").json] == ["loja"]
    assert stack.api.call("GET", "/messages").json["items"] == []
    assert stack.api.call("GET", "/preferences").json == before
    assert stack.api.call("GET", "/auth/keys").json == [k.to_dict() for k in stack.auth.list_api_keys()]


# -- media ------------------------------------------------------------------------------------------------------

def _media(mimetype: str, raw: bytes | None = None, *, b64: str | None = None, **extra: str) -> dict:
    """A send body with media."""
    return {"to": TO, "media": {"mimetype": mimetype, "data": b64 or base64.b64encode(raw).decode(), **extra}}


EXE = b"MZ" + b"\0" * 58 + (64).to_bytes(4, "little") + b"PE\0\0" + os.urandom(2000)


def test_media_too_large_or_not_what_it_says_is_refused(stack: Stack, settings) -> None:
    cases = [  # body, code, words in the message
        (_media("image/png", b64="A" * ((16 * 1024 * 1024 + 3) // 3 * 4 + 4)), "invalid_media", "limit of 16 MB"),
        (_media("application/pdf", b64="A" * ((100 * 1024 * 1024 + 3) // 3 * 4 + 4)), "invalid_media",
         "limit of 100 MB"),
        ({"to": TO, "text": "x" * 65_537}, "invalid_text", "the limit is 65,536"),
        (_media("image/jpeg", b"%PDF-1.4\n" + os.urandom(500)), "invalid_media", "a PDF document, not image/jpeg"),
        (_media("image/png", EXE), "invalid_media", "a Windows program, not image/png"),
        (_media("application/pdf", b"PK\x03\x04" + os.urandom(500)), "invalid_media", "a ZIP archive"),
        (_media("audio/ogg", b"\x89PNG\r\n\x1a\n" + os.urandom(500)), "invalid_media", "a PNG image, not audio"),
        (_media("video/mp4", b"\x7fELF" + os.urandom(500)), "invalid_media", "a program (ELF)"),
        (_media("image/png\r\nX-Injected: 1", os.urandom(50)), "invalid_media", "MIME type"),
    ]
    for body, code, words in cases:
        reply = stack.api.call("POST", "/messages", body)
        assert reply.status == 422, (code, reply.body[:300])
        assert reply.json["error"]["code"] == code and words in reply.json["error"]["message"], reply.json
    media = settings.data_dir / "media"  # its kept/ folder (media sent or received, backend/media/) may exist, empty
    assert not media.exists() or [p for p in media.rglob("*") if p.is_file()] == [], "nothing refused was kept"

    # A file name is only shown to the contact: it never names a file here.
    name = "../../../../etc/cron.d/x\\..\\evil.pdf"
    accepted = stack.api.call("POST", "/messages", _media("application/pdf", b"%PDF-1.4\n", filename=name))
    assert accepted.status == 202 and accepted.json["media"]["filename"] == name
    assert [p.name for p in media.iterdir() if p.is_file()] == [accepted.json["id"]]
    assert not [p for p in settings.data_dir.parent.rglob("*") if "cron" in p.name or "evil" in p.name]


# -- HTML in the windows -----------------------------------------------------------------------------------------

PWN = "window.__pwned=1"
HTML = {
    "number": f'<img src=x onerror="{PWN}"><b>Loja</b>',
    "key": f'<img src=x onerror="{PWN}">',
    "contact": f"<script>{PWN}</script>Maria",
    "text": f'Olá <img src=x onerror="{PWN}"> <a href="javascript:{PWN}">clique</a>',
    "file": f'<svg onload="{PWN}">nota.pdf',
    "caption": f'<iframe src="javascript:{PWN}"></iframe>legenda',
    "browser": f'/opt/<img src=x onerror="{PWN}">/chrome',
}
CONTACT = "5521955554444"


def _seed(data: Path, password: str) -> None:
    """A data folder whose every name and text holds HTML, as an API caller or a contact could make them."""
    auth = AuthService.in_folder(data, scrypt=FAST_SCRYPT)
    auth.reset_password(password)
    auth.create_api_key(HTML["key"])
    SessionStore(data / "whatsapp-sessions.json").save(
        {"clientId": "loja", "name": HTML["number"], "status": "disconnected", "reason": "manual",
         "phoneNumber": "5511999990001", "metadata": {}})
    store = MessageStore(data / "messages.db")
    now = int(time.time())
    store.add_incoming([
        ("loja", "a" * 32, {"id": "false_1", "from": f"{CONTACT}@c.us", "type": "chat", "body": HTML["text"],
                            "notifyName": HTML["contact"], "t": now - 5}),
        ("loja", "b" * 32, {"id": "false_2", "from": f"{CONTACT}@c.us", "type": "document", "caption": HTML["caption"],
                            "mimetype": "application/pdf", "filename": HTML["file"], "size": 2048, "t": now}),
    ])
    store.close()
    PreferencesStore(data / "preferences.json").update({"browserPath": HTML["browser"]})


@pytest.fixture
def hostile_app(tmp_path: Path, sim) -> Iterator[AppProcess]:
    """app.py on the seeded folder (no number started)."""
    _seed(tmp_path / "dados", "senha-da-loja-1")
    app = AppProcess(tmp_path / "dados", sim.url).start("--no-restore")
    yield app
    app.stop()


def _nothing_ran(page: Page) -> None:
    """No injected element exists and no injected script or handler ran."""
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x], script:not([src]), iframe, svg[onload], a[href^=javascript]").count() == 0


@pytest.mark.browser
def test_html_in_names_and_texts_shows_as_text_and_runs_nothing(hostile_app: AppProcess) -> None:
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            log_in(page, hostile_app.url, "senha-da-loja-1")
            expect(page.locator("#keys .key-name")).to_have_text(HTML["key"])
            expect(page.locator("#browser-path")).to_have_value(HTML["browser"])
            _nothing_ran(page)

            page.goto(hostile_app.url + "/ui/pool.html")
            expect(page.locator('.card[data-client-id="loja"] h3')).to_have_text(HTML["number"])
            _nothing_ran(page)

            page.goto(hostile_app.url + "/ui/chat.html?client=loja")
            item = page.locator(".chat-item").first
            expect(item.locator(".chat-preview")).to_have_text(f"{HTML['file']} · {HTML['caption']}")
            item.click()
            expect(item.locator(".chat-name")).to_have_text(HTML["contact"])  # learnt from the thread
            expect(page.locator(".bubble.in .text")).to_have_count(2)
            assert sorted(page.locator(".bubble.in .text").all_text_contents()) == sorted([HTML["text"],
                                                                                           HTML["caption"]])
            expect(page.locator(".bubble.in .file")).to_have_text(re.compile(re.escape("📎 " + HTML["file"])))
            _nothing_ran(page)
            assert errors == []
        finally:
            browser.close()
