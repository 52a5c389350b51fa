"""Native desktop notifications: one function, so each system's way can be added in one place.

Linux: `notify-send` (Debian's libnotify-bin) when it is on PATH. Its body is markup (`<b>`, `<a href>`, `<img>`:
a contact's message could link or load anything), so the body is escaped; the title is plain text by the
notification spec. Both lose their control characters, as every line ZapPool logs does. Windows and macOS are not done yet: there the
call is a logged no-op, so the rest of the app does not care.
"""

from __future__ import annotations

import html
import logging
import shutil
import subprocess
import sys

from ..host.logs import printable

log = logging.getLogger(__name__)
APP_NAME = "ZapPool"
TIMEOUT_S = 5.0


def notify(title: str, body: str) -> bool:
    """Show a notification; False when this system has no way to (said once per call in the debug log)."""
    if sys.platform.startswith("linux"):
        return _notify_send(title, body)
    log.debug("[Desktop] notificações ainda não disponíveis em %s: %s", sys.platform, title)
    return False


def _notify_send(title: str, body: str) -> bool:
    """Linux: notify-send, if installed."""
    exe = shutil.which("notify-send")
    if exe is None:
        log.debug("[Desktop] notify-send não encontrado: notificação não mostrada (%s)", title)
        return False
    # "--" ends the options: a message starting with "-" is text, never an option of notify-send.
    command = [exe, f"--app-name={APP_NAME}", "--", printable(title), html.escape(printable(body), quote=False)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("[Desktop] notify-send falhou: %s", exc)
        return False
    if done.returncode != 0:
        log.debug("[Desktop] notify-send terminou com %d: %s", done.returncode,
                  done.stderr.decode("utf-8", "replace").strip()[:200])
    return done.returncode == 0
