"""The simulator's state file: what a restart must keep so that a browser profile that was linked stays linked.

A login lives in two halves: the page's IndexedDB record (per origin, in the browser profile) and the linked
device with its secret here. Both must outlive a restart, and the origin (host and port) must stay the same,
or the page finds no login and shows a new QR code.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
DEFAULT_PORT = 8900  # `python -m wasim` and ZapPool's demo mode: a stable origin keeps the browser's logins


class StateFile:
    """One JSON file in a folder, replaced atomically on each change (a crash leaves the old or the new one)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / STATE_FILE
        self._written: str | None = None

    def load(self) -> dict[str, Any]:
        """The saved state, {} when there is none."""
        try:
            text = self.path.read_text(encoding="utf-8")
            data = json.loads(text)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            return self._set_aside(str(exc))
        if not isinstance(data, dict):
            return self._set_aside("not a JSON object")
        self._written = text
        return data

    def _set_aside(self, why: str) -> dict[str, Any]:
        """An unreadable file: keep it beside (the next save must not overwrite the evidence), say so in the
        log, and let the simulator start empty."""
        aside = self.path.with_name(STATE_FILE + ".bad")
        log.warning("wasim: cannot read %s (%s); starting empty, the file is kept as %s", self.path, why, aside)
        try:
            self.path.replace(aside)
        except OSError:
            pass
        return {}

    def save(self, data: dict[str, Any]) -> None:
        """Write the state unless it is what the file already holds: temp file, fsync, os.replace.
        A failure (disk full, folder gone) is logged; the simulator keeps serving from memory."""
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if text == self._written:
            return
        temp = self.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(temp, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except OSError as exc:
            log.warning("wasim: cannot save %s: %s", self.path, exc)
            return
        self._written = text
        _sync_folder(self.path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable where the OS allows opening a folder (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def saved_port(folder: Path) -> int | None:
    """The port the simulator with this state folder served on first, so a restart keeps the same origin."""
    try:
        port = json.loads((Path(folder) / STATE_FILE).read_text(encoding="utf-8")).get("port")
    except (OSError, ValueError, AttributeError):
        return None
    return port if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 else None
