"""Where ZapPool's log goes: the terminal (when there is one) and a rotating file in the data folder.

A user who double-clicks the app has no terminal, so the file is what they send when something goes wrong:
`<data>/logs/zapool.log`, 5 MB per file, the last 5 kept (30 MB at most). `--log-level debug` is the seed's
`logger.setLevel('debug')` advice.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any

from ..store.atomic import PRIVATE_FILE, private_folder

LOG_DIR = "logs"
LOG_FILE = "zapool.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("debug", "info", "warning", "error")
_OURS = "zapool_handler"  # marks the handlers set here, so a second call replaces them instead of doubling
# C0 and C1 controls, DEL, and the Unicode bidi/line controls: in a terminal they retitle the window, move the
# cursor or rewrite earlier lines (`\x1b]0;...`, `\r`), in a log file they forge lines ("\n") or reverse text.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FRAMES = ("  File ", "Traceback ")  # the chunks of a traceback that are code's, not an exception's message
_CONTROLS_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    """A control character as its visible escape (`\x1b`, `\n`, `\u202e`)."""
    char = match.group()
    return repr(char)[1:-1] if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def printable(text: object) -> str:
    """`text` for one terminal or log line: every control character escaped, so what a WhatsApp contact wrote
    (a message body, a name) can neither drive the terminal nor forge a line of the log."""
    return _CONTROLS.sub(_escape, str(text))


class PrintableFormatter(logging.Formatter):
    """The log's formatter: the message escaped as `printable()` does whatever put it there (a library's line
    quoting a page, ours quoting a message); a traceback keeps its newlines and loses every other control."""

    def format(self, record: logging.LogRecord) -> str:
        """The whole entry; a traceback another handler already formatted (and cached on the record) is
        formatted again here, escaped."""
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        """The line's text, escaped."""
        return printable(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        """A traceback: its frames keep their lines; an exception's message (which may quote a contact) is one
        escaped line, so it cannot forge the next log line."""
        parts = traceback.format_exception(*ei)
        return "\n".join(_CONTROLS_BUT_NEWLINE.sub(_escape, part.rstrip("\n")) if part.startswith(_FRAMES)
                         else printable(part.rstrip("\n")) for part in parts)

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        """A stack: as a traceback."""
        return _CONTROLS_BUT_NEWLINE.sub(_escape, super().formatStack(stack_info))


class PrivateRotatingFileHandler(RotatingFileHandler):
    """The log file, owner-only (it quotes numbers, names and errors): each file it opens, the first and every
    one after a rotation, is made 0600 whatever the umask."""

    def _open(self) -> IO[str]:
        stream = super()._open()
        if os.name == "posix":
            os.chmod(self.baseFilename, PRIVATE_FILE)
        return stream


def log_folder(data_dir: Path) -> Path:
    """The folder holding the log files."""
    return Path(data_dir) / LOG_DIR


def setup_logging(data_dir: Path, level: str = "info", *, console: bool = True) -> Path:
    """Log at `level` to the rotating file (and the console when `console` and there is one); returns the file.
    Libraries stay at WARNING unless the level is debug: Playwright's and waitress's chatter is not ours."""
    if level not in LEVELS:
        raise ValueError(f"log level is one of {', '.join(LEVELS)}")
    path = log_folder(data_dir) / LOG_FILE
    private_folder(path.parent)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _OURS, False)]:
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [PrivateRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                                  encoding="utf-8")]
    if console and sys.stderr is not None:  # a windowed (frozen) app on Windows has no stderr
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(PrintableFormatter(FORMAT))
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
