"""The OS keyring's part: one random 256-bit wrapping key per data folder, kept by the keyring (Windows Credential
Locker, macOS Keychain, the Secret Service), so the desktop app opens its sealed folder unattended for its OS user.

Only a keyring that keeps secrets safe counts: keyring's `fail` backend (no Secret Service, the usual headless
Linux server) and the plaintext/obfuscated file backends of keyrings.alt are refused unless chosen on purpose with
keyring's own PYTHON_KEYRING_BACKEND variable (the tests choose keyrings.alt's file backend that way). A refused
keyring is KeyringUnavailable, and the caller falls back to the passphrase, saying so.
"""

from __future__ import annotations

import base64
import logging
import os

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError

from .errors import KeyringUnavailable

log = logging.getLogger(__name__)
SERVICE = "ZapPool sealed data"
MIN_PRIORITY = 1  # keyring's own scale: the real OS stores rank >= 1; plaintext files and `fail` rank below


def _backend() -> KeyringBackend:
    """The keyring to use, or KeyringUnavailable saying why not."""
    backend = keyring.get_keyring()
    chosen = bool(os.environ.get("PYTHON_KEYRING_BACKEND"))
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if "fail" in type(backend).__module__.split("."):
        raise KeyringUnavailable("nenhum chaveiro do sistema disponível (sem Secret Service?): use uma frase-senha",
                                 details={"backend": name})
    if not chosen and getattr(backend, "priority", 0) < MIN_PRIORITY:
        raise KeyringUnavailable("o chaveiro disponível guarda segredos em texto claro: use uma frase-senha",
                                 details={"backend": name})
    return backend


def available() -> bool:
    """True when a usable keyring is there (see _backend)."""
    try:
        _backend()
    except KeyringUnavailable:
        return False
    return True


def store(entry: str, secret: bytes) -> None:
    """Keep `secret` under `entry` in the keyring; KeyringUnavailable when it cannot."""
    backend = _backend()
    try:
        backend.set_password(SERVICE, entry, base64.b64encode(secret).decode("ascii"))
    except KeyringError as exc:
        raise KeyringUnavailable(f"o chaveiro recusou guardar a chave: {type(exc).__name__}") from None


def fetch(entry: str) -> bytes | None:
    """The secret under `entry`, None when the keyring has none; KeyringUnavailable when there is no keyring."""
    backend = _backend()
    try:
        value = backend.get_password(SERVICE, entry)
    except KeyringError as exc:
        raise KeyringUnavailable(f"o chaveiro não respondeu: {type(exc).__name__}") from None
    return base64.b64decode(value) if value else None


def forget(entry: str) -> None:
    """Remove `entry` from the keyring (nothing when it is not there or there is no keyring)."""
    try:
        _backend().delete_password(SERVICE, entry)
    except (KeyringUnavailable, KeyringError):
        pass
