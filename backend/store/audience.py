"""AudienceStore: dados/audience.db, the business's customer list (issue 17 §2), apart from WhatsApp's own
address book (backend/contacts/ reads that one from each number's page and stores nothing here).

customers   one row per phone (E.164 digits, unique): name, extra CSV columns as variables (JSON), timestamps
tags        names, unique without regard to case; customer_tags links them
optouts     phones that asked to receive nothing (kept even without a customer row: a campaign must never reach
            them): when, how (keyword, manual, api), the message that asked, the number that received it, and
            the confirmation sent (once)
settings    the opt-out keywords and the confirmation text (JSON values)

An import is one transaction (`upsert_many`): either every valid row is in, or none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .sqlite_db import Database
from .sqlite_engine import sqlite3

MIGRATIONS = ["""
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    phone TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    vars TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE);
CREATE TABLE customer_tags (
    customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (customer_id, tag_id)
) WITHOUT ROWID;
CREATE INDEX customer_tags_tag ON customer_tags(tag_id);
CREATE TABLE optouts (
    phone TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    how TEXT NOT NULL,
    message_id TEXT,
    client_id TEXT,
    reply_id TEXT
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""]
CHUNK = 500  # phones per IN (...) look-up: under SQLite's bound-parameter limit


@dataclass
class Customer:
    """One customer as stored."""

    id: int
    phone: str
    name: str
    variables: dict[str, str]
    tags: list[str]
    created: str
    updated: str
    opted_out: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The REST/window shape."""
        return {"id": self.id, "phone": self.phone, "name": self.name, "variables": self.variables,
                "tags": self.tags, "optedOut": self.opted_out, "createdAt": self.created, "updatedAt": self.updated}


@dataclass
class NewCustomer:
    """A checked row to store: merged into the row of the same phone when there is one."""

    phone: str
    name: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass
class OptOut:
    """A phone that asked to receive nothing."""

    phone: str
    at: str
    how: str
    message_id: str | None
    client_id: str | None

    def to_dict(self) -> dict[str, Any]:
        """The REST/window shape."""
        return {"phone": self.phone, "at": self.at, "how": self.how, "messageId": self.message_id,
                "clientId": self.client_id}


class AudienceStore:
    """Typed access to audience.db."""

    def __init__(self, path: Path):
        self.db = Database(path, MIGRATIONS)

    def close(self) -> None:
        """Close the file."""
        self.db.close()

    # -- customers ---------------------------------------------------------------------------------------

    def existing_phones(self, phones: Iterable[str]) -> set[str]:
        """Which of `phones` already have a customer row."""
        found: set[str] = set()
        wanted = list(phones)
        for start in range(0, len(wanted), CHUNK):
            part = wanted[start:start + CHUNK]
            rows = self.db.read().execute(
                f"SELECT phone FROM customers WHERE phone IN ({','.join('?' * len(part))})", part).fetchall()
            found.update(r["phone"] for r in rows)
        return found

    def upsert_many(self, rows: list[NewCustomer], now: str) -> list[int]:
        """Insert or merge every row in ONE transaction (a new name replaces the old one only when given;
        variables are merged, tags added); their ids, in order."""
        ids: list[int] = []
        with self.db.write() as conn:
            tag_ids = _tag_ids(conn, {t for r in rows for t in r.tags})
            for row in rows:
                got = conn.execute(
                    "INSERT INTO customers(phone, name, vars, created, updated) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(phone) DO UPDATE SET name = CASE WHEN excluded.name <> '' THEN excluded.name "
                    "ELSE name END, vars = json_patch(vars, excluded.vars), updated = excluded.updated "
                    "RETURNING id", (row.phone, row.name, json.dumps(row.variables, ensure_ascii=False), now, now))
                customer_id = got.fetchone()[0]
                ids.append(customer_id)
                conn.executemany("INSERT OR IGNORE INTO customer_tags VALUES (?, ?)",
                                 [(customer_id, tag_ids[t.casefold()]) for t in row.tags])
        return ids

    def get(self, customer_id: int) -> Customer | None:
        """One customer, or None."""
        row = self.db.read().execute(f"{_SELECT} WHERE c.id = ?", (customer_id,)).fetchone()
        return _customer(row) if row else None

    def page(self, *, query: str = "", tag: str = "", after: int = 0, limit: int = 50) -> list[Customer]:
        """Customers by id from `after`, whose name or phone contains `query`, carrying `tag` when given."""
        where, args = ["c.id > ?"], [after]
        if query:
            where.append("(c.name LIKE ? ESCAPE '\\' OR c.phone LIKE ? ESCAPE '\\')")
            like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [like, like]
        if tag:
            where.append("c.id IN (SELECT ct.customer_id FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id "
                         "WHERE t.name = ?)")
            args.append(tag)
        rows = self.db.read().execute(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY c.id LIMIT ?",
                                      (*args, limit)).fetchall()
        return [_customer(r) for r in rows]

    def update(self, customer_id: int, name: str | None, variables: dict[str, str] | None, now: str) -> bool:
        """Change the name and/or replace the variables; False when there is no such customer."""
        rows = self.db.write_one(
            "UPDATE customers SET name = coalesce(?, name), vars = coalesce(?, vars), updated = ? WHERE id = ? "
            "RETURNING id", (name, None if variables is None else json.dumps(variables, ensure_ascii=False), now,
                             customer_id))
        return bool(rows)

    def delete(self, customer_id: int) -> bool:
        """Forget a customer (an opt-out of that phone stays); False when there was none."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM customer_tags WHERE customer_id = ?", (customer_id,))
            return conn.execute("DELETE FROM customers WHERE id = ?", (customer_id,)).rowcount > 0

    def tag(self, customer_id: int, add: list[str], remove: list[str]) -> None:
        """Add and remove tags of one customer."""
        with self.db.write() as conn:
            tag_ids = _tag_ids(conn, set(add))
            conn.executemany("INSERT OR IGNORE INTO customer_tags VALUES (?, ?)",
                             [(customer_id, tag_ids[t.casefold()]) for t in add])
            conn.executemany("DELETE FROM customer_tags WHERE customer_id = ? AND tag_id = "
                             "(SELECT id FROM tags WHERE name = ?)", [(customer_id, t) for t in remove])

    def tags(self) -> list[dict[str, Any]]:
        """Every tag with how many customers carry it."""
        rows = self.db.read().execute(
            "SELECT t.name, count(ct.customer_id) AS n FROM tags t LEFT JOIN customer_tags ct ON ct.tag_id = t.id "
            "GROUP BY t.id ORDER BY t.name COLLATE NOCASE").fetchall()
        return [{"name": r["name"], "count": r["n"]} for r in rows]

    def members(self, tags: list[str] | None, required: list[str]) -> list[tuple[str, str, str, bool, bool]]:
        """A campaign's audience in ONE query, so opt-outs and tags are read from the same snapshot: (phone,
        name, variables as stored (JSON text), opted out, lacks a value for one of `required`) of every customer
        (tags None) or of those carrying any of `tags`. `required` are template variable names (identifiers);
        `nome` is the customer's name unless a column gave one (campaigns.runner.values_of)."""
        lacks = [f"coalesce(json_extract(c.vars, ?), {'c.name' if name == 'nome' else chr(39) * 2}) = ''"
                 for name in required if name.isidentifier()]
        args: list[Any] = [f'$."{name}"' for name in required if name.isidentifier()]
        where = ""
        if tags is not None:
            where = (f"WHERE c.id IN (SELECT ct.customer_id FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id "
                     f"WHERE t.name IN ({','.join('?' * len(tags))}))")
            args += tags
        rows = self.db.read().execute(
            f"SELECT c.phone, c.name, c.vars, EXISTS (SELECT 1 FROM optouts o WHERE o.phone = c.phone), "
            f"{' OR '.join(lacks) or '0'} FROM customers c {where} ORDER BY c.id", args).fetchall()
        return [(r[0], r[1], r[2], bool(r[3]), bool(r[4])) for r in rows]

    # -- opt-outs ----------------------------------------------------------------------------------------

    def opt_out(self, item: OptOut) -> bool:
        """Record an opt-out; False when the phone had already opted out (the first one is kept)."""
        rows = self.db.write_one("INSERT INTO optouts(phone, at, how, message_id, client_id) VALUES (?, ?, ?, ?, ?) "
                                 "ON CONFLICT(phone) DO NOTHING RETURNING phone",
                                 (item.phone, item.at, item.how, item.message_id, item.client_id))
        return bool(rows)

    def set_reply(self, phone: str, reply_id: str) -> None:
        """The confirmation sent for this opt-out."""
        self.db.write_one("UPDATE optouts SET reply_id = ? WHERE phone = ?", (reply_id, phone))

    def opt_in(self, phone: str) -> bool:
        """Remove an opt-out; False when there was none."""
        return bool(self.db.write_one("DELETE FROM optouts WHERE phone = ? RETURNING phone", (phone,)))

    def is_opted_out(self, phone: str) -> bool:
        """True when the phone asked to receive nothing."""
        return self.db.read().execute("SELECT 1 FROM optouts WHERE phone = ?", (phone,)).fetchone() is not None

    def optouts(self, *, after: int = 0, limit: int = 50) -> list[tuple[int, OptOut]]:
        """Opt-outs in the order recorded from rowid `after`, each with its rowid (the page cursor)."""
        rows = self.db.read().execute("SELECT rowid, * FROM optouts WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                      (after, limit)).fetchall()
        return [(r["rowid"], OptOut(r["phone"], r["at"], r["how"], r["message_id"], r["client_id"])) for r in rows]

    # -- settings ----------------------------------------------------------------------------------------

    def setting(self, key: str) -> Any:
        """A stored setting's value, or None."""
        row = self.db.read().execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row["value"]) if row else None

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting."""
        self.db.write_one("INSERT INTO settings VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                          (key, json.dumps(value, ensure_ascii=False)))


_SELECT = ("SELECT c.*, (SELECT group_concat(t.name, char(31)) FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id "
           "WHERE ct.customer_id = c.id) AS tag_names, EXISTS (SELECT 1 FROM optouts o WHERE o.phone = c.phone) "
           "AS opted FROM customers c")


def _customer(row: sqlite3.Row) -> Customer:
    """A Customer from a _SELECT row."""
    tags = sorted(row["tag_names"].split("\x1f"), key=str.casefold) if row["tag_names"] else []
    return Customer(row["id"], row["phone"], row["name"], json.loads(row["vars"]), tags, row["created"],
                    row["updated"], bool(row["opted"]))


def _tag_ids(conn: sqlite3.Connection, names: set[str]) -> dict[str, int]:
    """The ids of these tags (created when new), keyed by their casefolded name."""
    ids: dict[str, int] = {}
    for name in names:
        conn.execute("INSERT OR IGNORE INTO tags(name) VALUES (?)", (name,))
        ids[name.casefold()] = conn.execute("SELECT id FROM tags WHERE name = ?", (name,)).fetchone()[0]
    return ids
