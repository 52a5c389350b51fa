"""The desktop windows' media links (backend/media/links.py): a link is the credential, so only a link this run
of ZapPool made, unchanged and within its age, names a message; anything else is media_link_invalid."""

from __future__ import annotations

import time

import pytest

from backend.media.links import LINK_PREFIX, MediaLinkInvalid, MediaLinks


def token_of(path: str) -> str:
    assert path.startswith(LINK_PREFIX)
    return path[len(LINK_PREFIX):]


def test_a_link_names_the_message_it_was_made_for():
    links = MediaLinks()
    token = token_of(links.make("vendas", "true_5511988887777@c.us_3EB0AB"))

    assert links.read(token) == ("vendas", "true_5511988887777@c.us_3EB0AB")


def test_a_link_from_an_earlier_run_an_edited_one_or_garbage_is_refused():
    token = token_of(MediaLinks().make("vendas", "m1"))
    now = MediaLinks()  # a restart makes a new key
    edited = token.replace(token.split(".")[0], MediaLinks(secret=b"x" * 32).make("suporte", "m1")
                           [len(LINK_PREFIX):].split(".")[0])

    for bad in (token, edited, "", "a.b.c", "x" * 5000):
        with pytest.raises(MediaLinkInvalid) as refused:
            now.read(bad)
        assert (refused.value.status, refused.value.code) == (404, "media_link_invalid")


def test_a_link_past_its_age_is_refused_as_expired():
    links = MediaLinks(max_age_s=0)
    token = token_of(links.make("vendas", "m1"))
    time.sleep(1.1)  # the signature's timestamp counts whole seconds

    with pytest.raises(MediaLinkInvalid, match="expired"):
        links.read(token)
