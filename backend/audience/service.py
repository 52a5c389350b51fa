"""AudienceService (`service.audience`): the business's customer list, its tags and opt-outs (issue 17 §2).

Apart from WhatsApp's address book (backend/contacts/): these are the people the business imported or added, the
audience campaigns will choose from, and the phones that asked to receive nothing (`is_opted_out`), which no
campaign may reach. Opt-out by message lives in optout.py.
"""

from __future__ import annotations

import logging
from typing import Any

from ..clock import iso, utc_now
from ..errors import InvalidInput, NotFound
from ..store.audience import AudienceStore, NewCustomer, OptOut
from ..validation import check_limit
from . import importer
from .importer import CsvUnreadable

log = logging.getLogger(__name__)
MAX_TAGS = 50  # per request
MAX_TAG_CHARS = 64
MAX_VARIABLES = 100
HOWS = ("keyword", "manual", "api")
MAX_ID = 2 ** 53 - 1  # ids beyond it cannot exist (SQLite's rowids here stay far below; JSON numbers stay exact)


class ContactNotFound(NotFound):
    """No customer with that id."""

    code = "contact_not_found"


class OptOutNotFound(NotFound):
    """That phone has not opted out."""

    code = "optout_not_found"


class CsvRefused(InvalidInput):
    """The file as a whole cannot be imported (empty, no phone column, too many rows)."""

    code = "csv_unreadable"


def check_tags(raw: Any, name: str = "tags") -> list[str]:
    """A list of tag names: text, 1-64 characters, no control characters; duplicates (any case) once."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_TAGS:
        raise InvalidInput(f"{name} must be a list of at most {MAX_TAGS} tag names", details={"field": name})
    tags: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, str) or not item.strip() or len(item.strip()) > MAX_TAG_CHARS \
                or any(ord(c) < 32 for c in item):
            raise InvalidInput(f"Each tag is text of 1 to {MAX_TAG_CHARS} characters", details={"field": name})
        tags.setdefault(item.strip().casefold(), item.strip())
    return list(tags.values())


def check_phone(raw: Any, name: str = "phone") -> str:
    """A phone as people write it, normalised (E.164 digits); 422 naming the field otherwise."""
    if not isinstance(raw, str) or len(raw) > 64:
        raise InvalidInput(f"{name} must be a phone number", details={"field": name})
    try:
        return importer.normalise_phone(raw)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}", details={"field": name}) from None


def check_variables(raw: Any) -> dict[str, str] | None:
    """Variables: an object of text values (None: unchanged)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or len(raw) > MAX_VARIABLES or not all(
            isinstance(k, str) and 0 < len(k) <= 64 and isinstance(v, str) and len(v) <= importer.MAX_FIELD_CHARS
            for k, v in raw.items()):
        raise InvalidInput("variables must be an object of text values", details={"field": "variables"})
    return raw


def check_name(raw: Any) -> str | None:
    """A customer's name: text up to 200 characters (None: unchanged)."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > importer.MAX_NAME_CHARS:
        raise InvalidInput(f"name must be text of at most {importer.MAX_NAME_CHARS} characters",
                           details={"field": "name"})
    return raw.strip()


class AudienceService:
    """Customers, tags and opt-outs over AudienceStore."""

    settings: Any = None  # optout.OptOutSettings: the keywords and the reply text (set by build_audience)
    listener: Any = None  # optout.OptOutListener (set by build_audience)

    def __init__(self, store: AudienceStore):
        self.store = store

    def optout_settings(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """The opt-out keywords and reply text; changed first when `body` is given."""
        return self.settings.get() if body is None else self.settings.update(body)

    def stop(self) -> None:
        """Stop the keyword listener and close audience.db."""
        if self.listener is not None:
            self.listener.stop()
        self.store.close()

    # -- import --------------------------------------------------------------------------------------------

    def import_csv(self, data: bytes, tags: list[str] | None = None) -> dict[str, Any]:
        """A CSV file's valid rows stored in one transaction, duplicates (in the file or stored) merged:
        {imported, merged, invalid: [{line, reason, message}]}."""
        extra = check_tags(tags)
        try:
            parsed = importer.parse(data)
        except CsvUnreadable as exc:
            raise CsvRefused(str(exc), details={"field": "file"}) from None
        unique: dict[str, NewCustomer] = {}
        for _line, row in parsed.rows:
            row.tags = _union(row.tags, extra)
            _merge(unique, row)
        existing = self.store.existing_phones(unique)
        if unique:
            self.store.upsert_many(list(unique.values()), _now())
        imported = len(unique) - len(existing)
        log.info("[Pool] Importação de contatos: %d novos, %d mesclados, %d linhas inválidas", imported,
                 len(parsed.rows) - imported, len(parsed.invalid))
        return {"imported": imported, "merged": len(parsed.rows) - imported,
                "invalid": [bad.to_dict() for bad in parsed.invalid]}

    # -- customers -----------------------------------------------------------------------------------------

    def list(self, query: str = "", tag: str = "", cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """A page of customers by id: ?q= (name or phone contains), ?tag=, ?cursor= from the last page."""
        limit = check_limit(limit)
        after = _cursor(cursor)
        for name, value, most in (("q", query, 100), ("tag", tag, MAX_TAG_CHARS)):
            if len(value) > most:
                raise InvalidInput(f"{name} is longer than {most} characters", details={"field": name})
        items = self.store.page(query=query, tag=tag, after=after, limit=limit + 1)
        more = len(items) > limit
        items = items[:limit]
        return {"items": [c.to_dict() for c in items], "nextCursor": str(items[-1].id) if more else None}

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add one customer (or merge into the one with that phone)."""
        row = NewCustomer(check_phone(body.get("phone")), check_name(body.get("name")) or "",
                          check_variables(body.get("variables")) or {}, check_tags(body.get("tags")))
        return self.get(self.store.upsert_many([row], _now())[0])

    def get(self, customer_id: int) -> dict[str, Any]:
        """One customer."""
        customer = self.store.get(customer_id) if customer_id <= MAX_ID else None
        if customer is None:
            raise ContactNotFound(f"No contact with id {customer_id}", details={"id": customer_id})
        return customer.to_dict()

    def update(self, customer_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Change the name, replace the variables, add tags (`addTags`) and remove tags (`removeTags`)."""
        unknown = sorted(set(body) - {"name", "variables", "addTags", "removeTags"})
        if unknown:
            raise InvalidInput(f"Unknown field {unknown[0][:64]!r}", details={"field": unknown[0][:64]})
        name, variables = check_name(body.get("name")), check_variables(body.get("variables"))
        add, remove = check_tags(body.get("addTags"), "addTags"), check_tags(body.get("removeTags"), "removeTags")
        if customer_id > MAX_ID or not self.store.update(customer_id, name, variables, _now()):
            raise ContactNotFound(f"No contact with id {customer_id}", details={"id": customer_id})
        if add or remove:
            self.store.tag(customer_id, add, remove)
        return self.get(customer_id)

    def delete(self, customer_id: int) -> None:
        """Forget a customer (an opt-out of the phone stays)."""
        if customer_id > MAX_ID or not self.store.delete(customer_id):
            raise ContactNotFound(f"No contact with id {customer_id}", details={"id": customer_id})

    def tags(self) -> list[dict[str, Any]]:
        """Every tag and how many customers carry it."""
        return self.store.tags()

    # -- opt-outs ------------------------------------------------------------------------------------------

    def is_opted_out(self, phone: str) -> bool:
        """True when this phone (normalised first) must receive nothing: campaigns filter with it."""
        try:
            return self.store.is_opted_out(importer.normalise_phone(phone))
        except ValueError:
            return False

    def opt_out(self, phone: Any, how: str = "api") -> dict[str, Any]:
        """Record an opt-out by hand (window: manual) or by the API; the first one of a phone is kept."""
        item = OptOut(check_phone(phone), _now(), how if how in HOWS else "api", None, None)
        self.store.opt_out(item)
        return item.to_dict()

    def opt_in(self, phone: str) -> None:
        """Remove an opt-out (the person asked to receive messages again)."""
        if not self.store.opt_in(check_phone(phone)):
            raise OptOutNotFound(f"{phone[:64]!r} has not opted out", details={"phone": phone[:64]})

    def optouts(self, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """A page of opt-outs in the order they came."""
        limit = check_limit(limit)
        rows = self.store.optouts(after=_cursor(cursor), limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": [o.to_dict() for _, o in rows], "nextCursor": str(rows[-1][0]) if more else None}


def _merge(unique: dict[str, NewCustomer], row: NewCustomer) -> None:
    """A row into the one of the same phone earlier in the file: a later name wins, variables and tags add up."""
    first = unique.get(row.phone)
    if first is None:
        unique[row.phone] = row
        return
    first.name = row.name or first.name
    first.variables.update(row.variables)
    first.tags = _union(first.tags, row.tags)


def _union(first: list[str], second: list[str]) -> list[str]:
    """Tags of both lists, each once whatever its case (the first spelling kept)."""
    seen: dict[str, str] = {}
    for tag in (*first, *second):
        seen.setdefault(tag.casefold(), tag)
    return list(seen.values())


def _cursor(raw: str | None) -> int:
    """A page cursor: the last id of the page before (0 for the first page)."""
    if raw in (None, ""):
        return 0
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 18:
        raise InvalidInput("cursor must be the nextCursor of the page before", details={"field": "cursor"})
    return int(raw)


def _now() -> str:
    """Now, as stored."""
    return iso(utc_now()) or ""
