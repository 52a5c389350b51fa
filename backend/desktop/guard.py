"""The windows show ZapPool's own pages and nothing else.

pywebview injects the js_api bridge (every service operation: numbers, messages, keys, the password) into
whatever page a window shows, on every load. A window that followed a link, a redirect, a script's
`location = ...` or a file or URL dropped on it would hand the bridge to that page. So every navigation of a
window is checked before it starts: a page of ZapPool's own server (same scheme, host and port) loads; a web
link the person clicked opens in the system browser, where it has no bridge; anything else (file:, data:,
javascript:, another origin loaded by a script or a drop) is refused and logged.

Qt (Linux) is guarded here, by pywebview's page class: QWebEnginePage.acceptNavigationRequest is asked for each
navigation of every frame. Windows' WebView2 and macOS' WebKit are not done yet.
"""

from __future__ import annotations

import logging
import webbrowser
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..host.logs import printable

log = logging.getLogger(__name__)
WEB_SCHEMES = ("http", "https")


def is_own_page(url: str, base_url: str) -> bool:
    """Is `url` a page of ZapPool's server at `base_url` (same scheme, host and port)?"""
    try:
        target, base = urlsplit(url), urlsplit(base_url)
        return (target.scheme, target.hostname, target.port) == (base.scheme, base.hostname, base.port)
    except ValueError:  # a port that is not a number, a bad IPv6 literal
        return False


def decide(url: str, base_url: str, *, clicked: bool, main_frame: bool,
           open_outside: Callable[[str], Any] = webbrowser.open) -> bool:
    """True to let the window load `url`. A clicked web link in the window itself goes to the system browser;
    every other foreign address is refused. Both are logged."""
    if is_own_page(url, base_url):
        return True
    shown = printable(url)[:200]
    if clicked and main_frame and urlsplit(url).scheme.lower() in WEB_SCHEMES:
        log.info("[Desktop] link externo aberto no navegador do sistema: %s", shown)
        open_outside(url)
    else:
        log.warning("[Desktop] navegação recusada: a janela só mostra as páginas do ZapPool (%s)", shown)
    return False


def guard_qt_windows(base_url: str, open_outside: Callable[[str], Any] = webbrowser.open) -> None:
    """Make every pywebview Qt window (created after this call) ask decide() before each navigation."""
    from qtpy.QtWebEngineCore import QWebEnginePage  # noqa: PLC0415 - Qt is loaded only with the windows
    from webview.platforms import qt  # noqa: PLC0415

    link = QWebEnginePage.NavigationType.NavigationTypeLinkClicked

    def accept(page: Any, url: Any, nav_type: Any, is_main_frame: bool) -> bool:
        return decide(url.toString(), base_url, clicked=nav_type == link, main_frame=is_main_frame,
                      open_outside=open_outside)

    qt.BrowserView.WebPage.acceptNavigationRequest = accept
    # target=_blank and window.open(): pywebview's handler opens them in the system browser, never in a window.
    qt.settings["OPEN_EXTERNAL_LINKS_IN_BROWSER"] = True
