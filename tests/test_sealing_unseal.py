"""Turning sealing off again (issue 19, `app.py seal unseal`): a sealed folder's databases, files and profile
snapshots written back in clear, each step whole, the key file removed last; a crash half-way is finished by
running the command again, and ZapPool refuses to start on the half-done folder meanwhile. Real SQLCipher files,
a real profile tar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.sealing import KeyFile
from backend.sealing.cli import open_folder, parse_command, run_command
from backend.sealing.errors import SealingError
from backend.store.messages import MessageStore
from backend.store.sealed import SealedFolder, pack_profile, snapshot_role, write_sealed
from backend.store.sessions import SessionStore
from backend.store.sqlite_engine import is_clear

SECRET, NUMBER, PASS = "Pedido sigiloso 4471 do cliente", "5511977776666", "frase para tirar o selo"


@pytest.fixture(autouse=True)
def _passphrase_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("ZAPOOL_PASSPHRASE", PASS)


def _command(data: Path, *argv: str) -> str:
    return run_command(parse_command(["--data", str(data), *argv], data), SealedFolder(data))


def sealed_folder_with_everything(tmp_path: Path) -> Path:
    """A sealed folder: a message in messages.db, the sessions file, a media file and a number's snapshot."""
    data = tmp_path / "dados"
    data.mkdir()
    sealer = KeyFile(data, SealedFolder(data).write).create(PASS, use_keyring=False)
    SealedFolder(data).use(sealer)
    store = MessageStore(data / "messages.db")
    store.add_outgoing("m1", client_id="loja", to_number=NUMBER, chat=f"{NUMBER}@c.us", type="text", body=SECRET)
    store.close()
    SessionStore(data / "whatsapp-sessions.json", sealer).save(
        {"clientId": "loja", "status": "ready", "phoneNumber": NUMBER, "metadata": {}})
    write_sealed(data / "media" / "m1", b"%PDF-1.4 documento do cliente", sealer, "media/m1")
    profile = tmp_path / "perfil"
    (profile / "Default" / "IndexedDB").mkdir(parents=True)
    (profile / "Default" / "IndexedDB" / "chave.ldb").write_bytes(b"device key material")
    write_sealed(data / "snapshots" / "loja", pack_profile(profile), sealer, snapshot_role("loja"))
    return data


def test_unseal_writes_everything_back_in_clear_and_removes_the_keys(tmp_path: Path):
    data = sealed_folder_with_everything(tmp_path)
    assert not is_clear(data / "messages.db")
    assert "pasta de dados sem selo; 4 arquivo(s)" in _command(data, "unseal")

    assert not (data / "sealed.key").exists() and not (data / "snapshots" / "loja").exists()
    assert is_clear(data / "messages.db")
    store = MessageStore(data / "messages.db")  # opens as a plain folder's database: no keys anywhere
    assert store.get("m1").body == SECRET
    store.close()
    assert json.loads((data / "whatsapp-sessions.json").read_text())  # plain JSON again
    assert SessionStore(data / "whatsapp-sessions.json").get("loja")["phoneNumber"] == NUMBER
    assert (data / "media" / "m1").read_bytes() == b"%PDF-1.4 documento do cliente"
    assert (data / "sessions" / "loja" / "Default" / "IndexedDB" / "chave.ldb").read_bytes() == b"device key material"
    assert open_folder(SealedFolder(data), False, None) is None  # ZapPool starts on it as a plain folder
    assert _command(data, "unseal") == "pasta de dados não selada"


def test_a_crash_half_way_is_finished_by_running_it_again_and_zapool_waits_meanwhile(tmp_path: Path):
    data = sealed_folder_with_everything(tmp_path)
    keys = KeyFile(data, SealedFolder(data).write)
    sealer = keys.unlock(PASS)
    keys.mark_unsealing()  # as the command does first; the media file was written clear, then the crash came
    (data / "media" / "m1").write_bytes(sealer.open((data / "media" / "m1").read_bytes(), "media/m1"))
    (data / "messages.db.unsealing").write_bytes(b"half a clear copy of the log, cut by the crash")

    with pytest.raises(SealingError, match="seal unseal"):
        open_folder(SealedFolder(data), False, None)
    assert "pasta de dados sem selo; 3 arquivo(s)" in _command(data, "unseal")  # the rest: log, sessions, snapshot
    assert not (data / "sealed.key").exists() and not (data / "messages.db.unsealing").exists()
    assert (data / "media" / "m1").read_bytes() == b"%PDF-1.4 documento do cliente"
    store = MessageStore(data / "messages.db")
    assert store.get("m1").body == SECRET
    store.close()


def test_a_wrong_passphrase_unseals_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = sealed_folder_with_everything(tmp_path)
    before = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
    monkeypatch.setenv("ZAPOOL_PASSPHRASE", "outra frase")
    with pytest.raises(SealingError):
        _command(data, "unseal")
    assert {p: p.read_bytes() for p in data.rglob("*") if p.is_file()} == before
