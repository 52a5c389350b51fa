"""EventRelay: the events of every node's numbers on every node's event bus (SSE, the windows), over
PostgreSQL's LISTEN/NOTIFY (store/pg_events.py).

    pool event on node A ──> A's bus (A's own SSE clients, as without a cluster)
                        └──> queue ──> sender Worker ──> pg_notify(envelope) ──> every node's listener
    listener on node B  ──> envelope from another node ──> B's bus, with `node: "A"` (B's SSE clients)
                                                      └──> a message queued for a number B drives: its lane runs now

A node hears its own notifications too and drops them: its own events are already on its bus (never twice).
Relayed events go to the bus only, never to the webhooks (each delivery is sent once, by one node). The
engine thread only appends to a queue: the database is reached from the sender's own thread.

The listener's connection is re-made after PostgreSQL restarts (the Worker retries every second). What was
notified while it was down is not delivered (NOTIFY keeps nothing): SSE clients of this node miss other
nodes' events of that moment (docs/CLUSTER.md); the lanes of this node's numbers are run once reconnected, so
a message another node accepted meanwhile waits no longer than without a cluster.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ..clock import iso, utc_now
from ..events.bus import EventBus
from ..events.hub import POOL_EVENTS, ClientEvent
from ..store.pg_events import EventStore, Listener
from ..whatsapp.pool import WhatsAppPool
from ..worker import Worker
from .views import ClusterViews

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000  # events waiting for the sender; beyond it the oldest are dropped (PostgreSQL down long)
BATCH = 200  # envelopes per transaction
LISTEN_SLICE_S = 1.0  # how long one listener step waits for notifications (stop() is seen within it)

Waker = Callable[[str | None], None]


class EventRelay:
    """`publish` is the pool's subscriber; `start()` runs the sender and the listener, `stop()` ends both."""

    def __init__(self, store: EventStore, listener: Listener, node: str, bus: EventBus, wake: Waker):
        """`wake(client_id)`: a message was queued on another node for this number (None: for any number)."""
        self.store = store
        self.listener = listener
        self.node = node
        self.bus = bus
        self._wake = wake
        self._queue: deque[dict[str, Any]] = deque(maxlen=QUEUE_LIMIT)
        self._lock = threading.Lock()
        self._sender = Worker(f"cluster-events-out-{node}", self._send)
        self._listening = Worker(f"cluster-events-in-{node}", self._listen)
        self.relayed = 0  # events of other nodes put on this node's bus
        self.by_reference = 0  # this node's envelopes too big for NOTIFY, sent as a row id
        self._was_down = False

    def start(self) -> None:
        """Listen first (so nothing sent after start is missed), then send."""
        try:
            self.listener.connect()
        except Exception:  # noqa: BLE001 - the listener worker retries
            log.warning("[Cluster] escuta de eventos indisponível; nova tentativa a cada segundo")
        self._listening.start()
        self._sender.start()

    def stop(self) -> None:
        """Send what is queued, then stop listening."""
        self._sender.stop()
        self._sender.join(5)
        self._listening.stop()
        self._listening.join(LISTEN_SLICE_S + 5)
        self.listener.close()

    @property
    def listening(self) -> bool:
        """Whether this node hears the other nodes now (GET /health)."""
        return self.listener.connected

    def publish(self, event: ClientEvent) -> None:
        """The pool's subscriber (engine thread: no waiting here): queue the event for the other nodes."""
        envelope = {"node": self.node, "type": event.name, "clientId": event.client_id or None,
                    "data": event.data, "timestamp": iso(utc_now())}
        with self._lock:
            self._queue.append(envelope)
        self._sender.kick()

    def _send(self) -> float:
        """Send what is queued, a batch per transaction; on failure the batch is kept and retried."""
        while True:
            with self._lock:
                batch = [self._queue[i] for i in range(min(BATCH, len(self._queue)))]
            if not batch:
                return 60.0
            self.by_reference += self.store.publish(self.node, batch)
            with self._lock:
                for _ in batch:
                    if self._queue:
                        self._queue.popleft()

    def _listen(self) -> float:
        """One slice of listening; reconnects (raising while it cannot: the Worker retries after 1 s)."""
        if not self.listener.connected:
            self._was_down = True
            self.listener.connect()
        if self._was_down:
            self._was_down = False
            log.info("[Cluster] escuta de eventos restabelecida em %s; eventos de outros nós durante a queda "
                     "não foram recebidos", self.node)
            self._wake(None)
        self.listener.receive(self._received, LISTEN_SLICE_S)
        return 0.0

    def _received(self, payload: str) -> None:
        """A notification: another node's event goes on this bus; this node's own is dropped."""
        envelope = _parse(payload)
        if envelope is None or envelope.get("node") == self.node:
            return
        if isinstance(envelope.get("ref"), int):
            envelope = self.store.envelope(envelope["ref"])
            if envelope is None:
                return
        event = _checked(envelope)
        if event is None:
            log.warning("[Cluster] evento de outro nó ignorado: formato inesperado")
            return
        node, type_, client_id, data, stamp = event
        self.bus.emit(type_, client_id, data, node=node, timestamp=stamp)
        self.relayed += 1
        if type_ == "message_status" and data.get("status") == "queued":
            self._wake(client_id)


def _parse(payload: str) -> dict[str, Any] | None:
    """A payload as a JSON object (None if it is not one)."""
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _checked(envelope: dict[str, Any]) -> tuple[str, str, str | None, dict[str, Any], str | None] | None:
    """An envelope's fields checked (anyone with access to the database can NOTIFY): node, a known event type,
    a client id or none, a data object, a timestamp string."""
    node, type_, client_id = envelope.get("node"), envelope.get("type"), envelope.get("clientId")
    data, stamp = envelope.get("data"), envelope.get("timestamp")
    if not (isinstance(node, str) and 0 < len(node) <= 200 and type_ in POOL_EVENTS and isinstance(data, dict)):
        return None
    if client_id is not None and not (isinstance(client_id, str) and len(client_id) <= 200):
        return None
    return node, type_, client_id, data, stamp[:40] if isinstance(stamp, str) else None



def connect_events(cluster: Any, pool: WhatsAppPool, bus: EventBus) -> None:
    """Cluster mode's events and views for this node (assembly.py): its pool's events sent to the other nodes,
    theirs onto `bus` (every event there names its node), its numbers written for /clients/all and /stats.
    Starts nothing: start_events()."""
    store = EventStore(cluster.db)
    name = cluster.node.name

    def wake(client_id: str | None) -> None:
        """A message queued on another node: run the lane of the number if this node drives it (any held
        number's, and the router, for an auto-routed one)."""
        held = sorted(lease.client_id for lease in cluster.node.held())
        for number in (held if client_id is None else [client_id] if client_id in held else []):
            pool.outbox.wake(number, follow=True)

    bus.node = name
    cluster.relay = EventRelay(store, Listener(cluster.db.url), name, bus, wake)
    cluster.views = ClusterViews(store, cluster.node, pool)
    pool.subscribe(cluster.relay.publish)


def start_events(cluster: Any) -> None:
    """Listen to the other nodes, send this node's events, keep its view written."""
    cluster.relay.start()
    cluster.views.start()


def stop_events(cluster: Any) -> None:
    """The reverse of start_events."""
    cluster.views.stop()
    cluster.relay.stop()
