"""Where ZapPool's log goes: the terminal (when there is one) and a rotating file in the data folder.

A user who double-clicks the app has no terminal, so the file is what they send when something goes wrong:
`<data>/logs/zapool.log`, 5 MB per file, the last 5 kept (30 MB at most). `--log-level debug` is the seed's
`logger.setLevel('debug')` advice.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_DIR = "logs"
LOG_FILE = "zapool.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("debug", "info", "warning", "error")
_OURS = "zapool_handler"  # marks the handlers set here, so a second call replaces them instead of doubling


def log_folder(data_dir: Path) -> Path:
    """The folder holding the log files."""
    return Path(data_dir) / LOG_DIR


def setup_logging(data_dir: Path, level: str = "info", *, console: bool = True) -> Path:
    """Log at `level` to the rotating file (and the console when `console` and there is one); returns the file.
    Libraries stay at WARNING unless the level is debug: Playwright's and waitress's chatter is not ours."""
    if level not in LEVELS:
        raise ValueError(f"log level is one of {', '.join(LEVELS)}")
    path = log_folder(data_dir) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                           encoding="utf-8")]
    if console and sys.stderr is not None:  # a windowed (frozen) app on Windows has no stderr
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        setattr(handler, _OURS, True)
        root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.DEBUG if level == "debug" else logging.WARNING
    for name in ("waitress", "urllib3", "asyncio", "PIL"):
        logging.getLogger(name).setLevel(quiet)
    return path


def open_folder(folder: Path) -> bool:
    """Show a folder in the system's file manager; False when this machine has none to start (a server)."""
    folder.mkdir(parents=True, exist_ok=True)
    if sys.platform == "win32":
        os.startfile(folder)  # type: ignore[attr-defined]  # noqa: S606 - Windows' own way to open a folder
        return True
    opener = "open" if sys.platform == "darwin" else shutil.which("xdg-open")
    if opener is None:
        return False
    subprocess.Popen([opener, str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    return True
