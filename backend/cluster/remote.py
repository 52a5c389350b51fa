"""Sending through a number another node drives (issue 20: any node answers the API). The message goes into the
shared outbox like any other; the number's node claims and sends it under its lease (woken at once by the
relayed `queued` event, cluster/relay.py). A caller that waits (`?wait=true`) is answered from the shared log,
read every 100 ms, since the outcome is written by the other node. Media is refused here for now: its bytes
are a file in this node's data folder, which the other node cannot read.
"""

from __future__ import annotations

import time
from typing import Any

from ..drafts import Draft
from ..errors import Conflict, EngineTimeout
from ..outbox.outbox import Outbox
from ..status import MessageStatus
from ..store.message_schema import MessageRecord

POLL_S = 0.1


def send_elsewhere(outbox: Outbox, draft: Draft, node: str, *, wait: bool, timeout_s: float) -> MessageRecord:
    """Accept the message for the number's node `node`; with `wait`, return once it was sent or raise its
    failure (EngineTimeout after `timeout_s`: cancelled if it had not started)."""
    if draft.data is not None:
        raise Conflict(f"Media for this number is sent through its node ({node or 'none now'}) for now",
                       details={"clientId": draft.client_id, "node": node}, code="other_node")
    record = outbox.accept(draft)
    if not wait:
        return record
    deadline = time.monotonic() + timeout_s
    while not record.finished and time.monotonic() < deadline:
        time.sleep(POLL_S)
        record = outbox.get(record.id)
    if record.finished:
        return _outcome(outbox, record)
    if outbox.store.cancel_queued(record.id, EngineTimeout.code, f"Not sent within {timeout_s:g} s; cancelled"):
        raise EngineTimeout(f"Not sent within {timeout_s:g} s; cancelled", details={"messageId": record.id})
    raise EngineTimeout(f"Still sending after {timeout_s:g} s: it may yet be sent",
                        details={"messageId": record.id, "status": outbox.get(record.id).status})


def _outcome(outbox: Outbox, record: MessageRecord) -> MessageRecord:
    """The sent record, or its failure raised as the error it was."""
    if record.status == MessageStatus.FAILED:
        raise outbox.error_of(record)
    return record


def other_node(cluster: Any, client_id: str) -> str | None:
    """The node driving this number when it is not this one; in placed mode a registered number between two
    nodes (its node died, nobody took it yet) is "" (its messages wait in the shared outbox for its next node).
    None: a number of this node, or unknown to the cluster."""
    holder = cluster.store.holder(client_id)
    if holder is not None:
        return holder if holder != cluster.node.name else None
    registered = cluster.registry is not None and cluster.registry.get(client_id) is not None
    return "" if registered else None
