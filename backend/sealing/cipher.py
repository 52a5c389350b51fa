"""Sealing bytes with the data key: AES-256-GCM (cryptography's AESGCM, an AEAD), the file's role as associated
data so a sealed file cannot be swapped for another one (a media file for the sessions file, one number's snapshot
for another's) without the check failing.

A sealed blob: MAGIC (6 bytes) | key id (8 bytes) | nonce (12 random bytes) | ciphertext and 16-byte tag. The key
id says which data key sealed it, so files sealed before a key rotation stay readable until they are re-sealed.
Random 96-bit nonces are safe far beyond the number of files a data key ever seals (NIST's 2^32 bound).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import SealedFileUnreadable

MAGIC = b"ZPSEAL"
KEY_ID_BYTES = 8
NONCE_BYTES = 12
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES
OVERHEAD = HEADER_BYTES + 16


def is_sealed(blob: bytes) -> bool:
    """True when `blob` starts like a sealed file (its content is checked only when opened)."""
    return blob[:len(MAGIC)] == MAGIC


def key_id_of(blob: bytes) -> str:
    """The hex id of the data key that sealed `blob`."""
    return blob[len(MAGIC):len(MAGIC) + KEY_ID_BYTES].hex()


class Sealer:
    """Seals with the current data key; opens with any key it was given (the current one and, during a rotation,
    the previous one)."""

    def __init__(self, keys: dict[str, bytes], current: str):
        if current not in keys:
            raise ValueError("the current key must be one of the keys")
        self._aead = {kid: AESGCM(key) for kid, key in keys.items()}
        self._keys = dict(keys)
        self.current = current

    @property
    def key_ids(self) -> frozenset[str]:
        """The ids of the keys this sealer opens with."""
        return frozenset(self._aead)

    def seal(self, data: bytes, role: str) -> bytes:
        """`data` sealed for `role` (the file's name in the data folder) with the current key."""
        header = MAGIC + bytes.fromhex(self.current) + os.urandom(NONCE_BYTES)
        return header + self._aead[self.current].encrypt(header[-NONCE_BYTES:], data, _aad(header, role))

    def open(self, blob: bytes, role: str) -> bytes:
        """The clear bytes of a blob sealed for `role`; SealedFileUnreadable when it is not one, was cut short or
        changed, was sealed for another role, or with a key this sealer does not hold."""
        if len(blob) < OVERHEAD or not is_sealed(blob):
            raise SealedFileUnreadable(f"{role}: não é um arquivo selado ou está incompleto")
        aead = self._aead.get(key_id_of(blob))
        if aead is None:
            raise SealedFileUnreadable(f"{role}: selado com outra chave", details={"keyId": key_id_of(blob)})
        header = blob[:HEADER_BYTES]
        try:
            return aead.decrypt(header[-NONCE_BYTES:], blob[HEADER_BYTES:], _aad(header, role))
        except InvalidTag:
            raise SealedFileUnreadable(f"{role}: conteúdo alterado, cortado ou trocado por outro arquivo") from None

    def database_keys(self, role: str) -> list[bytes]:
        """The raw 256-bit SQLCipher keys of the database `role` (its file name), the current one first, then
        those of the keys a rotation has not dropped yet. Derived (HKDF-SHA256, the role as info) rather than the
        data key itself: each database has its own key, and none of them opens a sealed file."""
        order = [self.current, *sorted(kid for kid in self._keys if kid != self.current)]
        return [_derive(self._keys[kid], "sqlcipher/" + role) for kid in order]

    def needs_reseal(self, blob: bytes) -> bool:
        """True when `blob` is clear or sealed with a key other than the current one (a rotation's leftovers)."""
        return not is_sealed(blob) or key_id_of(blob) != self.current


def _aad(header: bytes, role: str) -> bytes:
    """What the tag covers besides the ciphertext: the header (magic, key id, nonce) and the file's role."""
    return header + b"\0" + role.encode("utf-8")


def _derive(key: bytes, info: str) -> bytes:
    """A 256-bit key for one use of the data key (HKDF-SHA256, no salt: the data key is already random)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode("utf-8")).derive(key)


def new_key() -> bytes:
    """A fresh random 256-bit data key."""
    return AESGCM.generate_key(bit_length=256)


def new_key_id() -> str:
    """A random id for a data key (not derived from it: the id is written in clear in every file)."""
    return os.urandom(KEY_ID_BYTES).hex()
