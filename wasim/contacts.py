"""The simulated phones' address books: saved names, push names, business flags and profile pictures, as
WA-JS's ContactModel reports them (`WPP.contact.list`, `get`, `getProfilePictureUrl`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .model import SimFail, valid_phone

if TYPE_CHECKING:
    from .core import Sim

MAX_CONTACTS = 10_000  # per call: enough for a bench's 500 chats, small enough to refuse a runaway test


@dataclass
class Contact:
    """One entry of a phone's address book (or a peer known only by its push name)."""

    number: str
    name: str | None = None  # as saved on the phone: None when not saved
    pushname: str | None = None  # the name the contact gave itself
    business: bool = False
    picture: str | None = None  # profile picture URL; None: none, or the contact's privacy hides it

    def view(self) -> dict[str, Any]:
        """The contact as the page receives it (the page makes the Wid)."""
        return {"id": self.number, "name": self.name, "pushname": self.pushname, "isBusiness": self.business,
                "isMyContact": self.name is not None}


class Phonebook:
    """Per-phone contacts; the Sim's lock guards it."""

    def __init__(self, sim: Sim):
        self.sim = sim
        self.books: dict[str, dict[str, Contact]] = {}

    def clear(self) -> None:
        """Forget every contact."""
        self.books = {}

    def dump(self) -> dict[str, Any]:
        """JSON-ready, for the state file."""
        return {phone: [asdict(c) for c in book.values()] for phone, book in self.books.items()}

    def restore(self, data: dict[str, Any]) -> None:
        """Take back what dump() gave."""
        self.books = {phone: {c["number"]: Contact(**c) for c in items} for phone, items in data.items()}

    def save(self, body: dict[str, Any]) -> dict[str, Any]:
        """Control call: `phone` saves (or updates) these contacts: [{number, name?, pushname?, business?,
        picture?}]. A contact's fields replace what the phone had for that number."""
        with self.sim.lock:
            phone = valid_phone(body.get("phone"), "phone")
            items = body.get("contacts")
            if not isinstance(items, list) or not 1 <= len(items) <= MAX_CONTACTS:
                raise SimFail(400, f"contacts must be a list of 1..{MAX_CONTACTS} objects")
            contacts = [_contact(item) for item in items]
            book = self.books.setdefault(phone, {})
            for contact in contacts:
                book[contact.number] = contact
            self.sim.changed()
            return {"count": len(book)}

    def listing(self, sid: Any, only_mine: bool) -> list[dict[str, Any]]:
        """WPP.contact.list: the saved contacts and, unless only_mine, every chat peer known by push name."""
        with self.sim.lock:
            phone = self.sim.linked_session(sid).phone or ""
            book = dict(self.books.get(phone, {}))
            if not only_mine:
                for peer, chat in self.sim.mail.chats.get(phone, {}).items():
                    book.setdefault(peer, Contact(number=peer, pushname=_push_name(chat)))
            return [c.view() for c in book.values() if not only_mine or c.name is not None]

    def get(self, sid: Any, number: Any) -> dict[str, Any] | None:
        """WPP.contact.get: one contact, or None when the phone knows nothing of the number."""
        with self.sim.lock:
            phone = self.sim.linked_session(sid).phone or ""
            contact = self.books.get(phone, {}).get(str(number))
            if contact is not None:
                return contact.view()
            chat = self.sim.mail.chats.get(phone, {}).get(str(number))
            return Contact(number=str(number), pushname=_push_name(chat)).view() if chat else None

    def picture(self, sid: Any, number: Any) -> dict[str, Any]:
        """WPP.contact.getProfilePictureUrl: the URL, or null (no picture, or hidden by privacy)."""
        with self.sim.lock:
            phone = self.sim.linked_session(sid).phone or ""
            contact = self.books.get(phone, {}).get(str(number))
            return {"url": contact.picture if contact else None}


def _push_name(chat: Any) -> str | None:
    """The last push name a chat's peer wrote with (a history chat keeps it on the chat)."""
    for msg in reversed(chat.messages):
        if not msg.get("fromMe") and msg.get("notifyName"):
            return str(msg["notifyName"])
    return chat.name


def _contact(item: Any) -> Contact:
    """One contact of a control call, checked."""
    if not isinstance(item, dict):
        raise SimFail(400, "each contact is an object {number, name?, pushname?, business?, picture?}")
    number = valid_phone(item.get("number"), "number")
    texts = {k: item.get(k) for k in ("name", "pushname", "picture")}
    if any(v is not None and not isinstance(v, str) for v in texts.values()):
        raise SimFail(400, "name, pushname and picture are strings")
    if not isinstance(item.get("business", False), bool):
        raise SimFail(400, "business is true or false")
    return Contact(number=number, business=item.get("business", False), **texts)
