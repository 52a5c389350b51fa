"""A number's chat list as WhatsApp shows it (WPP.chat.list: people and groups, unread counts, last message,
archived, pinned, muted), merged with the conversations of ZapPool's own log, so that a chat only ZapPool
knows (a message sent a moment ago, before WhatsApp lists it) is never missing.

Each item keeps every field GET /clients/{id}/chats always had (clientId, chatId, lastAt, unreadCount,
messageCount, lastMessage: the log's) and adds WhatsApp's: name, isGroup, archived, pinned, muted, onWhatsApp
whatsappUnreadCount (the phone's badge) and preview (the newest message either side knows). unreadCount stays the
log's, as before (what ZapPool's windows have not shown). Order: pinned first, then the most recent, as WhatsApp.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import InvalidInput
from ..outbox.outbox import Outbox
from ..store.message_schema import decode_cursor, encode_cursor, iso_ms

MERGED = "merged"  # the key part of a merged list's cursor (an offset); a log cursor has a chat id there
LOG_PAGES = 20  # at 500 a page: the log's 10,000 most recent conversations join WhatsApp's list
# The first page asks WhatsApp for this many chats beyond it: room for chats active within the same second
# at the page's lower edge (see first_page).
MARGIN = 10


def merged_page(outbox: Outbox, client_id: str, listed: list[Any], cursor: str | None, limit: int) -> dict[str, Any]:
    """One page of the merged list; the cursor is an offset into it (the list is rebuilt on every call)."""
    offset = 0
    if cursor:
        offset, key = decode_cursor(cursor)
        if key != MERGED:  # a cursor of the log's own list, given out while the number was not ready
            page = outbox.list_chats(client_id, cursor=cursor, limit=limit)
            return {"items": [c.to_dict() for c in page.items], "nextCursor": page.next_cursor}
        if offset < 0:
            raise InvalidInput("The cursor is not one this server gave out", details={"cursor": cursor[:80]})
    items = merge(client_id, _log_chats(outbox, client_id), [c for c in listed if isinstance(c, dict)])
    end = offset + limit
    return {"items": items[offset:end], "nextCursor": encode_cursor(end, MERGED) if end < len(items) else None}


def first_page(outbox: Outbox, client_id: str, head: list[Any], asked: int, limit: int) -> dict[str, Any] | None:
    """The first page from WhatsApp's first `asked` chats only (chat.list({count}), in WhatsApp's order: pinned
    first, then the most recent), merged with the whole log; None when they do not settle it.

    Reading WhatsApp's whole list of hundreds of chats through the page gated the chat window's first paint
    (docs/PERFORMANCE.md). Every chat WhatsApp lists after its first `asked` is unpinned and no more recent than
    the least recent of them (the edge), so the page is settled when each of its chats is one of WhatsApp's
    first `asked` and pinned or more recent than the edge. A log chat more recent than the edge that WhatsApp
    did not list among them (a message ZapPool sent a moment ago, or to a chat WhatsApp lists further down or
    not at all) leaves it unsettled: the caller reads the whole list, so nothing ZapPool sent goes missing."""
    listed = [c for c in head if isinstance(c, dict)]
    items = merge(client_id, _log_chats(outbox, client_id), listed)
    top = items[:limit]
    if len(head) >= asked and not _settled(top, listed, limit):
        return None
    return {"items": top, "nextCursor": encode_cursor(limit, MERGED) if limit < len(items) else None}


def _settled(top: list[dict[str, Any]], listed: list[dict[str, Any]], limit: int) -> bool:
    """Can no chat after WhatsApp's first ones (`listed`) belong among the merged page's chats `top`?"""
    unpinned = [c.get("t") if isinstance(c.get("t"), int) else 0 for c in listed if not c.get("pin")]
    if len(top) < limit or not unpinned:  # all of them pinned: more pinned chats may follow
        return False
    edge = iso_ms(min(unpinned) * 1000)
    return all(c["onWhatsApp"] and (c["pinned"] or (c["lastAt"] or "") > edge) for c in top)


def _log_chats(outbox: Outbox, client_id: str) -> dict[str, dict[str, Any]]:
    """The log's conversations of a number, by chat id."""
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    for _ in range(LOG_PAGES):
        page = outbox.list_chats(client_id, cursor=cursor, limit=500)
        found.update((c.chat, c.to_dict()) for c in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


def merge(client_id: str, logged: dict[str, dict[str, Any]], listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every chat of either side once, WhatsApp's fields over the log's, pinned first, then newest first."""
    items: dict[str, dict[str, Any]] = {}
    for chat in listed:
        cid = chat.get("id")
        if isinstance(cid, str) and cid not in items:
            items[cid] = _with_whatsapp(logged.get(cid) or _empty(client_id, cid), chat)
    for cid, summary in logged.items():
        items.setdefault(cid, {**summary, "name": None, "isGroup": cid.endswith("@g.us"), "archived": False,
                               "pinned": False, "muted": False, "onWhatsApp": False, "whatsappUnreadCount": 0,
                               "preview": _log_preview(summary)})
    return sorted(items.values(), key=lambda c: (c["pinned"], c["lastAt"] or "", c["chatId"]), reverse=True)


def _empty(client_id: str, cid: str) -> dict[str, Any]:
    """A chat the log has no message of."""
    return {"clientId": client_id, "chatId": cid, "lastAt": iso_ms(0), "unreadCount": 0, "messageCount": 0,
            "lastMessage": None}


def _with_whatsapp(summary: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
    """The log's summary with WhatsApp's fields; the later time and the larger unread count of the two."""
    t = chat.get("t") if isinstance(chat.get("t"), int) else 0
    wa_at = iso_ms(t * 1000)
    mute = chat.get("muteExpiration") if isinstance(chat.get("muteExpiration"), int) else 0
    name = chat.get("name") if isinstance(chat.get("name"), str) else None
    unread = chat.get("unreadCount") if isinstance(chat.get("unreadCount"), int) else 0
    preview = _log_preview(summary)
    last = chat.get("lastMessage")
    if isinstance(last, dict) and (preview is None or (wa_at or "") > (preview["at"] or "")):
        preview = {"body": _short(last.get("body") if last.get("body") is not None else last.get("caption")),
                   "type": str(last.get("type") or "chat"), "fromMe": last.get("fromMe") is True,
                   "at": iso_ms(last["t"] * 1000) if isinstance(last.get("t"), int) else wa_at}
    return {**summary, "lastAt": max(summary["lastAt"] or "", wa_at or ""), "whatsappUnreadCount": unread,
            "name": name[:200] if name else None, "isGroup": chat.get("isGroup") is True,
            "archived": chat.get("archive") is True, "pinned": bool(chat.get("pin")),
            "muted": mute == -1 or mute > time.time(), "onWhatsApp": True, "preview": preview}


def _log_preview(summary: dict[str, Any]) -> dict[str, Any] | None:
    """The preview of the log's last message of a chat."""
    last = summary.get("lastMessage")
    if not last:
        return None
    return {"body": _short(last.get("body")), "type": last.get("type") or "chat", "fromMe": last["direction"] == "out",
            "at": last.get("sentAt") or last.get("createdAt")}


def _short(text: Any) -> str | None:
    """A preview's text: the first 200 characters."""
    return text[:200] if isinstance(text, str) else None
