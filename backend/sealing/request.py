"""Sealing an existing data folder from the settings (issue 19: "a setting converts an existing data folder in
place"): the window asks, and the folder is converted the next time ZapPool opens, before any store opens it.

A running ZapPool holds its databases open, so it cannot convert them under itself; the request is a marker
file, `seal-on-next-start`, and the conversion is the terminal's `seal convert` (the same steps: the key file
written first with `converting` set, every file and database sealed, the flag cleared), run by app.py after it
holds the folder's lock. Only where the OS keyring can hold the key: the app must open unattended next time,
and a passphrase typed in a web page would have to wait on disk until then. A crash half-way is resumed at the
next start while the marker is there; the marker goes once the folder is sealed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from . import vault
from .cipher import Sealer
from .cli import Folder
from .errors import KeyringUnavailable, SealingError
from .keys import KeyFile

log = logging.getLogger(__name__)
MARKER = "seal-on-next-start"


def requested(data_dir: Path) -> bool:
    """Whether the settings asked for this folder to be sealed at the next start."""
    return (data_dir / MARKER).is_file()


def pending(data_dir: Path) -> bool:
    """Asked and not done yet: not sealed, or its conversion cut short (app.py then seals it after taking the
    folder's lock, instead of opening it the usual way)."""
    if not requested(data_dir):
        return False
    keys = KeyFile(data_dir, _no_writes)
    return not keys.exists() or keys.describe()["unfinished"]


def _no_writes(path: Path, _data: bytes) -> None:
    """pending() only reads the key file."""
    raise RuntimeError(f"{path.name} is only read here")


def request(data_dir: Path, wanted: bool) -> None:
    """Ask for (or cancel) sealing at the next start; KeyringUnavailable without a keyring to hold the key."""
    marker = data_dir / MARKER
    if not wanted:
        marker.unlink(missing_ok=True)
        return
    if not vault.available():
        raise KeyringUnavailable("No system keyring here: seal this folder from a terminal with a passphrase "
                                 "(app.py seal convert)")
    marker.write_text("requested from the settings\n", encoding="utf-8")


def seal_if_requested(folder: Folder) -> Sealer | None:
    """At start, holding the folder's lock: convert the folder if the settings asked (or finish a conversion a
    crash cut short); its sealer, or None when nothing is pending or no keyring can hold the key (logged)."""
    marker = folder.data_dir / MARKER
    if not pending(folder.data_dir):
        marker.unlink(missing_ok=True)  # sealed meanwhile (from a terminal): nothing left to do
        return None
    keys = KeyFile(folder.data_dir, folder.write)
    try:
        sealer = keys.unlock(None) if keys.exists() else keys.create(None, use_keyring=True)
    except SealingError as exc:
        log.error("[Sealing] pasta não selada: %s", exc.message)
        marker.unlink(missing_ok=True)
        return None
    keys.mark_converting(True)
    written = folder.reseal(sealer)
    keys.mark_converting(False)
    marker.unlink(missing_ok=True)
    log.info("[Sealing] pasta de dados selada a pedido das configurações: %d arquivo(s) selado(s)", written)
    return sealer
