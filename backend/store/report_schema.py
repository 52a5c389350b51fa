"""The report tables of messages.db (schema v4): kept by triggers as messages arrive, so a report reads a few
thousand small rows instead of scanning the log (docs/REPORTS.md says what each figure means).

- `report_hours`: per number, UTC hour (epoch ms // 3,600,000), group or not and tag: incoming, sent,
  delivered, read, replied and failed messages, and the conversations opened by the customer or the business.
  Outgoing figures sit at the hour the message was sent, so a funnel is "of the messages sent in the period".
- `report_failures`: per number, hour and error code, the messages that will not be sent.
- `report_waits`: one row per wait (a run of customer messages), keyed by the first message's seq: when it was
  asked, when (and by which message) it was answered, and whether it opened a conversation.
- `report_chats`: each chat's state between messages: its last message time (the conversation gap), the wait it
  owes an answer to, and since when its outgoing messages wait for the customer to reply (the funnel's replied).
- `report_settings`: the conversation gap the triggers split on, the response target and business hours.

Only live traffic moves the waits: incoming rows written `received` and outgoing rows going sent. The history
fetch writes rows of the past (incoming already `read`, outgoing in their last state), out of order: they count in
the incoming volume, at their own time, and nowhere else. `REBUILD` computes every table from the log with
window functions (the same rules, set-based): it fills them for a log written before v4 and again when the
conversation gap changes. tests/test_reports_store.py checks that the two ways agree.
"""

from __future__ import annotations

GROUP = "(NEW.chat LIKE '%@g.us')"
BUCKET_BOUNDS_S = (60, 300, 900, 3600, 14_400, 86_400)  # the last bucket has no bound (+Inf)
BUCKET = "(CASE " + " ".join(f"WHEN {{d}} <= {b * 1000} THEN {i}" for i, b in enumerate(BUCKET_BOUNDS_S)) + \
         f" ELSE {len(BUCKET_BOUNDS_S)} END)"

SCHEMA_V4 = f"""
ALTER TABLE messages ADD COLUMN tag TEXT;  -- a label the sender gives: the campaigns' funnel seam (empty today)

CREATE TABLE report_settings (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    gap_ms         INTEGER NOT NULL DEFAULT 86400000,
    target_s       INTEGER,                -- NULL: any answer counts
    business_hours TEXT                    -- JSON {{"0": ["08:00", "18:00"], ...}} (Monday = 0); NULL: every hour
);
INSERT INTO report_settings (id) VALUES (1);

CREATE TABLE report_hours (
    client_id TEXT NOT NULL,
    hour      INTEGER NOT NULL,
    grp       INTEGER NOT NULL,
    tag       TEXT NOT NULL,
    incoming  INTEGER NOT NULL DEFAULT 0,
    sent      INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    read      INTEGER NOT NULL DEFAULT 0,
    replied   INTEGER NOT NULL DEFAULT 0,
    failed    INTEGER NOT NULL DEFAULT 0,
    conv_in   INTEGER NOT NULL DEFAULT 0,
    conv_out  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, hour, grp, tag)
) WITHOUT ROWID;

CREATE TABLE report_failures (
    client_id TEXT NOT NULL,
    hour      INTEGER NOT NULL,
    code      TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (client_id, hour, code)
) WITHOUT ROWID;

CREATE TABLE report_chats (
    client_id   TEXT NOT NULL,
    chat        TEXT NOT NULL,
    last_at     INTEGER NOT NULL,
    wait_seq    INTEGER,                   -- the wait this chat owes an answer to
    out_since   INTEGER,                   -- sent_at of the first outgoing message not replied to yet
    out_created INTEGER,                   -- the smallest created_at among those (the index range to mark them)
    PRIMARY KEY (client_id, chat)
) WITHOUT ROWID;

CREATE TABLE report_waits (
    seq         INTEGER PRIMARY KEY,       -- the first customer message of the run
    client_id   TEXT NOT NULL,
    grp         INTEGER NOT NULL,
    asked_at    INTEGER NOT NULL,
    answered_at INTEGER,
    answer_seq  INTEGER,
    opens       INTEGER NOT NULL           -- 1: this wait opened a customer-started conversation
);
-- Covering: a period's waits of a number (first ones, or the others) are one index range each, read from the index.
CREATE INDEX ix_report_waits_time ON report_waits (client_id, opens, asked_at, grp, answered_at);
CREATE INDEX ix_report_waits_answer ON report_waits (answer_seq) WHERE answer_seq IS NOT NULL;

-- Prometheus' response-time histograms: answered waits per number, first or not, and bucket (BUCKET_SQL's upper
-- bounds: 1 min, 5 min, 15 min, 1 h, 4 h, 24 h, more), with their summed length, kept as waits are answered.
CREATE TABLE report_buckets (
    client_id TEXT NOT NULL,
    opens     INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    total_ms  INTEGER NOT NULL,
    PRIMARY KEY (client_id, opens, bucket)
) WITHOUT ROWID;

CREATE TRIGGER tr_report_answered AFTER UPDATE OF answered_at ON report_waits
WHEN OLD.answered_at IS NULL AND NEW.answered_at IS NOT NULL BEGIN
    INSERT INTO report_buckets VALUES (NEW.client_id, NEW.opens, {BUCKET.format(d="NEW.answered_at - NEW.asked_at")},
                                       1, NEW.answered_at - NEW.asked_at)
        ON CONFLICT DO UPDATE SET n = n + 1, total_ms = total_ms + excluded.total_ms;
END;
CREATE TRIGGER tr_report_unanswered AFTER DELETE ON report_waits WHEN OLD.answered_at IS NOT NULL BEGIN
    UPDATE report_buckets SET n = n - 1, total_ms = total_ms - (OLD.answered_at - OLD.asked_at)
        WHERE client_id = OLD.client_id AND opens = OLD.opens
          AND bucket = {BUCKET.format(d="OLD.answered_at - OLD.asked_at")};
END;

CREATE TRIGGER tr_report_in AFTER INSERT ON messages
WHEN NEW.direction = 'in' AND NEW.client_id IS NOT NULL BEGIN
    INSERT INTO report_waits (seq, client_id, grp, asked_at, opens)
        SELECT NEW.seq, NEW.client_id, {GROUP}, NEW.created_at, o.opens FROM (
            SELECT c.last_at IS NULL OR NEW.created_at - c.last_at >= s.gap_ms AS opens, c.wait_seq AS wait_seq
            FROM report_settings s LEFT JOIN report_chats c ON c.client_id = NEW.client_id AND c.chat = NEW.chat) o
        WHERE NEW.status = 'received' AND (o.opens OR o.wait_seq IS NULL);
    INSERT INTO report_hours (client_id, hour, grp, tag, incoming, conv_in)
        SELECT NEW.client_id, NEW.created_at / 3600000, {GROUP}, '', 1,
               EXISTS (SELECT 1 FROM report_waits WHERE seq = NEW.seq AND opens) WHERE true
        ON CONFLICT DO UPDATE SET incoming = incoming + 1, conv_in = conv_in + excluded.conv_in;
    INSERT INTO report_hours (client_id, hour, grp, tag, replied)
        SELECT m.client_id, m.sent_at / 3600000, m.chat LIKE '%@g.us', coalesce(m.tag, ''), count(*)
        FROM report_chats c JOIN messages m ON m.chat = c.chat AND m.client_id = c.client_id
             AND m.created_at >= c.out_created
        WHERE NEW.status = 'received' AND c.client_id = NEW.client_id AND c.chat = NEW.chat
          AND c.out_since IS NOT NULL AND m.direction = 'out' AND m.sent_at >= c.out_since
          AND m.sent_at <= NEW.created_at AND m.sent_at > NEW.created_at - (SELECT gap_ms FROM report_settings)
        GROUP BY 1, 2, 3, 4
        ON CONFLICT DO UPDATE SET replied = replied + excluded.replied;
    INSERT INTO report_chats (client_id, chat, last_at, wait_seq)
        SELECT NEW.client_id, NEW.chat, NEW.created_at, NEW.seq WHERE NEW.status = 'received'
        ON CONFLICT DO UPDATE SET last_at = excluded.last_at, out_since = NULL, out_created = NULL,
            wait_seq = CASE WHEN EXISTS (SELECT 1 FROM report_waits WHERE seq = NEW.seq) THEN NEW.seq
                            ELSE wait_seq END;
END;

CREATE TRIGGER tr_report_sent AFTER UPDATE OF status ON messages
WHEN NEW.direction = 'out' AND NEW.status = 'sent' AND OLD.status IN ('queued', 'sending')
     AND NEW.client_id IS NOT NULL AND NEW.sent_at IS NOT NULL BEGIN
    UPDATE report_waits SET answered_at = NEW.sent_at, answer_seq = NEW.seq
        WHERE seq = (SELECT wait_seq FROM report_chats WHERE client_id = NEW.client_id AND chat = NEW.chat);
    INSERT INTO report_hours (client_id, hour, grp, tag, sent, conv_out)
        SELECT NEW.client_id, NEW.sent_at / 3600000, {GROUP}, coalesce(NEW.tag, ''), 1,
               coalesce((SELECT c.wait_seq IS NULL AND NEW.sent_at - c.last_at >= s.gap_ms
                         FROM report_chats c, report_settings s
                         WHERE c.client_id = NEW.client_id AND c.chat = NEW.chat), 1) WHERE true
        ON CONFLICT DO UPDATE SET sent = sent + 1, conv_out = conv_out + excluded.conv_out;
    INSERT INTO report_chats (client_id, chat, last_at, out_since, out_created)
        VALUES (NEW.client_id, NEW.chat, NEW.sent_at, NEW.sent_at, NEW.created_at)
        ON CONFLICT DO UPDATE SET last_at = excluded.last_at, wait_seq = NULL,
            out_since = coalesce(out_since, excluded.out_since),
            out_created = min(coalesce(out_created, excluded.out_created), excluded.out_created);
END;

CREATE TRIGGER tr_report_ack AFTER UPDATE OF status ON messages
WHEN NEW.direction = 'out' AND NEW.client_id IS NOT NULL AND NEW.sent_at IS NOT NULL
     AND OLD.status IN ('sent', 'delivered') AND NEW.status IN ('delivered', 'read') BEGIN
    INSERT INTO report_hours (client_id, hour, grp, tag, delivered, read)
        SELECT NEW.client_id, NEW.sent_at / 3600000, {GROUP}, coalesce(NEW.tag, ''),
               OLD.delivered_at IS NULL AND NEW.delivered_at IS NOT NULL,
               OLD.read_at IS NULL AND NEW.read_at IS NOT NULL WHERE true
        ON CONFLICT DO UPDATE SET delivered = delivered + excluded.delivered, read = read + excluded.read;
END;

CREATE TRIGGER tr_report_failed AFTER UPDATE OF status ON messages
WHEN NEW.direction = 'out' AND NEW.status = 'failed' AND OLD.status <> 'failed' BEGIN
    INSERT INTO report_hours (client_id, hour, grp, tag, failed)
        VALUES (coalesce(NEW.client_id, ''), coalesce(NEW.failed_at, NEW.updated_at) / 3600000, {GROUP},
                coalesce(NEW.tag, ''), 1)
        ON CONFLICT DO UPDATE SET failed = failed + 1;
    INSERT INTO report_failures VALUES (coalesce(NEW.client_id, ''),
                                        coalesce(NEW.failed_at, NEW.updated_at) / 3600000,
                                        coalesce(NEW.error_code, 'unknown'), 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- A deleted message leaves the volumes and the funnel; a wait it started or answered leaves the response times.
CREATE TRIGGER tr_report_delete AFTER DELETE ON messages BEGIN
    UPDATE report_hours SET incoming = incoming - 1,
        conv_in = conv_in - EXISTS (SELECT 1 FROM report_waits WHERE seq = OLD.seq AND opens)
        WHERE OLD.direction = 'in' AND client_id = OLD.client_id AND hour = OLD.created_at / 3600000
          AND grp = (OLD.chat LIKE '%@g.us') AND tag = '';
    UPDATE report_hours SET sent = sent - 1, delivered = delivered - (OLD.delivered_at IS NOT NULL),
        read = read - (OLD.read_at IS NOT NULL)
        WHERE OLD.direction = 'out' AND OLD.sent_at IS NOT NULL AND client_id = OLD.client_id
          AND hour = OLD.sent_at / 3600000 AND grp = (OLD.chat LIKE '%@g.us') AND tag = coalesce(OLD.tag, '');
    UPDATE report_hours SET failed = failed - 1
        WHERE OLD.status = 'failed' AND client_id = coalesce(OLD.client_id, '')
          AND hour = coalesce(OLD.failed_at, OLD.updated_at) / 3600000 AND grp = (OLD.chat LIKE '%@g.us')
          AND tag = coalesce(OLD.tag, '');
    UPDATE report_failures SET n = n - 1
        WHERE OLD.status = 'failed' AND client_id = coalesce(OLD.client_id, '')
          AND hour = coalesce(OLD.failed_at, OLD.updated_at) / 3600000 AND code = coalesce(OLD.error_code, 'unknown');
    UPDATE report_chats SET wait_seq = NULL
        WHERE client_id = OLD.client_id AND chat = OLD.chat AND wait_seq = OLD.seq;
    DELETE FROM report_waits WHERE seq = OLD.seq;
    DELETE FROM report_waits WHERE answer_seq = OLD.seq;
END;
"""

# Every report table from the log, set-based: the triggers' rules over each chat's events in time order (an
# incoming message at created_at, an outgoing one at sent_at). Statements run one by one in one transaction.
REBUILD = """
DELETE FROM report_hours;
DELETE FROM report_failures;
DELETE FROM report_chats;
DELETE FROM report_waits;
DELETE FROM report_buckets;
INSERT INTO report_hours (client_id, hour, grp, tag, incoming)
    SELECT client_id, created_at / 3600000, chat LIKE '%@g.us', '', count(*) FROM messages
    WHERE direction = 'in' AND client_id IS NOT NULL GROUP BY 1, 2, 3, 4;
INSERT INTO report_hours (client_id, hour, grp, tag, sent, delivered, read)
    SELECT client_id, sent_at / 3600000, chat LIKE '%@g.us', coalesce(tag, ''), count(*), count(delivered_at),
           count(read_at) FROM messages
    WHERE direction = 'out' AND client_id IS NOT NULL AND sent_at IS NOT NULL GROUP BY 1, 2, 3, 4
    ON CONFLICT DO UPDATE SET sent = excluded.sent, delivered = excluded.delivered, read = excluded.read;
INSERT INTO report_hours (client_id, hour, grp, tag, failed)
    SELECT coalesce(client_id, ''), coalesce(failed_at, updated_at) / 3600000, chat LIKE '%@g.us',
           coalesce(tag, ''), count(*) FROM messages WHERE status = 'failed' GROUP BY 1, 2, 3, 4
    ON CONFLICT DO UPDATE SET failed = excluded.failed;
INSERT INTO report_failures
    SELECT coalesce(client_id, ''), coalesce(failed_at, updated_at) / 3600000, coalesce(error_code, 'unknown'),
           count(*) FROM messages WHERE status = 'failed' GROUP BY 1, 2, 3;
CREATE TEMP TABLE report_events AS
    SELECT *, sum(starts) OVER (PARTITION BY client_id, chat ORDER BY t, seq) AS run FROM (
        SELECT *, dir = 'in' AND (prev_dir IS NOT 'in' OR t - prev_t >= gap) AS starts,
               prev_t IS NULL OR t - prev_t >= gap AS after_gap FROM (
            SELECT e.*, (SELECT gap_ms FROM report_settings) AS gap,
                   lag(t) OVER w AS prev_t, lag(dir) OVER w AS prev_dir,
                   lead(t) OVER w AS next_t, lead(dir) OVER w AS next_dir, lead(seq) OVER w AS next_seq,
                   min(CASE WHEN dir = 'in' THEN t END) OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
                       AS next_in_t
            FROM (SELECT seq, client_id, chat, 'in' AS dir, created_at AS t, created_at, tag FROM messages
                  WHERE direction = 'in' AND client_id IS NOT NULL
                  UNION ALL
                  SELECT seq, client_id, chat, 'out', sent_at, created_at, tag FROM messages
                  WHERE direction = 'out' AND client_id IS NOT NULL AND sent_at IS NOT NULL) e
            WINDOW w AS (PARTITION BY client_id, chat ORDER BY t, seq)));
INSERT INTO report_waits (seq, client_id, grp, asked_at, answered_at, answer_seq, opens)
    SELECT min(seq), client_id, chat LIKE '%@g.us', min(t),
           max(CASE WHEN next_dir = 'out' THEN next_t END), max(CASE WHEN next_dir = 'out' THEN next_seq END),
           max(starts AND after_gap)
    FROM report_events WHERE dir = 'in' GROUP BY client_id, chat, run;
INSERT INTO report_buckets
    SELECT client_id, opens, BUCKET_OF_WAIT, count(*), sum(answered_at - asked_at) FROM report_waits
    WHERE answered_at IS NOT NULL GROUP BY 1, 2, 3;
INSERT INTO report_hours (client_id, hour, grp, tag, conv_in)
    SELECT client_id, asked_at / 3600000, grp, '', count(*) FROM report_waits WHERE opens GROUP BY 1, 2, 3, 4
    ON CONFLICT DO UPDATE SET conv_in = excluded.conv_in;
INSERT INTO report_hours (client_id, hour, grp, tag, conv_out, replied)
    SELECT client_id, t / 3600000, chat LIKE '%@g.us', coalesce(tag, ''),
           sum(prev_dir IS NULL OR (prev_dir = 'out' AND after_gap)), sum(coalesce(next_in_t - t < gap, 0))
    FROM report_events WHERE dir = 'out' GROUP BY 1, 2, 3, 4
    ON CONFLICT DO UPDATE SET conv_out = excluded.conv_out, replied = excluded.replied;
INSERT INTO report_chats (client_id, chat, last_at, wait_seq, out_since, out_created)
    SELECT client_id, chat, max(t),
           CASE WHEN max(last_in) = max(t) THEN min(CASE WHEN dir = 'in' AND run = last_run THEN seq END) END,
           min(CASE WHEN dir = 'out' AND t > coalesce(last_in, -1) THEN t END),
           min(CASE WHEN dir = 'out' AND t > coalesce(last_in, -1) THEN created_at END)
    FROM (SELECT *, max(CASE WHEN dir = 'in' THEN t END) OVER p AS last_in, max(run) OVER p AS last_run
          FROM report_events WINDOW p AS (PARTITION BY client_id, chat)) e
    GROUP BY client_id, chat;
DROP TABLE temp.report_events;
""".replace("BUCKET_OF_WAIT", BUCKET.format(d="answered_at - asked_at"))


# -- schema v5: response-time lengths per day, so a long period's distribution is a few small rows ----------------

def _length_bounds(ratio: float = 1.05, most_ms: int = 31 * 86_400_000) -> tuple[int, ...]:
    """Upper bounds (ms, inclusive) of the wait-length buckets: a geometric series from 1 s by `ratio` (a
    percentile read from them is within half a step, ~2.5%, of the exact one), with the display buckets'
    bounds (BUCKET_BOUNDS_S) among them so the distribution's counts stay exact."""
    bounds, bound = {s * 1000 for s in BUCKET_BOUNDS_S}, 1000.0
    while bound < most_ms:
        bounds.add(int(round(bound)))
        bound *= ratio
    return tuple(sorted(bounds))


LENGTH_BOUNDS_MS = _length_bounds()
UNANSWERED = -1  # the bucket of the waits not answered (yet)
# SQLCipher's SQLite has no ln(): the bucket is one CASE over the bounds (a few hundred integer compares).
LENGTH_BUCKET = "(CASE WHEN {w}.answered_at IS NULL THEN -1 " + " ".join(
    f"WHEN {{w}}.answered_at - {{w}}.asked_at <= {b} THEN {i}" for i, b in enumerate(LENGTH_BOUNDS_MS)) + \
    f" ELSE {len(LENGTH_BOUNDS_MS)} END)"

SCHEMA_V5 = f"""
-- Per number, UTC day of the ask (asked_at // 86,400,000), first or not, group or not, and length bucket
-- (LENGTH_BOUNDS_MS; -1: not answered): how many waits and their summed length. Kept by triggers on report_waits.
CREATE TABLE report_wait_days (
    client_id TEXT NOT NULL,
    day       INTEGER NOT NULL,
    opens     INTEGER NOT NULL,
    grp       INTEGER NOT NULL,
    bucket    INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    total_ms  INTEGER NOT NULL,
    PRIMARY KEY (client_id, day, opens, grp, bucket)
) WITHOUT ROWID;

CREATE TRIGGER tr_report_days_in AFTER INSERT ON report_waits BEGIN
    INSERT INTO report_wait_days VALUES (NEW.client_id, NEW.asked_at / 86400000, NEW.opens, NEW.grp,
                                         {LENGTH_BUCKET.format(w="NEW")}, 1,
                                         coalesce(NEW.answered_at - NEW.asked_at, 0))
        ON CONFLICT DO UPDATE SET n = n + 1, total_ms = total_ms + excluded.total_ms;
END;
CREATE TRIGGER tr_report_days_answered AFTER UPDATE OF answered_at ON report_waits
WHEN OLD.answered_at IS NULL AND NEW.answered_at IS NOT NULL BEGIN
    UPDATE report_wait_days SET n = n - 1
        WHERE client_id = OLD.client_id AND day = OLD.asked_at / 86400000 AND opens = OLD.opens
          AND grp = OLD.grp AND bucket = -1;
    INSERT INTO report_wait_days VALUES (NEW.client_id, NEW.asked_at / 86400000, NEW.opens, NEW.grp,
                                         {LENGTH_BUCKET.format(w="NEW")}, 1, NEW.answered_at - NEW.asked_at)
        ON CONFLICT DO UPDATE SET n = n + 1, total_ms = total_ms + excluded.total_ms;
END;
CREATE TRIGGER tr_report_days_gone AFTER DELETE ON report_waits BEGIN
    UPDATE report_wait_days SET n = n - 1, total_ms = total_ms - coalesce(OLD.answered_at - OLD.asked_at, 0)
        WHERE client_id = OLD.client_id AND day = OLD.asked_at / 86400000 AND opens = OLD.opens
          AND grp = OLD.grp AND bucket = {LENGTH_BUCKET.format(w="OLD")};
END;

INSERT INTO report_wait_days
    SELECT client_id, asked_at / 86400000, opens, grp, {LENGTH_BUCKET.format(w="report_waits")}, count(*),
           coalesce(sum(answered_at - asked_at), 0)
    FROM report_waits GROUP BY 1, 2, 3, 4, 5;
"""
