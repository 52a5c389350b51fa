"""ClusterNode: this process's heartbeat, and the leases it holds on numbers, kept alive by a Worker.

Every `renew_every_s` the node records its heartbeat and pushes forward all its leases in one transaction
(ClusterStore.heartbeat). A lease the database did not renew has expired or changed hands: the node forgets it
at once and tells its listeners (the pool stops driving that number).

The node also keeps its own deadline per lease, on its monotonic clock: the moment before it asked the
database for the lease or its last renewal, plus the TTL. The database's expiry can only be later than that,
so while `lease()` answers, the lease is still the node's in the database too; once the deadline passes,
`lease()` raises LeaseLost even when the database cannot be reached to say so (a node cut off from PostgreSQL
stops on its own before anyone else may take its numbers). The database's own check on every write
(`zapool_fence`) covers what a process cannot see about itself: a pause between its check and its write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..errors import LeaseLost
from ..store.pg_cluster import ClusterStore, Lease
from ..worker import Worker

log = logging.getLogger(__name__)
DEFAULT_TTL_S = 15.0

LostListener = Callable[[Lease], None]


class ClusterNode:
    """One node: `start()` joins the cluster, `acquire()`/`lease()`/`release()` per number, `stop()` drains."""

    def __init__(self, store: ClusterStore, name: str, *, capacity: int, ttl_s: float = DEFAULT_TTL_S,
                 renew_every_s: float | None = None, clock: Callable[[], float] = time.monotonic):
        """`ttl_s`: how long a lease outlives the node's last heartbeat; renewed every `renew_every_s` (a third
        of the TTL unless given, so two heartbeats may fail before a lease is lost)."""
        self.store = store
        self.name = name
        self.capacity = capacity
        self.ttl_s = ttl_s
        self.renew_every_s = renew_every_s if renew_every_s is not None else ttl_s / 3
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, tuple[Lease, float]] = {}  # client_id -> (lease, local deadline)
        self._listeners: list[LostListener] = []
        self._worker = Worker(f"cluster-{name}", self._beat, error_pause_s=self.renew_every_s)
        self.api_url: str | None = None  # where the other nodes reach this node's API (set once it listens)

    def start(self) -> None:
        """Join the cluster (the first heartbeat, so the node is listed at once), then keep beating."""
        self._beat()
        self._worker.start()
        log.info("[Cluster] nó %s ativo (capacidade %d, lease de %g s)", self.name, self.capacity, self.ttl_s)

    def stop(self, *, release: bool = True, timeout_s: float = 5.0) -> None:
        """Stop beating; `release`: give every lease up now (drained, so others take the numbers at once)."""
        self._worker.stop()
        self._worker.join(timeout_s)
        if release:
            for lease in self.held():
                self.release(lease.client_id)

    def on_lost(self, listener: LostListener) -> Callable[[], None]:
        """Call `listener(lease)` when a lease is lost; returns the function that unsubscribes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def acquire(self, client_id: str) -> Lease | None:
        """Take a number's lease if it is free; None while someone holds it."""
        asked_at = self._clock()
        lease = self.store.acquire(client_id, self.name, self.ttl_s)
        if lease is not None:
            with self._lock:
                self._held[client_id] = (lease, asked_at + self.ttl_s)
            log.info("[Cluster] %s assumiu %s (token %d)", self.name, client_id, lease.token)
        return lease

    def lease(self, client_id: str) -> Lease:
        """The number's lease while this node surely holds it; LeaseLost once its local deadline passed."""
        with self._lock:
            held = self._held.get(client_id)
        if held is None or self._clock() >= held[1]:
            raise LeaseLost("This node does not hold the number's lease",
                            details={"clientId": client_id, "node": self.name})
        return held[0]

    def held(self) -> list[Lease]:
        """The leases this node believes it holds."""
        with self._lock:
            return [lease for lease, _ in self._held.values()]

    def release(self, client_id: str) -> None:
        """Give a number up (drained): its lease expires now."""
        with self._lock:
            held = self._held.pop(client_id, None)
        if held is not None:
            self.store.release(held[0])
            log.info("[Cluster] %s liberou %s", self.name, client_id)

    def _beat(self) -> float:
        """One heartbeat: renew every lease held; forget and announce those the database did not renew. While
        the database is unreachable, the leases past their local deadline are lost all the same."""
        asked_at = self._clock()
        before = self._snapshot()  # a lease taken during the heartbeat is not judged by it
        try:
            renewed = {lease.client_id: lease for lease in self.store.heartbeat(self.name, self.capacity,
                                                                                 self.ttl_s, self.api_url)}
        except Exception:
            self._lose([lease for lease, deadline in before if self._clock() >= deadline])
            raise
        with self._lock:
            for client_id, lease in renewed.items():
                if client_id in self._held and self._held[client_id][0].token == lease.token:
                    self._held[client_id] = (lease, asked_at + self.ttl_s)
        self._lose([lease for lease, _ in before if lease.client_id not in renewed])
        return self.renew_every_s

    def _snapshot(self) -> list[tuple[Lease, float]]:
        """The held leases and their local deadlines, copied under the lock."""
        with self._lock:
            return list(self._held.values())

    def _lose(self, leases: list[Lease]) -> None:
        """Forget these leases (unless taken again since, under a new token) and tell the listeners."""
        for lease in leases:
            with self._lock:
                held = self._held.get(lease.client_id)
                if held is None or held[0].token != lease.token:
                    continue
                del self._held[lease.client_id]
            log.warning("[Cluster] %s perdeu o lease de %s (token %d)", self.name, lease.client_id, lease.token)
            for listener in list(self._listeners):
                listener(lease)
