"""Messages of the simulated phones: chat history, sent records, acks and delivery of held events."""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .model import MEDIA_TYPES, SimFail, new_msg_id, now_ms, valid_phone

if TYPE_CHECKING:
    from .core import Sim

MSG_ID_RE = re.compile(r"^[0-9A-Za-z]{8,64}$")
DEFAULT_MIMETYPES = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/ogg; codecs=opus",
                     "ptt": "audio/ogg; codecs=opus", "document": "application/octet-stream",
                     "sticker": "image/webp"}


@dataclass
class Chat:
    """One conversation of a phone with one peer."""

    peer: str
    seq: int  # bumped on activity: orders the chat list even within one second
    name: str | None = None
    unread: int = 0
    t: int = 0
    messages: list[dict[str, Any]] = field(default_factory=list)
    archived: bool = False
    pinned: int = 0  # when it was pinned (epoch s), 0: not pinned (ChatModel.pin)
    muted_until: int = 0  # epoch s, -1: always, 0: not muted (ChatModel.muteExpiration)

    def view(self) -> dict[str, Any]:
        """The chat as the page receives it (ids as digits; the page makes Wids)."""
        return {"id": self.peer, "name": self.name or f"+{self.peer}", "unreadCount": self.unread, "t": self.t,
                "lastMessage": self.messages[-1] if self.messages else None, "archive": self.archived,
                "pin": self.pinned, "muteExpiration": self.muted_until}


class Mailbox:
    """Per-phone chats and sent records; the Sim's lock guards it."""

    def __init__(self, sim: Sim):
        self.sim = sim
        self._seq = itertools.count(1)
        self.generation = 0
        self.clear()

    def clear(self) -> None:
        """Forget every message; ack timers of earlier messages become no-ops."""
        self.chats: dict[str, dict[str, Chat]] = {}
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.held: dict[str, list[dict[str, Any]]] = {}
        # How many chats each WPP.chat.list read asked the server for (-1: all), the latest 100: what a first page
        # of the chat window costs WhatsApp's page is counted here (GET /_sim/state's chatLists).
        self.list_counts: deque[int] = deque(maxlen=100)
        self.generation += 1

    def dump(self) -> dict[str, Any]:
        """Chats, sent records and held events, JSON-ready (acks still due are not: they stay where they are)."""
        chats = {phone: [asdict(chat) for chat in by_peer.values()] for phone, by_peer in self.chats.items()}
        return {"chats": chats, "sent": self.sent, "held": self.held}

    def restore(self, data: dict[str, Any]) -> None:
        """Take back what dump() gave; new activity sorts above the restored chats."""
        self.chats = {phone: {c["peer"]: Chat(**c) for c in chats} for phone, chats in data.get("chats", {}).items()}
        self.sent = data.get("sent", {})
        self.held = data.get("held", {})
        top = max((c.seq for by_peer in self.chats.values() for c in by_peer.values()), default=0)
        self._seq = itertools.count(top + 1)

    def _chat(self, phone: str, peer: str, create: bool = True) -> Chat | None:
        """The chat of phone with peer, created on demand."""
        chats = self.chats.setdefault(phone, {})
        if peer not in chats and create:
            chats[peer] = Chat(peer=peer, seq=next(self._seq), t=self.server_ms() // 1000)
        return chats.get(peer)

    def server_ms(self) -> int:
        """WhatsApp's servers' time (epoch ms): the machine's, less the configured clock lag."""
        return now_ms() - self.sim.config.clock_lag_ms

    def next_seq(self) -> int:
        """The next place at the top of a chat list (groups take theirs from here too)."""
        return next(self._seq)

    def _touch(self, chat: Chat, t: int) -> None:
        """Move a chat to the top of the list."""
        chat.t, chat.seq = t, next(self._seq)

    # --- delivery -------------------------------------------------------------------------------------

    def deliver(self, phone: str, event: dict[str, Any], keep: bool) -> bool:
        """Push to the phone's ready tabs if the network is up; else hold it (always if keep)."""
        targets = [s for s in self.sim.sessions_of(phone) if s.status == "ready"] if self.sim.network_up else []
        for session in targets:
            session.push(event)
        if not targets and (keep or self.sim.sessions_of(phone)):
            self.held.setdefault(phone, []).append(event)
        return bool(targets)

    def flush(self, phone: str) -> None:
        """Send held events once a tab of the phone is ready and the network is up."""
        if not self.sim.network_up:
            return
        targets = [s for s in self.sim.sessions_of(phone) if s.status == "ready"]
        if not targets:
            return
        held = self.held.pop(phone, [])
        for event in held:
            for session in targets:
                session.push(event)
        if held:
            self.sim.changed()

    def flush_all(self) -> None:
        """Flush every phone (the network came back)."""
        for phone in list(self.held):
            self.flush(phone)

    # --- sending --------------------------------------------------------------------------------------

    def _recipient(self, to: Any) -> str:
        """A number that is on WhatsApp, else the chat_not_found error WA-JS gives."""
        if not isinstance(to, str) or not to.isdigit() or not 8 <= len(to) <= 15:
            raise SimFail(404, f"Chat not found for {to}", "chat_not_found")
        if not self.sim.exists(to):
            raise SimFail(404, f"The number {to} is not on WhatsApp", "chat_not_found")
        return to

    def prepare(self, sid: Any, to: Any, create_chat: bool, mark_read: bool) -> dict[str, Any]:
        """Before a send: find the chat (or create it with createChat) and mark it read."""
        with self.sim.lock:
            session = self.sim.linked_session(sid)
            phone, to = session.phone or "", self._recipient(to)
            chat = self._chat(phone, to, create=False)
            if chat is None:
                if not create_chat and self.sim.config.require_create_chat:
                    raise SimFail(404, f"Chat not found for {to}@c.us", "chat_not_found")
                chat = self._chat(phone, to)
            if mark_read and chat is not None:
                self._clear_unread(phone, chat)
            self.sim.changed()
            return {"ok": True}

    def record_send(self, sid: Any, meta: dict[str, Any], size: int, sha256: str, text: str | None) -> dict[str, Any]:
        """The page uploaded a message: record it, add it to the chat and schedule its acks."""
        with self.sim.lock:
            session = self.sim.linked_session(sid)
            if not self.sim.network_up:
                raise SimFail(503, "WhatsApp Web is offline", "offline")
            phone, to = session.phone or "", self._recipient(meta.get("to"))
            kind, msg_id = meta.get("type"), meta.get("id")
            if kind != "chat" and kind not in MEDIA_TYPES:
                raise SimFail(400, f"unknown message type {kind!r}")
            if not isinstance(msg_id, str) or not MSG_ID_RE.match(msg_id):
                raise SimFail(400, "bad message id")
            at = self.server_ms()
            caption = None if kind == "chat" else _text_or_none(meta.get("caption"))
            record = {"id": f"true_{to}@c.us_{msg_id}", "to": to, "type": kind, "text": text if kind == "chat" else caption,
                      "filename": _text_or_none(meta.get("filename")), "mimetype": _text_or_none(meta.get("mimetype")),
                      "size": size, "sha256": sha256, "ack": 1, "at": at,
                      "session": session.id}  # which tab sent it: two tabs sending for one phone show here
            wire = {"id": msg_id, "fromMe": True, "from": phone, "to": to, "body": text if kind == "chat" else "",
                    "type": kind, "t": at // 1000, "notifyName": "", "ack": 1, "caption": caption,
                    "filename": record["filename"], "mimetype": record["mimetype"], "size": size}
            self.sent.setdefault(phone, []).append(record)
            chat = self._chat(phone, to)
            assert chat is not None
            chat.messages.append(wire)
            self._touch(chat, at // 1000)
            self._schedule_acks(phone, record, wire)
            self.sim.changed()
            return {"ok": True, "t": at // 1000, "ack": 1}

    def _schedule_acks(self, phone: str, record: dict[str, Any], wire: dict[str, Any]) -> None:
        """Delivered after ack_delivered_ms, read ack_read_ms later; 0 or None skips a step."""
        delay = 0
        for ack, step in ((2, self.sim.config.ack_delivered_ms), (3, self.sim.config.ack_read_ms)):
            if step:
                delay += step
                self.sim.scheduler.call_later(delay / 1000, self._ack, self.generation, phone, record, wire, ack)

    def _ack(self, generation: int, phone: str, record: dict[str, Any], wire: dict[str, Any], ack: int) -> None:
        """Timer: the recipient's phone sent a receipt."""
        with self.sim.lock:
            if generation != self.generation or record["ack"] >= ack:
                return
            record["ack"] = wire["ack"] = ack
            key = {"fromMe": True, "remote": record["to"], "id": wire["id"]}
            self.deliver(phone, {"type": "ack", "ack": ack, "chat": record["to"], "ids": [key]}, keep=False)
            self.sim.changed()

    def sent_by(self, phone: Any) -> list[dict[str, Any]]:
        """Every message a phone sent, oldest first."""
        with self.sim.lock:
            return [dict(r) for r in self.sent.get(valid_phone(phone), [])]

    # --- receiving ------------------------------------------------------------------------------------

    def incoming(self, body: dict[str, Any]) -> dict[str, Any]:
        """A contact writes to a phone: into its history now, to its tabs when one is online."""
        with self.sim.lock:
            to, sender = valid_phone(body.get("to"), "to"), valid_phone(body.get("from"), "from")
            name = _text_or_none(body.get("notifyName")) or ""
            t = self.server_ms() // 1000
            wire: dict[str, Any] = {"id": new_msg_id(), "fromMe": False, "from": sender, "to": to, "t": t,
                                    "notifyName": name}
            wire.update(_content(body.get("text"), body.get("media")))
            data = wire.pop("data", None)
            if data is not None:  # the bytes go to the media server; the message carries their filehash
                wire["filehash"] = self.sim.media.keep(to, wire["id"], data, wire["mimetype"])
            chat = self._chat(to, sender)
            assert chat is not None
            chat.messages.append(wire)
            chat.unread += 1
            chat.name = name or chat.name
            self._touch(chat, t)
            delivered = self.deliver(to, {"type": "message", "msg": wire}, keep=True)
            self.deliver(to, {"type": "unread", "chat": chat.view(), "unreadCount": chat.unread,
                              "previousUnreadCount": chat.unread - 1}, keep=True)
            self.sim.changed()
            return {"id": f"false_{sender}@c.us_{wire['id']}", "delivered": delivered}

    def history(self, body: dict[str, Any]) -> dict[str, Any]:
        """What the phone held before a device was linked: a chat's earlier messages, with their own times. A
        device linked later finds them in the chat list and its messages (WhatsApp's history sync), and no
        new-message event ever fires for them, as on the real site. Only for a phone with no linked device:
        a linked one hears of new messages through `incoming`."""
        with self.sim.lock:
            phone, peer = valid_phone(body.get("phone"), "phone"), valid_phone(body.get("peer"), "peer")
            if any(d.phone == phone for d in self.sim.devices.values()):
                raise SimFail(409, f"{phone} has a linked device: history is what a phone holds before linking")
            wires = [self._past(phone, peer, m) for m in _history_items(body.get("messages"))]
            _apply_flags(Chat(peer=peer, seq=0), body)  # checked before anything changes
            incoming = sum(1 for w in wires if not w["fromMe"])
            unread = body.get("unread", 0)
            if isinstance(unread, bool) or not isinstance(unread, int) or not 0 <= unread <= incoming:
                raise SimFail(400, f"unread must be 0..{incoming} (the chat's last incoming messages)")
            chat = self._chat(phone, peer)
            assert chat is not None
            chat.messages = sorted(chat.messages + wires, key=lambda w: w["t"])
            chat.unread, chat.name = unread, _text_or_none(body.get("notifyName")) or chat.name
            _apply_flags(chat, body)
            self._touch(chat, max(w["t"] for w in chat.messages))
            self.sim.changed()
            return {"ids": [f"{str(w['fromMe']).lower()}_{peer}@c.us_{w['id']}" for w in wires]}

    @staticmethod
    def _past(phone: str, peer: str, item: dict[str, Any]) -> dict[str, Any]:
        """One history message as the chat keeps it: text, direction and its original time `t` (seconds)."""
        mine, t = item.get("fromMe") is True, item.get("t")
        if isinstance(t, bool) or not isinstance(t, int) or t <= 0:
            raise SimFail(400, "each history message needs t: epoch seconds")
        text = item.get("text")
        if not isinstance(text, str):
            raise SimFail(400, "each history message needs text")
        return {"id": new_msg_id(), "fromMe": mine, "from": phone if mine else peer, "to": peer if mine else phone,
                "t": t, "notifyName": "", "type": "chat", "body": text, **({"ack": 3} if mine else {})}

    # --- reading --------------------------------------------------------------------------------------

    def chat_list(self, sid: Any, count: Any) -> list[dict[str, Any]]:
        """WPP.chat.list: people and groups, pinned first (the latest pinned on top), then the most recent (by
        `t`, then by activity within a second), as WhatsApp orders its chat list; `count` (the first `count`,
        recorded in list_counts) or all."""
        with self.sim.lock:
            session = self.sim.linked_session(sid)
            self.list_counts.append(count if isinstance(count, int) and count >= 0 else -1)
            book = self.sim.book.books.get(session.phone or "", {})
            # ChatModel.name is the name saved on the phone, when the contact is saved (WhatsApp's own rule).
            chats = [(c.seq, {**c.view(), **({"name": book[c.peer].name} if c.peer in book and book[c.peer].name
                                             else {})})
                     for c in self.chats.get(session.phone or "", {}).values()]
            chats = sorted(chats + self.sim.groups.chat_views(session.phone or ""),
                           key=lambda e: (e[1]["pin"] or 0, e[1]["t"] or 0, e[0]), reverse=True)
            if isinstance(count, int) and count >= 0:
                chats = chats[:count]
            return [view for _, view in chats]

    def messages(self, sid: Any, peer: Any, count: Any, only_unread: bool = False,
                 before: str | None = None) -> list[dict[str, Any]]:
        """WPP.chat.getMessages: the last `count` messages (-1: all), oldest first; with onlyUnread, among the
        chat's unread ones only (its last `unreadCount` incoming messages, as WA-JS takes them); with `before`
        (direction 'before', a message id), only those older than that message (msg_not_found if none)."""
        with self.sim.lock:
            session = self.sim.linked_session(sid)
            chat = self.chats.get(session.phone or "", {}).get(str(peer))
            if chat is None:
                return []
            pool = chat.messages if before is None else _older_than(chat.messages, before)
            if only_unread:
                incoming = [m for m in chat.messages if not m.get("fromMe")]
                pool = incoming[len(incoming) - chat.unread:] if chat.unread > 0 else []
            count = count if isinstance(count, int) else 20
            return list(pool if count < 0 else pool[-count:] if count else [])

    def mark_read(self, sid: Any, peer: Any) -> dict[str, Any]:
        """WPP.chat.markIsRead: unread count back to 0 (every tab of the phone hears about it)."""
        with self.sim.lock:
            session = self.sim.linked_session(sid)
            chat = self._chat(session.phone or "", str(peer), create=False)
            if chat is None:
                raise SimFail(404, f"Chat not found for {peer}@c.us", "chat_not_found")
            self._clear_unread(session.phone or "", chat)
            self.sim.changed()
            return {"wid": chat.peer, "unreadCount": 0}

    def _clear_unread(self, phone: str, chat: Chat) -> None:
        """Zero the unread count and tell the phone's tabs if it changed."""
        previous, chat.unread = chat.unread, 0
        if previous:
            event = {"type": "unread", "chat": chat.view(), "unreadCount": 0, "previousUnreadCount": previous}
            for session in self.sim.sessions_of(phone):
                session.push(event)


def _older_than(messages: list[dict[str, Any]], msg_id: str) -> list[dict[str, Any]]:
    """The messages before the one with this id (its id part), else WA-JS's msg_not_found."""
    for index, msg in enumerate(messages):
        if msg.get("id") == msg_id:
            return messages[:index]
    raise SimFail(404, f"Message {msg_id} not found", "msg_not_found")


def _apply_flags(chat: Chat, body: dict[str, Any]) -> None:
    """A history call's chat flags: archived (bool), pinned (bool), mutedUntil (epoch s, -1 always)."""
    for key in ("archived", "pinned"):
        if not isinstance(body.get(key, False), bool):
            raise SimFail(400, f"{key} is true or false")
    muted = body.get("mutedUntil", 0)
    if isinstance(muted, bool) or not isinstance(muted, int) or muted < -1:
        raise SimFail(400, "mutedUntil is epoch seconds, -1 (always) or 0 (not muted)")
    chat.archived = body.get("archived", chat.archived)
    chat.pinned = now_ms() // 1000 if body.get("pinned") else chat.pinned if "pinned" not in body else 0
    chat.muted_until = muted if "mutedUntil" in body else chat.muted_until


def _text_or_none(value: Any) -> str | None:
    """Strings pass, anything else becomes None."""
    return value if isinstance(value, str) else None


def _history_items(value: Any) -> list[dict[str, Any]]:
    """The `messages` of a history call: a non-empty list of objects."""
    if not isinstance(value, list) or not value or not all(isinstance(m, dict) for m in value):
        raise SimFail(400, "messages must be a non-empty list of {text, t, fromMe?}")
    return value


def _content(text: Any, media: Any) -> dict[str, Any]:
    """The body fields of an incoming message: text, or media (its bytes under `data`, for the media server)."""
    if media is None:
        if not isinstance(text, str):
            raise SimFail(400, "give text or media")
        return {"type": "chat", "body": text}
    if not isinstance(media, dict) or media.get("type") not in MEDIA_TYPES:
        raise SimFail(400, f"media.type must be one of {', '.join(MEDIA_TYPES)}")
    try:
        data = base64.b64decode(media.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise SimFail(400, "media.data must be base64") from None
    kind = media["type"]
    return {"type": kind, "body": "", "data": data,
            "caption": _text_or_none(media.get("caption")) or _text_or_none(text),
            "filename": _text_or_none(media.get("filename")),
            "mimetype": _text_or_none(media.get("mimetype")) or DEFAULT_MIMETYPES[kind], "size": len(data)}
