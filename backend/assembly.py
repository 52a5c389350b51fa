"""The parts of a running ZapPool, built from the command line and the data folder: its Settings, the pool over
its stores and outbox, and the service over the pool with every capability (groups, media, contacts, the
customer list, templates). app.py is the entry point (arguments, the terminal, the API server, the windows, the
run loop) and calls these; the tests and benchmarks build the same parts the same way, so what they run is what
the app runs. Building starts nothing.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .audience import build_audience
from .campaigns import build_campaigns
from .campaigns.service import Cluster as CampaignCluster
from .auth.service import AUTH_FILE, AuthService
from .clock import epoch_or_none
from .config import Settings
from .contacts.service import ContactsService
from .contacts.pictures import build_pictures
from .engine import EngineRuntime
from .errors import InvalidInput
from .events.bus import EventBus
from .groups import GroupsService
from .host.paths import default_data_dir
from .media import MediaService
from .outbox.outbox import Outbox
from .schedules import build_schedules
from .reports import ReportService
from .service import ZapPoolService
from .store.accounts import AccountsStore
from .store.history import HistoryLog
from .store.media import KeptMedia, MediaFiles
from .store.media_log import MediaLog
from .store.messages import MessageStore
from .store.reports import ReportStore
from .store.preferences import (SHARED_LIMITS, PreferencesStore, apply_pool_limits, saved_browser_path,
                                saved_pool_limits, validate as validate_preferences)
from .store.sessions import SessionStore
from .store.templates import TemplateStore
from .templates import TemplatesService
from .webhooks.service import WebhookService
from .whatsapp.pool import WhatsAppPool
from .whatsapp.saved import SavedNumbers
from .whatsapp.profiles import ProfileSnapshots
from .host.instance import InstanceLock
from .sealing import Sealer, SealingError, WrongPassphrase
from .sealing import cli as sealing_cli
from .sealing import request as seal_request
from .store.sealed import SealedFolder

if TYPE_CHECKING:  # cluster mode's modules (and psycopg) load only with --database: build_cluster
    from .cluster.service import ClusterService


def build_settings(args: argparse.Namespace) -> Settings:
    """Settings from the command line; the browser from the preferences when --browser does not name one."""
    pacing = max(0.0, args.send_interval)
    settings = Settings(browser_path=args.browser, restore_on_start=not args.no_restore,
                        data_dir=(args.data or default_data_dir()).resolve(),
                        send_interval_s=pacing, send_jitter_s=pacing)
    if args.whatsapp_url:
        settings.whatsapp_url = args.whatsapp_url
    settings.picture_origins.extend(getattr(args, "allow_picture_origin", None) or [])  # the simulator's
    if not settings.browser_path:
        settings.browser_path = saved_browser_path(settings.data_dir / "preferences.json")
    apply_pool_limits(saved_pool_limits(settings.data_dir / "preferences.json"), settings)
    apply_pool_limits(command_line_limits(args), settings)  # the command line wins for this run
    if getattr(args, "snapshot_interval", None) is not None:  # issue 19: sealed profiles' snapshot period
        settings.snapshot_interval_s = max(30.0, args.snapshot_interval)
    cluster_settings(args, settings)
    return settings


def command_line_limits(args: argparse.Namespace) -> dict[str, Any]:
    """The pool limits given on the command line, checked like the preferences (a bad one stops the start)."""
    given = {"maxClients": args.max_clients, "healthCheckInterval": args.health_check_interval,
             "reconnectDelay": args.reconnect_delay, "autoReconnect": False if args.no_auto_reconnect else None,
             "onDemandIdle": args.on_demand_idle}
    try:
        return validate_preferences({k: v for k, v in given.items() if v is not None})
    except InvalidInput as exc:
        raise SystemExit(f"zapool: {exc.message}") from None


def build_pool(settings: Settings, runtime: EngineRuntime, sealer: Sealer | None = None,
               cluster: ClusterService | None = None) -> WhatsAppPool:
    """The pool and what it is given: the numbers saved in whatsapp-sessions.json, and the outbox over
    messages.db (in cluster mode: the cluster's shared, fenced outbox) and media/ (those files sealed with
    `sealer` in a sealed data folder). Nothing runs until pool.start()."""
    if sealer:  # the folder's databases open with keys derived from it (store/sqlite_engine.py)
        SealedFolder(settings.data_dir).use(sealer)
    kept = KeptMedia(settings.data_dir / "media" / "kept", sealer) if settings.media_keep_days > 0 else None
    store = cluster.message_store() if cluster else MessageStore(settings.data_dir / "messages.db")
    outbox = Outbox(store, MediaFiles(settings.data_dir / "media", kept, sealer),
                    pacing_s=settings.send_interval_s, jitter_s=settings.send_jitter_s,
                    hourly_cap=settings.send_hourly_cap if settings.send_interval_s > 0 else 0,
                    daily_cap=settings.send_daily_cap if settings.send_interval_s > 0 else 0,
                    max_attempts=settings.send_max_attempts, retry_base_s=settings.send_retry_base_s,
                    retry_cap_s=settings.send_retry_cap_s)
    profiles = ProfileSnapshots(settings.data_dir, sealer) if sealer else None  # live in RAM, sealed at rest
    registry = cluster.sessions() if cluster else None  # issue 20, placed mode: the cluster's numbers
    if cluster is not None and registry is not None:
        profiles = cluster.profiles(settings.data_dir)  # started under the lease, snapshots in PostgreSQL
    saved = SavedNumbers(registry or SessionStore(settings.persistence_path, sealer), settings.sessions_dir, profiles)
    return WhatsAppPool(settings, runtime, saved, outbox)


def build_service(pool: WhatsAppPool, auth: AuthService, webhooks: WebhookService | None = None,
                  cluster: ClusterService | None = None) -> ZapPoolService:
    """The service the REST API and the windows share. The pool's events feed its event bus (SSE, the
    windows) and the webhooks (subscribe those nowhere else: each subscription queues its own deliveries)."""
    media = build_media(pool)  # first: it gives each media message's event the URL of its bytes
    # before the bus too: a window told of a new group picture asks for it at once, and must find the kept copy
    # already dropped (subscribers are called in order)
    pictures = build_pictures(pool)
    bus = EventBus(first_id=cluster.first_event_id() if cluster else None)  # a cluster: ids no other node gives
    pool.subscribe(bus.publish)
    if webhooks is not None:
        pool.subscribe(webhooks.publish)
    preferences: Any = PreferencesStore(pool.settings.data_dir / "preferences.json")
    if cluster is not None:  # issue 20: the person's choices are the cluster's; the machine's stay here
        preferences = cluster.preferences(preferences)
    service = ZapPoolService(pool, pool.outbox, preferences, auth, bus, webhooks)
    service.groups = GroupsService(pool.get, pool.settings.default_region)  # issue 16 §3: /clients/{id}/groups
    service.media = media
    service.contacts = ContactsService(pool, pool.outbox, HistoryLog(local_log(pool)),
                                       pictures=pictures)  # profile pictures through ZapPool
    service.audience = build_audience(pool.settings.data_dir, pool,  # issue 17 §2: /contacts, opt-outs
                                      cluster.audience_store() if cluster else None)  # the cluster's (issue 20)
    templates = cluster.template_store() if cluster else TemplateStore(pool.settings.data_dir / "templates.db")
    service.templates = TemplatesService(templates)  # issue 17 §1; in cluster mode the cluster's (issue 20)
    # issue 17 §3: /schedules; in cluster mode the cluster's, each fired by the node driving its number (issue 20)
    share = (cluster.schedule_store(), cluster.held_numbers, service.require_client) if cluster else None
    service.schedules = build_schedules(pool.settings.data_dir, pool, service.templates, cluster=share)
    # issue 18: /reports/*; in cluster mode over the shared log's report tables (issue 20)
    service.reports = ReportService(cluster.report_store() if cluster else ReportStore(local_log(pool)))
    service.cluster = cluster  # issue 20: this node, /cluster
    if cluster is not None:
        cluster.attach(pool)
        from .cluster.relay import connect_events  # issue 20: events across nodes, the cluster's views
        connect_events(cluster, pool, bus)
        cluster.every_beat(follow_cluster_limits(service))  # a pool limit set through another node
        if webhooks is not None:  # issue 20: one webhook list for the cluster, copied here every heartbeat
            webhooks.share(cluster.webhook_list())
            cluster.every_beat(webhooks.sync)
    # issue 17 §4: /campaigns; in cluster mode the cluster's, each node's numbers taking recipients (issue 20)
    service.campaigns = build_campaigns(pool, service.audience, service.templates, local_log(pool),
                                        cluster=campaigns_share(cluster, service) if cluster else None)
    return service


def follow_cluster_limits(service: ZapPoolService) -> Callable[[], None]:
    """A heartbeat hook: the pool limits in the cluster's preferences (set through any node) put on this node's
    pool when they changed."""
    applied: dict[str, Any] = {}

    def follow() -> None:
        limits = {k: v for k, v in service.get_preferences().items() if k in SHARED_LIMITS}
        if limits != applied:
            service.apply_pool_limits(limits)
            applied.clear()
            applied.update(limits)
    return follow


def campaigns_share(cluster: ClusterService, service: ZapPoolService) -> tuple[Any, Any, CampaignCluster]:
    """The cluster's campaign tables, its log's reads, and this node's part (its numbers, the number check)."""
    store, log_ = cluster.campaign_stores()
    return store, log_, CampaignCluster(mine=cluster.held_numbers, has_number=service.require_client,
                                        ready=lambda: ready_in_cluster(service))


def ready_in_cluster(service: ZapPoolService) -> dict[str, float | None]:
    """Every node's ready numbers (as /clients/all lists them) and when each was linked (epoch s)."""
    return {c["clientId"]: epoch_or_none(c.get("metadata", {}).get("createdAt"))
            for c in service.list_all_clients_info() if c.get("status") == "ready"}


def start_around_pool(service: ZapPoolService, pool: WhatsAppPool) -> None:
    """The pool and the capabilities that run beside it, each after what it needs."""
    if service.cluster is not None:  # the node joins first: the numbers it starts take leases
        service.cluster.start()
        from .cluster.relay import start_events  # issue 20: hear the other nodes before the numbers start
        start_events(service.cluster)
    pool.start()
    if service.media is not None:
        service.media.start()
    service.schedules.start()  # after the pool: its outbox takes what fell due while closed
    service.campaigns.driver.start()  # issue 17 §4: campaigns left running go on


def stop_around_pool(service: ZapPoolService, pool: WhatsAppPool) -> None:
    """start_around_pool's parts stopped, each before what it hands work to."""
    service.schedules.stop()  # before the pool: no occurrence handed to a stopping outbox
    if service.media is not None:
        service.media.stop()
    service.campaigns.driver.close()  # before the pool: nothing new handed to a number's queue
    pool.shutdown()
    if service.cluster is not None:  # issue 20: the last events sent, then no more listening
        from .cluster.relay import stop_events
        stop_events(service.cluster)
    if service.cluster is not None:  # drained: its numbers' leases are given up
        service.cluster.stop()
    service.audience.stop()  # after the pool: no incoming keyword left to handle (closes audience.db)
    service.campaigns.store.close()
    service.templates.close()


def build_media(pool: WhatsAppPool) -> MediaService:
    """Media both ways (issue 16 §2): its log in messages.db, its files in media/kept/; start() downloads."""
    outbox = pool.outbox
    kept = outbox.media.kept or KeptMedia(pool.settings.data_dir / "media" / "kept", outbox.media.sealer)
    return MediaService(pool, outbox, MediaLog(local_log(pool)), kept, outbox.media, pool.settings)


# -- sealed data (issue 19) -------------------------------------------------------------------------------------

def open_sealed(args: argparse.Namespace, data_dir: Path, prompt: Callable[[str], str | None] = sealing_cli.ask
                ) -> Sealer | None:
    """The data folder's sealer at start (None: not sealed); a wrong or missing passphrase exits non-zero with one
    clear line, before anything in the folder is written. `prompt`: asks for the passphrase (a terminal's, or
    the desktop app's window)."""
    if seal_request.pending(data_dir):  # the settings asked: sealed once the folder's lock is held (app.py)
        args.seal_note = None
        return None
    try:
        seal, args.seal_note = sealing_cli.seal_by_default(data_dir, getattr(sys, "frozen", False))
        return sealing_cli.open_folder(SealedFolder(data_dir), args.seal or seal, args.passphrase_fd, prompt)
    except SealingError as exc:
        raise SystemExit(f"zapool: {exc.message}") from None


def seal_as_requested(args: argparse.Namespace, data_dir: Path) -> None:
    """Holding the folder's lock: seal it now if the settings asked at the last run (sealing/request.py)."""
    if args.sealer is None:
        args.sealer = seal_request.seal_if_requested(SealedFolder(data_dir))


def seal_command(argv: list[str]) -> int:
    """`app.py seal ...` (sealing/cli.py), holding the data folder so ZapPool cannot run on it meanwhile."""
    data = sealing_cli.parse_command(argv, default_data_dir()).data.resolve()
    lock = InstanceLock(data)
    if data.is_dir() and not lock.acquire():
        print("zapool seal: o ZapPool está rodando nesta pasta de dados: feche-o antes", file=sys.stderr)
        return 2
    try:
        return sealing_cli.main(argv, SealedFolder, default_data_dir())
    finally:
        lock.release()


# -- cluster mode (issue 20, docs/CLUSTER.md) -----------------------------------------------------------------

def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """The command line of a cluster node: --database makes this process one node of the cluster."""
    parser.add_argument("--database", metavar="URL",
                        help="PostgreSQL URL (postgresql://user@host/db) shared by the cluster's nodes: cluster "
                             "mode (default: the embedded stores in the data folder)")
    parser.add_argument("--node", metavar="NAME", help="this node's name in the cluster (default: the host name)")
    parser.add_argument("--node-capacity", type=int, metavar="N", help="how many numbers this node may drive")
    parser.add_argument("--node-url", metavar="URL",
                        help="where the other nodes reach this node's API (default: the address it listens on; "
                             "the host name when it listens on every interface)")
    parser.add_argument("--lease-ttl", type=float, metavar="SECONDS",
                        help="how long a number's lease outlives this node's last heartbeat (default 15)")


def cluster_settings(args: argparse.Namespace, settings: Settings) -> None:
    """Cluster mode's settings from the command line; a bad one stops the start."""
    url = getattr(args, "database", None)
    if url is None:
        return
    if not url.startswith(("postgresql://", "postgres://")):
        raise SystemExit("zapool: --database takes a PostgreSQL URL (postgresql://...)")
    settings.database_url = url
    settings.node_name = getattr(args, "node", None) or socket.gethostname()
    capacity = getattr(args, "node_capacity", None)
    ttl = getattr(args, "lease_ttl", None)
    if (capacity is not None and capacity < 0) or (ttl is not None and ttl <= 0):
        raise SystemExit("zapool: --node-capacity is 0 or more, --lease-ttl more than 0 seconds")
    settings.node_capacity = settings.max_clients if capacity is None else capacity
    settings.lease_ttl_s = settings.lease_ttl_s if ttl is None else ttl


def build_cluster(settings: Settings) -> ClusterService | None:
    """This node of the cluster over its PostgreSQL (migrated); None without --database. Starts nothing."""
    if settings.database_url is None:
        return None
    from .cluster.keys import cluster_passphrase
    from .cluster.service import ClusterService  # here: the desktop build carries no psycopg (zapool.spec)
    try:
        return ClusterService.connect(settings.database_url, settings.node_name or socket.gethostname(),
                                      capacity=settings.node_capacity, ttl_s=settings.lease_ttl_s,
                                      passphrase=cluster_passphrase())
    except WrongPassphrase as exc:
        raise SystemExit(f"zapool: {exc.message}") from None


def advertise_node(cluster: ClusterService | None, given: str | None, host: str, port: int) -> None:
    """Cluster mode: the address the other nodes forward calls about this node's numbers to (api/forward.py)."""
    if cluster is None:
        return
    if given and not given.startswith(("http://", "https://")):
        raise SystemExit("zapool: --node-url takes an http:// or https:// address")
    shown = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    cluster.node.api_url = given or f"http://{shown}:{port}"


def build_auth(data_dir: Path, cluster: ClusterService | None) -> AuthService:
    """The accounts: the data folder's auth.json, or in cluster mode the cluster's (that file merged in), with
    the cluster's login sessions."""
    if cluster is None:
        return AuthService.in_folder(data_dir)
    return AuthService(cluster.accounts(AccountsStore(data_dir / AUTH_FILE)), sessions=cluster.login_sessions())


def local_log(pool: WhatsAppPool) -> Any:
    """The SQLite database of the logs not on PostgreSQL yet (history pages, media): messages.db's own, or in
    cluster mode a node-local messages.db, opened once (docs/CLUSTER.md, what is not built yet)."""
    store = pool.outbox.store
    if isinstance(store, MessageStore):
        return store.database
    if pool.settings.data_dir not in _LOCAL_LOGS:
        _LOCAL_LOGS[pool.settings.data_dir] = MessageStore(pool.settings.data_dir / "messages.db")
    return _LOCAL_LOGS[pool.settings.data_dir].database


_LOCAL_LOGS: dict[Any, MessageStore] = {}
