"""The customer list's CSV import (issue 17 §2) over a real audience.db: each flavour people export, written as
real files, the per-line report, the whole-row rule, duplicates merged, encodings, the Brazilian ninth digit.
The store's tests run on both backends: audience.db, and the cluster's PostgreSQL (issue 20, store/pg_audience.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.audience import AudienceService, CsvRefused
from backend.audience.importer import MAX_IMPORT_BYTES, normalise_phone
from backend.store.audience import AudienceStore, NewCustomer, OptOut
from backend.store.pg_audience import PgAudienceStore
from backend.store.pg_db import PgDatabase


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def audience(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AudienceService]:
    if request.param == "sqlite":
        service = AudienceService(AudienceStore(tmp_path / "audience.db"))
        yield service
        service.store.close()
        return
    database = PgDatabase(request.getfixturevalue("pg_url")).open()
    yield AudienceService(PgAudienceStore(database))  # type: ignore[arg-type] - AudienceStore's interface
    database.close()


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> bytes:
    """A real file, as the user's program saved it; its bytes as uploaded."""
    path = tmp_path / name
    path.write_text(text, encoding=encoding, newline="")
    return path.read_bytes()


def everyone(audience: AudienceService) -> dict[str, dict]:
    return {c["phone"]: c for c in audience.list(limit=200)["items"]}


GOOGLE = ("Name,Given Name,Additional Name,Family Name,Nickname,Birthday,Notes,Group Membership,"
          "E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Phone 2 - Type,Phone 2 - Value\r\n"
          "Maria Souza,Maria,,Souza,,1990-05-01,cliente VIP,* myContacts,* Home,maria@example.com,Mobile,"
          "+55 11 98765-4321,Work,(11) 3456-7890\r\n"
          "João Lima,João,,Lima,,,,* myContacts,,,Mobile,+55 21 99876-5432 ::: +55 21 3333-4444,,\r\n")


def test_google_contacts_export(audience: AudienceService, tmp_path: Path) -> None:
    report = audience.import_csv(write(tmp_path, "contacts.csv", GOOGLE))
    assert report == {"imported": 2, "merged": 0, "invalid": []}
    people = everyone(audience)
    assert people["5511987654321"]["name"] == "Maria Souza"
    assert people["5511987654321"]["variables"]["Birthday"] == "1990-05-01"
    assert people["5511987654321"]["variables"]["E-mail 1 - Value"] == "maria@example.com"
    assert people["5521998765432"]["name"] == "João Lima"  # the first of Google's "a ::: b" numbers


def test_excel_csv_utf8_with_bom_and_semicolons(audience: AudienceService, tmp_path: Path) -> None:
    text = "Código;Nome;Telefone;Celular;Cidade\r\n7;Ana Paula;(11) 3456-7890;(11) 98888-7777;São Paulo\r\n"
    data = write(tmp_path, "clientes.csv", text, encoding="utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    assert audience.import_csv(data)["imported"] == 1
    ana = everyone(audience)["5511988887777"]  # Celular is preferred to Telefone
    assert ana["name"] == "Ana Paula" and ana["variables"] == {"Código": "7", "Cidade": "São Paulo"}  # no BOM in it


def test_cp1252_file_from_excel_on_windows(audience: AudienceService, tmp_path: Path) -> None:
    text = "Nome;Celular;Observação\r\nJosé Conceição;11 97777-6666;Ação de março\r\n"
    data = write(tmp_path, "clientes.csv", text, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert audience.import_csv(data)["imported"] == 1
    jose = everyone(audience)["5511977776666"]
    assert jose["name"] == "José Conceição" and jose["variables"] == {"Observação": "Ação de março"}


def test_tab_separated_utf16_unicode_text(audience: AudienceService, tmp_path: Path) -> None:
    data = write(tmp_path, "clientes.txt", "Nome\tWhatsApp\r\nLia\t+55 31 99123-4567\r\n", encoding="utf-16")
    assert audience.import_csv(data)["imported"] == 1
    assert "5531991234567" in everyone(audience)


def test_bad_rows_reported_by_line_and_left_out_whole(audience: AudienceService, tmp_path: Path) -> None:
    text = ("Nome,Telefone,Tags\n"
            "Boa,11 98765-0001,vip\n"                    # line 2
            "Sem número,,vip\n"                          # line 3: no phone
            "Errado,12345,vip\n"                         # line 4: not a phone
            '"Nome com\nduas linhas",11 98765-0002,\n'   # lines 5-6: one record, fine
            "Demais,11 98765-0003,vip,extra\n"           # line 7: more fields than headers
            f"Longo,11 98765-0004,{'x' * 65}\n")         # line 8: a tag too long: the row is out, name and all
    report = audience.import_csv(write(tmp_path, "c.csv", text))
    assert report["imported"] == 2 and report["merged"] == 0
    assert [(bad["line"], bad["reason"]) for bad in report["invalid"]] == [
        (3, "no_phone"), (4, "invalid_phone"), (7, "too_many_fields"), (8, "invalid_tags")]
    assert set(everyone(audience)) == {"5511987650001", "5511987650002"}  # nothing of the bad rows
    assert [t["name"] for t in audience.tags()] == ["vip"]


def test_duplicates_in_the_file_and_stored_are_merged(audience: AudienceService, tmp_path: Path) -> None:
    audience.create({"phone": "+55 11 98765-4321", "name": "Maria", "tags": ["antiga"],
                     "variables": {"Plano": "básico"}})
    text = ("Nome;Celular;Plano;Tags\n"
            ";(11) 98765-4321;ouro;nova\n"              # the stored Maria: no name given, the name stays
            "Pedro;11 91234-5678;prata;cliente\n"
            "Pedro Alves;+55 (11) 91234-5678;;vip\n")  # the same Pedro again: a later name wins, the rest adds up
    report = audience.import_csv(write(tmp_path, "c.csv", text), ["importado"])
    assert report == {"imported": 1, "merged": 2, "invalid": []}
    people = everyone(audience)
    assert len(people) == 2
    maria, pedro = people["5511987654321"], people["5511912345678"]
    assert maria["name"] == "Maria" and maria["variables"] == {"Plano": "ouro"}
    assert maria["tags"] == ["antiga", "importado", "nova"]
    assert pedro["name"] == "Pedro Alves" and pedro["variables"] == {"Plano": "prata"}
    assert pedro["tags"] == ["cliente", "importado", "vip"]


def test_ninth_digit_of_old_brazilian_mobiles(audience: AudienceService, tmp_path: Path) -> None:
    """Anatel: an old eight-digit mobile (6-9 first) gets its 9; a landline (2-5 first) stays as it is."""
    assert normalise_phone("(11) 8765-4321") == "5511987654321"
    assert normalise_phone("+55 21 7654-3210") == "5521976543210"
    assert normalise_phone("(11) 3456-7890") == "551134567890"
    assert normalise_phone("+1 650 253 0000") == "16502530000"
    text = "Nome,Celular\nVelho,(11) 8765-4321\nNovo,(11) 98765-4321\n"
    assert audience.import_csv(write(tmp_path, "c.csv", text)) == {"imported": 1, "merged": 1, "invalid": []}


def test_whole_file_refusals(audience: AudienceService, tmp_path: Path) -> None:
    with pytest.raises(CsvRefused, match="No phone column"):
        audience.import_csv(write(tmp_path, "a.csv", "Nome,Email\nAna,a@example.com\n"))
    with pytest.raises(CsvRefused, match="empty"):
        audience.import_csv(b"")
    with pytest.raises(CsvRefused, match="larger"):
        audience.import_csv(b"Telefone\n" + b"11987654321\n" * (MAX_IMPORT_BYTES // 12 + 1))
    assert audience.list()["items"] == []


def test_ten_thousand_rows_import_in_one_go(audience: AudienceService, tmp_path: Path) -> None:
    lines = ["Nome;Celular;Pedido"] + [f"Cliente {i};(11) 9{i:04d}-{i:04d};{i}" for i in range(10_000)]
    report = audience.import_csv(write(tmp_path, "grande.csv", "\r\n".join(lines)))
    assert report == {"imported": 10_000, "merged": 0, "invalid": []}
    page = audience.list(query="Cliente 9999")
    assert [c["phone"] for c in page["items"]] == ["5511999999999"]


def test_opt_outs_and_is_opted_out(audience: AudienceService) -> None:
    audience.opt_out("(11) 98765-4321", "manual")
    assert audience.is_opted_out("+55 11 98765-4321") and audience.is_opted_out("11 8765-4321")
    assert not audience.is_opted_out("11 91234-5678")
    assert [o["phone"] for o in audience.optouts()["items"]] == ["5511987654321"]
    audience.opt_in("5511987654321")
    assert not audience.is_opted_out("5511987654321")


def test_tags_search_and_a_campaigns_members_read_the_same_on_both_stores(audience: AudienceService) -> None:
    """What SQLite did by its own rules (LIKE ignoring case, NOCASE tags, json_patch) the cluster's store must
    do the same way: the campaigns read `members` from whichever store the node has."""
    store = audience.store
    now = "2026-12-05T10:00:00Z"
    ana, bia, caio = store.upsert_many([NewCustomer("5511911110001", "Ana Souza", {"pedido": "1"}, ["VIP"]),
                                        NewCustomer("5511911110002", "Bia", {}, ["vip", "Atacado"]),
                                        NewCustomer("5511911110003", "", {"pedido": "3"}, [])], now)
    store.upsert_many([NewCustomer("5511911110001", "", {"cidade": "Santos"}, ["Atacado"])], now)  # merged
    store.opt_out(OptOut("5511911110002", now, "keyword", "m1", "loja"))
    store.set_setting("keywords", ["SAIR", "PARAR"])

    # One tag "VIP" whatever the case (which spelling an import keeps is the store's choice).
    assert [(t["name"].casefold(), t["count"]) for t in store.tags()] == [("atacado", 2), ("vip", 2)]
    assert [c.id for c in store.page(query="souza")] == [ana]
    assert [c.id for c in store.page(tag="vip")] == [ana, bia]
    assert store.get(ana).variables == {"pedido": "1", "cidade": "Santos"}
    assert [t.casefold() for t in store.get(ana).tags] == ["atacado", "vip"]
    assert store.members(["VIP"], ["pedido"]) == [("5511911110001", "Ana Souza", store.members(None, [])[0][2],
                                                  False, False), ("5511911110002", "Bia", "{}", True, True)]
    assert [m[4] for m in store.members(None, ["nome"])] == [False, False, True]  # caio has no name
    assert [(o.phone, o.how) for _, o in store.optouts()] == [("5511911110002", "keyword")]
    assert store.setting("keywords") == ["SAIR", "PARAR"]
    assert store.delete(caio) and store.get(caio) is None and not store.delete(caio)


def test_an_import_cut_short_by_a_full_disk_stores_none_of_its_rows(tmp_path: Path) -> None:
    """One transaction: a 10,000-row file that fills the disk half way leaves no customer behind, and the same file
    imports whole once there is room (a real 64 MB tmpfs, filled but for 256 kB)."""
    from backend.errors import StorageFull
    from tests.test_reliability_disk import Disk, disk as disk_fixture

    mounted = disk_fixture.__wrapped__(tmp_path)  # the reliability tests' tmpfs, as a plain generator here
    disk: Disk = next(mounted)
    try:
        service = AudienceService(AudienceStore(disk.root / "audience.db"))
        lines = ["Nome;Celular;Notas"] + [f"Cliente {i};(11) 9{i:04d}-{i:04d};{'x' * 200}" for i in range(10_000)]
        data = "\n".join(lines).encode()
        disk.fill()
        with open(disk.filler, "r+b") as handle:
            handle.truncate(max(0, disk.filler.stat().st_size - 256 * 1024))
        with pytest.raises(StorageFull):
            service.import_csv(data)
        assert service.list()["items"] == []
        disk.free()
        assert service.import_csv(data)["imported"] == 10_000
        service.store.close()
    finally:
        next(mounted, None)
