"""The contact-details cache: what WPP.contact.get / getProfilePictureUrl / contact.list answered, per number.

Beside whatsapp/lookups.py's number cache (is the number on WhatsApp, under which id), this keeps who the
contact is: the name saved on the phone, the push name, business or not, the profile picture URL. Each answer
is a page call and, for the picture, a request to WhatsApp's servers; the chat window asks for them on every
open. Expiry:

- one contact's details: 10 minutes. Names and pictures change rarely, but a person who renames a contact on the
  phone expects to see it soon, and a profile picture URL from WhatsApp's CDN expires by itself after a while;
- the whole address book (the contact picker): 60 seconds, so typing in the picker or reopening it is local
  while a contact saved on the phone a minute ago still shows up;
- WhatsApp's whole chat list, read for the pages of GET chats after the first (the first asks WhatsApp for its
  first chats only) and kept 10 seconds (a snapshot to page through: one page call for a list of 500 chats,
  not one per page); a new first page drops it, so the pages after it read the list afresh;
- invalidated on change: a message from a contact drops that contact (its push name comes with the message and
  may be new) and the address book (it may be a new contact); a number leaving ready drops all of its entries
  (the next login may be another account); at most 5,000 contacts kept per number (oldest first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

DETAILS_S = 600.0
BOOK_S = 60.0
LISTED_S = 10.0
MAX_PER_NUMBER = 5_000


class ContactCache:
    """Per number: contact details by contact id, and the address book; thread-safe (REST threads and the
    engine loop's events both reach it)."""

    def __init__(self, details_s: float = DETAILS_S, book_s: float = BOOK_S, max_per_number: int = MAX_PER_NUMBER,
                 clock: Callable[[], float] = time.monotonic):
        self.details_s, self.book_s, self.max_per_number = details_s, book_s, max_per_number
        self._clock = clock
        self._lock = threading.Lock()
        self._details: dict[str, OrderedDict[str, tuple[float, dict[str, Any]]]] = {}
        self._books: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._listed: dict[str, tuple[float, list[Any]]] = {}

    def details(self, client_id: str, contact_id: str) -> dict[str, Any] | None:
        """The kept details of one contact, None when missing or expired."""
        with self._lock:
            kept = self._details.get(client_id, OrderedDict()).get(contact_id)
            return kept[1] if kept is not None and kept[0] > self._clock() else None

    def keep_details(self, client_id: str, contact_id: str, details: dict[str, Any]) -> None:
        """Keep one contact's details for DETAILS_S; the oldest goes when the number has too many."""
        with self._lock:
            kept = self._details.setdefault(client_id, OrderedDict())
            kept.pop(contact_id, None)
            while len(kept) >= self.max_per_number:
                kept.popitem(last=False)
            kept[contact_id] = (self._clock() + self.details_s, details)

    def book(self, client_id: str) -> list[dict[str, Any]] | None:
        """The kept address book of a number, None when missing or expired."""
        with self._lock:
            kept = self._books.get(client_id)
            return kept[1] if kept is not None and kept[0] > self._clock() else None

    def keep_book(self, client_id: str, contacts: list[dict[str, Any]]) -> None:
        """Keep a number's address book for BOOK_S."""
        with self._lock:
            self._books[client_id] = (self._clock() + self.book_s, contacts)

    def listed(self, client_id: str) -> list[Any] | None:
        """The chat list kept for paging, None when missing or older than LISTED_S."""
        with self._lock:
            kept = self._listed.get(client_id)
            return kept[1] if kept is not None and kept[0] > self._clock() else None

    def keep_listed(self, client_id: str, chats: list[Any]) -> None:
        """Keep the chat list just read for the pages after the first."""
        with self._lock:
            self._listed[client_id] = (self._clock() + LISTED_S, chats)

    def drop_listed(self, client_id: str) -> None:
        """A new first page was read: the pages after it must not come from an older snapshot."""
        with self._lock:
            self._listed.pop(client_id, None)

    def changed(self, client_id: str, contact_id: str) -> None:
        """A contact wrote (its push name may be new, it may be new itself): drop it and the address book."""
        with self._lock:
            self._details.get(client_id, OrderedDict()).pop(contact_id, None)
            self._books.pop(client_id, None)

    def forget(self, client_id: str) -> None:
        """Drop everything of a number (it left ready, or was removed)."""
        with self._lock:
            self._details.pop(client_id, None)
            self._books.pop(client_id, None)
            self._listed.pop(client_id, None)
