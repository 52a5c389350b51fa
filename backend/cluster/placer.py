"""Placer: the placement rule (placement.py) applied on this node, once per heartbeat.

Each round reads the shared registry, the live leases and the nodes, then: takes the lease of each number the
rule gives this node and adopts it into the pool (started when its saved state says it was connected: restored
from the cluster's snapshot, no scan); hands over what the rule says is this node's surplus (the numbers not in
the middle of being linked first: nobody's scan is cut); gives up the lease of a number removed from the
registry through another path. A node starts placing one heartbeat after joining, so nodes started together
see each other first instead of one taking everything and handing most of it back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ..errors import ZapPoolError
from ..status import ClientStatus as S
from ..whatsapp.pool import WhatsAppPool
from ..whatsapp.saved import restorable
from .node import ClusterNode
from .placement import assign, surplus

log = logging.getLogger(__name__)
# Handed over: numbers nobody is linking or starting right now (a QR on screen is left where it is).
SETTLED = (S.READY, S.DISCONNECTED, S.IDLE, S.ERROR)


def should_run(record: dict[str, Any]) -> bool:
    """Whether a number's saved state says it was connected (or cut off by accident): its next node starts it."""
    if record.get("onDemand") is True:
        return False  # an on-demand number sleeps until a message wakes it
    return restorable(record)


class Placer:
    """This node's share of the cluster's numbers, kept by `tick()` (ClusterService's worker)."""

    def __init__(self, node: ClusterNode, registry: Any, pool: WhatsAppPool, on_adopted: Callable[[str], None],
                 *, clock: Callable[[], float] = time.monotonic):
        self.node = node
        self.registry = registry  # store/pg_sessions.py PgSessionStore: every number of the cluster
        self.pool = pool
        self.on_adopted = on_adopted  # what the service does with a number new here (its in-flight messages)
        self._clock = clock
        self._from = clock() + node.renew_every_s
        self.handed: dict[str, float] = {}  # numbers handed over by this node: when (not taken back for a TTL)

    def tick(self) -> None:
        """One round of placement (a no-op during the first heartbeat and while the pool closes)."""
        if self._clock() < self._from or self.pool.closing:
            return
        records = {str(r["clientId"]): r for r in self.registry.all() if isinstance(r.get("clientId"), str)}
        leased = {lease.client_id for lease in self.node.store.leases()}
        nodes = self.node.store.nodes(self.node.ttl_s)
        self._take(records, [c for c in records if c not in leased], nodes)
        self._forget_removed(records)
        self._hand_over(surplus(self.node.name, nodes))

    def _take(self, records: dict[str, dict[str, Any]], unowned: list[str], nodes: list[Any]) -> None:
        """Take and adopt what the rule gives this node, except a number it handed over less than a TTL ago
        (left to the others: handing over and taking back would go round)."""
        now = self._clock()
        for client_id, name in assign(unowned, nodes).items():
            if name != self.node.name or now - self.handed.get(client_id, -1e9) < self.node.ttl_s:
                continue
            if client_id in {c.client_id for c in self.pool.clients()} or self.node.acquire(client_id) is None:
                continue
            record = records[client_id]
            log.info("[Cluster] %s assume %s (estado salvo: %s)", self.node.name, client_id, record.get("status"))
            try:
                self.pool.adopt(record, start=should_run(record))
            except ZapPoolError as exc:
                log.error("[Cluster] %s não assumido: %s", client_id, exc.message)
                self.node.release(client_id)
                continue
            self.on_adopted(client_id)

    def _forget_removed(self, records: dict[str, dict[str, Any]]) -> None:
        """A number held here that left the registry (removed cluster-wide): its lease given up."""
        here = {c.client_id for c in self.pool.clients()}
        for lease in self.node.held():
            if lease.client_id not in records and lease.client_id not in here:
                self.node.release(lease.client_id)

    def _hand_over(self, count: int) -> None:
        """Hand up to `count` settled numbers to the other nodes, the most recently adopted first (one being
        linked or starting stays until it settles)."""
        settled = [c for c in reversed(self.pool.clients()) if c.status in SETTLED]
        for client in settled[:max(0, count)]:
            self.hand_over(client.client_id)

    def hand_over(self, client_id: str) -> None:
        """One number to whichever node takes it: closed here (its snapshot saved under the lease), then the
        lease released."""
        log.info("[Cluster] %s entrega %s a outro nó", self.node.name, client_id)
        try:
            self.pool.hand_off(client_id)
        except ZapPoolError as exc:
            log.warning("[Cluster] %s: entrega incompleta: %s", client_id, exc.message)
        self.handed[client_id] = self._clock()
        self.node.release(client_id)
