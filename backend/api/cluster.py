"""Cluster mode (issue 20): GET /cluster, this node's view of the cluster (nodes, leases, capacity), over
service.cluster; 404 not_found (details.reason not_clustered) when ZapPool runs without --database: there is
no cluster to show, which is not a failure of the server (a 5xx)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from ..errors import NotFound
from ..service import ZapPoolService

bp = Blueprint("cluster", __name__)


@bp.get("/cluster")
def cluster_overview() -> Response:
    """Every node (alive, draining, capacity, leases held), every live lease, the cluster's capacity."""
    service: ZapPoolService = current_app.extensions["zapool.service"]
    if service.cluster is None:
        raise NotFound("ZapPool runs without a cluster (start it with --database postgresql://...)",
                          details={"reason": "not_clustered"})
    return jsonify(service.cluster.overview())
