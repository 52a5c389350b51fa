"""Wrapping a data key: AES-256-GCM under a wrapping key, which comes either from a passphrase through scrypt or
from the OS keyring. The associated data names the key id and the wrap's kind, so a wrapped key cannot be passed
off as another.

scrypt's parameters: N=2^17, r=8, p=1 (128 MiB, the OWASP minimum for scrypt); measured here at about 0.6 s on
this 2-core machine (bench figures in docs/PERFORMANCE.md), paid once per unlock, never per file.
"""

from __future__ import annotations

import base64
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 17, 8, 1


def _b64(data: bytes) -> str:
    """Bytes as JSON text."""
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    """JSON text back to bytes (TypeError or ValueError when it is not base64 text)."""
    if not isinstance(text, str):
        raise TypeError("expected base64 text")
    return base64.b64decode(text, validate=True)


def passphrase_key(passphrase: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> bytes:
    """The 256-bit wrapping key a passphrase gives with this salt."""
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def wrap(data_key: bytes, wrapping_key: bytes, key_id: str, kind: str) -> dict[str, Any]:
    """The data key sealed under the wrapping key, as a JSON object."""
    nonce = os.urandom(12)
    wrapped = AESGCM(wrapping_key).encrypt(nonce, data_key, f"zapool-key\0{key_id}\0{kind}".encode())
    return {"nonce": _b64(nonce), "wrapped": _b64(wrapped)}


def unwrap(entry: dict[str, Any], wrapping_key: bytes, key_id: str, kind: str) -> bytes | None:
    """The data key, or None when this wrapping key does not open it (a wrong passphrase, another keyring)."""
    try:
        return AESGCM(wrapping_key).decrypt(_unb64(entry["nonce"]), _unb64(entry["wrapped"]),
                                            f"zapool-key\0{key_id}\0{kind}".encode())
    except (InvalidTag, KeyError, ValueError, TypeError):
        return None


def wrap_with_passphrase(data_key: bytes, passphrase: str, key_id: str) -> dict[str, Any]:
    """The data key wrapped under a passphrase, with scrypt's salt and parameters beside it."""
    salt = os.urandom(16)
    entry = wrap(data_key, passphrase_key(passphrase, salt), key_id, "passphrase")
    return {"kdf": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt), **entry}


def unwrap_with_passphrase(entry: dict[str, Any], passphrase: str, key_id: str) -> bytes | None:
    """The data key, or None when the passphrase is wrong (or the entry damaged)."""
    try:
        n, r, p = int(entry["n"]), int(entry["r"]), int(entry["p"])
        if entry.get("kdf") != "scrypt" or not (2 ** 14 <= n <= 2 ** 20 and 1 <= r <= 32 and 1 <= p <= 16):
            return None  # a key file edited to make scrypt cheap (or absurdly costly) is not trusted
        wrapping = passphrase_key(passphrase, _unb64(entry["salt"]), n, r, p)
    except (KeyError, ValueError, TypeError):
        return None
    return unwrap(entry, wrapping, key_id, "passphrase")
