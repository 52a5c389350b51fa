"""Turning sealing on from a terminal (issue 19 step 4), as a user or a service does it: `app.py seal convert`
on an existing folder (resumable), `app.py --seal` on a new one, the passphrase from ZAPOOL_PASSPHRASE or
--passphrase-fd; a wrong one exits non-zero with one clear line and changes no file. Real app.py processes on real
folders; no keyring on this machine (keyring's `fail` backend), so the passphrase is what opens them."""

from __future__ import annotations

import hashlib
import sqlite3
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.store.media import KeptMedia, MediaFiles
from backend.store.sessions import SessionStore

pytestmark = pytest.mark.process
ROOT = Path(__file__).resolve().parents[1]
PHONE = "5511988887777"
DOC = b"%PDF-1.4 contrato do cliente " * 100
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def _env(passphrase: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ZAPOOL_PASSPHRASE"}
    env.update(NO_KEYRING, PYTHONUNBUFFERED="1")
    if passphrase is not None:
        env["ZAPOOL_PASSPHRASE"] = passphrase
    return env


def _app(*argv: str, passphrase: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "app.py", *argv], cwd=ROOT, env=_env(passphrase), capture_output=True,
                          check=False, text=True, timeout=120, stdin=subprocess.DEVNULL)


def _folder(tmp_path: Path) -> Path:
    """A data folder with a saved number and queued and kept media, in clear, as ZapPool made it before."""
    data = tmp_path / "dados"
    SessionStore(data / "whatsapp-sessions.json").save({"clientId": "loja", "status": "ready", "phoneNumber": PHONE})
    MediaFiles(data / "media", KeptMedia(data / "media" / "kept")).write("a" * 32, DOC)
    KeptMedia(data / "media" / "kept").write_stream("in-1", [DOC], 1 << 20)
    return data


def _hashes(data: Path) -> dict[str, str]:
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data.rglob("*")) if p.is_file()}


def _clear(data: Path) -> list[str]:
    return [str(p.relative_to(data)) for p in data.rglob("*")
            if p.is_file() and (PHONE.encode() in p.read_bytes() or DOC[:40] in p.read_bytes())]


def test_convert_seals_an_existing_folder_and_a_wrong_passphrase_touches_nothing(tmp_path: Path):
    data = _folder(tmp_path)
    assert _clear(data)
    done = _app("seal", "--data", str(data), "convert", passphrase="frase certa 123")
    assert done.returncode == 0, done.stderr
    assert "3 arquivo(s) selado(s)" in done.stdout and _clear(data) == []
    status = _app("seal", "--data", str(data), "status", passphrase="frase certa 123")
    assert "selada (frase-senha); 0 arquivo(s) a selar" in status.stdout
    before = _hashes(data)
    wrong = _app("--data", str(data), "--headless", "--port", "0", "--no-restore", passphrase="frase errada")
    assert wrong.returncode != 0 and "frase-senha incorreta" in wrong.stderr
    missing = _app("--data", str(data), "--headless", "--port", "0", "--no-restore")
    assert missing.returncode != 0 and "informe a frase-senha" in missing.stderr
    assert _hashes(data) == before, "a refused start must not change, add or remove a file"


def test_a_convert_cut_half_way_is_finished_by_running_it_again(tmp_path: Path):
    data = _folder(tmp_path)
    crash = ("import sys, runpy; from backend.store import sealed; real = sealed.write_sealed; n = [0]\n"
             "def once(*a):\n    n[0] += 1\n    if n[0] == 2: raise SystemExit(9)\n    real(*a)\n"
             "sealed.write_sealed = once; sys.argv = ['app.py'] + sys.argv[1:]; runpy.run_path('app.py', "
             "run_name='__main__')")
    cut = subprocess.run([sys.executable, "-c", crash, "seal", "--data", str(data), "convert"], cwd=ROOT,
                         check=False, env=_env("frase 123"), capture_output=True, text=True, timeout=60)
    assert cut.returncode == 9 and len(_clear(data)) == 2
    refused = _app("--data", str(data), "--headless", "--port", "0", "--no-restore", passphrase="frase 123")
    assert refused.returncode != 0 and "seal convert" in refused.stderr
    again = _app("seal", "--data", str(data), "convert", passphrase="frase 123")
    assert again.returncode == 0 and "2 arquivo(s) selado(s)" in again.stdout and _clear(data) == []


def test_seal_starts_a_new_folder_sealed_with_the_passphrase_from_a_descriptor(tmp_path: Path):
    data = tmp_path / "novo"
    read, write = os.pipe()
    os.write(write, b"frase do servico\n")
    os.close(write)
    proc = subprocess.Popen([sys.executable, "app.py", "--headless", "--port", "0", "--data", str(data),
                             "--no-restore", "--seal", "--passphrase-fd", str(read)], cwd=ROOT, env=_env(),
                            pass_fds=(read,), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    os.close(read)
    assert proc.stdout is not None
    assert any(line.startswith("Interface: ") for line in proc.stdout), "the sealed app started and listened"
    proc.terminate()
    assert proc.wait(30) == 0
    assert (data / "sealed.key").is_file()
    status = _app("seal", "--data", str(data), "status", passphrase="frase do servico")
    assert status.returncode == 0 and status.stdout.startswith("selada (frase-senha)")
    on_data = _app("--data", str(_folder(tmp_path / "velho")), "--seal", "--no-restore", passphrase="x")
    assert on_data.returncode != 0 and "seal convert" in on_data.stderr


def _key_ids(data: Path) -> set[str]:
    """The data keys that sealed the folder's files (each sealed file names its key)."""
    from backend.sealing.cipher import key_id_of
    return {key_id_of(p.read_bytes()) for p in data.rglob("*") if p.is_file() and p.read_bytes()[:6] == b"ZPSEAL"}


def test_rotate_and_change_the_passphrase_from_the_terminal(tmp_path: Path):
    data = _folder(tmp_path)
    assert _app("seal", "--data", str(data), "convert", passphrase="primeira").returncode == 0
    old = _key_ids(data)
    rotated = _app("seal", "--data", str(data), "rotate", passphrase="primeira")
    assert rotated.returncode == 0 and "3 arquivo(s) selado(s) de novo" in rotated.stdout
    assert len(_key_ids(data)) == 1 and _key_ids(data) != old, "every file under the new key, and only it"
    read, write = os.pipe()
    os.write(write, b"segunda\n")
    os.close(write)
    changed = subprocess.run([sys.executable, "app.py", "seal", "--data", str(data), "passphrase", "--new-fd",
                              str(read)], cwd=ROOT, env=_env("primeira"), pass_fds=(read,), capture_output=True,
                             text=True, timeout=120, check=False)
    os.close(read)
    assert changed.returncode == 0 and "frase-senha trocada" in changed.stdout
    assert _app("seal", "--data", str(data), "status", passphrase="primeira").returncode != 0
    status = _app("seal", "--data", str(data), "status", passphrase="segunda")
    assert "0 arquivo(s) a selar" in status.stdout and _clear(data) == []


def test_the_keyring_opens_a_sealed_folder_unattended(tmp_path: Path):
    """keyrings.alt's file keyring, chosen on purpose (PYTHON_KEYRING_BACKEND), in the test's own folder."""
    env = {**_env(), "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
           "XDG_DATA_HOME": str(tmp_path / "keyring")}
    data = _folder(tmp_path)
    done = subprocess.run([sys.executable, "app.py", "seal", "--data", str(data), "convert"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    status = subprocess.run([sys.executable, "app.py", "seal", "--data", str(data), "status"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert status.stdout.startswith("selada (chaveiro do sistema)") and _clear(data) == []
    elsewhere = _app("seal", "--data", str(data), "status")  # no keyring, no passphrase: refused, saying so
    assert elsewhere.returncode != 0 and "informe a frase-senha" in elsewhere.stderr


def test_a_backup_is_one_sealed_file_that_imports_elsewhere_with_the_passphrase(tmp_path: Path):
    data = _folder(tmp_path)
    with sqlite3.connect(data / "messages.db") as db:  # convert seals it, the backup seals it again
        db.execute("CREATE TABLE m (body TEXT)")
        db.execute("INSERT INTO m VALUES ('segredo do banco 8812')")
    db.close()
    assert _app("seal", "--data", str(data), "convert", passphrase="frase").returncode == 0
    backup = tmp_path / "copia.zpb"
    done = _app("seal", "--data", str(data), "export", str(backup), passphrase="frase")
    assert done.returncode == 0 and "4 arquivo(s)" in done.stdout, done.stderr
    raw = backup.read_bytes()
    assert b"segredo do banco" not in raw and PHONE.encode() not in raw and DOC[:40] not in raw

    other = tmp_path / "outra-maquina" / "dados"
    wrong = _app("seal", "--data", str(other), "import", str(backup), passphrase="errada")
    assert wrong.returncode != 0 and "frase-senha incorreta" in wrong.stderr and not other.exists()
    cut = tmp_path / "cortada.zpb"
    cut.write_bytes(raw[:-10])
    refused = _app("seal", "--data", str(tmp_path / "cortada"), "import", str(cut), passphrase="frase")
    assert refused.returncode != 0 and "cópia de segurança" in refused.stderr
    assert not (tmp_path / "cortada" / "sealed.key").exists(), "a cut import is not a sealed folder"

    imported = _app("seal", "--data", str(other), "import", str(backup), passphrase="frase")
    assert imported.returncode == 0, imported.stderr
    assert _hashes(other) == {k: v for k, v in _hashes(data).items() if not k.startswith("zapool.")}
    assert "0 arquivo(s) a selar" in _app("seal", "--data", str(other), "status", passphrase="frase").stdout
