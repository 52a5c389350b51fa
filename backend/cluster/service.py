"""ClusterService (`service.cluster`): this node in the cluster, the leases of the numbers it drives, and the
cluster as /cluster shows it.

Two ways to run, by whether the nodes share a passphrase (`ZAPOOL_CLUSTER_PASSPHRASE`, cluster/keys.py):
- **placed** (with it): the registry of numbers is the cluster's (PostgreSQL), each number's login snapshot
  too, sealed with the cluster's key; placement.py spreads the numbers over the nodes by capacity, and a dead
  or leaving node's numbers start on the others from their snapshots, without a scan (placer.py). A browser
  starts only under the number's lease (registry.py, ClusterProfiles).
- **pinned** (without it: a snapshot in the database would have to be in clear): each node drives the numbers
  of its own data folder, as before; the lease is taken as soon as a number starts, and a number whose lease
  another node holds is stopped here. Nothing moves when a node dies.
Either way the outbox claims and marks a number's messages only under its lease (PgMessageStore's fence), so
even a node that has not noticed it lost a number cannot send from the shared outbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ZapPoolError
from ..events.hub import ClientEvent
from ..sealing import Sealer
from ..store.accounts import AccountsStore
from ..store.pg_accounts import PgAccountsStore
from ..store.pg_audience import PgAudienceStore
from ..store.pg_campaigns import PgCampaignLog, PgCampaignStore
from ..store.pg_cluster import ClusterStore, Lease
from ..store.pg_db import PgDatabase
from ..store.pg_events import EventStore
from ..store.pg_login_sessions import PgLoginSessions
from ..store.pg_messages import PgMessageStore
from ..store.pg_preferences import PgPreferences
from ..store.pg_reports import PgReportStore
from ..store.preferences import PreferencesStore
from ..store.pg_schedules import PgScheduleStore
from ..store.pg_sessions import PgSessionStore
from ..store.pg_snapshots import PgClusterKeys, PgSnapshotShelf
from ..store.pg_templates import PgTemplateStore
from ..store.pg_webhooks import PgWebhookList
from ..whatsapp.pool import WhatsAppPool
from ..worker import Worker
from .keys import PASSPHRASE_ENV, snapshot_sealer
from .node import ClusterNode
from .placer import Placer
from .registry import ClusterProfiles, NodeSessions

log = logging.getLogger(__name__)
# A number in one of these statuses is being driven by this node: it must hold the number's lease.
DRIVING = frozenset({"initializing", "qr_ready", "authenticated", "ready"})


class ClusterService:
    """This node: `start()` joins and keeps the leases, `overview()` for /cluster, `stop()` drains."""

    relay: Any = None  # issue 20: events across nodes (cluster/relay.py EventRelay), set by assembly.py
    views: Any = None  # issue 20: /clients/all, /stats, /health for the cluster (cluster/views.py), assembly.py

    def __init__(self, node: ClusterNode, store: ClusterStore, db: PgDatabase, sealer: Sealer | None = None):
        """`sealer`: the cluster's snapshot key (placed mode); None: pinned mode."""
        self.node = node
        self.store = store
        self.db = db
        self.sealer = sealer
        self.registry = PgSessionStore(db) if sealer else None  # placed mode: every number of the cluster
        self.placer: Placer | None = None
        self._beat_hooks: list[Callable[[], None]] = []
        self._forward_token: str | None = None
        self._pool: WhatsAppPool | None = None
        self._wanted: set[str] = set()
        self._unwanted: set[str] = set()  # numbers to stop here: their lease is another node's
        self._lock = threading.Lock()
        self._worker = Worker(f"cluster-leases-{node.name}", self._take_leases)
        node.on_lost(self._lost)

    @classmethod
    def connect(cls, url: str, name: str, *, capacity: int, ttl_s: float,
                passphrase: str | None = None) -> ClusterService:
        """Open the cluster's database (migrated) and make this node, placed when given the cluster's passphrase
        (WrongPassphrase when it does not open the cluster's key); nothing runs until start()."""
        db = PgDatabase(url).open()
        store = ClusterStore(db)
        sealer = snapshot_sealer(PgClusterKeys(db), passphrase) if passphrase else None
        if sealer is None:
            log.warning("[Cluster] sem %s: cada nó conduz os números da sua própria pasta; se um nó cair, os "
                        "números dele não passam a outro sem escanear de novo", PASSPHRASE_ENV)
        return cls(ClusterNode(store, name, capacity=capacity, ttl_s=ttl_s), store, db, sealer)

    def accounts(self, local: AccountsStore) -> PgAccountsStore:
        """The admin and the API keys of the cluster (this node's own merged in): a key works on every node."""
        return PgAccountsStore(self.db, local)

    def sessions(self) -> NodeSessions | None:
        """Placed mode: the shared registry as this node writes it (only under its leases); pinned: None."""
        return NodeSessions(self.registry, self.node) if self.registry is not None else None

    def profiles(self, data_dir: Path) -> ClusterProfiles | None:
        """Placed mode: profiles started under the lease, their snapshots in the cluster's database."""
        if self.sealer is None:
            return None
        shelf = PgSnapshotShelf(self.db, fence=lambda client_id: self.node.lease(client_id).token)
        return ClusterProfiles(data_dir, self.sealer, shelf, self.node)

    def message_store(self) -> PgMessageStore:
        """The shared outbox and message log, fenced by this node's leases: a number's messages are claimed
        and marked only under its lease (LeaseLost otherwise, refused by the database if the node is stale)."""
        return PgMessageStore(self.db, fence=lambda client_id: self.node.lease(client_id).token)

    def attach(self, pool: WhatsAppPool) -> None:
        """Follow the pool's numbers: take the lease of each one it starts."""
        self._pool = pool
        pool.subscribe(self._status, {"status"})
        if self.registry is not None:
            self.placer = Placer(self.node, self.registry, pool, self._took_over)

    def start(self) -> None:
        """Join the cluster and start taking the leases of the numbers this node drives."""
        self.node.start()
        self._worker.start()

    def stop(self) -> None:
        """Stop taking leases and give every lease up (drained: others may take the numbers at once)."""
        self._worker.stop()
        self._worker.join(5)
        self.node.stop(release=True)
        self.db.close()

    def overview(self) -> dict[str, Any]:
        """The cluster as /cluster shows it: this node's name, every node, every live lease, the capacity."""
        nodes = self.store.nodes(self.node.ttl_s)
        leases = self.store.leases()
        alive = [n for n in nodes if n.alive]
        return {"node": self.node.name, "nodes": [n.to_dict() for n in nodes],
                "leases": [lease.to_dict() for lease in leases],
                "capacity": {"total": sum(n.capacity for n in alive if not n.draining), "used": len(leases),
                             "nodesAlive": len(alive)}}

    def _status(self, event: ClientEvent) -> None:
        """A number changed status (engine thread: never wait here): one being driven needs its lease."""
        if event.data.get("status") in DRIVING and not self._holds(event.client_id):
            with self._lock:
                self._wanted.add(event.client_id)
            self._worker.kick()

    def held_numbers(self) -> list[str]:
        """The numbers this node drives now (holds the lease of): whose schedules it fires."""
        return [lease.client_id for lease in self.node.held()]

    def login_sessions(self) -> PgLoginSessions:
        """The windows' login sessions: logged in through one node, logged in on all (no sticky sessions)."""
        return PgLoginSessions(self.db)

    def audience_store(self) -> PgAudienceStore:
        """The cluster's customer list and opt-outs: an opt-out any node hears stops every node's campaigns."""
        return PgAudienceStore(self.db)

    def schedule_store(self) -> PgScheduleStore:
        """The cluster's scheduled messages: made on any node, fired by the node that drives the number."""
        return PgScheduleStore(self.db)

    def campaign_stores(self) -> tuple[PgCampaignStore, PgCampaignLog]:
        """The cluster's campaigns and the shared log's reads about them: made on any node, their recipients
        taken by every node's numbers."""
        return PgCampaignStore(self.db), PgCampaignLog(self.db)

    def preferences(self, local: PreferencesStore) -> PgPreferences:
        """The cluster's preferences, with this machine's own (`local`) for what describes it."""
        return PgPreferences(self.db, local)

    def first_event_id(self) -> int:
        """Where this node's event ids start: a block no other node run of the cluster has (store/pg_events.py)."""
        return EventStore(self.db).first_event_id()

    def report_store(self) -> PgReportStore:
        """The report tables of the shared log: `/reports/*` on any node counts every node's messages."""
        return PgReportStore(self.db)

    def _holds(self, client_id: str) -> bool:
        """Whether this node holds the number's lease now."""
        return any(lease.client_id == client_id for lease in self.node.held())

    def _take_leases(self) -> float:
        """Take the lease of each number started here; stop one whose lease another node holds."""
        with self._lock:
            wanted, self._wanted = self._wanted, set()
            unwanted, self._unwanted = self._unwanted, set()
        for client_id in sorted(wanted):
            if self._holds(client_id):
                continue
            if self.node.acquire(client_id) is not None:
                self._took_over(client_id)
                continue
            log.warning("[Cluster] %s: outro nó tem o lease; este nó não vai conduzir o número", client_id)
            unwanted.add(client_id)
        for client_id in sorted(unwanted):
            self._stop_number(client_id)
        if self.placer is not None:
            self.placer.tick()
        for hook in list(self._beat_hooks):
            try:
                hook()
            except ZapPoolError as exc:  # the database away: the next heartbeat tries again
                log.warning("[Cluster] tarefa do batimento falhou: %s", exc.message)
        return self.node.renew_every_s

    def forward_token(self) -> str:
        """The token calls forwarded between nodes carry (api/forward.py): the cluster's, read once."""
        if self._forward_token is None:
            self._forward_token = self.store.secret("forward")
        return self._forward_token

    def every_beat(self, hook: Callable[[], None]) -> None:
        """Run `hook` on this service's worker once per heartbeat (the webhook list's copy, for one)."""
        self._beat_hooks.append(hook)

    def webhook_list(self) -> PgWebhookList:
        """The cluster's webhook subscriptions (every node sends them its own numbers' events)."""
        return PgWebhookList(self.db)

    def template_store(self) -> PgTemplateStore:
        """The cluster's message templates and quick replies: the same on every node."""
        return PgTemplateStore(self.db)

    def _took_over(self, client_id: str) -> None:
        """A number is now this node's: take back what its last owner left in flight (looked for on WhatsApp
        before sending again), and run its queue here, where other nodes' API calls may have put messages."""
        if self._pool is None:
            return
        outbox = self._pool.outbox
        for record in outbox.store.recover_in_flight():
            log.warning("[Cluster] %s: mensagem %s estava em envio por um lease vencido; procurada no WhatsApp "
                        "antes de reenviar", record.client_id, record.id)
        outbox.wake(client_id, follow=True)

    def _lost(self, lease: Lease) -> None:
        """This node lost a number's lease (heartbeat thread): stop driving it, from this service's worker."""
        with self._lock:
            self._unwanted.add(lease.client_id)
        self._worker.kick()

    def _stop_number(self, client_id: str) -> None:
        """Close the number's browser here (its login stays on disk; placed mode: the number leaves this pool,
        its saved state left for the node that holds it)."""
        if self._pool is None:
            return
        try:
            if self.placer is not None:
                self._pool.hand_off(client_id)
            else:
                self._pool.disconnect(client_id)
        except ZapPoolError as exc:
            log.warning("[Cluster] %s não foi parado: %s", client_id, exc.message)
