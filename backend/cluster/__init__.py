"""Cluster mode (issue 20): this process as one node of many over a shared PostgreSQL, driving only the
numbers whose lease it holds (node.py; the leases and their fencing in store/pg_cluster.py)."""

from .node import ClusterNode

__all__ = ["ClusterNode"]
