"""The message log's one interface (backend/store/message_protocol.py): the SQLite store of the desktop and the
PostgreSQL store of cluster mode implement it method for method, so the outbox runs on either."""

from __future__ import annotations

import inspect

import pytest

from backend.store.limits import LimitStore
from backend.store.message_protocol import MessageLog, SendLimits
from backend.store.messages import MessageStore
from backend.store.pg_limits import PgLimitStore
from backend.store.pg_messages import PgMessageStore

STORES = {"sqlite": (MessageStore, LimitStore), "postgres": (PgMessageStore, PgLimitStore)}


def members(protocol: type) -> dict[str, inspect.Signature | None]:
    """A protocol's methods with their signatures (None for a property)."""
    found: dict[str, inspect.Signature | None] = {}
    for name, value in vars(protocol).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            found[name] = None
        elif callable(value):
            found[name] = inspect.signature(value)
    return found


def same_signature(implementation: type, name: str, wanted: inspect.Signature | None) -> bool:
    """Whether a class has the member with the protocol's parameters (names, kinds, defaults)."""
    value = inspect.getattr_static(implementation, name, None)
    if wanted is None:
        return isinstance(value, property)
    if not callable(value):
        return False
    have = inspect.signature(value).parameters
    return [(p.name, p.kind, p.default) for p in have.values()] == \
        [(p.name, p.kind, p.default) for p in wanted.parameters.values()]


@pytest.mark.parametrize("backend", sorted(STORES))
def test_each_message_store_implements_the_whole_interface_with_the_same_parameters(backend: str):
    store, limits = STORES[backend]
    assert [n for n, sig in members(MessageLog).items() if not same_signature(store, n, sig)] == []
    assert [n for n, sig in members(SendLimits).items() if not same_signature(limits, n, sig)] == []
