"""Who may call the API: an API key, or the logged-in desktop session (cookie), checked before every view.

Cookie sessions are HttpOnly and SameSite=Strict, and every state-changing request made with one must come from
the app's own origin, so another site open in the same browser cannot act with the user's session.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from ..auth.keys import api_key_from_headers
from ..auth.service import AuthService, Principal
from ..errors import ZapPoolError
from .body import field, json_body
from .clients import svc
from .forward import node_token_matches
from .guard import is_https

SESSION_COOKIE = "zapool_session"
# meta.show_instance checks its own credential: the data folder's instance token; media.media_link's signed
# token is its own credential (backend/media/links.py).
PUBLIC = frozenset({"meta.health", "auth.login", "ui.index", "ui.asset", "ui.versioned_asset", "ui.emoji_font",
                    "meta.show_instance", "media.media_link",
                    "contacts.picture_link",
                    "ui.chart_library"})  # signed tokens; the Reports window's charts (uPlot, issue 18)
# Reachable with a first-run session whose password must still be changed.
DURING_PASSWORD_CHANGE = frozenset({"auth.change_password", "auth.me", "auth.logout"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bp = Blueprint("auth", __name__, url_prefix="/auth")


class OriginRefused(ZapPoolError):
    """A cookie-authenticated change request from another origin."""

    status = 403
    code = "origin_refused"


def _auth() -> AuthService:
    """The AuthService of this app."""
    return current_app.extensions["zapool.auth"]


def _same_origin() -> bool:
    """Origin (or Referer) names this server."""
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    scheme = "https" if is_https() else request.scheme
    return bool(parts.netloc) and parts.netloc.lower() == request.host.lower() and parts.scheme == scheme


def credentials_still_valid() -> Callable[[], bool]:
    """For a long request (an event stream): a check, callable later, that this request's credentials still
    hold (the key is not revoked, the session has not ended)."""
    auth = _auth()
    key = api_key_from_headers(request.headers)
    token = None if key else request.cookies.get(SESSION_COOKIE)

    def check() -> bool:
        try:
            auth.authenticate(api_key=key, session_token=token)
        except ZapPoolError:
            return False
        return True

    return check


def install(app: Flask, auth: AuthService) -> None:
    """Require credentials on every endpoint but the public ones."""
    app.extensions["zapool.auth"] = auth
    app.register_blueprint(bp)

    @app.before_request
    def require_credentials() -> None:
        if request.endpoint is None or request.endpoint in PUBLIC:
            return  # unknown URLs answer 404; /health and login need nothing
        if node_token_matches():  # issue 20: a call another node checked and passed on (forward.py)
            g.principal = Principal("node", "cluster")
            return
        key = api_key_from_headers(request.headers)
        token = None if key else request.cookies.get(SESSION_COOKIE)
        g.principal = auth.authenticate(api_key=key, session_token=token,
                                        allow_password_change=request.endpoint in DURING_PASSWORD_CHANGE)
        if g.principal.kind == "session" and request.method not in SAFE_METHODS and not _same_origin():
            raise OriginRefused("This request must come from ZapPool's own page")


@bp.post("/login")
def login() -> Response:
    """Log in as the admin: sets the session cookie. The first login (admin/admin) needs `ownerToken`, from the
    link printed in the terminal that started ZapPool: another user of this computer cannot claim it first."""
    body = json_body()
    session = _auth().login(field(body, "username", str, required=True), field(body, "password", str, required=True),
                            source=request.remote_addr or "unknown", owner_token=field(body, "ownerToken", str))
    response = jsonify({"username": session.username, "mustChangePassword": session.must_change})
    response.set_cookie(SESSION_COOKIE, session.token, httponly=True, samesite="Strict", path="/",
                        secure=is_https())
    return response


@bp.post("/logout")
def logout() -> Response:
    """End the session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        _auth().logout(token)
    response = jsonify({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@bp.get("/me")
def me() -> Response:
    """Who is calling, and whether the password must still be changed."""
    return jsonify({"kind": g.principal.kind, "id": g.principal.id,
                    "mustChangePassword": _auth().must_change_password()})


@bp.post("/password")
def change_password() -> Response:
    """Change the admin password (required on first run)."""
    body = json_body()
    _auth().change_password(field(body, "oldPassword", str, required=True),
                            field(body, "newPassword", str, required=True),
                            token=request.cookies.get(SESSION_COOKIE), username="admin")
    return jsonify({"ok": True})


@bp.get("/keys")
def list_keys() -> Response:
    """API keys (never the key itself)."""
    return jsonify(svc().list_api_keys())


@bp.post("/keys")
def create_key() -> tuple[Response, int]:
    """A new API key, shown in this answer only."""
    return jsonify(svc().create_api_key(field(json_body(), "name", str, required=True))), 201


@bp.delete("/keys/<key_id>")
def revoke_key(key_id: str) -> Response:
    """Revoke a key: it stops working at once."""
    return jsonify(svc().revoke_api_key(key_id))
