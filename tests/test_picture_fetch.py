"""The profile picture fetcher's rules (backend/contacts/picture_fetch.py), each against a real server on a free
port playing a hostile CDN (tests/picture_cdn.py), and the disk cache's files (backend/store/pictures.py). The same
rules through the API, with the URL coming from the simulator's page: tests/test_pictures.py."""

from __future__ import annotations

import os
import stat

import pytest

from backend.contacts.picture_fetch import MAX_BYTES, PictureFetcher, PictureRefused, sniff
from backend.store.pictures import PictureFiles
from tests.picture_cdn import GOOD_PNG, PictureCdn


@pytest.fixture
def cdn():
    with PictureCdn() as server:
        yield server


def refusal(fetcher: PictureFetcher, url: str) -> str:
    """The reason a fetch was refused for."""
    with pytest.raises(PictureRefused) as refused:
        fetcher.fetch(url)
    assert (refused.value.status, refused.value.code) == (502, "picture_refused")
    return refused.value.details["reason"]


def test_an_allowed_origin_gives_its_picture_with_the_type_read_from_the_bytes(cdn):
    fetched = PictureFetcher([cdn.origin]).fetch(cdn.url("/ok.png"))
    assert (fetched.data, fetched.mimetype) == (GOOD_PNG, "image/png")


def test_what_a_hostile_server_answers_is_refused(cdn):
    fetcher = PictureFetcher([cdn.origin])
    assert refusal(fetcher, cdn.url("/redirect.png")) == "redirect"
    assert refusal(fetcher, cdn.url("/big-declared.png")) == "too_large"
    assert refusal(fetcher, cdn.url("/big-streamed.png")) == "too_large"
    assert refusal(fetcher, cdn.url("/page.png")) == "not_an_image"
    assert refusal(fetcher, cdn.url("/gzip.png")) == "encoding"
    assert refusal(fetcher, cdn.url("/missing.png")) == "status"
    assert cdn.hits["/ok.png"] == 0  # the redirect was not followed


def test_only_https_to_whatsapps_picture_host_without_the_setting(cdn):
    fetcher = PictureFetcher()  # the default: no extra origin
    assert refusal(fetcher, cdn.url("/ok.png")) == "not_https"
    assert refusal(fetcher, f"https://127.0.0.1:{cdn.port}/ok.png") == "host_not_allowed"
    assert refusal(fetcher, "http://pps.whatsapp.net/v/t61.24694-24/1_n.jpg") == "not_https"
    assert refusal(fetcher, "https://pps.whatsapp.net.evil.example/v/1_n.jpg") == "host_not_allowed"
    assert refusal(fetcher, "https://evil.example/pps.whatsapp.net/1_n.jpg") == "host_not_allowed"
    assert refusal(fetcher, "https://pps.whatsapp.net:8443/v/1_n.jpg") == "host_not_allowed"
    assert refusal(fetcher, "https://user:pw@pps.whatsapp.net/v/1_n.jpg") == "bad_url"
    assert refusal(fetcher, "javascript:alert(1)") == "not_https"
    assert refusal(fetcher, "https://pps.whatsapp.net/a b") == "bad_url"
    assert sum(cdn.hits.values()) == 0  # nothing reached the server


def test_an_allowed_name_that_resolves_to_this_machine_is_refused(cdn):
    """No IP literal, no private address: a picture host named `localhost` (127.0.0.1) is refused before any
    connection, and so would be pps.whatsapp.net if DNS ever answered a private address."""
    fetcher = PictureFetcher(hosts=frozenset({"localhost", "127.0.0.1"}))
    assert refusal(fetcher, f"https://localhost:{cdn.port}/ok.png") == "host_not_allowed"  # the port, first
    fetcher_443 = PictureFetcher(hosts=frozenset({"localhost", "127.0.0.1"}))
    assert refusal(fetcher_443, "https://localhost/ok.png") == "host_not_allowed"
    assert refusal(fetcher_443, "https://127.0.0.1/ok.png") == "host_not_allowed"


def test_the_type_comes_from_the_magic_bytes_only():
    assert sniff(GOOD_PNG) == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0" + b"JFIF") == "image/jpeg"
    assert sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"GIF89a") is None and sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None
    assert MAX_BYTES == 1024 * 1024


def test_kept_files_are_private_named_by_hashes_and_expire(tmp_path):
    now = [1_000_000.0]
    files = PictureFiles(tmp_path / "pictures", clock=lambda: now[0])
    files.keep("vendas", "5511911110001@c.us", GOOD_PNG)
    files.keep("vendas", "../../etc/passwd", None)

    kept = files.read("vendas", "5511911110001@c.us", 100, 10)
    miss = files.read("vendas", "../../etc/passwd", 100, 10)
    written = [p for p in (tmp_path / "pictures").rglob("*") if p.is_file()]
    assert kept is not None and kept.data == GOOD_PNG and miss is not None and miss.data is None
    assert len(written) == 2 and all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in written)
    assert all("5511911110001" not in str(p) and "passwd" not in str(p) and "vendas" not in str(p) for p in written)

    now[0] += 11  # the miss is past its 10 s, the picture within its 100 s
    assert files.read("vendas", "../../etc/passwd", 100, 10) is None
    assert files.read("vendas", "5511911110001@c.us", 100, 10) is not None
    now[0] += 100
    assert files.read("vendas", "5511911110001@c.us", 100, 10) is None
    assert files.sweep(50) == 2 and not [p for p in (tmp_path / "pictures").rglob("*") if p.is_file()]


def test_a_removed_number_takes_its_pictures_with_it(tmp_path):
    files = PictureFiles(tmp_path / "pictures")
    files.keep("vendas", "5511911110001@c.us", GOOD_PNG)
    files.keep("suporte", "5511911110001@c.us", GOOD_PNG)
    files.forget("vendas")
    assert files.read("vendas", "5511911110001@c.us", 100, 10) is None
    assert files.read("suporte", "5511911110001@c.us", 100, 10) is not None
