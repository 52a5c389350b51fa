"""The cluster's customer list, tags, opt-outs and opt-out settings in its PostgreSQL (issue 20): an opt-out that
reaches any node's number stops every campaign on every node, and a list imported through one node is the list
of all of them.

AudienceStore's interface (store/audience.py) over `cluster_customers`, `cluster_tags`,
`cluster_customer_tags`, `cluster_optouts` and `cluster_audience_settings`, with the same rules: one row per
phone, tags unique without regard to case (a unique index on lower(name)), an opt-out kept without a customer
row and never replaced, an import in one transaction. What SQLite did by its own rules is spelt out here: its
LIKE ignores ASCII case (ILIKE), json_patch merges the variables (jsonb's ||), NOCASE orders the tags (lower()).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .audience import Customer, NewCustomer, OptOut
from .pg_db import PgDatabase

SCHEMA_V1 = """
CREATE TABLE cluster_customers (
    id      bigserial PRIMARY KEY,
    phone   text NOT NULL UNIQUE,
    name    text NOT NULL DEFAULT '',
    vars    jsonb NOT NULL DEFAULT '{}',
    created text NOT NULL,
    updated text NOT NULL
);
CREATE TABLE cluster_tags (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE UNIQUE INDEX cluster_tags_name ON cluster_tags (lower(name));
CREATE TABLE cluster_customer_tags (
    customer_id bigint NOT NULL REFERENCES cluster_customers(id) ON DELETE CASCADE,
    tag_id      bigint NOT NULL REFERENCES cluster_tags(id) ON DELETE CASCADE,
    PRIMARY KEY (customer_id, tag_id)
);
CREATE INDEX cluster_customer_tags_tag ON cluster_customer_tags (tag_id);
CREATE TABLE cluster_optouts (
    seq        bigserial UNIQUE,
    phone      text PRIMARY KEY,
    at         text NOT NULL,
    how        text NOT NULL,
    message_id text,
    client_id  text,
    reply_id   text
);
CREATE TABLE cluster_audience_settings (key text PRIMARY KEY, value jsonb NOT NULL);
"""
MIGRATIONS = [SCHEMA_V1]
SELECT = ("SELECT c.id, c.phone, c.name, c.vars, c.created, c.updated, (SELECT string_agg(t.name, chr(31)) "
          "FROM cluster_customer_tags ct JOIN cluster_tags t ON t.id = ct.tag_id WHERE ct.customer_id = c.id), "
          "EXISTS (SELECT 1 FROM cluster_optouts o WHERE o.phone = c.phone) FROM cluster_customers c")
HAS_TAG = ("c.id IN (SELECT ct.customer_id FROM cluster_customer_tags ct JOIN cluster_tags t ON t.id = ct.tag_id "
           "WHERE lower(t.name) = ANY(%s))")


class PgAudienceStore:
    """Typed access to the cluster's audience tables; safe from any thread (the connection pool)."""

    def __init__(self, db: PgDatabase):
        self._db = db
        db.migrate("audience", MIGRATIONS)

    def close(self) -> None:
        """Nothing of its own to close: the cluster's database is closed with the node."""

    # -- customers ---------------------------------------------------------------------------------------

    def existing_phones(self, phones: Iterable[str]) -> set[str]:
        """Which of `phones` already have a customer row."""
        rows = self._db.all("SELECT phone FROM cluster_customers WHERE phone = ANY(%s)", (list(phones),))
        return {r[0] for r in rows}

    def upsert_many(self, rows: list[NewCustomer], now: str) -> list[int]:
        """Insert or merge every row in ONE transaction (a new name replaces the old one only when given;
        variables are merged, tags added); their ids, in order."""
        ids: list[int] = []
        with self._db.transaction() as conn:
            tag_ids = _tag_ids(conn, {t for r in rows for t in r.tags})
            for row in rows:
                got = conn.execute(
                    "INSERT INTO cluster_customers (phone, name, vars, created, updated) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (phone) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name "
                    "ELSE cluster_customers.name END, vars = cluster_customers.vars || excluded.vars, "
                    "updated = excluded.updated RETURNING id", (row.phone, row.name, Jsonb(row.variables), now, now))
                customer_id = got.fetchone()[0]
                ids.append(customer_id)
                conn.cursor().executemany("INSERT INTO cluster_customer_tags VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                          [(customer_id, tag_ids[t.casefold()]) for t in row.tags])
        return ids

    def get(self, customer_id: int) -> Customer | None:
        """One customer, or None."""
        row = self._db.one(f"{SELECT} WHERE c.id = %s", (customer_id,))
        return _customer(row) if row else None

    def page(self, *, query: str = "", tag: str = "", after: int = 0, limit: int = 50) -> list[Customer]:
        """Customers by id from `after`, whose name or phone contains `query`, carrying `tag` when given."""
        where, args = ["c.id > %s"], [after]
        if query:
            where.append("(c.name ILIKE %s ESCAPE '\\' OR c.phone ILIKE %s ESCAPE '\\')")
            like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [like, like]
        if tag:
            where.append(HAS_TAG)
            args.append([tag.lower()])
        rows = self._db.all(f"{SELECT} WHERE {' AND '.join(where)} ORDER BY c.id LIMIT %s", (*args, limit))
        return [_customer(r) for r in rows]

    def update(self, customer_id: int, name: str | None, variables: dict[str, str] | None, now: str) -> bool:
        """Change the name and/or replace the variables; False when there is no such customer."""
        return self._db.one(
            "UPDATE cluster_customers SET name = coalesce(%s, name), vars = coalesce(%s, vars), updated = %s "
            "WHERE id = %s RETURNING id", (name, None if variables is None else Jsonb(variables), now,
                                            customer_id)) is not None

    def delete(self, customer_id: int) -> bool:
        """Forget a customer (an opt-out of that phone stays; its tags' links go with it); False if none."""
        return self._db.one("DELETE FROM cluster_customers WHERE id = %s RETURNING id", (customer_id,)) is not None

    def tag(self, customer_id: int, add: list[str], remove: list[str]) -> None:
        """Add and remove tags of one customer."""
        with self._db.transaction() as conn:
            tag_ids = _tag_ids(conn, set(add))
            conn.cursor().executemany("INSERT INTO cluster_customer_tags VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                      [(customer_id, tag_ids[t.casefold()]) for t in add])
            conn.cursor().executemany("DELETE FROM cluster_customer_tags WHERE customer_id = %s AND tag_id = "
                                      "(SELECT id FROM cluster_tags WHERE lower(name) = lower(%s))",
                                      [(customer_id, t) for t in remove])

    def tags(self) -> list[dict[str, Any]]:
        """Every tag with how many customers carry it."""
        rows = self._db.all("SELECT t.name, count(ct.customer_id) FROM cluster_tags t LEFT JOIN cluster_customer_tags "
                            "ct ON ct.tag_id = t.id GROUP BY t.id ORDER BY lower(t.name), t.name")
        return [{"name": r[0], "count": int(r[1])} for r in rows]

    def members(self, tags: list[str] | None, required: list[str]) -> list[tuple[str, str, str, bool, bool]]:
        """A campaign's audience in ONE query (opt-outs and tags from the same snapshot), as AudienceStore.members
        gives it: (phone, name, variables as JSON text, opted out, lacks a value for one of `required`)."""
        names = [name for name in required if name.isidentifier()]
        lacks = [f"coalesce(c.vars ->> %s, {'c.name' if name == 'nome' else chr(39) * 2}) = ''" for name in names]
        args: list[Any] = list(names)
        where = ""
        if tags is not None:
            where = f"WHERE {HAS_TAG}"
            args.append([t.lower() for t in tags])
        rows = self._db.all(
            f"SELECT c.phone, c.name, c.vars::text, EXISTS (SELECT 1 FROM cluster_optouts o WHERE o.phone = c.phone), "
            f"{' OR '.join(lacks) or 'false'} FROM cluster_customers c {where} ORDER BY c.id", args)
        return [(r[0], r[1], r[2], bool(r[3]), bool(r[4])) for r in rows]

    # -- opt-outs ----------------------------------------------------------------------------------------

    def opt_out(self, item: OptOut) -> bool:
        """Record an opt-out; False when the phone had already opted out (the first one is kept)."""
        return self._db.one("INSERT INTO cluster_optouts (phone, at, how, message_id, client_id) VALUES "
                            "(%s, %s, %s, %s, %s) ON CONFLICT (phone) DO NOTHING RETURNING phone",
                            (item.phone, item.at, item.how, item.message_id, item.client_id)) is not None

    def set_reply(self, phone: str, reply_id: str) -> None:
        """The confirmation sent for this opt-out."""
        self._db.one("UPDATE cluster_optouts SET reply_id = %s WHERE phone = %s RETURNING phone", (reply_id, phone))

    def opt_in(self, phone: str) -> bool:
        """Remove an opt-out; False when there was none."""
        return self._db.one("DELETE FROM cluster_optouts WHERE phone = %s RETURNING phone", (phone,)) is not None

    def is_opted_out(self, phone: str) -> bool:
        """True when the phone asked to receive nothing."""
        return self._db.one("SELECT 1 FROM cluster_optouts WHERE phone = %s", (phone,)) is not None

    def optouts(self, *, after: int = 0, limit: int = 50) -> list[tuple[int, OptOut]]:
        """Opt-outs in the order recorded from the sequence number `after`, each with it (the page cursor)."""
        rows = self._db.all("SELECT seq, phone, at, how, message_id, client_id FROM cluster_optouts WHERE seq > %s "
                            "ORDER BY seq LIMIT %s", (after, limit))
        return [(int(r[0]), OptOut(r[1], r[2], r[3], r[4], r[5])) for r in rows]

    # -- settings ----------------------------------------------------------------------------------------

    def setting(self, key: str) -> Any:
        """A stored setting's value, or None."""
        row = self._db.one("SELECT value FROM cluster_audience_settings WHERE key = %s", (key,))
        return row[0] if row else None

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting."""
        self._db.one("INSERT INTO cluster_audience_settings VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET "
                     "value = excluded.value RETURNING key", (key, Jsonb(value)))


def _customer(row: tuple[Any, ...]) -> Customer:
    """A Customer from a SELECT row (psycopg gives the jsonb variables as a dict)."""
    tags = sorted(row[6].split("\x1f"), key=str.casefold) if row[6] else []
    variables = row[3] if isinstance(row[3], dict) else json.loads(row[3])
    return Customer(int(row[0]), row[1], row[2], variables, tags, row[4], row[5], bool(row[7]))


def _tag_ids(conn: psycopg.Connection[Any], names: set[str]) -> dict[str, int]:
    """The ids of these tags (created when new, the first spelling kept), keyed by their casefolded name."""
    ids: dict[str, int] = {}
    for name in names:
        conn.execute("INSERT INTO cluster_tags (name) VALUES (%s) ON CONFLICT (lower(name)) DO NOTHING", (name,))
        ids[name.casefold()] = conn.execute("SELECT id FROM cluster_tags WHERE lower(name) = lower(%s)",
                                            (name,)).fetchone()[0]
    return ids
