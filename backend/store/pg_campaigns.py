"""The cluster's campaigns in its PostgreSQL (issue 20): a campaign made through any node is followed, paused
and cancelled through any other, every node's numbers take its recipients, and it goes on when a node dies.

PgCampaignStore is CampaignStore's interface (store/campaigns.py) over `cluster_campaigns` and
`cluster_campaign_recipients`, with the same states and the same conditional moves: a recipient is claimed
only while pending (`UPDATE … WHERE state = 'pending'`), so two nodes walking the same pending recipients give
each to one number only. Each node settles its own numbers' claimed recipients (campaigns/runner.py), never
taking back one another node is about to queue.

PgCampaignLog is CampaignLog's reads of the message log, on the cluster's shared log (store/pg_messages.py),
where every node's campaign messages are.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from psycopg.types.json import Jsonb

from .campaigns import CANCELLED, HANDED_OVER, Recipient, StoredCampaign, campaign_range, message_id_of
from .pg_db import PgDatabase

SCHEMA_V1 = """
CREATE TABLE cluster_campaigns (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    template_id text NOT NULL,
    spec        jsonb NOT NULL,
    status      text NOT NULL,
    total       integer NOT NULL,
    created_at  bigint NOT NULL,
    start_at    bigint NOT NULL,
    started_at  bigint,
    finished_at bigint
);
CREATE INDEX cluster_campaigns_status ON cluster_campaigns (status, created_at);
CREATE TABLE cluster_campaign_recipients (
    campaign_id text NOT NULL REFERENCES cluster_campaigns(id),
    seq         integer NOT NULL,
    phone       text NOT NULL,
    name        text NOT NULL DEFAULT '',
    vars        jsonb NOT NULL DEFAULT '{}',
    state       text NOT NULL,
    client_id   text,
    message_id  text,
    queued_at   bigint,
    attempt     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, seq)
);
CREATE INDEX cluster_campaign_recipients_state ON cluster_campaign_recipients (campaign_id, state, seq);
CREATE INDEX cluster_campaign_recipients_client_day ON cluster_campaign_recipients (client_id, queued_at)
    WHERE queued_at IS NOT NULL;
"""
# v2: the last campaign.progress told, so each change is told once by one node, at most once a second
SCHEMA_V2 = """
ALTER TABLE cluster_campaigns ADD COLUMN progress_at bigint NOT NULL DEFAULT 0;
ALTER TABLE cluster_campaigns ADD COLUMN progress jsonb;
"""
MIGRATIONS = [SCHEMA_V1, SCHEMA_V2]
CAMPAIGN = "id, name, template_id, spec, status, total, created_at, start_at, started_at, finished_at"
RECIPIENT = "campaign_id, seq, phone, name, vars, state, client_id, message_id, queued_at, attempt"
R = "cluster_campaign_recipients"


class PgCampaignStore:
    """Reads and writes the cluster's campaigns; safe from any thread (the connection pool)."""

    def __init__(self, db: PgDatabase):
        self._db = db
        db.migrate("campaigns", MIGRATIONS)

    def close(self) -> None:
        """Nothing of its own to close: the cluster's database is closed with the node."""

    def create(self, campaign: StoredCampaign, people: Iterable[tuple[str, str, str, str]]) -> None:
        """The campaign and every recipient (phone, name, variables as JSON text, first state) in ONE
        transaction."""
        c = campaign
        with self._db.transaction() as conn:
            conn.execute(f"INSERT INTO cluster_campaigns ({CAMPAIGN}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL, "
                         "NULL)", (c.id, c.name, c.template_id, Jsonb(c.spec), c.status, c.total, c.created_at,
                                   c.start_at))
            with conn.cursor().copy(f"COPY {R} (campaign_id, seq, phone, name, vars, state) FROM STDIN") as copy:
                for seq, (phone, name, variables, state) in enumerate(people, 1):
                    copy.write_row((c.id, seq, phone, name, variables, state))

    def get(self, campaign_id: str) -> StoredCampaign | None:
        """One campaign, or None."""
        row = self._db.one(f"SELECT {CAMPAIGN} FROM cluster_campaigns WHERE id = %s", (campaign_id,))
        return _campaign(row) if row else None

    def all(self) -> list[StoredCampaign]:
        """Every campaign, newest first."""
        return [_campaign(r) for r in self._db.all(f"SELECT {CAMPAIGN} FROM cluster_campaigns "
                                                   "ORDER BY created_at DESC, id")]

    def with_status(self, *statuses: str) -> list[StoredCampaign]:
        """The campaigns in these statuses, oldest first, their settings left out (`spec` is {})."""
        rows = self._db.all("SELECT id, name, template_id, '{}'::jsonb, status, total, created_at, start_at, "
                            "started_at, finished_at FROM cluster_campaigns WHERE status = ANY(%s) "
                            "ORDER BY created_at, id", (list(statuses),))
        return [_campaign(r) for r in rows]

    def set_status(self, campaign_id: str, status: str, *, only_from: tuple[str, ...], now_ms: int) -> bool:
        """Move a campaign to `status` if it is in one of `only_from`; False otherwise. Times are stamped."""
        with self._db.transaction() as conn:
            changed = conn.execute(
                "UPDATE cluster_campaigns SET status = %(to)s, started_at = CASE WHEN %(to)s = 'running' THEN "
                "coalesce(started_at, %(now)s) ELSE started_at END, finished_at = CASE WHEN %(to)s IN ('finished', "
                "'cancelled') THEN %(now)s ELSE finished_at END WHERE id = %(id)s AND status = ANY(%(from)s)",
                {"to": status, "now": now_ms, "id": campaign_id, "from": list(only_from)}).rowcount == 1
            if changed and status == CANCELLED:
                conn.execute(f"UPDATE {R} SET state = 'cancelled' WHERE campaign_id = %s AND state = 'pending'",
                             (campaign_id,))
        return changed

    def progress_turn(self, campaign_id: str, counts: dict[str, Any], now_ms: int, every_ms: int) -> bool:
        """True for the one node that is to tell these counts now (campaign.progress): they differ from the last
        told by any node, and that was `every_ms` ago or more; recorded as told in the same statement."""
        return self._db.one("UPDATE cluster_campaigns SET progress_at = %s, progress = %s WHERE id = %s AND "
                            "progress_at <= %s AND progress IS DISTINCT FROM %s RETURNING id",
                            (now_ms, Jsonb(counts), campaign_id, now_ms - every_ms, Jsonb(counts))) is not None

    # -- the drivers' steps (one per node) -----------------------------------------------------------------

    def next_pending(self, campaign_id: str) -> Recipient | None:
        """The first recipient not yet given a number."""
        found = self.first(campaign_id, 1)
        return found[0] if found else None

    def in_state(self, campaign_id: str, state: str) -> list[Recipient]:
        """The recipients in one state."""
        rows = self._db.all(f"SELECT {RECIPIENT} FROM {R} WHERE campaign_id = %s AND state = %s ORDER BY seq",
                            (campaign_id, state))
        return [_recipient(r) for r in rows]

    def claimed(self, campaign_id: str) -> list[tuple[int, str | None, str | None]]:
        """(seq, number, message id) of the claimed recipients: one per number at most, every node's."""
        rows = self._db.all(f"SELECT seq, client_id, message_id FROM {R} WHERE campaign_id = %s AND "
                            "state = 'claimed'", (campaign_id,))
        return [(int(r[0]), r[1], r[2]) for r in rows]

    def claim(self, campaign_id: str, seq: int, client_id: str, now_ms: int, attempt: int = 0) -> str | None:
        """pending -> claimed by `client_id`; its message id, or None if it was not pending any more (another
        node's number took it)."""
        message_id = message_id_of(campaign_id, seq, attempt)
        row = self._db.one(f"UPDATE {R} SET state = 'claimed', client_id = %s, message_id = %s, queued_at = %s "
                           "WHERE campaign_id = %s AND seq = %s AND state = 'pending' RETURNING seq",
                           (client_id, message_id, now_ms, campaign_id, seq))
        return message_id if row else None

    def move(self, campaign_id: str, seq: int, to: str, *, only_from: tuple[str, ...], durable: bool = True) -> bool:
        """Change a recipient's state if it is in one of `only_from` (`durable` is SQLite's: every commit here is
        PostgreSQL's)."""
        return self._db.one(f"UPDATE {R} SET state = %s WHERE campaign_id = %s AND seq = %s AND state = ANY(%s) "
                            "RETURNING seq", (to, campaign_id, seq, list(only_from))) is not None

    def unclaim(self, campaign_id: str, seq: int) -> None:
        """claimed -> pending (the message never reached the outbox: another number may take it)."""
        self._db.one(f"UPDATE {R} SET state = 'pending', client_id = NULL, message_id = NULL, queued_at = NULL "
                     "WHERE campaign_id = %s AND seq = %s AND state = 'claimed' RETURNING seq", (campaign_id, seq))

    def hand_over(self, campaign_id: str, seq: int) -> None:
        """claimed -> pending with its next attempt (its message was given back unsent)."""
        self._db.one(f"UPDATE {R} SET state = 'pending', client_id = NULL, message_id = NULL, queued_at = NULL, "
                     "attempt = attempt + 1 WHERE campaign_id = %s AND seq = %s AND state = 'claimed' RETURNING seq",
                     (campaign_id, seq))

    def given_since(self, client_id: str, since_ms: int) -> int:
        """Campaign messages given to this number since `since_ms` (every campaign, every node)."""
        row = self._db.one(f"SELECT count(*) FROM {R} WHERE client_id = %s AND queued_at >= %s", (client_id, since_ms))
        return int(row[0]) if row else 0

    def unfinished(self, campaign_id: str) -> bool:
        """True while a recipient is pending, claimed or queued."""
        return self._db.one(f"SELECT 1 FROM {R} WHERE campaign_id = %s AND state IN ('pending', 'claimed', "
                            "'queued') LIMIT 1", (campaign_id,)) is not None

    # -- reads ---------------------------------------------------------------------------------------------

    def states(self, campaign_id: str) -> dict[str, int]:
        """How many recipients are in each state."""
        rows = self._db.all(f"SELECT state, count(*) FROM {R} WHERE campaign_id = %s GROUP BY state", (campaign_id,))
        return {r[0]: int(r[1]) for r in rows}

    def page(self, campaign_id: str, after: int = 0, limit: int = 50) -> list[Recipient]:
        """Recipients in order from seq `after`."""
        rows = self._db.all(f"SELECT {RECIPIENT} FROM {R} WHERE campaign_id = %s AND seq > %s ORDER BY seq LIMIT %s",
                            (campaign_id, after, limit))
        return [_recipient(r) for r in rows]

    def first(self, campaign_id: str, limit: int) -> list[Recipient]:
        """The first recipients that will be sent to."""
        rows = self._db.all(f"SELECT {RECIPIENT} FROM {R} WHERE campaign_id = %s AND state = 'pending' ORDER BY seq "
                            "LIMIT %s", (campaign_id, limit))
        return [_recipient(r) for r in rows]


class PgCampaignLog:
    """What the cluster's shared message log says about one campaign's messages (CampaignLog's reads)."""

    def __init__(self, db: PgDatabase):
        self._db = db

    def statuses(self, campaign_id: str) -> list[tuple[str, str, str | None, int]]:
        """(client id, status, error code, how many) of the campaign's messages, those handed back left out."""
        low, high = campaign_range(campaign_id)
        rows = self._db.all(
            "SELECT coalesce(client_id, ''), status, CASE WHEN status = 'failed' THEN error_code END, count(*) "
            "FROM messages WHERE id >= %s AND id < %s AND coalesce(error_code, '') <> %s GROUP BY 1, 2, 3",
            (low, high, HANDED_OVER))
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    def replied(self, campaign_id: str) -> dict[str, int]:
        """Per number, how many recipients wrote back after their campaign message was sent."""
        rows = self._db.all(f"SELECT o.client_id, count(*) FROM messages o WHERE {REPLIED} GROUP BY o.client_id",
                            campaign_range(campaign_id))
        return {r[0]: int(r[1]) for r in rows}

    def replied_ids(self, campaign_id: str) -> set[str]:
        """The message ids of the campaign whose recipient wrote back."""
        return {r[0] for r in self._db.all(f"SELECT o.id FROM messages o WHERE {REPLIED}", campaign_range(campaign_id))}

    def hand_back(self, message_id: str) -> bool:
        """Take a campaign message back from a number that is not ready, if it was never tried (queued, no
        attempt, claimed by no lane): failed with HANDED_OVER. False if it is being sent or was tried."""
        now = int(time.time() * 1000)
        return self._db.one(
            "UPDATE messages SET status = 'failed', error_code = %s, reason = %s, failed_at = %s, updated_at = %s "
            "WHERE id = %s AND status = 'queued' AND attempts = 0 RETURNING id",
            (HANDED_OVER, "Its number went away before sending it: another number of the campaign sends it", now,
             now, message_id)) is not None

    def number_of(self, message_id: str) -> tuple[bool, str | None]:
        """(is the message in the log, its number)."""
        row = self._db.one("SELECT client_id FROM messages WHERE id = %s", (message_id,))
        return (row is not None, row[0] if row is not None else None)

    def outcome(self, message_ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """(status, error code) of each of these messages that is in the log."""
        if not message_ids:
            return {}
        rows = self._db.all("SELECT id, status, error_code FROM messages WHERE id = ANY(%s)", (message_ids,))
        return {r[0]: (r[1], r[2]) for r in rows}


# A campaign message (its id in the campaign's range) sent, to a chat that wrote to the same number after it.
REPLIED = ("o.id >= %s AND o.id < %s AND o.sent_at IS NOT NULL AND EXISTS (SELECT 1 FROM messages i WHERE "
           "i.chat = o.chat AND i.client_id = o.client_id AND i.direction = 'in' AND i.created_at >= o.sent_at)")


def _campaign(row: tuple[Any, ...]) -> StoredCampaign:
    """A StoredCampaign from a row read with CAMPAIGN (psycopg gives jsonb as a dict)."""
    spec = row[3] if isinstance(row[3], dict) else json.loads(row[3])
    return StoredCampaign(row[0], row[1], row[2], spec, row[4], int(row[5]), int(row[6]), int(row[7]),
                          None if row[8] is None else int(row[8]), None if row[9] is None else int(row[9]))


def _recipient(row: tuple[Any, ...]) -> Recipient:
    """A Recipient from a row read with RECIPIENT."""
    variables = row[4] if isinstance(row[4], dict) else json.loads(row[4])
    return Recipient(row[0], int(row[1]), row[2], row[3], variables, row[5], row[6], row[7],
                     None if row[8] is None else int(row[8]), int(row[9]))
