"""Input checks that run before anything reaches the browser."""

from __future__ import annotations

import base64

import pytest

from backend.errors import InvalidClientId, InvalidMedia, InvalidNumber
from backend.validation import Media, check_client_id, decode_media, media_kind, normalize_number


@pytest.mark.parametrize("raw, digits", [
    ("5511999990001", "5511999990001"),
    ("+55 (11) 99999-0001", "5511999990001"),
    ("5511999990001@c.us", "5511999990001"),
    ("554188887777", "554188887777"),      # Brazilian mobile registered before the ninth digit
    ("+1 415 555 2671", "14155552671"),
    ("+351 912 345 678", "351912345678"),
])
def test_numbers_with_country_code_are_accepted(raw, digits):
    assert normalize_number(raw) == digits


@pytest.mark.parametrize("raw, says", [
    ("11999990001", "country code"),
    ("5511abc90001", "digits only"),
    ("", "empty"),
    ("+55 11 9999", "country code"),
    ("12345678901234567", "country code"),
])
def test_bad_numbers_say_why(raw, says):
    with pytest.raises(InvalidNumber) as err:
        normalize_number(raw)
    assert says in err.value.message


@pytest.mark.parametrize("client_id", ["../etc", "a/b", "", "x" * 65, "vendas loja", "..", "c:\\\\x", "ç"])
def test_client_ids_that_could_escape_the_data_folder_are_refused(client_id):
    with pytest.raises(InvalidClientId):
        check_client_id(client_id)


@pytest.mark.parametrize("client_id", ["client_1732205400123", "cliente_vendas", "Suporte-2", "x" * 64])
def test_good_client_ids(client_id):
    assert check_client_id(client_id) == client_id


@pytest.mark.parametrize("mime, as_document, kind", [
    ("image/jpeg", False, "image"),
    ("video/mp4", False, "video"),
    ("audio/ogg", False, "audio"),
    ("application/pdf", False, "document"),
    ("image/png", True, "document"),
])
def test_media_kind_follows_the_mime_type(mime, as_document, kind):
    assert media_kind(mime, as_document) == kind


def test_media_accepts_a_data_url_and_returns_the_bytes():
    payload = b"\x89PNG\r\n" + bytes(range(256))
    url = "data:image/png;base64," + base64.b64encode(payload).decode()
    assert decode_media(Media("image/png", url), "image") == payload


def test_empty_media_is_refused():
    with pytest.raises(InvalidMedia):
        decode_media(Media("image/png", ""), "image")


@pytest.mark.parametrize("raw, region, digits", [
    ("(11) 99999-0001", "BR", "5511999990001"),
    ("11 99999-0001", "BR", "5511999990001"),
    ("5511999990001", "BR", "5511999990001"),       # already international: left as it is
    ("+1 415 555 2671", "BR", "14155552671"),       # a + always means an international number
    ("(415) 555-2671", "US", "14155552671"),
])
def test_a_default_region_reads_national_numbers(raw, region, digits):
    assert normalize_number(raw, region) == digits


def test_without_a_region_a_national_number_is_refused():
    with pytest.raises(InvalidNumber):
        normalize_number("(11) 99999-0001")
