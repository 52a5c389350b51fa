"""A Blob a number's page answered (WPP.chat.downloadMedia), read from any thread in chunks.

The bytes cross the page boundary a chunk at a time (base64, at most BLOB_CHUNK each), each chunk its own call
on the engine loop, so a 100 MB video is never one string in the page, in Playwright or in Python, and the
caller writes each chunk to disk on its own thread: the engine loop never waits for a disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Self

from ..engine.wpp import BLOB_CHUNK

if TYPE_CHECKING:
    from .client import WhatsAppClient


class PageBlob:
    """A Blob kept in a number's page under `handle`: `size` bytes of `mimetype`; release() when done."""

    def __init__(self, client: WhatsAppClient, handle: str, size: int, mimetype: str | None):
        self.client = client
        self.handle = handle
        self.size = size
        self.mimetype = mimetype

    def chunks(self, chunk_bytes: int = BLOB_CHUNK) -> Iterator[bytes]:
        """The bytes, in order, chunk by chunk (each read when asked for)."""
        for start in range(0, self.size, chunk_bytes):
            end = min(self.size, start + chunk_bytes)
            yield self.client._run(self.client._blob_chunk_async(self.handle, start, end))

    def release(self) -> None:
        """Let the page drop the Blob (quiet when the page or the number is gone)."""
        self.client._run(self.client._release_blob_async(self.handle))

    def __enter__(self) -> Self:
        """Used as `with client.wpp_blob(...) as blob:`, released on the way out."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Release the page's Blob."""
        self.release()
