"""The message log's schema (versioned with PRAGMA user_version) and the records read from it.

One table holds both directions. Outgoing rows are the outbox: queued -> sending -> sent -> delivered ->
read, or failed with a reason. Incoming rows are received -> read. Two small tables are kept by triggers so
the screens that need them stay O(clients) and O(chats) at a million rows: `message_counts` (per client,
direction and status) and `chats` (last message, unread count). Times are epoch milliseconds.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidInput
from ..status import Direction, MessageStatus, Routing
from .report_schema import REBUILD, SCHEMA_V4, SCHEMA_V5

SCHEMA_V1 = """
CREATE TABLE messages (
    seq                INTEGER PRIMARY KEY,   -- insertion order; the tie-breaker of every cursor
    id                 TEXT NOT NULL UNIQUE,  -- ZapPool's id, given to callers
    direction          TEXT NOT NULL CHECK (direction IN ('out', 'in')),
    client_id          TEXT,                  -- the number; NULL while an auto-routed message waits for one
    routing            TEXT NOT NULL DEFAULT 'pinned' CHECK (routing IN ('pinned', 'auto')),
    chat               TEXT NOT NULL,         -- the other side: 5511999990001@c.us (WhatsApp's form once sent)
    to_number          TEXT,                  -- outgoing: the digits asked for
    sender             TEXT,                  -- incoming: who wrote it
    type               TEXT NOT NULL,         -- chat, image, video, audio, ptt, document, sticker, ...
    body               TEXT,                  -- the text, or a media caption
    media              TEXT,                  -- JSON: mimetype, filename, size (+ send options when outgoing)
    status             TEXT NOT NULL,
    ack                INTEGER,
    wa_id              TEXT,                  -- WhatsApp's message id (acks refer to it)
    attempts           INTEGER NOT NULL DEFAULT 0,
    possible_duplicate INTEGER NOT NULL DEFAULT 0,
    error_code         TEXT,
    reason             TEXT,
    notify_name        TEXT,
    wa_t               INTEGER,               -- WhatsApp's own timestamp (seconds), incoming
    next_attempt_at    INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    sent_at            INTEGER,
    delivered_at       INTEGER,
    read_at            INTEGER,
    failed_at          INTEGER
);
-- The rowid (seq) ends every index, so ORDER BY created_at DESC, seq DESC walks them without sorting.
CREATE INDEX ix_messages_time ON messages (created_at);
CREATE INDEX ix_messages_client_time ON messages (client_id, created_at);
CREATE INDEX ix_messages_chat_time ON messages (chat, client_id, created_at);
CREATE UNIQUE INDEX ix_messages_wa_id ON messages (client_id, wa_id) WHERE wa_id IS NOT NULL;
-- Only waiting rows: the outbox finds its next message without touching the sent million.
CREATE INDEX ix_messages_queue ON messages (client_id, seq) WHERE status = 'queued';
CREATE INDEX ix_messages_sending ON messages (status) WHERE status = 'sending';

CREATE TABLE message_counts (
    client_id TEXT NOT NULL,                  -- '' for auto-routed messages not yet given a number
    direction TEXT NOT NULL,
    status    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (client_id, direction, status)
) WITHOUT ROWID;

CREATE TRIGGER tr_count_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_counts VALUES (coalesce(NEW.client_id, ''), NEW.direction, NEW.status, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tr_count_update AFTER UPDATE OF status, client_id ON messages
WHEN OLD.status IS NOT NEW.status OR OLD.client_id IS NOT NEW.client_id BEGIN
    UPDATE message_counts SET n = n - 1
        WHERE client_id = coalesce(OLD.client_id, '') AND direction = OLD.direction AND status = OLD.status;
    INSERT INTO message_counts VALUES (coalesce(NEW.client_id, ''), NEW.direction, NEW.status, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER tr_count_delete AFTER DELETE ON messages BEGIN
    UPDATE message_counts SET n = n - 1
        WHERE client_id = coalesce(OLD.client_id, '') AND direction = OLD.direction AND status = OLD.status;
END;

-- A chat appears when a message is received or one is sent (queued ones are not in the conversation yet).
CREATE TABLE chats (
    client_id TEXT NOT NULL,
    chat      TEXT NOT NULL,
    last_seq  INTEGER NOT NULL,
    last_at   INTEGER NOT NULL,
    unread    INTEGER NOT NULL DEFAULT 0,
    total     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, chat)
) WITHOUT ROWID;
CREATE INDEX ix_chats_recent ON chats (client_id, last_at);

CREATE TRIGGER tr_chat_incoming AFTER INSERT ON messages WHEN NEW.direction = 'in' BEGIN
    INSERT INTO chats VALUES (NEW.client_id, NEW.chat, NEW.seq, NEW.created_at, 1, 1)
        ON CONFLICT DO UPDATE SET last_seq = excluded.last_seq, last_at = excluded.last_at,
                                  unread = unread + 1, total = total + 1;
END;
CREATE TRIGGER tr_chat_sent AFTER UPDATE OF status ON messages
WHEN NEW.direction = 'out' AND NEW.status = 'sent' AND OLD.status <> 'sent' BEGIN
    INSERT INTO chats VALUES (NEW.client_id, NEW.chat, NEW.seq, NEW.sent_at, 0, 1)
        ON CONFLICT DO UPDATE SET last_seq = excluded.last_seq, last_at = excluded.last_at, total = total + 1;
END;
CREATE TRIGGER tr_chat_read AFTER UPDATE OF status ON messages
WHEN NEW.direction = 'in' AND OLD.status = 'received' AND NEW.status = 'read' BEGIN
    UPDATE chats SET unread = unread - 1 WHERE client_id = NEW.client_id AND chat = NEW.chat;
END;
"""

# v2: the WhatsApp message id ZapPool chooses before the first attempt (the part after the last "_" of a MsgKey).
# Every attempt sends with it, so an attempt that may have gone out already (a crash, a timeout) is looked for
# on WhatsApp under that id before the message is sent again.
SCHEMA_V2 = "ALTER TABLE messages ADD COLUMN key_id TEXT;"

# v3: per-number send limits (pacing and caps, NULL: the default) and an index to count a number's sends in a
# window (the caps), so the count stays a short index range at a million rows.
SCHEMA_V3 = """
CREATE TABLE client_limits (
    client_id  TEXT PRIMARY KEY,
    interval_s REAL,
    jitter_s   REAL,
    hourly_cap INTEGER,                       -- 0: no cap
    daily_cap  INTEGER,                       -- 0: no cap
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_messages_client_sent ON messages (client_id, sent_at) WHERE sent_at IS NOT NULL;
"""

# v4 (issue 18): the report tables and their triggers (report_schema.py), filled from the rows already logged.
MIGRATIONS = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4 + REBUILD, SCHEMA_V5]

COLUMNS = ("seq, id, direction, client_id, routing, chat, to_number, sender, type, body, media, status, ack, "
           "wa_id, attempts, possible_duplicate, error_code, reason, notify_name, wa_t, next_attempt_at, "
           "created_at, updated_at, sent_at, delivered_at, read_at, failed_at, key_id")

# Outgoing statuses in lifecycle order; an ack only ever moves a message forward.
SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)
PENDING_STATUSES = (MessageStatus.QUEUED, MessageStatus.SENDING)
ACK_STATUS = {1: MessageStatus.SENT, 2: MessageStatus.DELIVERED, 3: MessageStatus.READ,
              4: MessageStatus.READ}  # 4: played (voice notes)


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC with a Z, as the seed's JSON shows times."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class MessageRecord:
    """One row of the log: an outgoing message with its lifecycle, or an incoming one."""

    seq: int
    id: str
    direction: str
    client_id: str | None
    routing: str
    chat: str
    to_number: str | None
    sender: str | None
    type: str
    body: str | None
    media: dict[str, Any] | None
    status: str
    ack: int | None
    wa_id: str | None
    attempts: int
    possible_duplicate: bool
    error_code: str | None
    reason: str | None
    notify_name: str | None
    wa_t: int | None
    next_attempt_at: int
    created_at: int
    updated_at: int
    sent_at: int | None
    delivered_at: int | None
    read_at: int | None
    failed_at: int | None
    key_id: str | None = None  # the WhatsApp message id every attempt uses (outgoing, once first claimed)

    @classmethod
    def from_row(cls, row: Any) -> MessageRecord:
        """Build from a sqlite3.Row selected with COLUMNS."""
        values = dict(row)
        values["media"] = json.loads(values["media"]) if values["media"] else None
        values["possible_duplicate"] = bool(values["possible_duplicate"])
        return cls(**values)

    @property
    def finished(self) -> bool:
        """Sent (or further along), or failed: the outbox is done with it."""
        return self.status in SENT_STATUSES or self.status == MessageStatus.FAILED

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape the REST API and the desktop show."""
        media = self.media or {}
        return {
            "id": self.id, "clientId": self.client_id, "direction": self.direction, "chatId": self.chat,
            "to": self.to_number, "from": self.sender, "type": self.type, "body": self.body,
            "media": {k: media.get(k) for k in ("mimetype", "filename", "size", "sha256", "kind", "state")}
            if self.media else None,  # kind and state: the media log's (media_log.py), once it has the file
            "status": self.status, "ack": self.ack, "reason": self.reason, "errorCode": self.error_code,
            "attempts": self.attempts, "possibleDuplicate": self.possible_duplicate,
            "autoRouted": self.routing == Routing.AUTO, "waMessageId": self.wa_id, "notifyName": self.notify_name,
            "createdAt": iso_ms(self.created_at), "sentAt": iso_ms(self.sent_at),
            "deliveredAt": iso_ms(self.delivered_at), "readAt": iso_ms(self.read_at),
            "failedAt": iso_ms(self.failed_at), "updatedAt": iso_ms(self.updated_at),
        }


@dataclass(frozen=True)
class ChatSummary:
    """One conversation of one number: its last message and how many incoming ones are unread."""

    client_id: str
    chat: str
    last_at: int
    unread: int
    total: int
    last_message: MessageRecord | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of a chat in a list."""
        return {"clientId": self.client_id, "chatId": self.chat, "lastAt": iso_ms(self.last_at),
                "unreadCount": self.unread, "messageCount": self.total,
                "lastMessage": self.last_message.to_dict() if self.last_message else None}


@dataclass(frozen=True)
class MessageCounts:
    """Messages of one number (or all): sent = reached WhatsApp; pending = queued or sending."""

    sent: int = 0
    received: int = 0
    pending: int = 0
    failed: int = 0

    def to_dict(self) -> dict[str, int]:
        """The JSON shape of a count."""
        return {"sent": self.sent, "received": self.received, "pending": self.pending, "failed": self.failed}


@dataclass(frozen=True)
class Page:
    """One page of a newest-first list; pass `next_cursor` back to get the next (None: no more)."""

    items: list[Any] = field(default_factory=list)
    next_cursor: str | None = None


def tally_counts(rows: Any) -> dict[str, MessageCounts]:
    """Per number, the counts from (client_id, direction, status, n) rows of message_counts."""
    tallies: dict[str, dict[str, int]] = {}
    for client_id, direction, status, n in rows:
        tally = tallies.setdefault(client_id, {"sent": 0, "received": 0, "pending": 0, "failed": 0})
        tally[_bucket(direction, status)] += n
    return {client_id: MessageCounts(**tally) for client_id, tally in tallies.items()}


def total_counts(per_client: dict[str, MessageCounts]) -> MessageCounts:
    """All numbers together (totalMessages is `sent`)."""
    return MessageCounts(*(sum(getattr(c, f) for c in per_client.values())
                           for f in ("sent", "received", "pending", "failed")))


def _bucket(direction: str, status: str) -> str:
    """Which count a (direction, status) adds to."""
    if direction == Direction.IN:
        return "received"
    if status in SENT_STATUSES:
        return "sent"
    return "pending" if status in PENDING_STATUSES else "failed"


INCOMING_COLUMNS = ("id, direction, client_id, chat, sender, type, body, media, status, wa_id, notify_name, wa_t, "
                    "created_at, updated_at")


def incoming_row(client_id: str, message_id: str, msg: dict[str, Any], now: int) -> tuple[Any, ...]:
    """A received WhatsApp message as INCOMING_COLUMNS' values after `id, direction` ('in') and before `status`
    ('received'): both message stores log it the same way. In a group (from = the group) the sender is the
    member who wrote (author)."""
    return (message_id, client_id, msg.get("from") or "unknown", msg.get("author") or msg.get("from"),
            msg.get("type") or "chat", msg.get("body") if msg.get("body") is not None else msg.get("caption"),
            incoming_media(msg), msg.get("id"), msg.get("notifyName") or None, int_or_none(msg.get("t")), now, now)


def int_or_none(value: Any) -> int | None:
    """An int, or None for anything else."""
    return int(value) if isinstance(value, (int, float)) else None


def incoming_media(msg: dict[str, Any]) -> str | None:
    """JSON for the media fields of an incoming message (the bytes stay in WhatsApp)."""
    if not msg.get("mimetype"):
        return None
    return json.dumps({"mimetype": msg.get("mimetype"), "filename": msg.get("filename"), "size": msg.get("size")})


def encode_cursor(moment: int, key: int | str) -> str:
    """An opaque cursor for keyset pagination: the (time, key) of the last item shown."""
    return base64.urlsafe_b64encode(f"{moment}|{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The (time, key) inside a cursor; InvalidInput when it was not made by encode_cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, key = raw.split("|", 1)
        return int(moment), key
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("The cursor is not one this server gave out", details={"cursor": cursor[:80]}) from None
