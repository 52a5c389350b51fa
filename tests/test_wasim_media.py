"""The simulator's WPP.chat.downloadMedia, in real Chromium: the shape and failure modes of WA-JS 4.6.0's
(`downloadMedia(id: string): Promise<Blob>`; msg_not_found, message_not_contains_media, media_not_found)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.test_wasim import browser, playwright  # noqa: F401, F811 - the simulator tests' Chromium, shared
from wasim import SimServer
from wasim.browser import UA, Tab

FAST = {"first_qr_ms": 600, "qr_ms": 300, "max_qrs": 3, "ack_delivered_ms": 100, "ack_read_ms": 150,
        "load_ms": 50, "require_create_chat": True, "main_ready_on_qr": False}
PHONE = "5511999990001"
PEER = "5511988887777"
# The page's answer: the Blob's type and bytes (base64), or the thrown value's code, as a caller sees them.
DOWNLOAD = """(id) => WPP.chat.downloadMedia(id).then(
    async (b) => ({type: b.type, b64: btoa(String.fromCharCode(...new Uint8Array(await b.arrayBuffer())))}),
    (e) => ({code: e.code, isError: e instanceof Error}))"""


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimServer]:
    """One simulator for the module."""
    with SimServer(**FAST) as server:
        yield server


@pytest.fixture
def linked(browser: Browser, sim_server: SimServer) -> Iterator[Tab]:
    """A fresh profile, its tab logged in as PHONE on a reset simulator."""
    sim_server.control.wait_for(lambda s: not s["sessions"], timeout=5)
    sim_server.control.reset()
    context: BrowserContext = browser.new_context(user_agent=UA)
    tab = Tab(context.new_page(), sim_server.url).open()
    tab.link(sim_server, PHONE)
    yield tab
    context.close()


def _incoming(sim: SimServer, kind: str, data: bytes, mimetype: str) -> str:
    media = {"type": kind, "mimetype": mimetype, "data": base64.b64encode(data).decode()}
    return sim.control.incoming(PHONE, PEER, media=media)["id"]


def test_download_media_gives_the_bytes_as_a_blob_of_the_mimetype(linked: Tab, sim_server: SimServer):
    voice = bytes(range(256)) * 40
    key = _incoming(sim_server, "ptt", voice, "audio/ogg; codecs=opus")
    msg = linked.wait_event("chat.new_message", lambda m: m["id"]["_serialized"] == key)
    assert msg["filehash"] == base64.b64encode(hashlib.sha256(voice).digest()).decode()
    got = linked.js(DOWNLOAD, key)
    assert got["type"] == "audio/ogg; codecs=opus" and base64.b64decode(got["b64"]) == voice


def test_expired_media_text_messages_and_unknown_ids_fail_as_wa_js_does(linked: Tab, sim_server: SimServer):
    key = _incoming(sim_server, "image", b"\xff\xd8photo", "image/jpeg")
    linked.wait_event("chat.new_message", lambda m: m["id"]["_serialized"] == key)
    sim_server.control.expire_media(PHONE, key)
    # WA-JS throws a plain object, not an Error, when the media server has nothing.
    assert linked.js(DOWNLOAD, key) == {"code": "media_not_found", "isError": False}
    text = sim_server.control.incoming(PHONE, PEER, "só texto")["id"]
    linked.wait_event("chat.new_message", lambda m: m["id"]["_serialized"] == text)
    assert linked.js(DOWNLOAD, text) == {"code": "message_not_contains_media", "isError": True}
    assert linked.js(DOWNLOAD, key[:-4] + "0000") == {"code": "msg_not_found", "isError": True}
