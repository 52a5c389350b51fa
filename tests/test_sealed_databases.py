"""A sealed folder's databases (issue 19 step 5): SQLCipher with a raw key derived from the data key, on real files.
What a user would notice: no message text or number in clear in any database file (-wal and -shm included) while
ZapPool runs or after it stops; `seal convert` seals the databases an existing folder already has, and finishes
after a crash half-way; `seal rotate` re-keys them and nothing is lost; a folder's databases never open with
another folder's keys, or with none, and such a refusal changes no file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from backend.sealing import KeyFile
from backend.sealing.cli import parse_command, run_command
from backend.store.messages import MessageStore
from backend.store.sealed import SealedFolder
from backend.store.sqlite_engine import SealedDatabaseUnreadable, is_clear, seal_folder
from backend.store.webhooks import WebhookStore

SECRET, NUMBER, PASS = "Pedido sigiloso 8812 do cliente", "5511977776666", "frase dos bancos"


@pytest.fixture(autouse=True)
def _no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("ZAPOOL_PASSPHRASE", PASS)


def _log(data: Path, text: str = SECRET) -> MessageStore:
    """messages.db with one message queued to NUMBER, left open (its WAL holds the row)."""
    store = MessageStore(data / "messages.db")
    store.add_outgoing("m1", client_id="loja", to_number=NUMBER, chat=f"{NUMBER}@c.us", type="text", body=text)
    return store


def _in_clear(data: Path) -> list[str]:
    return sorted(p.name for p in data.iterdir() if p.is_file() and (SECRET.encode() in p.read_bytes()
                                                                     or NUMBER.encode() in p.read_bytes()))


def _hashes(data: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(data.iterdir()) if p.is_file()}


def _command(data: Path, *argv: str) -> str:
    return run_command(parse_command(["--data", str(data), *argv], data), SealedFolder(data))


def _sealed_folder(tmp_path: Path) -> Path:
    data = tmp_path / "dados"
    data.mkdir()
    SealedFolder(data).use(KeyFile(data, SealedFolder(data).write).create(PASS, use_keyring=False))
    return data


def test_a_sealed_folders_databases_hold_nothing_in_clear_wal_included_and_read_back(tmp_path: Path):
    data = _sealed_folder(tmp_path)
    store = _log(data)
    hooks = WebhookStore(data / "webhooks.db")
    assert (data / "messages.db-wal").stat().st_size > 0
    assert _in_clear(data) == [], "open: the WAL's frames are sealed too"
    store.close()
    hooks.close()
    assert _in_clear(data) == [] and not is_clear(data / "messages.db") and not is_clear(data / "webhooks.db")
    again = MessageStore(data / "messages.db")
    assert again.get("m1").body == SECRET
    again.close()


def test_convert_seals_the_databases_already_there_and_a_crash_half_way_is_finished(tmp_path: Path):
    data = tmp_path / "dados"
    _log(data).close()
    WebhookStore(data / "webhooks.db").close()
    assert _in_clear(data) == ["messages.db"]
    (data / "messages.db.sealing").write_bytes(b"half a sealed copy, from a crash")
    assert "pasta de dados selada" in _command(data, "convert")
    assert _in_clear(data) == [] and not (data / "messages.db.sealing").exists()
    assert "0 arquivo(s) a selar" in _command(data, "status")
    store = MessageStore(data / "messages.db")
    assert store.get("m1").body == SECRET
    store.close()


def test_a_clear_database_found_later_in_a_sealed_folder_is_sealed_before_use(tmp_path: Path):
    plain = tmp_path / "plain"
    _log(plain).close()
    data = _sealed_folder(tmp_path)
    (data / "messages.db").write_bytes((plain / "messages.db").read_bytes())  # e.g. a copy put back by hand
    store = MessageStore(data / "messages.db")
    assert store.get("m1").body == SECRET
    store.close()
    assert _in_clear(data) == []


def test_a_damaged_clear_database_in_a_sealed_folder_is_removed_not_set_aside_in_clear(tmp_path: Path):
    plain = tmp_path / "plain"
    _log(plain).close()
    damaged = bytearray((plain / "messages.db").read_bytes())
    damaged[4096:8192] = b"\xff" * 4096  # a page of the clear log overwritten: quick_check fails
    data = _sealed_folder(tmp_path)
    (data / "messages.db").write_bytes(bytes(damaged))
    store = MessageStore(data / "messages.db")  # a new, sealed log
    assert store.get("m1") is None
    store.close()
    assert _in_clear(data) == [] and not is_clear(data / "messages.db")


def test_rotate_rekeys_the_databases_and_nothing_is_lost(tmp_path: Path):
    data = tmp_path / "dados"
    _log(data).close()
    _command(data, "convert")
    before = (data / "messages.db").read_bytes()
    assert "chave trocada" in _command(data, "rotate")
    assert (data / "messages.db").read_bytes() != before, "every page under the new key"
    store = MessageStore(data / "messages.db")
    assert store.get("m1").body == SECRET
    store.close()
    old = tmp_path / "old"
    old.mkdir()
    (old / "messages.db").write_bytes(before)  # the file as it was under the old key...
    (old / "sealed.key").write_bytes((data / "sealed.key").read_bytes())
    seal_folder(old, KeyFile(old, SealedFolder(old).write).unlock(PASS))  # ...is not opened by the rotated keys
    with pytest.raises(SealedDatabaseUnreadable):
        MessageStore(old / "messages.db")


def test_another_folders_keys_or_none_open_nothing_and_change_nothing(tmp_path: Path):
    data = _sealed_folder(tmp_path)
    _log(data).close()
    before = _hashes(data)
    other = tmp_path / "outra"
    other.mkdir()
    (other / "messages.db").write_bytes((data / "messages.db").read_bytes())
    (other / "sealed.key").write_bytes((data / "sealed.key").read_bytes())
    with pytest.raises(SealedDatabaseUnreadable) as locked:  # a sealed folder nobody unlocked
        MessageStore(other / "messages.db")
    assert locked.value.code == "sealed_database_unreadable"
    seal_folder(other, KeyFile(tmp_path / "third", lambda p, b: None).create(PASS, use_keyring=False))
    wrong = _hashes(other)
    with pytest.raises(SealedDatabaseUnreadable, match="nada foi alterado"):
        MessageStore(other / "messages.db")
    assert _hashes(other) == wrong and _hashes(data) == before
