"""Turning sealing on, from the command line (issue 19): opening a sealed data folder at start, and the terminal
command beside the API-key one.

    app.py --seal [--passphrase-fd N]      a new data folder, sealed (an existing one: `seal convert`)
    app.py seal [--data DIR] status        sealed or not, keyring or passphrase, a conversion or rotation left
    app.py seal [--data DIR] convert       seal an existing folder in place (resumable after a crash)
    app.py seal [--data DIR] passphrase    change (or set) the passphrase
    app.py seal [--data DIR] rotate        a new data key, every file sealed again (resumable)
    app.py seal [--data DIR] unseal        the way back: every file clear again, the keys removed (resumable)
    app.py seal [--data DIR] export FILE   the whole folder in one encrypted file (backup.py)
    app.py seal --data NEW import FILE     that file into a new folder, on any machine, with the passphrase

The passphrase comes from `--passphrase-fd N` (one line read from that descriptor), else ZAPOOL_PASSPHRASE, else
the keyring opens the folder, else a terminal prompt when there is a terminal. A wrong one stops everything before
any file is written. The data folder's files are reached through the given Folder (store/sealed.py's
SealedFolder): sealing itself imports only the foundation.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from . import backup, vault
from .cipher import Sealer
from .errors import PassphraseRequired, SealingError
from .keys import FILE_NAME as KEY_FILE
from .keys import KeyFile

ENV = "ZAPOOL_PASSPHRASE"
NOT_SEALED = ("pasta de dados nova não selada: sem chaveiro do sistema; defina uma frase-senha "
              "(`app.py seal convert`) para selá-la")


class Folder(Protocol):
    """What the commands need of the data folder's files (store/sealed.py's SealedFolder)."""

    data_dir: Path

    def write(self, path: Path, data: bytes) -> None: ...
    def use(self, sealer: Sealer) -> None: ...
    def has_data(self) -> bool: ...
    def reseal(self, sealer: Sealer) -> int: ...
    def clear_files(self, sealer: Sealer) -> list[Path]: ...
    def unseal(self, sealer: Sealer) -> int: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """app.py's sealing options."""
    parser.add_argument("--seal", action="store_true",
                        help="seal a new data folder (keys from the keyring and/or a passphrase; issue 19)")
    parser.add_argument("--passphrase-fd", type=int, metavar="N",
                        help="read the sealed folder's passphrase from file descriptor N (one line)")
    parser.add_argument("--snapshot-interval", type=float, metavar="SECONDS",
                        help="sealed folder: seconds between a ready number's profile snapshots (default 180, "
                             "at least 30)")


def given_passphrase(fd: int | None) -> str | None:
    """The passphrase from the descriptor or the environment, None when neither gives one."""
    if fd is not None:
        with os.fdopen(fd, "r", encoding="utf-8", closefd=True) as stream:
            return stream.readline().rstrip("\r\n") or None
    return os.environ.get(ENV) or None


def ask(prompt: str) -> str | None:
    """A passphrase typed at the terminal (None with no terminal: a service must give it another way)."""
    return getpass.getpass(prompt) if sys.stdin is not None and sys.stdin.isatty() else None


def open_folder(folder: Folder, seal: bool, fd: int | None, prompt: Callable[[str], str | None] = ask
                ) -> Sealer | None:
    """At start: the folder's sealer (None for a folder that is not sealed and not asked to be). SealingError,
    before anything is written, for a wrong or missing passphrase, a conversion or rotation left half-way, or
    --seal on a folder that already holds data."""
    keys = KeyFile(folder.data_dir, folder.write)
    passphrase = given_passphrase(fd)
    if not keys.exists():
        if not seal:
            return None
        if folder.has_data():
            raise SealingError("esta pasta de dados já tem números ou mídia: sele-a com `app.py seal convert`")
        sealer = keys.create(passphrase or _new_passphrase(prompt), use_keyring=True)
        folder.use(sealer)
        return sealer
    try:
        sealer = keys.unlock(passphrase)
    except PassphraseRequired:
        sealer = keys.unlock(prompt("Frase-senha da pasta de dados: ") or None)
    if keys.converting or keys.rotating or keys.unsealing:
        left = "convert" if keys.converting else "rotate" if keys.rotating else "unseal"
        raise SealingError(f"uma conversão, troca de chave ou retirada do selo ficou pela metade: termine com "
                           f"`app.py seal {left}`")
    folder.use(sealer)  # the databases open with keys derived from it
    return sealer


def seal_by_default(data_dir: Path, frozen: bool) -> tuple[bool, str | None]:
    """Whether a new data folder of the packaged app seals itself with the keyring (issue 19: sealed by default
    on installs where a keyring exists), and the line to log when it stays plain. Only a folder that does not
    exist yet or is empty: an existing one is converted on purpose (`seal convert`), never behind the user's
    back. Without a keyring the folder stays plain, said once (the folder is no longer new at the next start)."""
    if not frozen or (data_dir / KEY_FILE).exists() or (data_dir.is_dir() and any(data_dir.iterdir())):
        return False, None
    if vault.available():
        return True, None
    return False, NOT_SEALED


def passphrase_error(data_dir: Path, passphrase: str) -> dict[str, str] | None:
    """None when `passphrase` opens the folder's key file, else the error's {code, message} (the passphrase
    window's check: reading only, a wrong one changes nothing)."""
    try:
        KeyFile(data_dir, _refuse_writes).unlock(passphrase)
    except SealingError as exc:
        return {"code": exc.code, "message": exc.message}
    return None


def _refuse_writes(path: Path, _data: bytes) -> None:
    """The key file's writer while only checking: unlocking never writes."""
    raise SealingError(f"{path.name}: nada é gravado ao conferir a frase-senha")


def _new_passphrase(prompt: Callable[[str], str | None]) -> str | None:
    """A new passphrase typed twice, or None when the keyring will do (or nobody is at a terminal)."""
    if vault.available():
        return None
    first = prompt("Nova frase-senha (sem chaveiro do sistema neste computador): ")
    if first and prompt("Repita a frase-senha: ") != first:
        raise SealingError("as duas frases-senha não conferem")
    return first


def parse_command(argv: list[str], default_data: Path, prog: str = "app.py seal") -> argparse.Namespace:
    """The `seal` command's options."""
    parser = argparse.ArgumentParser(prog=prog, description="Seal ZapPool's data folder (issue 19).")
    parser.add_argument("--data", type=Path, default=default_data, help="the data folder (default: ZapPool's)")
    parser.add_argument("--passphrase-fd", type=int, metavar="N", help="read the passphrase from descriptor N")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="sealed or not, and how it opens")
    convert = commands.add_parser("convert", help="seal this folder in place (run it again after a crash)")
    convert.add_argument("--no-keyring", action="store_true", help="passphrase only, even with a keyring")
    change = commands.add_parser("passphrase", help="change or set the passphrase")
    change.add_argument("--new-fd", type=int, metavar="N", help="read the new passphrase from descriptor N")
    commands.add_parser("rotate", help="a new data key; every file sealed again (run it again after a crash)")
    commands.add_parser("unseal", help="every file clear again, then the keys removed (run it again after a crash)")
    commands.add_parser("export", help="the whole folder in one encrypted file").add_argument("file", type=Path)
    commands.add_parser("import", help="a backup into the new folder --data (opens with the passphrase)"
                        ).add_argument("file", type=Path)
    return parser.parse_args(argv)


def run_command(args: argparse.Namespace, folder: Folder, prompt: Callable[[str], str | None] = ask) -> str:
    """Do one command (the caller holds the folder: ZapPool is not running on it); what to print."""
    keys = KeyFile(folder.data_dir, folder.write)
    passphrase = given_passphrase(args.passphrase_fd)
    if args.command == "import":
        return _import(args.file, keys, passphrase or prompt("Frase-senha da cópia de segurança: "))
    sealer: Sealer | None = None
    if args.command == "convert" and not keys.exists():
        sealer = keys.create(passphrase or _new_passphrase(prompt), use_keyring=not args.no_keyring)
        keys.mark_converting(True)
    if not keys.exists():
        return "pasta de dados não selada"
    if sealer is None:
        sealer = keys.unlock(passphrase or (None if _keyring_opens(keys) else prompt("Frase-senha: ")))
    if args.command == "status":
        left = len(folder.clear_files(sealer))
        return (f"selada ({'chaveiro do sistema' if keys.uses_keyring else 'frase-senha'}); "
                f"{left} arquivo(s) a selar{'; conversão pela metade' if keys.converting else ''}"
                f"{'; troca de chave pela metade' if keys.rotating else ''}")
    if args.command == "export":
        if not keys.has_passphrase:
            raise SealingError("a cópia de segurança abre em outro computador só com uma frase-senha: defina uma "
                               "com `app.py seal passphrase`")
        count = backup.export(folder.data_dir, args.file, keys.current_key())
        return f"cópia de segurança selada em {args.file}: {count} arquivo(s)"
    if args.command == "passphrase":
        new = given_passphrase(args.new_fd) if args.new_fd is not None else _typed_twice(prompt)
        keys.change_passphrase(new)
        return "frase-senha trocada"
    if args.command == "unseal":
        return _unseal(keys, folder, sealer)
    if args.command == "rotate":
        sealer = keys.begin_rotation(passphrase or _typed_once(keys, prompt))
    elif not keys.converting:
        keys.mark_converting(True)
    written = folder.reseal(sealer)
    if args.command == "rotate":
        keys.finish_rotation()
        return f"chave trocada; {written} arquivo(s) selado(s) de novo"
    keys.mark_converting(False)
    return f"pasta de dados selada; {written} arquivo(s) selado(s)"


def _unseal(keys: KeyFile, folder: Folder, sealer: Sealer) -> str:
    """Every file clear again, then the keys removed: the key file goes last, so a crash half-way leaves a
    folder the same command finishes (and that ZapPool refuses to start on meanwhile)."""
    if keys.converting or keys.rotating:
        raise SealingError("uma conversão ou troca de chave ficou pela metade: termine-a antes de tirar o selo")
    keys.mark_unsealing()
    written = folder.unseal(sealer)
    keys.remove()
    return f"pasta de dados sem selo; {written} arquivo(s) gravado(s) em claro"


def _import(file: Path, keys: KeyFile, passphrase: str | None) -> str:
    """A backup into a new folder: the passphrase checked before anything is written there."""
    if keys.path.parent.is_dir() and any(p.name != "zapool.lock" for p in keys.path.parent.iterdir()):
        raise SealingError(f"a pasta {keys.path.parent} não está vazia: importe numa pasta nova")
    keys.unlock(passphrase, raw=backup.key_file_of(file))
    backup.restore(file, keys.path.parent, keys.current_key())
    return f"cópia de segurança importada em {keys.path.parent}"


def _keyring_opens(keys: KeyFile) -> bool:
    """True when the key file uses the keyring and a keyring is here (no need to ask for the passphrase)."""
    return keys.uses_keyring and vault.available()


def _typed_once(keys: KeyFile, prompt: Callable[[str], str | None]) -> str | None:
    """The passphrase to wrap a rotation's new key with: asked only when the keys have a passphrase wrap."""
    return None if _keyring_opens(keys) and not keys.has_passphrase else prompt("Frase-senha: ")


def _typed_twice(prompt: Callable[[str], str | None]) -> str | None:
    """A new passphrase typed twice (empty: keyring only)."""
    first = prompt("Nova frase-senha (vazio: só o chaveiro): ")
    if first and prompt("Repita a frase-senha: ") != first:
        raise SealingError("as duas frases-senha não conferem")
    return first or None


def main(argv: list[str], folder_of: Callable[[Path], Folder], default_data: Path, out=sys.stdout) -> int:
    """The `seal` command: 0 when done, 2 with one readable line on a SealingError (nothing written)."""
    args = parse_command(argv, default_data)
    try:
        print(run_command(args, folder_of(args.data.resolve())), file=out)
    except SealingError as exc:
        print(f"zapool seal: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:  # a backup file that is not there, a folder that cannot be written
        print(f"zapool seal: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 2
    return 0
