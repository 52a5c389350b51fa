"""The windows show ZapPool's own pages and nothing else.

pywebview injects the js_api bridge (every service operation: numbers, messages, keys, the password) into
whatever page a window shows, on every load. A window that followed a link, a redirect, a script's
`location = ...` or a file or URL dropped on it would hand the bridge to that page. So every navigation of a
window is checked before it starts: a page of ZapPool's own server (same scheme, host and port) loads; a web
link the person clicked opens in the system browser, where it has no bridge; anything else (file:, data:,
javascript:, another origin loaded by a script or a drop) is refused and logged.

Qt (Linux) is guarded here, by pywebview's page class: QWebEnginePage.acceptNavigationRequest is asked for each
navigation of every frame. WebKitGTK (Linux, ZAPOOL_GUI=gtk) by pywebview's handler of the web view's
`decide-policy` signal, which WebKit emits before every navigation of every frame and every new window; its
UI-process API does not say which frame, so a clicked web link in a frame also goes to the system browser (where
it has no bridge either). Windows' WebView2 and macOS' WebKit are not done yet.
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


def guard_gtk_windows(base_url: str, open_outside: Callable[[str], Any] = webbrowser.open) -> None:
    """Make every pywebview GTK window (created after this call) ask decide() before each navigation."""
    import gi  # noqa: PLC0415 - WebKitGTK is loaded only with the windows

    gi.require_version("WebKit2", "4.1")
    from gi.repository import WebKit2  # noqa: PLC0415
    from webview.platforms import gtk  # noqa: PLC0415

    pywebview_handler = gtk.BrowserView.on_navigation

    def on_navigation(view: Any, webview: Any, decision: Any, decision_type: Any) -> bool:
        if not isinstance(decision, WebKit2.NavigationPolicyDecision):
            return pywebview_handler(view, webview, decision, decision_type)  # responses: downloads
        action = decision.get_navigation_action()
        url = action.get_request().get_uri() or ""
        clicked = action.get_navigation_type() == WebKit2.NavigationType.LINK_CLICKED
        if decision_type == WebKit2.PolicyDecisionType.NEW_WINDOW_ACTION:
            # target=_blank and window.open(): never a new window; a web link goes to the system browser (as
            # pywebview's Qt handler does with OPEN_EXTERNAL_LINKS_IN_BROWSER), even one to our own pages.
            if decide(url, base_url, clicked=clicked or action.is_user_gesture(), main_frame=True,
                      open_outside=open_outside):
                open_outside(url)
            decision.ignore()
        elif not decide(url, base_url, clicked=clicked, main_frame=True, open_outside=open_outside):
            decision.ignore()
            _still_showing(view, webview.get_uri() or "", base_url)
        return True  # decided here: WebKit's default (load it) never runs

    gtk.BrowserView.on_navigation = on_navigation


def _still_showing(view: Any, shown_url: str, base_url: str) -> None:
    """A refused load starts nothing in WebKitGTK (no load event follows), but pywebview's load_url() marked
    the window as loading: mark our page, which is still shown with its bridge, as loaded again, or the next
    call on the window (evaluate_js, get_current_url) waits 20 s and fails."""
    if is_own_page(shown_url, base_url):
        events = view.pywebview_window.events
        for event in (events.before_load, events._pywebviewready, events.loaded):  # noqa: SLF001 - pywebview's
            event.set()
