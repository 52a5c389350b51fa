"""WhatsAppClient end to end: real Chromium, the real engine, the WhatsApp Web simulator."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import signal
import subprocess

import pytest
import zxingcpp
from PIL import Image

from backend.config import Settings
from backend.errors import ClientNotReady, Conflict, EngineTimeout, NumberNotOnWhatsApp
from backend.whatsapp.client import WhatsAppClient
from tests.conftest import PHONE, link, wait_until


def decode_qr(data_url: str) -> str:
    """Read back the text of a QR code image, as a phone camera would."""
    assert data_url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    (result,) = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return result.text


def test_qr_is_the_sites_code_rotates_and_ends_idle(make_client, sim):
    sim.control.configure(first_qr_ms=1200, qr_ms=600, max_qrs=3)
    client, rec = make_client()

    info = client.initialize()

    assert info["status"] == "qr_ready" and info["isReady"] is False
    live = sim.control.state()["sessions"][0]["qr"]
    assert decode_qr(info["qrCode"]) == live, "the QR shown is the one WhatsApp Web is showing"
    assert info["metadata"]["lastQRAt"] is not None
    rec.wait_for("disconnected", timeout=10)
    codes = [e.data["code"] for e in rec.named("qr")]
    assert len(codes) == 3 and len(set(codes)) == 3, "each rotation shows a new code"
    assert [decode_qr(e.data["qrCode"]) for e in rec.named("qr")] == codes
    assert client.get_info()["status"] == "disconnected"
    assert client.get_info()["reason"] == "qr_timeout"
    assert client.get_info()["qrCode"] is None
    wait_until(lambda: not sim.control.state()["sessions"], what="browser closed after the codes ran out")


@pytest.mark.parametrize("main_ready_on_qr", [True, False], ids=["real-wa-js-order", "main-ready-after-login"])
def test_scan_links_the_number(make_client, sim, main_ready_on_qr):
    sim.control.configure(main_ready_on_qr=main_ready_on_qr)
    client, rec = make_client()

    info = link(client, rec, sim)

    assert info["status"] == "ready" and info["isReady"] is True
    assert info["phoneNumber"] == PHONE
    assert info["qrCode"] is None
    assert info["metadata"]["connectedAt"] is not None
    assert rec.statuses() == ["initializing", "qr_ready", "authenticated", "ready"]
    assert rec.named("ready")[0].data == {"phoneNumber": PHONE}


def test_stale_qr_cannot_link(make_client, sim):
    sim.control.configure(first_qr_ms=500, qr_ms=3000)
    client, rec = make_client()
    client.initialize()
    first = rec.named("qr")[0].data["code"]
    rec.wait_for("qr", lambda d: d["code"] != first)

    with pytest.raises(Exception):
        sim.control.scan(first, PHONE)
    assert client.get_info()["status"] == "qr_ready"


def test_pairing_code_links_the_number(make_client, sim):
    client, rec = make_client()
    client.initialize()

    code = client.request_pairing_code("+55 11 99999-0002")

    assert len(code) == 8 and code.isalnum()
    assert client.get_info()["pairingCode"] == code
    assert rec.named("code")[0].data["code"] == code
    sim.control.pair(code)
    rec.wait_for("ready")
    assert client.get_info()["phoneNumber"] == "5511999990002"


def test_pairing_code_needs_the_login_screen(make_client, sim):
    client, rec = make_client()
    link(client, rec, sim)

    with pytest.raises(Conflict):
        client.request_pairing_code("5511999990002")


def test_text_and_every_media_type_arrive_byte_exact(make_client, sim):
    client, rec = make_client()
    link(client, rec, sim)
    files = {
        "image": ("image/png", "foto.png", os.urandom(70_000)),
        "document": ("application/pdf", "contrato.pdf", os.urandom(300_000)),
        "audio": ("audio/ogg", "audio.ogg", os.urandom(20_000)),
        "video": ("video/mp4", "video.mp4", os.urandom(5 * 1024 * 1024 + 7)),  # crosses in two chunks
    }

    text = client.send_message("5511988887777", "Olá! Pedido #123 confirmado ✅")
    for kind, (mime, name, data) in files.items():
        client.send_media("5511988887777", {"mimetype": mime, "data": base64.b64encode(data).decode(),
                                            "filename": name}, {"caption": f"legenda {kind}"})

    sent = sim.control.sent(PHONE)
    assert text["id"] == sent[0]["id"] and text["to"] == "5511988887777@c.us"
    assert sent[0]["type"] == "chat" and sent[0]["text"] == "Olá! Pedido #123 confirmado ✅"
    for record, (kind, (mime, name, data)) in zip(sent[1:], files.items()):
        assert record["type"] == kind and record["mimetype"] == mime and record["filename"] == name
        assert record["text"] == f"legenda {kind}"
        assert record["size"] == len(data) and record["sha256"] == hashlib.sha256(data).hexdigest()
        assert record["to"] == "5511988887777"
    assert client.get_info()["metadata"]["messageCount"] == 5


def test_voice_note_and_image_as_document(make_client, sim):
    client, rec = make_client()
    link(client, rec, sim)
    ogg = base64.b64encode(b"OggS" + os.urandom(500)).decode()
    png = base64.b64encode(os.urandom(900)).decode()

    client.send_media("5511988887777", {"mimetype": "audio/ogg", "data": ogg}, {"sendAudioAsVoice": True})
    client.send_media("5511988887777", {"mimetype": "image/png", "data": png, "filename": "scan.png"},
                      {"sendMediaAsDocument": True})

    voice, doc = sim.control.sent(PHONE)
    assert voice["type"] in ("ptt", "audio") and voice.get("isPtt", voice["type"] == "ptt")
    assert doc["type"] == "document" and doc["filename"] == "scan.png"


def test_incoming_message_and_acks(make_client, sim):
    client, rec = make_client()
    link(client, rec, sim)

    sim.control.incoming(PHONE, "5521977776666", "Oi, tudo bem?")
    msg = rec.wait_for("message").data["message"]
    assert msg["from"] == "5521977776666@c.us" and msg["body"] == "Oi, tudo bem?"
    assert msg["type"] == "chat" and msg["fromMe"] is False

    sent = client.send_message("5521977776666", "Tudo ótimo!")
    rec.wait_for("message_ack", lambda d: d["id"] == sent["id"] and d["ack"] == 3)
    acks = [e.data["ack"] for e in rec.named("message_ack") if e.data["id"] == sent["id"]]
    assert acks == sorted(acks) and acks[-2:] == [2, 3], f"sent, delivered, then read: {acks}"
    assert all(not e.data["message"]["fromMe"] for e in rec.named("message")), "our own sends are not incoming"


def test_phone_unlinking_the_device_disconnects_with_logged_out(make_client, sim):
    client, rec = make_client()
    link(client, rec, sim)

    sim.control.unlink(PHONE)

    rec.wait_for("disconnected")
    info = client.get_info()
    assert info["status"] == "disconnected" and info["reason"] == "logged_out"
    with pytest.raises(ClientNotReady):
        client.send_message("5511988887777", "ainda aí?")
    wait_until(lambda: not sim.control.state()["sessions"], what="browser closed after unlink")


def test_network_down_and_back(make_client, sim):
    client, rec = make_client()
    link(client, rec, sim)

    sim.control.network(False)
    rec.wait_for("disconnected")
    assert client.get_info()["reason"] == "network"
    with pytest.raises(ClientNotReady):
        client.send_message("5511988887777", "sem rede")
    sim.control.network(True)

    wait_until(lambda: client.get_info()["status"] == "ready", what="ready again")
    client.send_message("5511988887777", "voltou")
    assert [m["text"] for m in sim.control.sent(PHONE)] == ["voltou"]


def test_new_client_on_the_same_profile_is_ready_without_a_scan(make_client, sim, settings):
    first, rec = make_client("vendas")
    link(first, rec, sim)
    first.disconnect()
    assert first.get_info()["status"] == "disconnected" and first.get_info()["reason"] == "manual"

    again, rec2 = make_client("vendas")
    info = again.initialize()

    assert info["status"] == "ready" and info["phoneNumber"] == PHONE
    assert rec2.named("qr") == [], "no QR code: the login came back from the profile"
    assert rec2.statuses() == ["initializing", "authenticated", "ready"]


def test_reconnect_after_disconnect(make_client, sim):
    client, rec = make_client()
    link(client, rec, sim)
    client.disconnect()

    info = client.reconnect()

    assert info["status"] == "ready"
    client.send_message("5511988887777", "de volta")


def test_logout_unlinks_and_deletes_the_profile(make_client, sim, settings):
    client, rec = make_client("suporte")
    link(client, rec, sim)
    profile = settings.sessions_dir / "suporte"
    assert profile.is_dir()

    client.logout()

    assert not profile.exists()
    assert client.get_info()["status"] == "disconnected" and client.get_info()["reason"] == "logged_out"
    assert sim.control.state()["devices"] == []
    assert client.reconnect()["status"] == "qr_ready", "a new login needs a new scan"


def test_killed_browser_is_noticed(make_client, sim, settings):
    client, rec = make_client("morto")
    link(client, rec, sim)
    profile = str(settings.sessions_dir / "morto")

    pids = subprocess.run(["pgrep", "-f", f"user-data-dir={profile}"], capture_output=True, text=True).stdout.split()
    assert pids
    for pid in pids:
        os.kill(int(pid), signal.SIGKILL)

    rec.wait_for("disconnected")
    assert client.get_info()["reason"] in ("browser_closed", "browser_crashed")


def test_engine_user_agent_is_not_headless(make_client, sim):
    client, rec = make_client()
    client.initialize()

    (session,) = sim.control.state()["sessions"]
    assert "HeadlessChrome" not in session["userAgent"] and "Chrome/" in session["userAgent"]


def test_headless_user_agent_is_refused_with_a_clear_error(runtime, sim, tmp_path):
    from backend.engine import EngineRuntime

    headless_ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
    settings = Settings(data_dir=tmp_path, whatsapp_url=sim.url, load_timeout_s=3, user_agent=headless_ua)
    engine = EngineRuntime(settings)
    client = WhatsAppClient("c1", engine, settings)
    try:
        with pytest.raises(EngineTimeout) as err:
            client.initialize()
    finally:
        engine.stop()
    assert "did not become ready" in err.value.message
    info = client.get_info()
    assert info["status"] == "error" and info["reason"] == "load_failed"
    assert info["metadata"]["lastError"] == err.value.message


def test_unknown_number_and_the_ninth_digit(make_client, sim):
    sim.control.set_numbers(["5511988887777", "554188887777"])  # the second registered before the 9 existed
    client, rec = make_client()
    link(client, rec, sim)

    assert client.check_number("5511912345678") == {"number": "5511912345678", "exists": False, "id": None}
    with pytest.raises(NumberNotOnWhatsApp):
        client.send_message("5511912345678", "alô?")
    found = client.check_number("+55 41 98888-7777")
    assert found == {"number": "5541988887777", "exists": True, "id": "554188887777@c.us"}

    sent = client.send_message("5541988887777", "nono dígito")
    assert sent["to"] == "554188887777@c.us"
    assert [m["to"] for m in sim.control.sent(PHONE)] == ["554188887777"]


@pytest.mark.parametrize("to, text, code", [
    ("55 11 9999x-0001", "oi", "invalid_number"),
    ("11999990001", "oi", "invalid_number"),          # no country code
    ("", "oi", "invalid_number"),
    ("5511988887777", "", "invalid_text"),
    ("5511988887777", "   ", "invalid_text"),
    ("5511988887777", "x" * 65_537, "invalid_text"),
])
def test_bad_text_input_is_refused_clearly(make_client, sim, to, text, code):
    client, rec = make_client()
    link(client, rec, sim)

    with pytest.raises(Exception) as err:
        client.send_message(to, text)

    assert getattr(err.value, "code", None) == code and err.value.status == 422
    assert sim.control.sent(PHONE) == []


def test_longest_text_allowed_is_sent(make_client, sim):
    client, rec = make_client()
    link(client, rec, sim)

    client.send_message("5511988887777", "y" * 65_536)

    assert len(sim.control.sent(PHONE)[0]["text"]) == 65_536


@pytest.mark.parametrize("media, options, message", [
    ({"mimetype": "image/png", "data": "não é base64!"}, {}, "not valid base64"),
    ({"mimetype": "", "data": "aGVsbG8="}, {}, "MIME type"),
    ({"mimetype": "image/png", "data": base64.b64encode(b"\0" * (16 * 1024 * 1024 + 1)).decode()}, {}, "16 MB"),
    ({"mimetype": "application/pdf", "data": base64.b64encode(b"\0" * (100 * 1024 * 1024 + 1)).decode()}, {},
     "100 MB"),
])
def test_bad_media_is_refused_clearly(make_client, sim, media, options, message):
    client, rec = make_client()
    link(client, rec, sim)

    with pytest.raises(Exception) as err:
        client.send_media("5511988887777", media, options)

    assert err.value.code == "invalid_media" and message in err.value.message
    assert sim.control.sent(PHONE) == []


def test_sending_while_not_ready_is_refused(make_client, sim):
    client, rec = make_client()
    client.initialize()  # waiting for a scan

    with pytest.raises(ClientNotReady) as err:
        client.send_message("5511988887777", "oi")

    assert err.value.status == 409 and err.value.details["status"] == "qr_ready"


def test_qr_also_comes_as_svg_rendered_once(make_client, sim):
    import xml.etree.ElementTree as ET

    client, rec = make_client()
    client.initialize()

    svg = client.qr.svg

    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    paths = [el for el in root.iter() if el.tag.endswith("path")]
    assert paths and len(paths[0].get("d", "")) > 1000, "the symbol's modules are drawn"
    assert client.qr.svg is svg, "rendered once per code"


@pytest.mark.browser
def test_stopping_the_engine_closes_every_browser(sim, tmp_path):
    from backend.engine import EngineRuntime

    settings = Settings(data_dir=tmp_path / "dados", whatsapp_url=sim.url, load_timeout_s=20)
    engine = EngineRuntime(settings)
    client = WhatsAppClient("fim", engine, settings)
    client.initialize()
    profile = str(settings.sessions_dir / "fim")
    assert subprocess.run(["pgrep", "-f", f"user-data-dir={profile}"], capture_output=True).returncode == 0

    engine.stop()

    assert client.get_info()["status"] == "disconnected" and client.get_info()["reason"] == "shutdown"
    left = subprocess.run(["pgrep", "-f", f"user-data-dir={profile}"], capture_output=True, text=True).stdout
    assert left == "", "no Chromium process is left behind"
