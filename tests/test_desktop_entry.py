"""Linux's application menu entry: written to the user's folders, pointing at this ZapPool."""

from __future__ import annotations

import configparser
import shlex
import sys
from pathlib import Path

from backend.desktop.entry import install_desktop_entry


def test_the_entry_and_icon_are_written_where_the_desktop_looks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))

    entry, icon = install_desktop_entry()
    install_desktop_entry()  # again: updated, not duplicated

    assert entry == tmp_path / "share" / "applications" / "zapool.desktop"
    assert icon.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read(entry, encoding="utf-8")
    section = parsed["Desktop Entry"]
    assert section["Name"] == "ZapPool" and section["Icon"] == "zapool" and section["Terminal"] == "false"
    command = shlex.split(section["Exec"])
    assert command[0] == sys.executable and Path(command[1]).name == "app.py" and Path(command[1]).exists()
    assert list((tmp_path / "share" / "applications").iterdir()) == [entry]
