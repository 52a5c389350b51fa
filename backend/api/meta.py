"""Health (no credentials needed), and the API's contract: /openapi.json and its HTML rendering, /docs."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, Response, jsonify

from .. import __version__
from . import docs_page
from .clients import svc
from .openapi import build_document

bp = Blueprint("meta", __name__)


@lru_cache(maxsize=1)
def _docs_html() -> str:
    """The /docs page: built once, the document does not change while ZapPool runs."""
    return docs_page.render(build_document())


@bp.get("/health")
def health() -> Response:
    """Is ZapPool up: version and how many numbers are connected."""
    stats = svc().get_pool_stats()
    return jsonify({"status": "ok", "version": __version__, "clients": stats["currentClients"],
                    "readyClients": stats["readyClients"]})


@bp.get("/openapi.json")
def openapi() -> Response:
    """The API's contract, OpenAPI 3.1."""
    return jsonify(build_document())


@bp.get("/docs")
def docs() -> Response:
    """The contract as a plain HTML page (no scripts, nothing fetched from elsewhere)."""
    return Response(_docs_html(), mimetype="text/html")
