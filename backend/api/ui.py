"""The frontend (frontend/ folder) for a browser, and the preferences every window reads.

`/` is the login page; every other file is under `/ui/`. The pages are public (they hold no data: everything
comes through the API with credentials) and carry a Content-Security-Policy that allows this server only, so a
name or message with HTML in it can never run a script, and nothing is fetched from elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Response, jsonify, request, send_from_directory
from werkzeug.exceptions import NotFound

from ..config import DESKTOP_AGENT_MARK
from ..errors import ZapPoolError
from .body import json_body
from .clients import svc
from .frontend_version import signature, versioned_page

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
# The icons of the seed's buttons are emoji ("🔗 Gerenciar Conexões"), and a fresh Linux has no emoji font: they
# showed as empty boxes. Noto Emoji (monochrome outlines, from npm, pinned in package.json) is served with the
# pages instead; its style sheet splits it by unicode-range, so a window loads only the pieces it shows.
EMOJI_FONT = FRONTEND.parent / "node_modules" / "@fontsource" / "noto-emoji"
EMOJI_FILES = re.compile(r"400\.css|files/noto-emoji-[a-z0-9]+-400-normal\.woff2?")
# Issue 18: the Reports window's charts, uPlot (from npm, pinned in package.json), served the same way: its ES
# module and its style sheet only.
UPLOT = FRONTEND.parent / "node_modules" / "uplot" / "dist"
UPLOT_FILES = re.compile(r"uPlot\.esm\.js|uPlot\.min\.css")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
# pywebview builds window.pywebview.api with `new Function` and runs evaluate_js (the events pushed into the
# desktop windows) through eval(): the desktop windows' pages, and only they, may eval. Inline scripts and
# other origins stay refused, so injected markup still cannot run anything.
DESKTOP_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-eval'")

bp = Blueprint("ui", __name__)
DESKTOP_ONLY_PREFERENCES = frozenset({"browserPath"})


class DesktopOnlyPreference(ZapPoolError):
    """A preference that makes ZapPool run a program: whoever holds an API key or a browser session must not be
    able to name that program (it runs at the next start), so only the desktop window and the command line may."""

    status = 403
    code = "desktop_only_preference"


def _page(response: Response) -> Response:
    """A frontend file with the headers that keep it to this server."""
    desktop = DESKTOP_AGENT_MARK in request.headers.get("User-Agent", "")
    response.headers["Content-Security-Policy"] = DESKTOP_CSP if desktop else CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/")
def index() -> Response:
    """The login page."""
    return _html_page("index.html")


@bp.get("/ui/<path:name>")
def asset(name: str) -> Response:
    """A page, script, style sheet or image of the frontend (404 for anything outside frontend/). A page names
    its files under the current version (frontend_version.py)."""
    if name.endswith(".html") and "/" not in name:
        return _html_page(name)
    return _page(send_from_directory(FRONTEND, name))


@bp.get("/ui/v/<version>/<path:name>")
def versioned_asset(version: str, name: str) -> Response:
    """A script, style sheet or image under a version: kept a year when it is the current one, so a window
    opened again loads from the browser's cache; revalidated as any file otherwise."""
    response = _page(send_from_directory(FRONTEND, name))
    if version == signature(FRONTEND):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def _html_page(name: str) -> Response:
    """One of frontend/'s pages, its files' addresses versioned; revalidated on every open."""
    if not (FRONTEND / name).is_file():
        raise NotFound()
    html = versioned_page((FRONTEND / name).read_text(encoding="utf-8"), signature(FRONTEND))
    response = Response(html, mimetype="text/html")
    response.add_etag()
    return _page(response.make_conditional(request))


@bp.get("/ui/vendor/noto-emoji/<path:name>")
def emoji_font(name: str) -> Response:
    """The icon font's style sheet and its pieces (the regular weight only; 404 for any other file). Kept a day,
    not revalidated on every page: Chromium drew text that waited for a piece answered 304 with the system's
    font and never drew it again (tests/test_ui_icons.py). The files change only with the pin."""
    return _vendor_file(EMOJI_FONT, EMOJI_FILES, name)


@bp.get("/ui/vendor/uplot/<path:name>")
def chart_library(name: str) -> Response:
    """The charts' library (uPlot's ES module and style sheet; 404 for any other file), kept a day."""
    return _vendor_file(UPLOT, UPLOT_FILES, name)


def _vendor_file(folder: Path, allowed: re.Pattern[str], name: str) -> Response:
    """A pinned npm package's file named by `allowed` (404 for any other), cached a day: it changes only with
    the pin in package-lock.json."""
    if not allowed.fullmatch(name):
        raise NotFound()
    response = _page(send_from_directory(folder, name))
    response.headers["Cache-Control"] = "max-age=86400"
    return response


@bp.get("/preferences")
def get_preferences() -> Response:
    """Language, notifications, the pool manager's card order."""
    return jsonify(svc().get_preferences())


@bp.put("/preferences")
def set_preferences() -> Response:
    """Change some preferences; a bad value changes none (422 naming it). browserPath: 403, see above."""
    changes = json_body()
    refused = sorted(DESKTOP_ONLY_PREFERENCES & set(changes))
    if refused:
        raise DesktopOnlyPreference("The browser path can be set only in the desktop window or with --browser",
                                    details={"field": refused[0]})
    return jsonify(svc().set_preferences(changes))


@bp.post("/logs/open")
def open_logs_folder() -> Response:
    """Show the log files' folder in this computer's file manager; the answer says where it is."""
    return jsonify(svc().open_logs_folder())


@bp.get("/sealing")
def sealing_state() -> Response:
    """Issue 19: whether the data folder is sealed, opened how, and whether this system has a keyring."""
    return jsonify(svc().sealing_state())


@bp.put("/sealing")
def request_sealing() -> Response:
    """Seal the data folder the next time ZapPool opens, or cancel that: {"sealAtNextStart": bool}."""
    return jsonify(svc().request_sealing(json_body().get("sealAtNextStart")))
