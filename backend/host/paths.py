"""Where ZapPool keeps its data: `dados/` beside app.py when run from source, the platform's user data folder
when run as the built app (an app folder may be read-only, and is replaced on every update).

    Linux    ~/.local/share/ZapPool          Windows  %APPDATA%\\ZapPool
    macOS    ~/Library/Application Support/ZapPool

`--data DIR` overrides both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

from ..config import PROJECT_ROOT

APP_NAME = "ZapPool"


def is_frozen() -> bool:
    """Running as the app PyInstaller built (not from source)."""
    return bool(getattr(sys, "frozen", False))


def default_data_dir() -> Path:
    """The data folder when --data does not name one."""
    if is_frozen():
        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=True))
    return PROJECT_ROOT / "dados"
