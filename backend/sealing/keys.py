"""dados/sealed.key: the data folder's data keys, each wrapped by the OS keyring and/or by a passphrase, in a small
JSON file written atomically (the writer is given: the store's temp + fsync + rename).

    {"format": "zapool-sealed", "version": 1, "current": "<key id>", "keyringEntry": "<name>" | null,
     "keys": {"<key id>": {"passphrase": {scrypt parameters, salt, nonce, wrapped}, "keyring": {nonce, wrapped}}},
     "rotatingFrom": "<key id>",        (only while a rotation re-seals the files)
     "converting": true}                (only while an existing folder is sealed in place)

The file holds nothing that opens a key without the passphrase or the keyring's secret. A rotation adds the new
key first and makes it current, the caller re-seals every file, then finish_rotation() drops the old key: a crash
anywhere leaves every file readable by a key still in the file, and running the rotation again finishes it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import vault
from .cipher import Sealer, new_key, new_key_id
from .errors import KeyringUnavailable, PassphraseRequired, SealingError, WrongPassphrase
from .wrapping import unwrap, unwrap_with_passphrase, wrap, wrap_with_passphrase

log = logging.getLogger(__name__)
FILE_NAME = "sealed.key"
Writer = Callable[[Path, bytes], None]


class KeyFile:
    """The key file of one data folder; unlock() (or create()) before sealer(), rotation or a passphrase change."""

    def __init__(self, data_dir: Path, write: Writer):
        self.path = data_dir / FILE_NAME
        self._write = write
        self._doc: dict[str, Any] = {}
        self._keys: dict[str, bytes] = {}

    def exists(self) -> bool:
        """True when the folder is sealed (its key file is there)."""
        return self.path.is_file()

    @property
    def rotating(self) -> bool:
        """True while a rotation has not finished re-sealing."""
        return bool(self._doc.get("rotatingFrom"))

    @property
    def converting(self) -> bool:
        """True while an existing folder is being sealed in place (some files may still be clear)."""
        return bool(self._doc.get("converting"))

    @property
    def unsealing(self) -> bool:
        """True while the folder is being turned back to clear (`seal unseal`: some files may be clear already)."""
        return bool(self._doc.get("unsealing"))

    def mark_unsealing(self) -> None:
        """Say in the file that the folder is being turned back to clear (set before the first file)."""
        self._doc["unsealing"] = True
        self._save()

    def remove(self) -> None:
        """The folder is clear again: the keyring's entry forgotten, then the key file deleted (last)."""
        entry = self._doc.get("keyringEntry")
        if entry:
            try:
                vault.forget(entry)
            except SealingError as exc:  # the keyring away: an orphan entry opens nothing without the file
                log.warning("[Sealing] entrada do chaveiro não removida: %s", exc.message)
        self.path.unlink(missing_ok=True)

    def mark_converting(self, converting: bool) -> None:
        """Say in the file that a conversion is under way (set before the first file, cleared after the last)."""
        self._doc["converting"] = converting
        if not converting:
            self._doc.pop("converting")
        self._save()

    @property
    def has_passphrase(self) -> bool:
        """True when a passphrase wraps the keys."""
        return any("passphrase" in entry for entry in self._doc.get("keys", {}).values())

    @property
    def uses_keyring(self) -> bool:
        """True when the keyring wraps the keys."""
        return bool(self._doc.get("keyringEntry"))

    def create(self, passphrase: str | None, use_keyring: bool) -> Sealer:
        """A new random data key, wrapped as asked, and the file written; refuses to replace an existing file."""
        if self.exists():
            raise SealingError("esta pasta de dados já está selada", details={"path": str(self.path)})
        kid = new_key_id()
        self._keys = {kid: new_key()}
        self._doc = {"format": "zapool-sealed", "version": 1, "current": kid, "keyringEntry": None, "keys": {}}
        wrapping = self._keyring_secret(create=True) if use_keyring else None
        if wrapping is None and not passphrase:
            raise PassphraseRequired("sem chaveiro do sistema: informe uma frase-senha para selar os dados")
        self._rewrap(passphrase, wrapping)
        return self.sealer()

    def unlock(self, passphrase: str | None, raw: bytes | None = None) -> Sealer:
        """Open every data key: with the keyring's secret when the file uses one and the keyring answers, else with
        the passphrase. WrongPassphrase, PassphraseRequired or SealingError (a damaged file) otherwise. `raw`: a
        key file's bytes from elsewhere (a backup's), instead of this folder's."""
        self._doc = self._read(raw)
        secret = self._keyring_secret(create=False) if self.uses_keyring else None
        for kid, entry in self._doc["keys"].items():
            key = unwrap(entry["keyring"], secret, kid, "keyring") if secret and "keyring" in entry else None
            if key is None and passphrase and "passphrase" in entry:
                key = unwrap_with_passphrase(entry["passphrase"], passphrase, kid)
            if key is None:
                if passphrase:
                    raise WrongPassphrase("frase-senha incorreta: nada foi alterado na pasta de dados")
                raise PassphraseRequired("a pasta de dados está selada: informe a frase-senha "
                                         "(ZAPOOL_PASSPHRASE, --passphrase-fd ou no terminal)")
            self._keys[kid] = key
        return self.sealer()

    def sealer(self) -> Sealer:
        """The sealer over the unlocked keys."""
        return Sealer(dict(self._keys), self._doc["current"])

    def change_passphrase(self, new: str | None) -> None:
        """Wrap every key under `new` (None: keyring only, when the keyring wraps them); the old one stops working."""
        if not new and not self.uses_keyring:
            raise PassphraseRequired("sem chaveiro, a frase-senha não pode ser removida")
        self._rewrap(new, self._keyring_secret(create=False) if self.uses_keyring else None)

    def begin_rotation(self, passphrase: str | None) -> Sealer:
        """Add a new data key and make it current (the old one kept to open files not yet re-sealed); resumes a
        rotation already begun."""
        if not self.rotating:
            kid = new_key_id()
            self._keys[kid] = new_key()
            self._doc["rotatingFrom"] = self._doc["current"]
            self._doc["current"] = kid
            self._rewrap(passphrase, self._keyring_secret(create=False) if self.uses_keyring else None)
        return self.sealer()

    def finish_rotation(self) -> None:
        """Every file is re-sealed: drop every key but the current one."""
        current = self._doc["current"]
        self._keys = {current: self._keys[current]}
        self._doc["keys"] = {current: self._doc["keys"][current]}
        self._doc.pop("rotatingFrom", None)
        self._save()

    def _rewrap(self, passphrase: str | None, keyring_secret: bytes | None) -> None:
        """Wrap every unlocked key again with the passphrase and/or the keyring's secret, and write the file."""
        if passphrase is None and keyring_secret is None:
            raise PassphraseRequired("informe a frase-senha para escrever as chaves")
        self._doc["keys"] = {kid: {**({"passphrase": wrap_with_passphrase(key, passphrase, kid)} if passphrase else {}),
                                   **({"keyring": wrap(key, keyring_secret, kid, "keyring")} if keyring_secret else {})}
                             for kid, key in self._keys.items()}
        self._save()

    def _keyring_secret(self, create: bool) -> bytes | None:
        """The keyring's wrapping key for this folder (made and stored when `create`); None, said in the log, when
        there is no usable keyring, so the passphrase is used instead."""
        try:
            if create:
                entry, secret = f"zapool-{os.urandom(8).hex()}", new_key()
                vault.store(entry, secret)
                self._doc["keyringEntry"] = entry
                return secret
            return vault.fetch(self._doc["keyringEntry"])
        except KeyringUnavailable as exc:
            log.warning("[Sealing] chaveiro do sistema indisponível (%s); usando a frase-senha", exc.message)
            return None

    def describe(self) -> dict[str, Any]:
        """What the settings window says about the folder, read without unlocking anything: sealed or not,
        opened by the keyring and/or a passphrase, a conversion or a rotation left half done."""
        if not self.exists():
            return {"sealed": False, "keyring": False, "passphrase": False, "unfinished": False}
        self._doc = self._read()
        return {"sealed": True, "keyring": self.uses_keyring, "passphrase": self.has_passphrase,
                "unfinished": self.converting or self.rotating or self.unsealing}

    def current_key(self) -> bytes:
        """The current data key itself (unlocked): for a backup's stream, never written anywhere."""
        return self._keys[self._doc["current"]]

    def _read(self, raw: bytes | None = None) -> dict[str, Any]:
        """The key file's document, checked for its shape; SealingError when it is missing or damaged."""
        try:
            doc = json.loads(self.path.read_bytes() if raw is None else raw)
        except FileNotFoundError:
            raise SealingError("esta pasta de dados não está selada (sem sealed.key)") from None
        except ValueError:
            raise SealingError("sealed.key está danificado (não é JSON)") from None
        if (not isinstance(doc, dict) or doc.get("format") != "zapool-sealed" or not isinstance(doc.get("keys"), dict)
                or doc.get("current") not in doc["keys"]):
            raise SealingError("sealed.key está danificado (formato inesperado)")
        return doc

    def _save(self) -> None:
        """Write the document atomically."""
        self._write(self.path, json.dumps(self._doc, indent=2).encode("utf-8"))
