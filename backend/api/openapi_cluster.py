"""The cluster route's row of the OpenAPI document (openapi.py's OPERATIONS takes it as Op(**row)) and its
shapes (issue 20). Refusal: 404 not_found (details.reason not_clustered) without --database."""

from __future__ import annotations

from typing import Any

from .openapi_schemas import BOOLEAN, INTEGER, STRING, Schema, obj, ref

_TIME: Schema = {**STRING, "format": "date-time"}
CLUSTER_SCHEMAS: dict[str, Schema] = {
    "ClusterNode": obj({"name": STRING, "capacity": INTEGER, "alive": BOOLEAN, "draining": BOOLEAN,
                        "leases": INTEGER, "startedAt": _TIME, "heartbeatAt": _TIME},
                       description="alive: its heartbeat is younger than the lease TTL; leases: numbers it holds."),
    "ClusterLease": obj({"clientId": STRING, "node": STRING, "token": INTEGER, "expiresAt": _TIME},
                        description="token: the fencing token, higher for every new owner of the number."),
    "Cluster": obj({"node": STRING, "nodes": {"type": "array", "items": ref("ClusterNode")},
                    "leases": {"type": "array", "items": ref("ClusterLease")},
                    "capacity": obj({"total": INTEGER, "used": INTEGER, "nodesAlive": INTEGER})},
                   description="node: the node that answered. capacity.total: the alive, not draining nodes' "
                               "capacities; used: live leases."),
}
CLUSTER_OPERATIONS: tuple[dict[str, Any], ...] = (
    {"method": "get", "path": "/cluster", "endpoint": "cluster.cluster_overview",
     "summary": "The cluster (--database): its nodes, the numbers' leases, the capacity.", "ok": {"200": "Cluster"},
     "errors": ("NotFound", "Unavailable"), "tags": ("cluster",),
     "description": "404 not_found (details.reason not_clustered) when ZapPool runs without --database; 503 "
                    "unavailable while the cluster's database does not answer."},
)
