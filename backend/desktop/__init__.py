"""The desktop app: pywebview windows over the same pages and the same service as the REST API.

    window (frontend/*.html) ──pywebview.api.x()──> Bridge ──> ZapPoolService / AuthService
              ▲                                        (one desktop session, REST's error envelope)
              └── window.__zapoolEvent(event) <── EventPusher <── service.bus  (+ native notifications)
    WindowManager: the windows themselves (main, pool manager, QR, chat), the file dialog, closing
    runner.run_windows(): all of it on the main thread until the main window closes or a signal arrives

Only runner.py and windows.py import pywebview, and only when windows are really opened, so the bridge and the
pusher run (and are tested) without a GUI.
"""

from __future__ import annotations

from .bridge import Bridge, DesktopSession
from .push import EventPusher
from .windows import WindowManager

__all__ = ["Bridge", "DesktopSession", "EventPusher", "WindowManager"]
