"""One ZapPool per data folder: two pools on the same Chromium profiles would corrupt them.

The first ZapPool to start on a folder takes an OS lock on `<data>/zapool.lock` and writes beside it, in
`zapool-instance.json`, where it listens and a token a second launch can use to ask it to come forward. The
lock is the kernel's (flock on POSIX, msvcrt.locking on Windows): it ends with the process however that ends,
kill -9 included, so a crash never leaves a folder locked. A second launch fails to take the lock, reads the
file, asks the running one to show its window (POST /instance/show with the token) and exits.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..store.atomic import write_atomic

log = logging.getLogger(__name__)
LOCK_FILE = "zapool.lock"
INFO_FILE = "zapool-instance.json"


@dataclass(frozen=True)
class RunningInstance:
    """What a second launch learns of the ZapPool that holds the folder (None fields: not written yet)."""

    pid: int | None
    url: str | None
    token: str | None


def _try_lock(handle: IO[bytes]) -> bool:
    """Lock the open file without waiting; False if another process holds it."""
    try:
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class InstanceLock:
    """The data folder's lock: acquire() once at start, publish() once the API listens, release() at the end."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.token = secrets.token_urlsafe(24)
        self._handle: IO[bytes] | None = None

    @property
    def info_path(self) -> Path:
        """Where the running instance says where it listens."""
        return self.data_dir / INFO_FILE

    def acquire(self) -> bool:
        """Take the folder; False (and nothing written) when another ZapPool has it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.data_dir / LOCK_FILE, "a+b")  # noqa: SIM115 - held open for the process's life
        if not _try_lock(handle):
            handle.close()
            return False
        self._handle = handle
        return True

    def publish(self, url: str) -> None:
        """Say where this instance listens, for a second launch (readable by this user only)."""
        write_atomic(self.info_path, json.dumps({"pid": os.getpid(), "url": url, "token": self.token}).encode())
        if os.name == "posix":
            os.chmod(self.info_path, 0o600)

    def release(self) -> None:
        """Give the folder up (the process's end does it too)."""
        if self._handle is None:
            return
        try:
            self.info_path.unlink(missing_ok=True)
        finally:
            self._handle.close()  # closing drops the lock
            self._handle = None

    def matches(self, token: Any) -> bool:
        """Is `token` this instance's (so the caller is a launch by someone who can read the data folder)?"""
        return isinstance(token, str) and secrets.compare_digest(token.encode(), self.token.encode())


def running_instance(data_dir: Path) -> RunningInstance:
    """What the instance holding `data_dir` published (fields None if it has not yet, or the file is bad)."""
    try:
        doc = json.loads((Path(data_dir) / INFO_FILE).read_text(encoding="utf-8"))
        return RunningInstance(int(doc["pid"]), str(doc["url"]), str(doc["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return RunningInstance(None, None, None)


SHOW_PATH = "/instance/show"
TOKEN_HEADER = "X-ZapPool-Instance"


def ask_to_show(data_dir: Path, timeout_s: float = 5.0) -> RunningInstance | None:
    """A second launch: ask the ZapPool holding `data_dir` to bring its window forward. The running instance
    when it answered; None when it has not published where it listens yet, or did not answer."""
    running = running_instance(data_dir)
    if running.url is None or running.token is None:
        return None
    request = urllib.request.Request(running.url + SHOW_PATH, method="POST", data=b"",
                                     headers={TOKEN_HEADER: running.token})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return running if response.status in (200, 204) else None
    except (OSError, urllib.error.HTTPError) as exc:
        log.warning("[Instância] a instância em %s não respondeu: %s", running.url, exc)
        return None
