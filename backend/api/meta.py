"""Health (no credentials needed)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from .. import __version__
from .clients import svc

bp = Blueprint("meta", __name__)


@bp.get("/health")
def health() -> Response:
    """Is ZapPool up: version and how many numbers are connected."""
    stats = svc().get_pool_stats()
    return jsonify({"status": "ok", "version": __version__, "clients": stats["currentClients"],
                    "readyClients": stats["readyClients"]})
