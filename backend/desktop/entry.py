"""Linux: put ZapPool in the desktop's application menu (`ZapPool --install-desktop-entry`).

Writes the freedesktop.org entry and icon to the user's folders (no root needed):
`~/.local/share/applications/zapool.desktop` and `~/.local/share/icons/hicolor/512x512/apps/zapool.png`,
with Exec pointing at the app that ran the command, wherever its folder was unpacked.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from ..config import PROJECT_ROOT

ENTRY = """[Desktop Entry]
Type=Application
Name=ZapPool
GenericName=Vários números de WhatsApp
Comment=Many WhatsApp numbers connected at once, from one desktop
Exec={exec}
Icon=zapool
Terminal=false
Categories=Network;Chat;InstantMessaging;
StartupWMClass=ZapPool
"""


def _data_home() -> Path:
    """$XDG_DATA_HOME, or ~/.local/share."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def launch_command() -> str:
    """How the menu starts this ZapPool: the frozen executable, or this Python running app.py."""
    if getattr(sys, "frozen", False):
        return shlex.quote(sys.executable)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(PROJECT_ROOT / 'app.py'))}"


def install_desktop_entry() -> tuple[Path, Path]:
    """Write the entry and the icon; returns their paths. Running it again updates them."""
    apps = _data_home() / "applications"
    icons = _data_home() / "icons" / "hicolor" / "512x512" / "apps"
    apps.mkdir(parents=True, exist_ok=True)
    icons.mkdir(parents=True, exist_ok=True)
    entry, icon = apps / "zapool.desktop", icons / "zapool.png"
    entry.write_text(ENTRY.format(exec=launch_command()), encoding="utf-8")
    shutil.copyfile(PROJECT_ROOT / "build" / "icon.png", icon)
    return entry, icon
