"""A node's view of the cluster's numbers (issue 20, with placement): the shared registry and the login
snapshots, each written only under the number's lease.

`NodeSessions` is what the pool's SavedNumbers writes through on a node: the shared PostgreSQL registry
(store/pg_sessions.py), of which a node starts with none (placement.py hands it its numbers, `Placer.adopt`).
A record is written only for a number this node holds: a node that lost a number must not overwrite what its
new owner saves. A number added through this node's API is new to the registry: its lease is taken first, so
the node that added it drives it. `ClusterProfiles` takes the lease before the browser starts, and restores the
profile from the cluster's snapshot, which is newer than anything left on this node's disk when the number ran
elsewhere since.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import Conflict, LeaseLost
from ..sealing import Sealer
from ..whatsapp.profiles import ProfileSnapshots, SnapshotShelf
from .node import ClusterNode

log = logging.getLogger(__name__)


def claim(node: ClusterNode, client_id: str) -> None:
    """Make sure this node holds the number's lease (taken if free); LeaseLost while another node holds it."""
    try:
        node.lease(client_id)
        return
    except LeaseLost:
        pass
    if node.acquire(client_id) is None:
        raise LeaseLost("Another node of the cluster drives this number",
                        details={"clientId": client_id, "node": node.name})


class NodeSessions:
    """session_protocol.SessionRecords over the shared registry, fenced by this node's leases."""

    def __init__(self, shared: Any, node: ClusterNode):
        self.shared = shared  # store/pg_sessions.py PgSessionStore
        self.node = node

    @property
    def set_aside_as(self) -> Path | None:
        """A table is never set aside."""
        return None

    def all(self) -> list[dict[str, Any]]:
        """None at start: the numbers come to this node through placement, not by listing the registry."""
        return []

    def get(self, client_id: str) -> dict[str, Any] | None:
        """The shared record, or None."""
        return self.shared.get(client_id)

    def save(self, record: dict[str, Any]) -> None:
        """Write a held number's record; a new number's after taking its lease; another node's: refused."""
        client_id = str(record["clientId"])
        if not self._holds(client_id):
            if self.shared.get(client_id) is not None:
                log.debug("[Cluster] %s: registro não gravado, o lease é de outro nó", client_id)
                return
            try:
                claim(self.node, client_id)
            except LeaseLost:
                raise Conflict("Another node of the cluster is adding this number",
                               details={"clientId": client_id}, code="client_exists") from None
        self.shared.save(record)

    def update(self, client_id: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Change a held number's record."""
        if self._holds(client_id):
            self.shared.update(client_id, change)

    def remove(self, client_id: str) -> None:
        """Forget a held number cluster-wide, then give its lease up."""
        if self._holds(client_id):
            self.shared.remove(client_id)
            self.node.release(client_id)

    def _holds(self, client_id: str) -> bool:
        """Whether this node surely holds the number's lease now."""
        try:
            self.node.lease(client_id)
        except LeaseLost:
            return False
        return True


class ClusterProfiles(ProfileSnapshots):
    """Profiles whose snapshots rest in the cluster's PostgreSQL; a browser starts only under the lease."""

    def __init__(self, data_dir: Path, sealer: Sealer, shelf: SnapshotShelf, node: ClusterNode):
        super().__init__(data_dir, sealer, shelf=shelf)
        self.node = node

    def prepare(self, client_id: str) -> Path:
        """The lease first (LeaseLost: another node drives it), then the profile from the cluster's snapshot (or
        what this node's runtime folder has, when the number has none yet)."""
        claim(self.node, client_id)
        return self.restore(client_id)
