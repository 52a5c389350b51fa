"""CampaignStore: dados/campaigns.db, the campaigns (issue 17 §4) and their recipients; CampaignLog: what the
message log (messages.db) says about a campaign's messages.

Why a file of its own rather than tables in audience.db: the one query that must see customers, tags and
opt-outs together (who is in the audience, minus the opted-out) is a read, and it runs inside audience.db
(AudienceStore.members); what a campaign then keeps is a snapshot (phone, name, variables), so nothing joins
the two files afterwards. A recipient's delivery facts (sent, delivered, read, replied) are not copied either:
its outbox message id is deterministic, `<campaign id>.<recipient seq>`, so the log's rows of one campaign are
an id range of messages.db's unique index (CampaignLog), counted where they are, never kept twice.

campaigns    one row per campaign: its settings (JSON), status and times (epoch ms)
recipients   one row per person: the snapshot, the state the driver moved it to, the number it was given and
             when (queued_at: what the per-number daily cap and warm-up count), its outbox message id

A recipient's state: pending -> claimed (a number chosen, written before the outbox sees the message) -> done
(the outbox finished it: sent or failed); or skipped_optout, skipped_not_on_whatsapp, skipped_missing_variable,
cancelled. (`queued` is kept for the REST shape: a claimed recipient whose message waits shows as queued.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .sqlite_db import Database
from .sqlite_engine import sqlite3

MIGRATIONS = ["""
CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    template_id TEXT NOT NULL,
    spec        TEXT NOT NULL,
    status      TEXT NOT NULL,
    total       INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    start_at    INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER
);
CREATE TABLE recipients (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id),
    seq         INTEGER NOT NULL,
    phone       TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    vars        TEXT NOT NULL DEFAULT '{}',
    state       TEXT NOT NULL,
    client_id   TEXT,
    message_id  TEXT,
    queued_at   INTEGER,
    attempt     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, seq)
) WITHOUT ROWID;
CREATE INDEX recipients_state ON recipients (campaign_id, state, seq);
CREATE INDEX recipients_client_day ON recipients (client_id, queued_at) WHERE queued_at IS NOT NULL;
""",
# v2: the last campaign.progress told (when, and its counts), so a cluster's nodes tell each change once
"""
ALTER TABLE campaigns ADD COLUMN progress_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN progress TEXT;
"""]
PENDING, CLAIMED, QUEUED, DONE, CANCELLED = "pending", "claimed", "queued", "done", "cancelled"
HANDED_OVER = "campaign_handed_over"  # the error code of a message given back unsent (CampaignLog.hand_back)
SKIPPED_OPTOUT, SKIPPED_NOT_ON_WA, SKIPPED_MISSING = ("skipped_optout", "skipped_not_on_whatsapp",
                                                      "skipped_missing_variable")


@dataclass(frozen=True)
class StoredCampaign:
    """One campaign as stored; `spec` is the checked settings (backend/campaigns/spec.py's shape)."""

    id: str
    name: str
    template_id: str
    spec: dict[str, Any]
    status: str
    total: int
    created_at: int
    start_at: int
    started_at: int | None
    finished_at: int | None


@dataclass(frozen=True)
class Recipient:
    """One recipient as stored."""

    campaign_id: str
    seq: int
    phone: str
    name: str
    variables: dict[str, str]
    state: str
    client_id: str | None
    message_id: str | None
    queued_at: int | None
    attempt: int = 0  # how many times its message was handed back unsent by a number that went away


def message_id_of(campaign_id: str, seq: int, attempt: int = 0) -> str:
    """The outbox id of a recipient's message: the same after any crash, so it can be enqueued only once (a new
    one only after the outbox gave the last one back unsent: CampaignLog.hand_back)."""
    return f"{campaign_id}.{seq:07d}" + (f".{attempt}" if attempt else "")


def campaign_range(campaign_id: str) -> tuple[str, str]:
    """The message-id range of one campaign ('.' then '/' sort next to each other)."""
    return f"{campaign_id}.", f"{campaign_id}/"


class CampaignStore:
    """Typed access to campaigns.db; one writer (the driver) plus the API's reads and control changes."""

    def __init__(self, path: Path):
        self.db = Database(path, MIGRATIONS)

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    def create(self, campaign: StoredCampaign, people: Iterable[tuple[str, str, str, str]]) -> None:
        """The campaign and every recipient (phone, name, variables as JSON text, first state) in ONE
        transaction."""
        c = campaign
        with self.db.write() as conn:
            conn.execute("INSERT INTO campaigns (id, name, template_id, spec, status, total, created_at, start_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (c.id, c.name, c.template_id, json.dumps(c.spec), c.status, c.total, c.created_at,
                          c.start_at))
            conn.executemany("INSERT INTO recipients(campaign_id, seq, phone, name, vars, state) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             ((c.id, seq, phone, name, variables, state)
                              for seq, (phone, name, variables, state) in enumerate(people, 1)))

    def get(self, campaign_id: str) -> StoredCampaign | None:
        """One campaign, or None."""
        row = self.db.read().execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
        return _campaign(row) if row else None

    def all(self) -> list[StoredCampaign]:
        """Every campaign, newest first."""
        rows = self.db.read().execute("SELECT * FROM campaigns ORDER BY created_at DESC, id").fetchall()
        return [_campaign(r) for r in rows]

    def with_status(self, *statuses: str) -> list[StoredCampaign]:
        """The campaigns in these statuses, oldest first (the driver's work list, read at every step: their
        settings are left out, `spec` is {}: get() has them)."""
        marks = ",".join("?" * len(statuses))
        rows = self.db.read().execute(f"SELECT id, name, template_id, '{{}}' AS spec, status, total, created_at, "
                                      f"start_at, started_at, finished_at FROM campaigns WHERE status IN ({marks}) "
                                      f"ORDER BY created_at, id", statuses).fetchall()
        return [_campaign(r) for r in rows]

    def set_status(self, campaign_id: str, status: str, *, only_from: tuple[str, ...], now_ms: int) -> bool:
        """Move a campaign to `status` if it is in one of `only_from`; False otherwise. Times are stamped."""
        marks = ",".join("?" * len(only_from))
        with self.db.write() as conn:
            changed = conn.execute(
                f"UPDATE campaigns SET status = ?, started_at = CASE WHEN ? = 'running' THEN "
                f"coalesce(started_at, ?) ELSE started_at END, finished_at = CASE WHEN ? IN ('finished', "
                f"'cancelled') THEN ? ELSE finished_at END WHERE id = ? AND status IN ({marks})",
                (status, status, now_ms, status, now_ms, campaign_id, *only_from)).rowcount == 1
            if changed and status == CANCELLED:
                conn.execute("UPDATE recipients SET state = 'cancelled' WHERE campaign_id = ? AND state = 'pending'",
                             (campaign_id,))
        return changed

    def progress_turn(self, campaign_id: str, counts: dict[str, Any], now_ms: int, every_ms: int) -> bool:
        """True when these counts are to be told now (campaign.progress): they differ from the last told, and
        that was `every_ms` ago or more; recorded as told. Not fsynced: a crash tells them once more."""
        return bool(self.db.write_one(
            "UPDATE campaigns SET progress_at = ?, progress = ? WHERE id = ? AND progress_at <= ? AND "
            "progress IS NOT ? RETURNING id", (now_ms, json.dumps(counts, sort_keys=True), campaign_id,
                                               now_ms - every_ms, json.dumps(counts, sort_keys=True)),
            durable=False))

    # -- the driver's steps --------------------------------------------------------------------------------

    def next_pending(self, campaign_id: str) -> Recipient | None:
        """The first recipient not yet given a number."""
        row = self.db.read().execute("SELECT * FROM recipients WHERE campaign_id = ? AND state = 'pending' "
                                     "ORDER BY seq LIMIT 1", (campaign_id,)).fetchone()
        return _recipient(row) if row else None

    def in_state(self, campaign_id: str, state: str) -> list[Recipient]:
        """The recipients in one state (claimed or queued: a handful, one per number at most)."""
        rows = self.db.read().execute("SELECT * FROM recipients WHERE campaign_id = ? AND state = ? ORDER BY seq",
                                      (campaign_id, state)).fetchall()
        return [_recipient(r) for r in rows]

    def claimed(self, campaign_id: str) -> list[tuple[int, str | None, str | None]]:
        """(seq, number, message id) of the claimed recipients: a handful, one per number at most."""
        rows = self.db.read().execute("SELECT seq, client_id, message_id FROM recipients WHERE campaign_id = ? AND "
                                      "state = 'claimed'", (campaign_id,)).fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def claim(self, campaign_id: str, seq: int, client_id: str, now_ms: int, attempt: int = 0) -> str | None:
        """pending -> claimed by `client_id`; its message id, or None if it was not pending any more. Not fsynced
        (sqlite_db.py's durable=False): a kill -9 keeps it; a power cut may lose it while the outbox's fsynced
        accept of the message stays, and then the runner, claiming again, finds the message in the log under the
        same id and takes its number (runner.py): still one message, one number."""
        message_id = message_id_of(campaign_id, seq, attempt)
        rows = self.db.write_one("UPDATE recipients SET state = 'claimed', client_id = ?, message_id = ?, "
                                 "queued_at = ? WHERE campaign_id = ? AND seq = ? AND state = 'pending' RETURNING seq",
                                 (client_id, message_id, now_ms, campaign_id, seq), durable=False)
        return message_id if rows else None

    def move(self, campaign_id: str, seq: int, to: str, *, only_from: tuple[str, ...], durable: bool = True) -> bool:
        """Change a recipient's state if it is in one of `only_from`. `durable` False (no fsync: sqlite_db.py)
        for a change a restart makes again by itself (claimed -> queued, queued -> done: read from the log)."""
        marks = ",".join("?" * len(only_from))
        return bool(self.db.write_one(f"UPDATE recipients SET state = ? WHERE campaign_id = ? AND seq = ? AND "
                                      f"state IN ({marks}) RETURNING seq", (to, campaign_id, seq, *only_from),
                                      durable=durable))

    def unclaim(self, campaign_id: str, seq: int) -> None:
        """claimed -> pending (the message never reached the outbox: another number may take it)."""
        self.db.write_one("UPDATE recipients SET state = 'pending', client_id = NULL, message_id = NULL, "
                          "queued_at = NULL WHERE campaign_id = ? AND seq = ? AND state = 'claimed'",
                          (campaign_id, seq))

    def hand_over(self, campaign_id: str, seq: int) -> None:
        """claimed -> pending with its next attempt: its message was given back unsent (CampaignLog.hand_back)
        by a number that is not ready; another number takes it under a new id."""
        self.db.write_one("UPDATE recipients SET state = 'pending', client_id = NULL, message_id = NULL, "
                          "queued_at = NULL, attempt = attempt + 1 WHERE campaign_id = ? AND seq = ? AND "
                          "state = 'claimed'", (campaign_id, seq))

    def given_since(self, client_id: str, since_ms: int) -> int:
        """Campaign messages given to this number since `since_ms` (every campaign): the daily cap counts them."""
        row = self.db.read().execute("SELECT count(*) FROM recipients WHERE client_id = ? AND queued_at >= ?",
                                     (client_id, since_ms)).fetchone()
        return int(row[0])

    def unfinished(self, campaign_id: str) -> bool:
        """True while a recipient is pending, claimed or queued (one index probe, not a count)."""
        return self.db.read().execute("SELECT 1 FROM recipients WHERE campaign_id = ? AND state IN ('pending', "
                                      "'claimed', 'queued') LIMIT 1", (campaign_id,)).fetchone() is not None

    # -- reads -----------------------------------------------------------------------------------------

    def states(self, campaign_id: str) -> dict[str, int]:
        """How many recipients are in each state."""
        rows = self.db.read().execute("SELECT state, count(*) FROM recipients WHERE campaign_id = ? GROUP BY state",
                                      (campaign_id,)).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def page(self, campaign_id: str, after: int = 0, limit: int = 50) -> list[Recipient]:
        """Recipients in order from seq `after`."""
        rows = self.db.read().execute("SELECT * FROM recipients WHERE campaign_id = ? AND seq > ? ORDER BY seq "
                                      "LIMIT ?", (campaign_id, after, limit)).fetchall()
        return [_recipient(r) for r in rows]

    def first(self, campaign_id: str, limit: int) -> list[Recipient]:
        """The first recipients that will be sent to (the preview)."""
        rows = self.db.read().execute("SELECT * FROM recipients WHERE campaign_id = ? AND state = 'pending' "
                                      "ORDER BY seq LIMIT ?", (campaign_id, limit)).fetchall()
        return [_recipient(r) for r in rows]


class CampaignLog:
    """What messages.db says about one campaign's messages, read by their id range (see the module's doc)."""

    def __init__(self, db: Database):
        self._db = db

    def statuses(self, campaign_id: str) -> list[tuple[str, str, str | None, int]]:
        """(client id, status, error code, how many) of the campaign's messages (those handed back unsent to be
        sent by another number are not counted: their recipient's next message is)."""
        low, high = campaign_range(campaign_id)
        rows = self._db.read().execute(
            "SELECT coalesce(client_id, ''), status, CASE WHEN status = 'failed' THEN error_code END, count(*) "
            "FROM messages WHERE id >= ? AND id < ? AND coalesce(error_code, '') <> ? GROUP BY 1, 2, 3",
            (low, high, HANDED_OVER)).fetchall()
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    def replied(self, campaign_id: str) -> dict[str, int]:
        """Per number, how many recipients wrote back after their campaign message was sent."""
        low, high = campaign_range(campaign_id)
        rows = self._db.read().execute(
            "SELECT o.client_id, count(*) FROM messages o WHERE o.id >= ? AND o.id < ? AND o.sent_at IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM messages i WHERE i.chat = o.chat AND i.client_id = o.client_id AND "
            "i.direction = 'in' AND i.created_at >= o.sent_at) GROUP BY o.client_id", (low, high)).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def replied_ids(self, campaign_id: str) -> set[str]:
        """The message ids of the campaign whose recipient wrote back (the CSV's per-recipient column)."""
        low, high = campaign_range(campaign_id)
        rows = self._db.read().execute(
            "SELECT o.id FROM messages o WHERE o.id >= ? AND o.id < ? AND o.sent_at IS NOT NULL AND EXISTS "
            "(SELECT 1 FROM messages i WHERE i.chat = o.chat AND i.client_id = o.client_id AND i.direction = 'in' "
            "AND i.created_at >= o.sent_at)", (low, high)).fetchall()
        return {r[0] for r in rows}

    def hand_back(self, message_id: str) -> bool:
        """Take a campaign message back from a number that is not ready, if the outbox never tried it (queued,
        no attempt: it never reached WhatsApp): failed with HANDED_OVER, so its lane never claims it. False if
        it is being sent or was tried (then it stays with its number)."""
        now = int(time.time() * 1000)
        return bool(self._db.write_one(
            "UPDATE messages SET status = 'failed', error_code = ?, reason = ?, failed_at = ?, updated_at = ? "
            "WHERE id = ? AND status = 'queued' AND attempts = 0 RETURNING id",
            (HANDED_OVER, "Its number went away before sending it: another number of the campaign sends it", now,
             now, message_id)))

    def number_of(self, message_id: str) -> tuple[bool, str | None]:
        """(is the message in the log, its number): one probe of the log's unique id index."""
        row = self._db.read().execute("SELECT client_id FROM messages WHERE id = ?", (message_id,)).fetchone()
        return (row is not None, row[0] if row is not None else None)

    def outcome(self, message_ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """(status, error code) of each of these messages that is in the log."""
        if not message_ids:
            return {}
        marks = ",".join("?" * len(message_ids))
        rows = self._db.read().execute(f"SELECT id, status, error_code FROM messages WHERE id IN ({marks})",
                                       message_ids).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}


def _campaign(row: sqlite3.Row) -> StoredCampaign:
    """A StoredCampaign from its row."""
    return StoredCampaign(row["id"], row["name"], row["template_id"], json.loads(row["spec"]), row["status"],
                          row["total"], row["created_at"], row["start_at"], row["started_at"], row["finished_at"])


def _recipient(row: sqlite3.Row) -> Recipient:
    """A Recipient from its row."""
    return Recipient(row["campaign_id"], row["seq"], row["phone"], row["name"], json.loads(row["vars"]),
                     row["state"], row["client_id"], row["message_id"], row["queued_at"], row["attempt"])
