"""Health (no credentials needed), the API's contract (/openapi.json and its HTML rendering, /docs), and the
call a second launch of ZapPool makes to bring this one forward (/instance/show, with the instance token)."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, Response, current_app, jsonify, request

from .. import __version__
from ..errors import Unauthorized
from ..host.instance import TOKEN_HEADER
from . import docs_page
from .clients import svc
from .openapi import build_document

bp = Blueprint("meta", __name__)


@lru_cache(maxsize=1)
def _docs_html() -> str:
    """The /docs page: built once, the document does not change while ZapPool runs."""
    return docs_page.render(build_document())


@bp.get("/health")
def health() -> tuple[Response, int]:
    """Is ZapPool up: version and how many numbers are connected (this process's own). A cluster node adds its
    name, whether its PostgreSQL answers and the other nodes are heard, its leases; 503 while the database
    does not answer (a load balancer sends the API elsewhere)."""
    pool = svc().pool  # its numbers in memory: /health answers even while a cluster's database does not
    body = {"status": "ok", "version": __version__, "clients": len(pool.clients()),
            "readyClients": len(pool.get_ready_clients())}
    cluster = svc().cluster
    if cluster is not None and cluster.views is not None:  # issue 20: this node's part
        body.update(cluster.views.health(cluster.relay.listening))
        body["status"] = "ok" if body["database"] == "ok" else "degraded"
    return jsonify(body), 200 if body["status"] == "ok" else 503


@bp.get("/openapi.json")
def openapi() -> Response:
    """The API's contract, OpenAPI 3.1."""
    return jsonify(build_document())


@bp.get("/docs")
def docs() -> Response:
    """The contract as a plain HTML page (no scripts, nothing fetched from elsewhere)."""
    return Response(_docs_html(), mimetype="text/html")


@bp.post("/instance/show")
def show_instance() -> tuple[str, int]:
    """Another launch on the same data folder asks this ZapPool to come forward (its token proves it can read
    the data folder); the windows are raised, or the log says where the app is."""
    lock = current_app.extensions.get("zapool.instance")
    if lock is None or not lock.matches(request.headers.get(TOKEN_HEADER)):
        raise Unauthorized("This call needs the token of this ZapPool's data folder")
    for hook in current_app.extensions.get("zapool.on_show", ()):
        hook()
    return "", 204
