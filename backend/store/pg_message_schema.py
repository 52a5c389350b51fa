"""The message log's schema on PostgreSQL (cluster mode): message_schema.py's tables, in PostgreSQL's terms.

The same columns as SQLite's (the records, cursors and JSON shapes are shared), plus `claim_token`: the fencing
token of the lease under which a node claimed an outgoing message (store/pg_cluster.py). After a node dies, its
claims are the ones whose token is no longer the number's current lease: those, and only those, are taken back.

The counts per number are kept as SQLite's are, by trigger, but as deltas appended to `message_count_deltas`
(no row is updated by two writers at once, so no lock waits and no deadlocks between nodes), folded into
`message_counts` by whoever reads the counts (one folder at a time, under an advisory lock).
"""

from __future__ import annotations

SCHEMA_V1 = """
CREATE TABLE messages (
    seq                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                 text NOT NULL UNIQUE,
    direction          text NOT NULL CHECK (direction IN ('out', 'in')),
    client_id          text,
    routing            text NOT NULL DEFAULT 'pinned' CHECK (routing IN ('pinned', 'auto')),
    chat               text NOT NULL,
    to_number          text,
    sender             text,
    type               text NOT NULL,
    body               text,
    media              text,
    status             text NOT NULL,
    ack                integer,
    wa_id              text,
    attempts           integer NOT NULL DEFAULT 0,
    possible_duplicate boolean NOT NULL DEFAULT false,
    error_code         text,
    reason             text,
    notify_name        text,
    wa_t               bigint,
    next_attempt_at    bigint NOT NULL DEFAULT 0,
    created_at         bigint NOT NULL,
    updated_at         bigint NOT NULL,
    sent_at            bigint,
    delivered_at       bigint,
    read_at            bigint,
    failed_at          bigint,
    key_id             text,
    claim_token        bigint                      -- the lease's fencing token at the last claim
);
CREATE INDEX ix_messages_time ON messages (created_at, seq);
CREATE INDEX ix_messages_client_time ON messages (client_id, created_at, seq);
CREATE INDEX ix_messages_chat_time ON messages (chat, client_id, created_at, seq);
CREATE UNIQUE INDEX ix_messages_wa_id ON messages (client_id, wa_id) WHERE wa_id IS NOT NULL;
CREATE INDEX ix_messages_queue ON messages (client_id, seq) WHERE status = 'queued';
CREATE INDEX ix_messages_sending ON messages (status) WHERE status = 'sending';
CREATE INDEX ix_messages_client_sent ON messages (client_id, sent_at) WHERE sent_at IS NOT NULL;

CREATE TABLE message_counts (
    client_id text NOT NULL,
    direction text NOT NULL,
    status    text NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (client_id, direction, status)
);
CREATE TABLE message_count_deltas (
    client_id text NOT NULL,
    direction text NOT NULL,
    status    text NOT NULL,
    n         integer NOT NULL
);
-- Emptied by every fold: vacuumed after a fixed number of dead rows, not a fraction of a table that is ~empty.
ALTER TABLE message_count_deltas SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,
                                      autovacuum_vacuum_insert_scale_factor = 0);

CREATE FUNCTION zapool_count_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO message_count_deltas VALUES (coalesce(OLD.client_id, ''), OLD.direction, OLD.status, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO message_count_deltas VALUES (coalesce(NEW.client_id, ''), NEW.direction, NEW.status, 1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tr_count_insert_delete AFTER INSERT OR DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION zapool_count_messages();
CREATE TRIGGER tr_count_update AFTER UPDATE OF status, client_id ON messages FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.client_id IS DISTINCT FROM NEW.client_id)
    EXECUTE FUNCTION zapool_count_messages();

CREATE TABLE chats (
    client_id text NOT NULL,
    chat      text NOT NULL,
    last_seq  bigint NOT NULL,
    last_at   bigint NOT NULL,
    unread    integer NOT NULL DEFAULT 0,
    total     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, chat)
);
CREATE INDEX ix_chats_recent ON chats (client_id, last_at, chat);

CREATE FUNCTION zapool_chat_incoming() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chats AS c VALUES (NEW.client_id, NEW.chat, NEW.seq, NEW.created_at, 1, 1)
        ON CONFLICT (client_id, chat) DO UPDATE SET last_seq = excluded.last_seq, last_at = excluded.last_at,
                                                   unread = c.unread + 1, total = c.total + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER tr_chat_incoming AFTER INSERT ON messages FOR EACH ROW WHEN (NEW.direction = 'in')
    EXECUTE FUNCTION zapool_chat_incoming();

CREATE FUNCTION zapool_chat_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chats AS c VALUES (NEW.client_id, NEW.chat, NEW.seq, NEW.sent_at, 0, 1)
        ON CONFLICT (client_id, chat) DO UPDATE SET last_seq = excluded.last_seq, last_at = excluded.last_at,
                                                   total = c.total + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER tr_chat_sent AFTER UPDATE OF status ON messages FOR EACH ROW
    WHEN (NEW.direction = 'out' AND NEW.status = 'sent' AND OLD.status <> 'sent')
    EXECUTE FUNCTION zapool_chat_sent();

CREATE FUNCTION zapool_chat_read() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE chats SET unread = unread - 1 WHERE client_id = NEW.client_id AND chat = NEW.chat;
    RETURN NULL;
END $$;
CREATE TRIGGER tr_chat_read AFTER UPDATE OF status ON messages FOR EACH ROW
    WHEN (NEW.direction = 'in' AND OLD.status = 'received' AND NEW.status = 'read')
    EXECUTE FUNCTION zapool_chat_read();

CREATE TABLE client_limits (
    client_id  text PRIMARY KEY,
    interval_s double precision,
    jitter_s   double precision,
    hourly_cap integer,
    daily_cap  integer,
    updated_at bigint NOT NULL
);
"""

# v2: who sent a message (a campaign's id), as messages.db's v4 keeps it for the reports' funnel.
SCHEMA_V2 = "ALTER TABLE messages ADD COLUMN tag text;"

MIGRATIONS = [SCHEMA_V1, SCHEMA_V2]

# Fold the appended count deltas into message_counts (one folder at a time; new deltas wait for the next fold).
FOLD_COUNTS = """
WITH moved AS (DELETE FROM message_count_deltas RETURNING client_id, direction, status, n)
INSERT INTO message_counts AS c
SELECT client_id, direction, status, sum(n) FROM moved GROUP BY client_id, direction, status
ORDER BY client_id, direction, status
ON CONFLICT (client_id, direction, status) DO UPDATE SET n = c.n + excluded.n"""
FOLD_LOCK = 0x5A50_434E  # "ZPCN": pg_advisory_xact_lock's key for the fold
