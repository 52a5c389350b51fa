"""ContactsService: a number's contacts, its chats as WhatsApp lists them (merged with ZapPool's log), and a
chat's earlier messages fetched from WhatsApp into the log (service.contacts; the REST views and the bridge call
it). Pages are reached through WhatsAppClient.wpp_call; details are cached (cache.py)."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import NotFound, Unavailable, ZapPoolError
from ..events.hub import ClientEvent
from ..outbox.outbox import Outbox
from ..store.history import HistoryLog
from ..whatsapp.client import WhatsAppClient
from ..whatsapp.pool import WhatsAppPool
from .cache import ContactCache
from .chats import MARGIN, first_page, merged_page
from .ids import before_key, chat_id, contact_id
from .pictures import Picture, ProfilePictures

log = logging.getLogger(__name__)
MAX_SEARCH = 100  # characters of a picker search
LEAVING = ("disconnected", "status", "client_removed")  # events after which a number's entries may be stale


class ContactsService:
    """Contacts, WhatsApp's chat list and history, per number."""

    def __init__(self, pool: WhatsAppPool, outbox: Outbox, history: HistoryLog, cache: ContactCache | None = None,
                 pictures: ProfilePictures | None = None):
        """`history` writes into the message log; the cache is invalidated by the pool's events; `pictures` is
        the profile picture proxy (pictures.py; None: not offered)."""
        self.pool, self.outbox, self.history_log = pool, outbox, history
        self.cache = cache or ContactCache()
        self.pictures = pictures
        pool.subscribe(self._on_event, {"message", *LEAVING})

    def _on_event(self, event: ClientEvent) -> None:
        """Keep the cache honest: see cache.py."""
        if event.name == "message":
            sender = (event.data.get("message") or {}).get("from")
            if isinstance(sender, str):
                self.cache.changed(event.client_id, sender)
        elif event.name != "status" or event.data.get("status") != "ready":
            self.cache.forget(event.client_id)

    def list_contacts(self, client_id: str, search: str | None = None, limit: int = 200) -> dict[str, Any]:
        """The number's address book (saved contacts first, then peers known by push name), filtered by a
        search on the name, the push name or the number."""
        book = self.cache.book(client_id)
        if book is None:
            raw = self.pool.get(client_id).wpp_call("contact.list", {})
            book = sorted((_contact(c) for c in raw or [] if isinstance(c, dict) and c.get("id")),
                          key=lambda c: (not c["isMyContact"], (c["displayName"] or "").casefold()))
            self.cache.keep_book(client_id, book)
        found = [c for c in book if _matches(c, (search or "")[:MAX_SEARCH])]
        return {"items": found[:limit], "total": len(found)}

    def get_contact(self, client_id: str, raw_id: str) -> dict[str, Any]:
        """One contact with its profile picture URL (null when it has none or hides it); NotFound when WhatsApp
        knows nothing of the number."""
        cid = contact_id(raw_id)
        kept = self.cache.details(client_id, cid)
        if kept is not None:
            return kept
        client = self.pool.get(client_id)
        found = client.wpp_call("contact.get", cid)
        if not isinstance(found, dict):
            raise NotFound(f"WhatsApp knows no contact {cid} on this number", details={"contactId": cid})
        picture = client.wpp_call("contact.getProfilePictureUrl", cid)
        details = {**_contact(found), "profilePictureUrl": picture if isinstance(picture, str) else None}
        self.cache.keep_details(client_id, cid, details)
        return details

    def picture(self, client_id: str, raw_id: str) -> Picture:
        """A contact's profile picture through the proxy (pictures.py)."""
        return self._pictures().open(client_id, raw_id)

    def picture_by_link(self, token: str, raw_id: str) -> Picture:
        """A contact's profile picture through a desktop window's signed link."""
        return self._pictures().open_link(token, raw_id)

    def picture_link(self, client_id: str) -> dict[str, Any]:
        """The base of a number's picture links, for a desktop window (the bridge's contact_picture_link)."""
        return self._pictures().link(client_id)

    def _pictures(self) -> ProfilePictures:
        """The proxy; Unavailable when this ZapPool was built without one."""
        if self.pictures is None:
            raise Unavailable("Profile pictures are not enabled in this ZapPool")
        return self.pictures

    def list_chats(self, client_id: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """The number's chats: WhatsApp's list merged with the log's conversations while it is ready (nothing
        ZapPool sent is missing), else the log's alone, as before."""
        client = self.pool.get(client_id)
        if client.status.value != "ready":
            page = self.outbox.list_chats(client_id, cursor=cursor, limit=limit)
            return {"items": [c.to_dict() for c in page.items], "nextCursor": page.next_cursor}
        if cursor is None:
            first = self._first_page(client, client_id, limit)
            if first is not None:
                return first
        listed = self.cache.listed(client_id) if cursor else None  # a later page: the snapshot, if still young
        if listed is None:
            found = client.wpp_call("chat.list", {})
            listed = found if isinstance(found, list) else []
            self.cache.keep_listed(client_id, listed)
        return merged_page(self.outbox, client_id, listed, cursor, limit)

    def _first_page(self, client: WhatsAppClient, client_id: str, limit: int) -> dict[str, Any] | None:
        """The first page from WhatsApp's first chats only (chats.first_page), None when they do not settle it.
        The pages after it read the whole list afresh: a snapshot older than this page may miss a chat that
        this page's fresher order pushed down past it."""
        asked = limit + MARGIN
        found = client.wpp_call("chat.list", {"count": asked})
        head = found if isinstance(found, list) else []
        if len(head) < asked:
            self.cache.keep_listed(client_id, head)  # that was the whole list
        else:
            self.cache.drop_listed(client_id)
        page = first_page(self.outbox, client_id, head, asked, limit)
        if page is None:
            log.debug("[Pool] primeira página das conversas de %s: uma conversa do log fora das %d primeiras do "
                      "WhatsApp, lista inteira lida", client_id, asked)
        return page

    def history(self, client_id: str, raw_chat: str, before: str, limit: int = 50) -> dict[str, Any]:
        """The `limit` messages of a chat before the message `before` (or its newest, before=now), from
        WhatsApp, written into the log (deduplicated by WhatsApp id) and returned as the log holds them, newest
        first. Not emitted: history is no news (no SSE message event, no webhook, no notification)."""
        chat = chat_id(raw_chat)
        key = before_key(before, chat)
        options: dict[str, Any] = {"count": limit}
        if key is not None:
            options.update(direction="before", id=key)
        try:
            raw = self.pool.get(client_id).wpp_call("chat.getMessages", chat, options)
        except ZapPoolError as exc:
            if exc.details.get("wppCode") != "chat_not_found":
                raise
            raw = []  # a new conversation: WhatsApp has no chat, so no history, yet
        messages = [m for m in raw or [] if isinstance(m, dict)]
        records = self.history_log.add(client_id, chat, messages)
        log.debug("[Pool] %d mensagens anteriores de %s em %s guardadas", len(records), chat[:40], client_id)
        return {"items": [r.to_dict() for r in records], "nextCursor": None}


def _contact(raw: dict[str, Any]) -> dict[str, Any]:
    """A contact as the API shows it, from bridge.js's ContactModel fields."""
    cid = str(raw.get("id"))
    name, push = _text(raw.get("name")), _text(raw.get("pushname"))
    number = cid.split("@")[0]
    return {"id": cid, "number": number if number.isdigit() else None, "name": name, "pushname": push,
            "isBusiness": raw.get("isBusiness") is True, "isMyContact": raw.get("isMyContact") is True,
            "displayName": name or push or (f"+{number}" if number.isdigit() else cid)}


def _text(value: Any) -> str | None:
    """A non-empty string, capped (names come from other people's phones), else None."""
    return value[:200] if isinstance(value, str) and value.strip() else None


def _matches(contact: dict[str, Any], search: str) -> bool:
    """Does the contact match a picker search: words in its names, or digits in its number?"""
    words = search.casefold().split()
    if not words:
        return True
    digits = "".join(ch for ch in search if ch.isdigit())
    if digits and digits == "".join(ch for ch in search if ch not in "+ -()"):
        return digits in (contact["number"] or "")
    names = " ".join(filter(None, (contact["name"], contact["pushname"]))).casefold()
    return all(word in names for word in words)
