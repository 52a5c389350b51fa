"""Sealed by default on packaged installs (issue 19): a new data folder of the frozen app seals itself with the
keyring, opens again unattended, and its message log is sealed; without a keyring it stays plain and the app
says why; a folder that already holds data, or a run from source, is never sealed behind the user's back.
keyrings.alt's file backend stands in for the OS keyring (chosen on purpose, in the test's own folder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring.core
import pytest

from backend.sealing import KeyFile
from backend.sealing.cli import NOT_SEALED, open_folder, seal_by_default
from backend.store.messages import MessageStore
from backend.store.sealed import SealedFolder
from backend.store.sqlite_engine import is_clear

TEXT = "Pedido 5521 por padrão selado"


def _no_prompt(_: str) -> str:
    raise AssertionError("a keyring install must not ask for a passphrase")


@pytest.fixture(autouse=True)
def _keyring_chosen_again() -> Iterator[None]:
    """keyring picks its backend once per process: each test's PYTHON_KEYRING_BACKEND is read again."""
    yield
    keyring.core.init_backend()


@pytest.fixture()
def keyring_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "keyring"))
    monkeypatch.delenv("ZAPOOL_PASSPHRASE", raising=False)
    keyring.core.init_backend()


def test_a_new_folder_of_the_packaged_app_seals_itself_with_the_keyring(tmp_path: Path, keyring_here: None):
    data = tmp_path / "dados"
    assert seal_by_default(data, frozen=True) == (True, None)
    sealer = open_folder(SealedFolder(data), True, None, prompt=_no_prompt)
    assert sealer is not None and KeyFile(data, SealedFolder(data).write).unlock(None)  # the keyring opens it
    store = MessageStore(data / "messages.db")
    store.add_outgoing("m1", client_id="loja", to_number="5511977776666", chat="5511977776666@c.us",
                       type="text", body=TEXT)
    store.close()
    assert not is_clear(data / "messages.db")
    assert seal_by_default(data, frozen=True) == (False, None), "sealed already: nothing more to decide"
    assert open_folder(SealedFolder(data), False, None, prompt=_no_prompt) is not None  # the next start


def test_without_a_keyring_a_new_folder_stays_plain_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    keyring.core.init_backend()
    data = tmp_path / "dados"
    seal, note = seal_by_default(data, frozen=True)
    assert not seal and note == NOT_SEALED and "sem chaveiro do sistema" in note
    assert open_folder(SealedFolder(data), seal, None, prompt=_no_prompt) is None
    assert not (data / "sealed.key").exists()


def test_an_existing_folder_or_a_run_from_source_is_left_as_it_is(tmp_path: Path, keyring_here: None):
    used = tmp_path / "usada"
    MessageStore(used / "messages.db").close()
    assert seal_by_default(used, frozen=True) == (False, None), "existing data: `seal convert`, on purpose"
    assert seal_by_default(tmp_path / "nova", frozen=False) == (False, None), "from source: --seal, on purpose"
    empty = tmp_path / "vazia"
    empty.mkdir()
    assert seal_by_default(empty, frozen=True) == (True, None)
