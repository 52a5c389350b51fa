"""Reading a customer CSV as people export it (issue 17 §2): Google Contacts, Excel's "CSV UTF-8" (with its BOM),
Excel's plain "CSV" on a Brazilian Windows (`;`-separated, cp1252, headers Nome;Telefone;Celular...).

Everything in the file is hostile until checked: its size and row count are capped, each field's length too, and a
row is taken whole or not at all (a bad phone, a field too long, more fields than headers: the row is reported with
its line number and reason, and nothing of it is kept). Names stay plain text: the windows never render them as
HTML (frontend sets textContent).

Phones go through Google's libphonenumber (`phonenumbers`, already the send path's library) with Brazil as the
default region, so "(11) 98765-4321", "011 98765-4321" and "+55 11 98765-4321" are the same customer. The ninth
digit: since 2016 Anatel's numbering plan gives every Brazilian mobile nine digits starting with 9, and the old
eight-digit mobiles (first digit 6-9; 2-5 are landlines) were renumbered by prefixing that 9. So an old-form mobile
"(11) 8765-4321" is stored as 5511987654321, the number WhatsApp and the carriers use now, and merges with the
same customer written in the new form. Landlines keep their eight digits.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field

import phonenumbers

from ..store.audience import NewCustomer

MAX_IMPORT_BYTES = 8 * 1024 * 1024  # ~100,000 typical rows; the REST route's body cap is the same number
MAX_ROWS = 50_000
MAX_COLUMNS = 100  # Google Contacts' export has ~90
MAX_FIELD_CHARS = 1_000
MAX_NAME_CHARS = 200
MAX_ROW_TAGS = 20
MAX_TAG_CHARS = 64
DEFAULT_REGION = "BR"
# Headers, compared without case, accents or spaces; a phone column earlier in the list wins.
PHONE_HEADERS = ("celular", "whatsapp", "mobilephone", "mobile", "telefonecelular", "phone1value", "phonenumber",
                 "phone", "telefone", "fone", "tel", "numero", "primaryphone", "homephone", "businessphone",
                 "phone2value", "phone3value")
NAME_HEADERS = ("nome", "name", "nomecompleto", "fullname", "displayname")
NAME_PARTS = (("firstname", "givenname", "primeironome"), ("middlename", "additionalname"),
              ("lastname", "familyname", "sobrenome"))
TAG_HEADERS = ("tags", "etiquetas", "marcadores")


@dataclass
class BadRow:
    """A row left out: its line in the file, a stable reason code, and what was wrong."""

    line: int
    reason: str
    message: str

    def to_dict(self) -> dict[str, object]:
        """The report's shape."""
        return {"line": self.line, "reason": self.reason, "message": self.message}


@dataclass
class Parsed:
    """A file read: the rows to store (with their line) and the rows refused."""

    rows: list[tuple[int, NewCustomer]] = field(default_factory=list)
    invalid: list[BadRow] = field(default_factory=list)


class CsvUnreadable(ValueError):
    """The file as a whole cannot be imported (no header, no phone column, too large)."""


def key(header: str) -> str:
    """A header compared without case, accents, spaces or punctuation: "Phone 1 - Value" -> "phone1value"."""
    plain = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.casefold() if ch.isalnum())


def decode(data: bytes) -> str:
    """The file's text: UTF-8 with or without its BOM, UTF-16 with its BOM (Excel's "Unicode text"), else
    cp1252 (Excel's "CSV" on Windows in Brazil), else Latin-1 (every byte is a character)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def delimiter(header_line: str) -> str:
    """The separator, judged by the header line (csv.Sniffer guesses wrong on one-column or quoted files):
    the most frequent of ; , tab |, comma when none."""
    counts = {d: header_line.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """E.164 digits of a phone as written in a contact list, or ValueError saying why (see the module's doc for
    the Brazilian ninth digit)."""
    text = raw.split(":::")[0].strip()  # Google Contacts puts several numbers in one cell: "a ::: b"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc._msg})") from None
    national = str(number.national_number)
    if number.country_code == 55 and len(national) == 10 and national[2] in "6789":
        number = phonenumbers.parse(f"+55{national[:2]}9{national[2:]}", None)  # Anatel: old mobile, 9 prefixed
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number (include the area code, e.g. (11) 98765-4321)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).removeprefix("+")


def parse(data: bytes, region: str = DEFAULT_REGION) -> Parsed:
    """Every row of a CSV file checked: the valid ones ready to store, the others reported by line."""
    if len(data) > MAX_IMPORT_BYTES:
        raise CsvUnreadable(f"The file is larger than {MAX_IMPORT_BYTES:,} bytes: split it")
    text = decode(data)
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(first))
    try:
        headers = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise CsvUnreadable("The file is empty or not a CSV file") from None
    columns = Columns(headers)
    parsed, line, count = Parsed(), reader.line_num + 1, 0
    try:
        for values in reader:
            start, line = line, reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            count += 1
            if count > MAX_ROWS:
                raise CsvUnreadable(f"The file has more than {MAX_ROWS:,} rows: split it")
            try:
                parsed.rows.append((start, columns.row(values, region)))
            except RowError as exc:
                parsed.invalid.append(BadRow(start, exc.reason, str(exc)))
    except csv.Error as exc:
        raise CsvUnreadable(f"Line {line}: the CSV is malformed ({exc})") from None
    return parsed


class RowError(ValueError):
    """One row refused, with a reason code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Columns:
    """What each header of a file means: the phone columns by preference, the name, tags, and the rest."""

    def __init__(self, headers: list[str]):
        if len(headers) > MAX_COLUMNS:
            raise CsvUnreadable(f"The file has more than {MAX_COLUMNS} columns")
        keys = [key(h) for h in headers]
        self.headers = headers
        self.phones = sorted((i for i, k in enumerate(keys) if k in PHONE_HEADERS),
                             key=lambda i: PHONE_HEADERS.index(keys[i]))
        if not self.phones:
            raise CsvUnreadable("No phone column: name one Telefone, Celular, WhatsApp or Phone",
                                ) from None
        self.name = next((i for i, k in enumerate(keys) if k in NAME_HEADERS), None)
        self.name_parts = [i for names in NAME_PARTS for i, k in enumerate(keys) if k in names]
        self.tags = next((i for i, k in enumerate(keys) if k in TAG_HEADERS), None)
        known = set(self.phones) | set(self.name_parts) | {self.name, self.tags}
        self.extra = [i for i, h in enumerate(headers) if i not in known and h]

    def row(self, values: list[str], region: str) -> NewCustomer:
        """One row as a customer, or RowError (the whole row is refused)."""
        if len(values) > len(self.headers) and any(v.strip() for v in values[len(self.headers):]):
            raise RowError("too_many_fields", f"{len(values)} fields for {len(self.headers)} headers")
        cells = [v.strip() for v in values] + [""] * (len(self.headers) - len(values))
        too_long = next((i for i, v in enumerate(cells) if len(v) > MAX_FIELD_CHARS), None)
        if too_long is not None:
            raise RowError("field_too_long", f"{self.headers[too_long][:64]!r} is over {MAX_FIELD_CHARS} characters")
        raw = next((cells[i] for i in self.phones if cells[i]), "")
        if not raw:
            raise RowError("no_phone", "the row has no phone number")
        try:
            phone = normalise_phone(raw, region)
        except ValueError as exc:
            raise RowError("invalid_phone", f"{raw[:64]!r}: {exc}") from None
        name = cells[self.name] if self.name is not None else ""
        name = name or " ".join(cells[i] for i in self.name_parts if cells[i])
        if len(name) > MAX_NAME_CHARS:
            raise RowError("field_too_long", f"the name is over {MAX_NAME_CHARS} characters")
        tags = split_tags(cells[self.tags]) if self.tags is not None else []
        if len(tags) > MAX_ROW_TAGS or any(len(t) > MAX_TAG_CHARS or not t.isprintable() for t in tags):
            raise RowError("invalid_tags", f"at most {MAX_ROW_TAGS} tags of 1 to {MAX_TAG_CHARS} printable characters")
        variables = {self.headers[i]: cells[i] for i in self.extra if cells[i]}
        return NewCustomer(phone, name, variables, tags)


def split_tags(cell: str) -> list[str]:
    """Tags written in one cell: separated by commas, semicolons or Google's " ::: "."""
    parts = cell.replace(":::", ",").replace(";", ",").split(",")
    return [p.strip() for p in parts if p.strip()]
