"""Contacts' profile pictures through ZapPool's proxy (issue 16 §1 and §4), on the API on a real waitress server
and the simulator in real Chromium: the picture is served as checked image bytes, a contact without one is a 404,
both answers are kept (WhatsApp is not asked again), a hostile picture URL given by the page is refused and
nothing is kept, and the desktop windows' signed links work while forged ones do not."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backend.contacts.picture_fetch import PictureFetcher
from backend.contacts.pictures import ProfilePictures
from tests.api_support import PHONE, EventStream, Stack, api_stack, connect
from tests.desktop_support import error, link, ok, sign_in
from tests.picture_cdn import GOOD_PNG, PictureCdn
from tests.test_reliability_disk import Disk, disk  # noqa: F401 - the 64 MB tmpfs fixture, filled on demand

ANA, BRUNO, CARLA = "5511911110001", "5511922220002", "5511933330003"


@pytest.fixture
def cdn() -> Iterator[PictureCdn]:
    with PictureCdn() as server:
        yield server


@pytest.fixture
def pictures(runtime, settings, sim, cdn) -> Iterator[Stack]:
    """The API stack with the simulator's origin (and the hostile CDN's) allowed, as the demo mode allows its own."""
    settings.picture_origins = [sim.url, cdn.origin]
    with api_stack(runtime, settings) as made:
        yield made


def kept_files(stack: Stack) -> list[Path]:
    """Every file of the picture cache."""
    return [p for p in (stack.pool.settings.data_dir / "pictures").rglob("*") if p.is_file()]


def test_a_picture_is_served_checked_and_kept_and_a_miss_is_kept_too(pictures, sim):
    sim.control.contacts(PHONE, [{"number": ANA, "name": "Ana", "picture": True}, {"number": BRUNO, "name": "Bruno"}])
    connect(pictures, sim)

    first = pictures.api.call("GET", f"/clients/vendas/contacts/{ANA}/picture")
    none = pictures.api.call("GET", f"/clients/vendas/contacts/{BRUNO}@c.us/picture")
    asked = sim.control.state()["pictures"]
    again = pictures.api.call("GET", f"/clients/vendas/contacts/{ANA}@c.us/picture")
    none_again = pictures.api.call("GET", f"/clients/vendas/contacts/{BRUNO}/picture")

    assert first.status == 200 and first.body.startswith(b"\x89PNG\r\n\x1a\n")
    assert first.headers["Content-Type"] == "image/png"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Content-Security-Policy"] == "default-src 'none'"
    assert first.headers["Cache-Control"] == "private, max-age=3600"
    assert (none.status, none.json["error"]["code"]) == (404, "picture_not_found")
    assert asked == {"calls": 2, "fetches": 1}
    assert again.body == first.body and none_again.status == 404
    assert sim.control.state()["pictures"] == asked  # both answers came from the cache
    assert len(kept_files(pictures)) == 2
    assert pictures.api.call("DELETE", "/clients/vendas").status == 204
    assert kept_files(pictures) == []  # a removed number's pictures go with it


def test_two_windows_asking_at_once_fetch_once(pictures, sim):
    """The chat list and the header ask for the same contact together: WhatsApp is asked once."""
    sim.control.contacts(PHONE, [{"number": ANA, "picture": True}])
    connect(pictures, sim)
    with ThreadPoolExecutor(8) as together:
        answers = list(together.map(lambda _: pictures.api.call("GET", f"/clients/vendas/contacts/{ANA}/picture"),
                                    range(8)))
    assert {a.status for a in answers} == {200} and len({a.body for a in answers}) == 1
    assert sim.control.state()["pictures"] == {"calls": 1, "fetches": 1}


def test_a_full_disk_still_shows_the_picture(runtime, settings, sim, disk: Disk):
    """The cache is a saving, not a need: with no byte free the picture is served, only not kept."""
    settings.data_dir = disk.root / "dados"
    settings.picture_origins = [sim.url]
    with api_stack(runtime, settings) as stack:
        sim.control.contacts(PHONE, [{"number": ANA, "picture": True}])
        connect(stack, sim)
        disk.fill()
        try:
            shown = stack.api.call("GET", f"/clients/vendas/contacts/{ANA}/picture")
            again = stack.api.call("GET", f"/clients/vendas/contacts/{ANA}/picture")
        finally:
            disk.free()
        files = kept_files(stack)
    assert (shown.status, again.status) == (200, 200) and shown.body.startswith(b"\x89PNG")
    assert files == [] and sim.control.state()["pictures"]["fetches"] == 2


def test_bad_ids_and_unknown_numbers(pictures, sim):
    connect(pictures, sim)
    bad = pictures.api.call("GET", "/clients/vendas/contacts/..%5C..%5Cetc%3Cb%3E/picture")
    lid = pictures.api.call("GET", "/clients/vendas/contacts/12345678901234@lid/picture")
    unknown = pictures.api.call("GET", f"/clients/fantasma/contacts/{ANA}/picture")
    assert (bad.status, bad.json["error"]["details"]["field"]) == (422, "contactId")
    assert lid.status == 422
    assert (unknown.status, unknown.json["error"]["code"]) == (404, "not_found")
    assert sim.control.state()["pictures"]["calls"] == 0


def test_a_groups_picture_is_served_and_a_new_one_replaces_the_kept_one(pictures, sim):
    """A group's icon through the same proxy; when a member sets another, group_updated says so and the next look
    shows the new picture, not the one kept for a day. A group the number is not in shows it none."""
    connect(pictures, sim)
    gid = sim.control.group(ANA, "create", subject="Família", participants=[PHONE])["gid"]
    other = sim.control.group(ANA, "create", subject="Sem nós", participants=[BRUNO])["gid"]
    sim.control.group(ANA, "icon", groupId=other, picture=True)
    events = EventStream(pictures.server.url, "/events?types=group_updated", key=pictures.api.key)
    path = f"/clients/vendas/groups/{gid}/picture"

    none = pictures.api.call("GET", path)
    sim.control.group(ANA, "icon", groupId=gid, picture=True)
    events.wait_event("group_updated", lambda e: e["data"] == {"groupId": gid, "author": f"{ANA}@c.us",
                                                               "picture": True})
    first = pictures.api.call("GET", path)
    sim.control.group(ANA, "icon", groupId=gid, picture=True)
    events.wait_for(lambda evs: [e for e in evs if e["type"] == "group_updated"][1:], what="the second change")
    second = pictures.api.call("GET", path)
    the_windows_way = pictures.api.call("GET", f"/clients/vendas/contacts/{gid}/picture")
    not_ours = pictures.api.call("GET", f"/clients/vendas/groups/{other}/picture")

    assert (none.status, none.json["error"]["code"]) == (404, "picture_not_found")
    assert first.status == second.status == 200 and first.body.startswith(b"\x89PNG")
    assert second.body != first.body and the_windows_way.body == second.body
    assert (not_ours.status, not_ours.json["error"]["code"]) == (404, "picture_not_found")
    assert sim.control.state()["pictures"] == {"calls": 4, "fetches": 2}


def test_hostile_picture_urls_from_the_page_are_refused_and_nothing_is_kept(pictures, sim, cdn):
    urls = {"5511900000001": cdn.url("/redirect.png"), "5511900000002": cdn.url("/big-streamed.png"),
            "5511900000003": cdn.url("/page.png"), "5511900000004": "http://pps.whatsapp.net/v/t61.24694-24/1_n.jpg",
            "5511900000005": "https://evil.example/v/t61.24694-24/1_n.jpg",
            "5511900000006": f"https://127.0.0.1:{cdn.port}/ok.png"}
    sim.control.contacts(PHONE, [{"number": n, "picture": url} for n, url in urls.items()])
    connect(pictures, sim)

    answers = {n: pictures.api.call("GET", f"/clients/vendas/contacts/{n}/picture") for n in urls}

    reasons = {n[-1]: (a.status, a.json["error"]["code"], a.json["error"]["details"]["reason"])
               for n, a in answers.items()}
    assert reasons == {"1": (502, "picture_refused", "redirect"), "2": (502, "picture_refused", "too_large"),
                       "3": (502, "picture_refused", "not_an_image"), "4": (502, "picture_refused", "not_https"),
                       "5": (502, "picture_refused", "host_not_allowed"),
                       "6": (502, "picture_refused", "host_not_allowed")}
    assert all(a.headers["Content-Type"] == "application/json" for a in answers.values())
    assert kept_files(pictures) == []  # neither as a picture nor as a miss: the next look tries again
    assert cdn.hits["/ok.png"] == 0  # the redirect was not followed


def test_the_simulators_host_needs_the_setting(runtime, settings, sim, cdn):
    """Without Settings.picture_origins (the default) a loopback http URL is refused before any connection."""
    with api_stack(runtime, settings) as stack:
        sim.control.contacts(PHONE, [{"number": ANA, "picture": True}, {"number": BRUNO, "picture": cdn.url("/ok.png")}])
        connect(stack, sim)
        hosted = stack.api.call("GET", f"/clients/vendas/contacts/{ANA}/picture")
        local = stack.api.call("GET", f"/clients/vendas/contacts/{BRUNO}/picture")
        files = kept_files(stack)
    assert hosted.json["error"]["details"]["reason"] == local.json["error"]["details"]["reason"] == "not_https"
    assert sim.control.state()["pictures"]["fetches"] == 0 and sum(cdn.hits.values()) == 0
    assert files == []


@pytest.fixture
def desk_pictures(request, settings, cdn):
    """The desktop's bridge over a pool that allows the hostile CDN's origin."""
    settings.picture_origins = [cdn.origin]
    return request.getfixturevalue("desk")


def test_the_windows_signed_link_serves_the_numbers_pictures_and_nothing_else(desk_pictures, sim, cdn):
    """The desktop window asks the bridge once per number (contact_picture_link) and appends contact ids; the
    link is the credential: it works without a key, and a forged or another run's token does not."""
    desk = desk_pictures
    sim.control.contacts(PHONE, [{"number": ANA, "picture": cdn.url("/ok.png")}])
    sign_in(desk)
    link(desk, sim)
    base = ok(desk.bridge.contact_picture_link("vendas"))
    unknown = error(desk.bridge.contact_picture_link("fantasma"))
    token = base["url"].split("/")[2]
    rest = desk.rest()
    shown = rest.call("GET", f"{base['url']}{ANA}", key=None)
    none = rest.call("GET", f"{base['url']}{BRUNO}", key=None)
    forged = rest.call("GET", f"/picture-links/{token[:-4]}AAAA/{ANA}", key=None)
    earlier_run = ProfilePictures(desk.pool, desk.service.contacts.pictures.files, PictureFetcher()).link("vendas")
    other = rest.call("GET", f"{earlier_run['url']}{ANA}", key=None)

    assert base["url"].startswith("/picture-links/") and base["url"].endswith("/")
    assert unknown["code"] == "not_found"
    assert (shown.status, shown.body, shown.headers["Content-Type"]) == (200, GOOD_PNG, "image/png")
    assert (none.status, none.json["error"]["code"]) == (404, "picture_not_found")
    assert (forged.status, forged.json["error"]["code"]) == (404, "picture_link_invalid")
    assert (other.status, other.json["error"]["code"]) == (404, "picture_link_invalid")
