"""Where ZapPool keeps its data: `dados/` beside app.py when run from source, the platform's user data folder
when run as the built app (an app folder may be read-only, and is replaced on every update).

    Linux    ~/.local/share/ZapPool          Windows  %APPDATA%\\ZapPool
    macOS    ~/Library/Application Support/ZapPool

`--data DIR` overrides both.

The folder holds every number's WhatsApp login (the Chromium profiles), the message log, webhook secrets and the
admin's password hash: on POSIX it is its owner's alone, 0700 folders and 0600 files, whatever the umask ZapPool
was started with (`keep_private`).
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import platformdirs

from ..config import PROJECT_ROOT
from ..store.atomic import private_folder

log = logging.getLogger(__name__)

APP_NAME = "ZapPool"


def is_frozen() -> bool:
    """Running as the app PyInstaller built (not from source)."""
    return bool(getattr(sys, "frozen", False))


def default_data_dir() -> Path:
    """The data folder when --data does not name one."""
    if is_frozen():
        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=True))
    return PROJECT_ROOT / "dados"


def keep_private(data_dir: Path) -> int:
    """Make the data folder its owner's alone, at start and before anything is written: the umask becomes 077
    for this process and the browsers it starts (Chromium writes its profiles with the umask), and what is
    already there (an older ZapPool's files, a copy restored from a backup) is fixed. Symbolic links are not
    followed (a Chromium profile holds some). Returns how many entries were fixed; POSIX only."""
    if os.name != "posix":
        return 0
    os.umask(0o077)
    fixed = 0
    for folder, dirs, files in os.walk(private_folder(Path(data_dir))):
        for name in dirs + files:
            fixed += _fix(os.path.join(folder, name))
    if fixed:
        log.info("[ZapPool] %d arquivo(s)/pasta(s) dos dados estavam legíveis por outros usuários: agora só o "
                 "dono lê", fixed)
    return fixed


def _fix(path: str) -> int:
    """Take the group's and others' bits off one entry, leaving the owner's (0644 -> 0600, 0755 -> 0700); a
    link or a socket is left alone; 1 if it changed."""
    try:
        found = os.lstat(path)
        if not (stat.S_ISREG(found.st_mode) or stat.S_ISDIR(found.st_mode)) or found.st_mode & 0o077 == 0:
            return 0
        os.chmod(path, stat.S_IMODE(found.st_mode) & ~0o077)
    except OSError:  # gone meanwhile, or not ours: the next start tries again
        return 0
    return 1
