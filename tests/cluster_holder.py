"""A node in its own process, for the pause test (tests/test_cluster_leases.py): it takes one number's lease
and then, for each line read from stdin, tries one write under that lease and prints what came of it.

    python -m tests.cluster_holder URL NODE CLIENT TTL_S

Prints `acquired <token>` first; then per line `write` -> `written` or `refused <code>` (the database's fence,
under the lease it got at the start) and per line `local` -> `held` or `lost` (the node's own deadline).
"""

from __future__ import annotations

import sys

from backend.cluster import ClusterNode
from backend.errors import LeaseLost
from backend.store.pg_cluster import ClusterStore
from backend.store.pg_db import PgDatabase


def main(url: str, node_name: str, client_id: str, ttl_s: float) -> None:
    """Take the lease, then answer stdin's commands until it closes."""
    store = ClusterStore(PgDatabase(url).open())
    node = ClusterNode(store, node_name, capacity=1, ttl_s=ttl_s)
    node.start()
    lease = node.acquire(client_id)
    assert lease is not None, "the number's lease was not free"
    print("acquired", lease.token, flush=True)
    for line in sys.stdin:
        if line.strip() == "write":
            try:
                with store.fenced(lease) as conn:
                    conn.execute("INSERT INTO writes (client_id, node, token) VALUES (%s, %s, %s)",
                                 (client_id, node_name, lease.token))
                print("written", flush=True)
            except LeaseLost as exc:
                print("refused", exc.code, flush=True)
        elif line.strip() == "local":
            try:
                node.lease(client_id)
                print("held", flush=True)
            except LeaseLost:
                print("lost", flush=True)
    node.stop(release=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))
