"""Which node drives which number (issue 20): every number of the shared registry is held by one alive node,
spread by capacity, and spread again when a node joins or leaves.

No coordinator: every node runs the same rule on the same rows (the registry, the live leases, the alive nodes)
every heartbeat, takes the numbers the rule gives it, and the lease decides any race (store/pg_cluster.py). A
number whose node died has no live lease once the TTL passed: the rule gives it to the node with the most room,
which restores it from its login snapshot (no scan). A node holding more than its share by capacity hands some
over (snapshot, browser closed, lease released) once another alive node is below its share; a node leaving is
drained the same way. The rule only looks at counts, so it is written here as plain functions, tested alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..store.pg_cluster import NodeRecord


def takers(nodes: Sequence[NodeRecord]) -> list[NodeRecord]:
    """The nodes that may take numbers: alive, not draining."""
    return [n for n in nodes if n.alive and not n.draining]


def assign(unowned: Sequence[str], nodes: Sequence[NodeRecord]) -> dict[str, str]:
    """Each number nobody holds, in registry order, to the taker with the most free room (ties: by name); a
    number is left out once every taker is full."""
    room = {n.name: n.capacity - n.leases for n in takers(nodes)}
    given: dict[str, str] = {}
    for client_id in unowned:
        if not room:
            break
        best = min(room, key=lambda name: (-room[name], name))
        if room[best] <= 0:
            break
        given[client_id] = best
        room[best] -= 1
    return given


def share(node: NodeRecord, nodes: Sequence[NodeRecord]) -> float:
    """How many of the held numbers this node would hold if they were spread by capacity."""
    alive = takers(nodes)
    capacity = sum(n.capacity for n in alive)
    return sum(n.leases for n in alive) * node.capacity / capacity if capacity else 0.0


def surplus(me: str, nodes: Sequence[NodeRecord]) -> int:
    """How many numbers node `me` should hand over now: none while no other taker is below its share (rounded
    down); above its share rounded up, what it holds beyond its share rounded down (as many as the others can
    take); otherwise one at a time. A node that is not a taker (draining) hands over through its drain."""
    mine = next((n for n in takers(nodes) if n.name == me), None)
    if mine is None:
        return 0
    room = sum(max(0, min(math.floor(share(n, nodes)), n.capacity) - n.leases)
               for n in takers(nodes) if n.name != me)
    if room == 0 or mine.leases <= math.floor(share(mine, nodes)):
        return 0
    if mine.leases > math.ceil(share(mine, nodes)):
        return min(mine.leases - math.floor(share(mine, nodes)), room)
    return 1
