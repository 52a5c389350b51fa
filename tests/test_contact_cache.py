"""The contact-details cache (backend/contacts/cache.py) on its own, with the clock given: expiry of one
contact, of the address book and of the chat-list snapshot, the cap per number, and what drops entries."""

from __future__ import annotations

from backend.contacts.cache import BOOK_S, DETAILS_S, LISTED_S, ContactCache

ANA = "5511911110001@c.us"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_each_kind_of_answer_expires_on_its_own_schedule():
    clock = Clock()
    cache = ContactCache(clock=clock)
    cache.keep_details("vendas", ANA, {"name": "Ana"})
    cache.keep_book("vendas", [{"id": ANA}])
    cache.keep_listed("vendas", [{"id": ANA}])
    clock.now += min(LISTED_S, BOOK_S) - 1
    fresh = (cache.details("vendas", ANA), cache.book("vendas"), cache.listed("vendas"))
    clock.now += max(LISTED_S, BOOK_S)
    later = (cache.details("vendas", ANA), cache.book("vendas"), cache.listed("vendas"))
    clock.now += DETAILS_S
    assert fresh == ({"name": "Ana"}, [{"id": ANA}], [{"id": ANA}])
    assert later == ({"name": "Ana"}, None, None), "details outlive the book and the snapshot"
    assert cache.details("vendas", ANA) is None


def test_a_message_drops_its_contact_and_the_book_and_leaving_ready_drops_the_number():
    cache = ContactCache(clock=Clock())
    for client in ("vendas", "suporte"):
        cache.keep_details(client, ANA, {"name": "Ana"})
        cache.keep_details(client, "5511922220002@c.us", {"name": "Bruno"})
        cache.keep_book(client, [])
        cache.keep_listed(client, [])
    cache.changed("vendas", ANA)
    cache.forget("suporte")
    assert cache.details("vendas", ANA) is None and cache.book("vendas") is None
    assert cache.details("vendas", "5511922220002@c.us") == {"name": "Bruno"}
    assert cache.listed("vendas") == []
    assert (cache.details("suporte", "5511922220002@c.us"), cache.book("suporte"), cache.listed("suporte")) == (
        None, None, None)


def test_a_number_keeps_at_most_its_cap_oldest_first():
    cache = ContactCache(max_per_number=3, clock=Clock())
    for n in range(5):
        cache.keep_details("vendas", f"55119{n:08d}@c.us", {"n": n})
    kept = [n for n in range(5) if cache.details("vendas", f"55119{n:08d}@c.us")]
    assert kept == [2, 3, 4]
