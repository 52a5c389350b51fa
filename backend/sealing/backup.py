"""One encrypted file for a whole sealed data folder (issue 19's backup): `app.py seal export FILE` on one machine,
`app.py seal import FILE` on another, opened there with the folder's passphrase.

    "ZPBACKUP1\\n" | key file length (4 bytes, big-endian) | sealed.key as it is | chunks

The key file travels as it is (it opens only with the passphrase: the keyring's wrap belongs to the first
machine); the folder itself, as a tar stream, is sealed with the data key in chunks of 1 MiB, each AES-256-GCM
with its index and a last-chunk flag as associated data, so chunks cannot be reordered, dropped or cut off at
the end unnoticed, and a large media folder never sits whole in memory. What is sealed already stays sealed
inside (the databases are SQLCipher files, sealed again by the backup's stream). Left out: the live profiles
(runtime/), the logs, the instance's lock and address files, and files set aside as bad.
"""

from __future__ import annotations

import os
import struct
import tarfile
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import SealedFileUnreadable, SealingError
from .keys import FILE_NAME

MAGIC = b"ZPBACKUP1\n"
CHUNK = 1 << 20
LEFT_OUT = ("runtime", "logs", "sessions")  # live profiles, logs, plain profiles (none in a sealed folder)


def _left_out(relative: str) -> bool:
    """True for what a backup does not carry."""
    top = relative.split("/", 1)[0]
    return (top in LEFT_OUT or relative == FILE_NAME or ".bad-" in relative
            or top in ("zapool.lock", "zapool-instance.json"))


class _SealingWriter:
    """A file-like sink that seals what is written, chunk by chunk, onto `out`."""

    def __init__(self, out: IO[bytes], key: bytes):
        self.out, self.aead, self.prefix = out, AESGCM(key), os.urandom(8)
        self.buffer, self.index = bytearray(), 0
        out.write(self.prefix)

    def write(self, data: bytes) -> int:
        """Buffer, and seal every full chunk."""
        self.buffer += data
        while len(self.buffer) > CHUNK:
            self._seal(bytes(self.buffer[:CHUNK]), last=False)
            del self.buffer[:CHUNK]
        return len(data)

    def finish(self) -> None:
        """Seal the rest as the last chunk (possibly empty)."""
        self._seal(bytes(self.buffer), last=True)

    def _seal(self, chunk: bytes, last: bool) -> None:
        nonce = self.prefix + struct.pack(">I", self.index)
        sealed = self.aead.encrypt(nonce, chunk, struct.pack(">I?", self.index, last))
        self.out.write(struct.pack(">I", len(sealed)) + sealed)
        self.index += 1


class _OpeningReader:
    """A file-like source giving the clear tar stream of a backup's chunks; SealedFileUnreadable on any change."""

    def __init__(self, source: IO[bytes], key: bytes):
        self.source, self.aead = source, AESGCM(key)
        self.prefix, self.index, self.buffer, self.ended = source.read(8), 0, b"", False

    def read(self, size: int = -1) -> bytes:
        """Up to `size` clear bytes."""
        while not self.ended and (size < 0 or len(self.buffer) < size):
            self._next()
        size = len(self.buffer) if size < 0 else size
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def _next(self) -> None:
        head = self.source.read(4)
        if len(head) != 4:
            raise SealedFileUnreadable("cópia de segurança cortada antes do fim")
        sealed = self.source.read(struct.unpack(">I", head)[0])
        nonce = self.prefix + struct.pack(">I", self.index)
        for last in (False, True):
            try:
                self.buffer += self.aead.decrypt(nonce, sealed, struct.pack(">I?", self.index, last))
            except InvalidTag:
                continue
            self.index, self.ended = self.index + 1, last
            return
        raise SealedFileUnreadable("cópia de segurança alterada ou de outra pasta de dados")


def export(data_dir: Path, target: Path, data_key: bytes) -> int:
    """Write the backup of `data_dir` to `target` (a temp file renamed once complete); the files it holds."""
    tmp = target.with_name(f".{target.name}.tmp")
    count = 0
    with open(tmp, "wb") as out:
        key_file = (data_dir / FILE_NAME).read_bytes()
        out.write(MAGIC + struct.pack(">I", len(key_file)) + key_file)
        writer = _SealingWriter(out, data_key)
        with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]
            for path in sorted(data_dir.rglob("*")):
                relative = path.relative_to(data_dir).as_posix()
                if path.is_file() and not _left_out(relative):
                    tar.add(path, arcname=relative, recursive=False)
                    count += 1
        writer.finish()
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)
    return count


def key_file_of(backup: Path) -> bytes:
    """The key file a backup carries (SealingError when the file is not a ZapPool backup)."""
    with open(backup, "rb") as source:
        if source.read(len(MAGIC)) != MAGIC:
            raise SealingError("não é uma cópia de segurança do ZapPool")
        return source.read(struct.unpack(">I", source.read(4))[0])


def restore(backup: Path, data_dir: Path, data_key: bytes) -> None:
    """Unpack a backup into the new, empty `data_dir` (its key file written last, so a cut import is not a
    sealed folder and can be imported again)."""
    key_file = key_file_of(backup)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(backup, "rb") as source:
        source.seek(len(MAGIC) + 4 + len(key_file))
        with tarfile.open(fileobj=_OpeningReader(source, data_key), mode="r|") as tar:  # type: ignore[call-overload]
            tar.extractall(data_dir, filter="data")
    fd = os.open(data_dir / FILE_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_file)
        out.flush()
        os.fsync(out.fileno())
