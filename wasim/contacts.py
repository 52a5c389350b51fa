"""The simulated phones' address books: saved names, push names, business flags and profile pictures, as
WA-JS's ContactModel reports them (`WPP.contact.list`, `get`, `getProfilePictureUrl`).

A profile picture is a URL. The simulator can host one itself, as WhatsApp's CDN (pps.whatsapp.net) does: a
contact saved with `picture: true` gets `/_sim/pp?phone=&number=&v=` on the simulator's own origin (the page makes
it absolute), a small PNG of one colour drawn from the number and the version; setting a new one changes the
version, so the old URL stops working, as an expired CDN URL does. Any other string is given as it is (tests point
it at a hostile server). Counted for tests: `getProfilePictureUrl` calls answered and picture downloads served.
A group's picture (its icon, set by a member: groups.py's `icon` action) is hosted the same way,
`/_sim/pp?group=&v=`, and shown to the group's members only.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .model import SimFail, valid_phone

if TYPE_CHECKING:
    from .core import Sim

MAX_CONTACTS = 10_000  # per call: enough for a bench's 500 chats, small enough to refuse a runaway test
PICTURE_PATH = "/_sim/pp"
PICTURE_SIDE = 64


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
        self.picture_calls = 0  # getProfilePictureUrl answers
        self.picture_fetches = 0  # pictures downloaded from the simulator's own host
        self._version = 0

    def clear(self) -> None:
        """Forget every contact (and the counts)."""
        self.books = {}
        self.picture_calls = self.picture_fetches = 0

    def counts(self) -> dict[str, int]:
        """For GET /_sim/state: {calls, fetches}."""
        return {"calls": self.picture_calls, "fetches": self.picture_fetches}

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
                if contact.picture is True:  # type: ignore[comparison-overlap] - the control call's `true`
                    contact.picture = self._hosted(phone, contact.number)
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

    def picture(self, sid: Any, number: Any, server: Any = None) -> dict[str, Any]:
        """WPP.contact.getProfilePictureUrl: the URL, or null (no picture, or hidden by privacy); for a group
        (server g.us), its picture when this phone is a member."""
        with self.sim.lock:
            phone = self.sim.linked_session(sid).phone or ""
            self.picture_calls += 1
            if server == "g.us":
                group = self.sim.groups.groups.get(f"{number}@g.us")
                return {"url": group.picture if group and phone in group.participants else None}
            contact = self.books.get(phone, {}).get(str(number))
            return {"url": contact.picture if contact else None}

    def set_picture(self, body: dict[str, Any]) -> dict[str, Any]:
        """Control call {phone, number, picture}: true hosts a new picture here, a string is a URL given as it
        is, null removes it (or hides it). A contact the phone does not have is added, unsaved. {url}."""
        with self.sim.lock:
            phone = valid_phone(body.get("phone"), "phone")
            number = valid_phone(body.get("number"), "number")
            picture = body.get("picture")
            if picture is not True and picture is not None and not isinstance(picture, str):
                raise SimFail(400, "picture is true (hosted here), a URL string, or null (none)")
            contact = self.books.setdefault(phone, {}).setdefault(number, Contact(number=number))
            contact.picture = self._hosted(phone, number) if picture is True else picture
            self.sim.changed()
            return {"url": contact.picture}

    def image(self, path: str) -> tuple[bytes, str]:
        """GET /_sim/pp?...: a hosted picture's PNG while it is the contact's current one, else 404."""
        query = {k: v[-1] for k, v in parse_qs(urlsplit(path).query).items()}
        with self.sim.lock:
            if "group" in query:
                owner: Any = self.sim.groups.groups.get(query["group"])
            else:
                owner = self.books.get(query.get("phone", ""), {}).get(query.get("number", ""))
            if owner is None or owner.picture != path:
                raise SimFail(404, "no such picture (removed, or replaced by a newer one)")
            self.picture_fetches += 1
        seed = query.get("group") or query.get("number")
        return png(PICTURE_SIDE, _colour(f"{seed}:{query.get('v')}")), "image/png"

    def _hosted(self, phone: str, number: str) -> str:
        """A new URL path of a picture hosted here (the version makes earlier ones stop working)."""
        self._version += 1
        return f"{PICTURE_PATH}?phone={phone}&number={number}&v={self._version}"

    def hosted_group_picture(self, group_id: str) -> str:
        """A new URL path of a group's picture hosted here (the caller holds the lock)."""
        self._version += 1
        return f"{PICTURE_PATH}?group={group_id}&v={self._version}"


def _colour(seed: str) -> tuple[int, int, int]:
    """A colour from a seed: the same contact and version always get the same square."""
    digest = hashlib.sha256(seed.encode()).digest()
    return digest[0], digest[1], digest[2]


def png(side: int, rgb: tuple[int, int, int]) -> bytes:
    """A square PNG of one colour (zlib and struct: the simulator needs no imaging library)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * side for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


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
    if any(v is not None and not isinstance(v, str) and not (k == "picture" and v is True) for k, v in texts.items()):
        raise SimFail(400, "name and pushname are strings; picture a URL string or true (hosted here)")
    if not isinstance(item.get("business", False), bool):
        raise SimFail(400, "business is true or false")
    return Contact(number=number, business=item.get("business", False), **texts)
