"""ClusterViews: GET /clients/all, /stats and /health for the whole cluster, from any node.

Each node writes its own numbers (the items of /clients/all) and its pool's statistics to `node_views`
(store/pg_events.py) whenever one of its numbers is added, removed or changes status, and on every heartbeat.
Any node then answers for the cluster: its own numbers as they are now, the other alive nodes' as they last
wrote them (at most a heartbeat old, usually milliseconds), each item with the `node` that drives it. A number
listed by two nodes (a node that stopped it but still has it in its folder) is shown once: as the node holding
its lease sees it. While PostgreSQL does not answer, a node shows its own numbers only.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from ..errors import Unavailable
from ..events.hub import ClientEvent
from ..store.pg_events import EventStore, NodeView
from ..whatsapp.pool import WhatsAppPool
from ..worker import Worker
from .node import ClusterNode

log = logging.getLogger(__name__)
CHANGES = frozenset({"client_added", "client_removed", "status", "ready", "disconnected", "authenticated"})
SUMMED = ("totalCreated", "totalConnected", "totalDisconnected", "currentClients", "maxClients", "readyClients")


class ClusterViews:
    """`start()` keeps this node's view written; `all_clients`/`stats`/`health` read the cluster's."""

    def __init__(self, store: EventStore, node: ClusterNode, pool: WhatsAppPool):
        self.store = store
        self.node = node
        self.pool = pool
        self._worker = Worker(f"cluster-views-{node.name}", self._save)
        pool.subscribe(self._changed, set(CHANGES))

    def start(self) -> None:
        """Write this node's view now and on every change and heartbeat."""
        self._worker.start()

    def stop(self) -> None:
        """Stop writing (the node's row stays; it is shown only while the node is alive)."""
        self._worker.stop()
        self._worker.join(5)

    def _changed(self, event: ClientEvent) -> None:
        """One of this node's numbers changed (engine thread): write the view from the worker."""
        self._worker.kick()

    def _save(self) -> float:
        """Write this node's numbers and statistics."""
        self.store.save_view(self.node.name, self.pool.get_all_clients_info(), self.pool.get_stats())
        return self.node.renew_every_s

    def _others(self) -> list[NodeView] | None:
        """The other alive nodes' views (None while PostgreSQL does not answer)."""
        try:
            return [v for v in self.store.views(self.node.ttl_s) if v.alive and v.node != self.node.name]
        except Unavailable:
            log.warning("[Cluster] banco indisponível: mostrando só os números deste nó")
            return None

    def all_clients(self, local: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every number of the cluster with the node that drives it (this node's as they are now)."""
        items = {c["clientId"]: {**c, "node": self.node.name} for c in local}
        others = self._others()
        if not others:
            return list(items.values())
        holders = {lease.client_id: lease.node for lease in self._leases()}
        for view in others:
            for item in view.clients:
                client_id = item.get("clientId") if isinstance(item, dict) else None
                if isinstance(client_id, str) and (client_id not in items or holders.get(client_id) == view.node):
                    items[client_id] = {**item, "node": view.node}
        return list(items.values())

    def stats(self, local: dict[str, Any]) -> dict[str, Any]:
        """The statistics of every alive node added up (totalMessages is the shared log's already), with each
        node's own under `nodes`."""
        others = self._others() or []
        per_node = [{"node": self.node.name, **local}] + [{"node": v.node, **v.stats} for v in others]
        total = {**local, **{key: sum(int(n.get(key) or 0) for n in per_node) for key in SUMMED}}
        by_status: Counter[str] = Counter()
        for n in per_node:
            by_status.update({str(k): int(v) for k, v in dict(n.get("clientsByStatus") or {}).items()})
        return {**total, "clientsByStatus": dict(by_status), "nodes": per_node}

    def health(self, listening: bool) -> dict[str, Any]:
        """This node's part of GET /health: its name, whether PostgreSQL answers and the other nodes are heard,
        how many leases it holds."""
        return {"node": self.node.name, "database": "ok" if self.store.reachable() else "unreachable",
                "events": "listening" if listening else "not_listening", "leases": len(self.node.held())}

    def _leases(self) -> list[Any]:
        """The live leases (which node drives which number)."""
        try:
            return self.node.store.leases()
        except Unavailable:
            return []
