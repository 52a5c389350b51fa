"""WebhookService: subscriptions, which pool events become webhooks, and the durable, signed deliveries.

Event policy (what a subscription's `events` may name):

    status          a client's status really changed (same status with a new reason: not sent)
    ready           connected                        } at most one of each per status change,
    authenticated   the phone accepted the login     } so a flapping page cannot repeat them
    disconnected    lost the connection (data.reason)}
    message         an incoming message
    message_ack     an outgoing message was sent/delivered/read
    client_added    a number was added to the pool
    client_removed  a number was removed from the pool
    qr              explicit only: a QR code to scan, at most one per status change. QR codes rotate every
                    ~20 s while nobody scans; sending each would flood receivers, so later codes of the same
                    login screen are not sent: fetch the current one from the API instead.
    code            explicit only: a pairing code someone asked for (one per request)
    contact.opted_out  a contact wrote an opt-out keyword (issue 17 §2, backend/audience/optout.py)
    campaign.started|progress|paused|finished  a campaign's life and counts (issue 17 §4, backend/campaigns/)

`["*"]` means every event above except `qr` and `code`; `["*", "qr"]` adds the QR code.

Delivery: `POST <url>` with the JSON body `{"id": "dlv_...", "event": "...", "clientId": "...", "data": {...},
"timestamp": "2025-01-01T12:00:00.000Z"}` (`data` is the pool event's data; `timestamp` is when it was
published) and the headers Content-Type: application/json, X-ZapPool-Event, X-ZapPool-Delivery (the body's
id: dedupe with it, delivery is at least once), the Standard Webhooks webhook-id, webhook-timestamp and
webhook-signature (signing.py: the ones to verify; they refuse replays), X-ZapPool-Signature (`sha256=` + hex
HMAC-SHA256 of the exact body bytes, keyed with the webhook's secret), X-ZapPool-Timestamp (Unix seconds when this attempt was sent;
the signed time is the body's) and X-ZapPool-Attempt. urllib title-cases header names on the wire
(X-Zappool-Signature); HTTP header names are case-insensitive, so receivers must not depend on the case.
Retries and their limits: webhook_delivery.py.

Durability: publish() runs on the engine's thread, so it writes nothing: it accepts the deliveries in memory
and the intake worker writes them to webhooks.db moments later (intake.py). Until then an event is at most
once: a kill -9 or a power cut in that window loses it; a clean stop() writes everything accepted first. Once
written, a delivery is at least once, across restarts.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..clock import iso
from ..errors import Conflict, InvalidInput, NotFound
from ..events.hub import ClientEvent
from ..store.webhooks import DeliveryRecord, NewDelivery, WebhookRecord, WebhookStore
from ..validation import check_limit
from .checks import check_events, check_secret, check_target, check_url
from .delivery import DeliveryPolicy, Dispatcher
from .intake import Intake
from .signing import new_secret
from .targets import TargetPolicy
from .transport import HttpTransport, Transport

log = logging.getLogger(__name__)
WEBHOOK_EVENTS = ("status", "ready", "authenticated", "disconnected", "message", "message_ack", "client_added",
                  "client_removed", "qr", "code",
                  # groups: backend/whatsapp/group_events.py
                  "group_joined", "group_left", "group_participants", "group_updated",
                  # issue 17 §2: backend/audience/optout.py
                  "contact.opted_out",
                  # issue 17 §4: backend/campaigns/service.py
                  "campaign.started", "campaign.progress", "campaign.paused", "campaign.finished")
EXPLICIT_ONLY = frozenset({"qr", "code"})
DEFAULT_EVENTS = frozenset(WEBHOOK_EVENTS) - EXPLICIT_ONLY
ONCE_PER_STATUS = frozenset({"qr", "ready", "authenticated", "disconnected"})
MAX_WEBHOOKS = 50


class StatusGate:
    """Decides which pool events are worth a webhook: real status changes, state events once per change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[str, str] = {}
        self._sent: dict[str, set[str]] = {}

    def allow(self, event: ClientEvent) -> bool:
        """True when the event should be delivered; remembers what it let through."""
        if event.name not in WEBHOOK_EVENTS:
            return False
        with self._lock:
            if event.name == "status":
                return self._status_changed(event.client_id, event.data)
            if event.name == "client_removed":
                self._status.pop(event.client_id, None)
                self._sent.pop(event.client_id, None)
            if event.name in ONCE_PER_STATUS:
                sent = self._sent.setdefault(event.client_id, set())
                if event.name in sent:
                    return False
                sent.add(event.name)
            return True

    def _status_changed(self, client_id: str, data: dict[str, Any]) -> bool:
        """A status event that changes the status opens a new period for the once-per-status events."""
        status = data.get("status")
        if status == data.get("previous") or status == self._status.get(client_id):
            return False
        self._status[client_id] = str(status)
        self._sent[client_id] = set()
        return True


class WebhookService:
    """Webhook subscriptions and their deliveries; `publish()` is the pool's event subscriber."""

    shared: Any = None  # issue 20, cluster mode: the cluster's list (store/pg_webhooks.py PgWebhookList), share()

    def __init__(self, store: WebhookStore, *, http_timeout_s: float = 10, max_attempts: int = 8,
                 base_delay_s: float = 2, cap_delay_s: float = 600, concurrency: int = 4,
                 retention_days: float = 7, clock: Callable[[], float] = time.time,
                 rng: Callable[[], float] = random.random, transport: Transport | None = None,
                 targets: TargetPolicy | None = None):
        """`store`: the subscriptions and deliveries (webhooks.db: see in_folder()); `targets`: whether private
        addresses are refused (off until guard_targets() says the API listens wider)."""
        self.path = store.path
        self.targets = targets or TargetPolicy()
        transport = transport or HttpTransport(self.targets)
        self._clock = clock
        self._store = store
        policy = DeliveryPolicy(http_timeout_s, max_attempts, base_delay_s, cap_delay_s, max(1, concurrency),
                                max(1, concurrency // 2), retention_days * 86_400)
        self._dispatcher = Dispatcher(self._store, policy, transport=transport, clock=clock, rng=rng)
        self._intake = Intake(self._store, written=self._dispatcher.wake)
        self._gate = StatusGate()
        self._lock = threading.Lock()
        self._subs: list[tuple[str, frozenset[str]]] = []
        self._refresh()
        self._started = False

    @classmethod
    def in_folder(cls, location: Path, *, clock: Callable[[], float] = time.time, **options: Any) -> WebhookService:
        """The WebhookService of a data folder (webhooks.db inside it), or of a path ending in .db."""
        location = Path(location)
        path = location if location.suffix == ".db" else location / "webhooks.db"
        return cls(WebhookStore(path, clock=clock), clock=clock, **options)

    @property
    def set_aside_as(self) -> Path | None:
        """Where a damaged webhooks.db found at start was moved, if it was."""
        return self._store.set_aside_as

    def guard_targets(self, guarding: bool) -> None:
        """Refuse (True) or allow private, loopback and link-local targets, at creation and at every delivery:
        app.py turns it on when the API listens beyond loopback, unless --allow-private-webhooks (targets.py)."""
        self.targets.set_guarding(guarding)
        if guarding:
            log.info("[Webhooks] destinos privados, locais e link-local recusados (a API escuta além do loopback)")

    def start(self) -> None:
        """Start sending: deliveries left from the last run go first."""
        if not self._started:
            self._started = True
            self._intake.start()  # its first pass writes what publish() accepted before the start
            self._dispatcher.start()
            log.info("[Webhooks] %d webhook(s) ativo(s)", len(self._subs))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sending (unsent deliveries stay on disk for the next start), write every event accepted so far,
        refuse later ones, and close the store."""
        if self._started:
            self._started = False
            self._intake.stop()
            self._dispatcher.stop(timeout)
            self._intake.join(timeout)
        self._intake.close()
        self._store.close()

    # -- subscriptions ---------------------------------------------------------------------------------

    def add(self, url: Any, events: Any = None, secret: Any = None) -> dict[str, Any]:
        """Subscribe `url` to `events` (default ["*"]); the answer holds the secret, the only time it is shown."""
        url = check_target(check_url(url), self.targets)
        names = check_events(events, WEBHOOK_EVENTS)
        secret = check_secret(secret) if secret is not None else new_secret()
        with self._lock:
            if len(self._subs) >= MAX_WEBHOOKS:
                raise Conflict(f"At most {MAX_WEBHOOKS} webhooks", details={"maxWebhooks": MAX_WEBHOOKS},
                               code="too_many_webhooks")
            record = self._store.add_webhook("wh_" + secrets.token_hex(8), url, names, secret)
            if self.shared is not None:  # cluster mode: every node sends this webhook its numbers' events
                self._share(record)
            self._refresh()
        log.info("[Webhooks] webhook %s criado para %s (%s)", record.id, url.split("?", 1)[0], ",".join(names))
        return {**_webhook_dict(record), "secret": secret}

    def list(self) -> list[dict[str, Any]]:
        """Every webhook, oldest first; secrets appear only as a hint."""
        return [_webhook_dict(record) for record in self._store.webhooks()]

    def get(self, webhook_id: Any) -> dict[str, Any]:
        """One webhook (NotFound if there is none)."""
        return _webhook_dict(self._require(webhook_id))

    def remove(self, webhook_id: Any) -> None:
        """Delete a webhook, its secret and its deliveries, queued ones included (NotFound if there is none)."""
        with self._lock:
            shared = isinstance(webhook_id, str) and self.shared is not None and self.shared.remove(webhook_id)
            if not isinstance(webhook_id, str) or not (self._store.delete_webhook(webhook_id) or shared):
                raise _not_found(webhook_id)
            self._refresh()
        log.info("[Webhooks] webhook %s removido", webhook_id)

    def deliveries(self, webhook_id: Any, limit: Any = 50, cursor: Any = None) -> dict[str, Any]:
        """A webhook's deliveries, newest first: {"items": [...], "nextCursor": str | None}."""
        self._require(webhook_id)
        limit = check_limit(limit)
        before = _decode_cursor(cursor) if cursor not in (None, "") else None
        self._write_accepted()
        rows = self._store.deliveries(webhook_id, limit=limit + 1, before_seq=before)
        more = len(rows) > limit
        rows = rows[:limit]
        return {"items": [_delivery_dict(row) for row in rows],
                "nextCursor": _encode_cursor(rows[-1].seq) if more else None}

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """Per webhook, its deliveries by status (pending, delivering, delivered, failed), for monitoring."""
        self._write_accepted()
        counts: dict[str, dict[str, int]] = {hook_id: {} for hook_id, _ in self._subs}
        for (hook_id, status), n in self._store.delivery_counts().items():
            counts.setdefault(hook_id, {})[status] = n
        return counts

    # -- cluster mode (issue 20: store/pg_webhooks.py) ------------------------------------------------------

    def share(self, shared: Any) -> None:
        """Join the cluster's list: this node's own subscriptions are added to it, then it is taken as this
        node's (sync() keeps it so at every heartbeat)."""
        self.shared = shared
        for record in self._store.webhooks():
            shared.add(record)
        self.sync()

    def sync(self) -> None:
        """Take the cluster's list: webhooks added or removed through other nodes since the last time."""
        if self.shared is None:
            return
        records = self.shared.all()
        with self._lock:
            added, gone = self._store.mirror(records)
            if added or gone:
                self._refresh()
                log.info("[Webhooks] lista do cluster: %d webhook(s) novo(s), %d removido(s)", len(added), len(gone))

    def _share(self, record: WebhookRecord) -> None:
        """Put a new subscription on the cluster's list; if the database refuses, it is not kept here either."""
        try:
            self.shared.add(record)
        except Exception:
            self._store.delete_webhook(record.id)
            raise

    def _require(self, webhook_id: Any) -> WebhookRecord:
        """The webhook or NotFound."""
        record = self._store.get_webhook(webhook_id) if isinstance(webhook_id, str) else None
        if record is None:
            raise _not_found(webhook_id)
        return record

    def _write_accepted(self) -> None:
        """Write what publish() has accepted, so a listing right after an event shows it. Best effort: it waits
        at most a second for a write the intake worker is making (a listing must not hang on a busy disk), and
        a failed write stays queued for the worker, which retries it and logs the failure once."""
        try:
            self._intake.write(wait_s=1.0)
        except Exception:  # noqa: BLE001 - a read must not fail over a write it only does as a courtesy
            log.debug("[Webhooks] entregas aceitas ainda não gravadas", exc_info=True)

    def _refresh(self) -> None:
        """Reload the in-memory copy of the subscriptions, so publish() needs no read (under self._lock)."""
        subs = []
        for record in self._store.webhooks():
            if record.active:
                names = set(record.events)
                if "*" in names:
                    names = (names - {"*"}) | DEFAULT_EVENTS
                subs.append((record.id, frozenset(names)))
        self._subs = subs

    # -- events ----------------------------------------------------------------------------------------

    def publish(self, event: ClientEvent) -> int:
        """Accept one delivery per matching webhook; returns how many (0 once stopped). It runs on the engine's
        thread, so no disk and no network here: the bodies are built (the event's data as it is now) and handed
        to the intake worker, which writes them. At most once until written: see the module docstring."""
        try:
            if not self._gate.allow(event):
                return 0
            targets = [hook_id for hook_id, names in self._subs if event.name in names]
            if not targets:
                return 0
            stamp = iso(datetime.fromtimestamp(self._clock(), timezone.utc))
            accepted = self._intake.put([_new_delivery(hook_id, event, stamp) for hook_id in targets])
        except Exception:  # noqa: BLE001 - runs on the engine thread: a webhook problem must not reach it
            log.exception("[Webhooks] evento %s de %s não enfileirado", event.name, event.client_id)
            return 0
        return len(targets) if accepted else 0


def _new_delivery(webhook_id: str, event: ClientEvent, stamp: str | None) -> NewDelivery:
    """A delivery row with its final body (ASCII JSON, so the bytes signed are the bytes stored)."""
    delivery_id = "dlv_" + uuid.uuid4().hex
    body = {"id": delivery_id, "event": event.name, "clientId": event.client_id, "data": event.data,
            "timestamp": stamp}
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=True, default=str)
    return NewDelivery(delivery_id, webhook_id, event.name, event.client_id, payload)


def _webhook_dict(record: WebhookRecord) -> dict[str, Any]:
    """The API's view of a webhook: the secret only as its last four characters."""
    return {"id": record.id, "url": record.url, "events": record.events, "active": record.active,
            "createdAt": _iso_ms(record.created_at), "secretHint": "…" + record.secret[-4:]}


def _delivery_dict(row: DeliveryRecord) -> dict[str, Any]:
    """The API's view of a delivery, with the body that was (or will be) sent."""
    return {"id": row.id, "webhookId": row.webhook_id, "event": row.event, "clientId": row.client_id,
            "status": row.status, "attempts": row.attempts,
            "nextAttemptAt": _iso_ms(row.next_attempt_at) if row.status == "pending" else None,
            "lastStatusCode": row.last_status_code, "lastError": row.last_error,
            "createdAt": _iso_ms(row.created_at), "deliveredAt": _iso_ms(row.delivered_at),
            "payload": json.loads(row.payload)}


def _iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 with Z."""
    return None if ms is None else iso(datetime.fromtimestamp(ms / 1000, timezone.utc))


def _not_found(webhook_id: Any) -> NotFound:
    """The error for an unknown webhook id."""
    return NotFound(f"No webhook {str(webhook_id)[:80]!r}", details={"webhookId": str(webhook_id)[:80]})


def _encode_cursor(seq: int) -> str:
    """An opaque cursor: the position of the last delivery shown."""
    return base64.urlsafe_b64encode(f"d{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any) -> int:
    """The position inside a cursor; InvalidInput when this server did not make it."""
    try:
        raw = base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)).decode()
        if raw.startswith("d") and raw[1:].isdigit():
            return int(raw[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput("The cursor is not one this server gave out", details={"field": "cursor"})
