"""The data folder's keys (backend/sealing, issue 19): a random data key wrapped by a passphrase (scrypt) and/or
the OS keyring, in sealed.key; a wrong passphrase opens nothing; a missing keyring falls back to the passphrase,
saying so; the passphrase changes and the data key rotates without losing a file. Real files, real AES-GCM and
scrypt, a real file-backed keyring (keyrings.alt's), keyring's own `fail` backend for "no keyring"."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as NoKeyring
from keyrings.alt.file import PlaintextKeyring

from backend.sealing import KeyFile, PassphraseRequired, SealedFileUnreadable, WrongPassphrase
from backend.sealing import vault
from backend.store.atomic import write_atomic


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PlaintextKeyring]:
    """keyrings.alt's file backend in a temp file, chosen on purpose as a service's operator would."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What a headless Linux server has: keyring's `fail` backend."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(NoKeyring())
    yield
    keyring.set_keyring(previous)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dados"
    folder.mkdir()
    return folder


def test_a_passphrase_opens_the_key_and_a_wrong_one_opens_nothing(tmp_path: Path, no_keyring: None):
    folder = _folder(tmp_path)
    sealed = KeyFile(folder, write_atomic).create("correct horse battery", use_keyring=False).seal(b"ola", "x")
    before = (folder / "sealed.key").read_bytes()
    assert KeyFile(folder, write_atomic).unlock("correct horse battery").open(sealed, "x") == b"ola"
    with pytest.raises(WrongPassphrase, match="frase-senha incorreta"):
        KeyFile(folder, write_atomic).unlock("wrong")
    with pytest.raises(PassphraseRequired):
        KeyFile(folder, write_atomic).unlock(None)
    assert (folder / "sealed.key").read_bytes() == before, "a failed unlock must not touch the key file"
    doc = json.loads(before)
    assert b"ola" not in before and all("wrapped" in e["passphrase"] for e in doc["keys"].values())


def test_the_keyring_opens_the_folder_unattended(tmp_path: Path, file_keyring: PlaintextKeyring):
    folder = _folder(tmp_path)
    sealed = KeyFile(folder, write_atomic).create(None, use_keyring=True).seal(b"ola", "x")
    assert KeyFile(folder, write_atomic).unlock(None).open(sealed, "x") == b"ola"
    doc = json.loads((folder / "sealed.key").read_bytes())
    assert doc["keyringEntry"] and "passphrase" not in next(iter(doc["keys"].values()))


def test_no_keyring_falls_back_to_the_passphrase_and_says_so(tmp_path: Path, no_keyring: None,
                                                             caplog: pytest.LogCaptureFixture):
    folder = _folder(tmp_path)
    assert not vault.available()
    with caplog.at_level(logging.WARNING):
        KeyFile(folder, write_atomic).create("a passphrase", use_keyring=True)
    assert "chaveiro do sistema indisponível" in caplog.text and "frase-senha" in caplog.text
    with pytest.raises(PassphraseRequired):
        KeyFile(tmp_path / "other", write_atomic).create(None, use_keyring=True)


def test_a_plaintext_keyring_not_chosen_on_purpose_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring.cfg")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        assert not vault.available(), "a keyring that keeps secrets in clear must not wrap the data key"
    finally:
        keyring.set_keyring(previous)


def test_a_keyring_folder_whose_keyring_is_gone_opens_with_its_passphrase(tmp_path: Path,
                                                                         file_keyring: PlaintextKeyring):
    folder = _folder(tmp_path)
    sealed = KeyFile(folder, write_atomic).create("backup phrase", use_keyring=True).seal(b"ola", "x")
    keyring.set_keyring(NoKeyring())
    with pytest.raises(PassphraseRequired):
        KeyFile(folder, write_atomic).unlock(None)
    assert KeyFile(folder, write_atomic).unlock("backup phrase").open(sealed, "x") == b"ola"


def test_changing_the_passphrase_keeps_every_file_readable(tmp_path: Path, no_keyring: None):
    folder = _folder(tmp_path)
    sealed = KeyFile(folder, write_atomic).create("old phrase", use_keyring=False).seal(b"ola", "x")
    keys = KeyFile(folder, write_atomic)
    keys.unlock("old phrase")
    keys.change_passphrase("new phrase")
    with pytest.raises(WrongPassphrase):
        KeyFile(folder, write_atomic).unlock("old phrase")
    assert KeyFile(folder, write_atomic).unlock("new phrase").open(sealed, "x") == b"ola"


def test_a_rotation_cut_half_way_resumes_and_then_drops_the_old_key(tmp_path: Path, no_keyring: None):
    folder = _folder(tmp_path)
    old = KeyFile(folder, write_atomic).create("phrase", use_keyring=False)
    files = {f"f{i}": old.seal(f"text {i}".encode(), f"f{i}") for i in range(3)}
    keys = KeyFile(folder, write_atomic)
    keys.unlock("phrase")
    new = keys.begin_rotation("phrase")
    files["f0"] = new.seal(new.open(files["f0"], "f0"), "f0")  # ... and the process dies here
    resumed = KeyFile(folder, write_atomic)
    sealer = resumed.unlock("phrase")
    assert resumed.rotating and sealer.current == new.current
    assert resumed.begin_rotation("phrase").current == new.current, "resuming must not start another key"
    for role, blob in files.items():
        if sealer.needs_reseal(blob):
            files[role] = sealer.seal(sealer.open(blob, role), role)
    resumed.finish_rotation()
    final = KeyFile(folder, write_atomic).unlock("phrase")
    assert final.key_ids == {new.current} and not KeyFile(folder, write_atomic).rotating
    assert [final.open(b, r) for r, b in files.items()] == [b"text 0", b"text 1", b"text 2"]
    with pytest.raises(SealedFileUnreadable, match="outra chave"):
        final.open(old.seal(b"x", "f9"), "f9")


def test_a_sealed_file_swapped_cut_or_changed_is_refused(tmp_path: Path, no_keyring: None):
    sealer = KeyFile(_folder(tmp_path), write_atomic).create("phrase", use_keyring=False)
    blob = sealer.seal(b"ola mundo", "media/abc")
    with pytest.raises(SealedFileUnreadable, match="trocado"):
        sealer.open(blob, "whatsapp-sessions.json")
    with pytest.raises(SealedFileUnreadable):
        sealer.open(blob[:-1], "media/abc")
    with pytest.raises(SealedFileUnreadable):
        sealer.open(blob[:-1] + bytes([blob[-1] ^ 1]), "media/abc")
    with pytest.raises(SealedFileUnreadable, match="não é um arquivo selado"):
        sealer.open(b"ola mundo" * 10, "media/abc")
