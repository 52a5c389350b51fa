"""Sending webhook deliveries: backoff and the threads that do the sending (the POST: transport.py; the
signature headers: signing.py).

One dispatcher (a backend.worker.Worker: woken when something is queued or finishes, logs a failing pass once)
picks due deliveries from the store and hands them to a few sender threads (daemon threads: a receiver that
hangs can delay a stop by at most `stop()`'s timeout, never the process exit).
The dispatcher claims a row (pending -> delivering) before a sender gets it and only ever picks the oldest
open row of a lane (webhook, client), so a lane has at most one request in flight and stays in order.
Outcomes: 2xx delivered; 408, 429, 5xx, no answer or a timeout: retried after an exponential backoff with
jitter (or the receiver's Retry-After on 429/503), capped; any other status, redirects included, or a target
the policy refuses (targets.py): failed at once. lastError keeps a status and ZapPool's own words
(transport.py). A row still `delivering` when the process stops is sent again after the restart (at least
once: receivers dedupe with the webhook-id, the same as X-ZapPool-Delivery).
"""

from __future__ import annotations

import email.utils
import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timezone

from ..clock import backoff_s
from ..errors import ZapPoolError
from ..store.webhooks import DeliveryRecord, WebhookStore
from ..worker import Worker
from .signing import delivery_headers
from .signing import legacy_signature as sign  # noqa: F401 - the name the tests and older callers use
from .transport import Response, Transport

log = logging.getLogger(__name__)
USER_AGENT = "ZapPool-Webhooks/1"
IDLE_WAIT_S = 30.0      # the dispatcher re-reads the queue at least this often, woken or not
ERROR_WAIT_S = 1.0      # after an unexpected error in the dispatcher, so it never spins
PRUNE_EVERY_MS = 3_600_000
MAX_HEADS = 500


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard and how fast to try."""

    http_timeout_s: float = 10.0
    max_attempts: int = 8
    base_delay_s: float = 2.0
    cap_delay_s: float = 600.0
    concurrency: int = 4
    per_webhook: int = 2       # so one hanging receiver cannot take every sender
    retention_s: float = 7 * 86_400


def retry_after_s(value: str | None, now_s: float) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or an HTTP date), or None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now_s)


def verdict(status: int | None) -> str:
    """delivered, retry or failed, for an HTTP status (None: no answer at all)."""
    if status is None or status in (408, 429) or status >= 500:
        return "retry"
    return "delivered" if 200 <= status < 300 else "failed"


class Dispatcher:
    """The dispatcher worker and its sender threads over one WebhookStore."""

    def __init__(self, store: WebhookStore, policy: DeliveryPolicy, *, transport: Transport,
                 clock: Callable[[], float], rng: Callable[[], float]):
        self._store, self.policy = store, policy
        self._transport, self._clock, self._rng = transport, clock, rng
        self._loop = Worker("webhooks-dispatcher", self._dispatch, error_pause_s=ERROR_WAIT_S)
        self._stopping = threading.Event()
        self._queue: queue.Queue[DeliveryRecord | None] = queue.Queue()
        self._lock = threading.Lock()
        self._busy: Counter[str] = Counter()   # deliveries in flight per webhook
        self._failing: set[str] = set()        # webhooks whose last attempt failed (log once, not per try)
        self._senders: list[threading.Thread] = []
        self._next_prune_ms = 0

    def start(self) -> None:
        """Put interrupted deliveries back in the queue and start the threads."""
        recovered = self._store.recover_in_flight()
        if recovered:
            log.info("[Webhooks] %d entrega(s) interrompida(s) voltaram para a fila", recovered)
        self._senders = [threading.Thread(target=self._send_loop, name=f"webhooks-sender-{i}", daemon=True)
                         for i in range(self.policy.concurrency)]
        self._loop.start()
        for thread in self._senders:
            thread.start()

    def wake(self) -> None:
        """Something was queued or finished: look at the queue now."""
        self._loop.kick()

    def stop(self, timeout_s: float) -> None:
        """Stop picking, give back what was picked but not sent, wait for requests in flight up to the timeout."""
        self._stopping.set()
        self._loop.stop()
        deadline = self._clock() + timeout_s
        stuck = 0 if self._loop.join(timeout_s) else 1
        self._release_queued()
        for _ in self._senders:
            self._queue.put(None)
        for thread in self._senders:
            thread.join(max(0.0, deadline - self._clock()))
        stuck += sum(thread.is_alive() for thread in self._senders)
        if stuck:
            log.warning("[Webhooks] %d envio(s) ainda em curso ao parar; serão refeitos no próximo início", stuck)

    def _release_queued(self) -> None:
        """Deliveries claimed but not yet sent go back to pending, their attempt not counted."""
        while True:
            try:
                row = self._queue.get_nowait()
            except queue.Empty:
                return
            if row is not None:
                self._store.release(row.id)

    # -- the dispatcher worker -------------------------------------------------------------------------

    def _dispatch(self) -> float:
        """The dispatcher's step: claim due lane heads for the free senders; return how long to sleep before
        looking again (a wake() cuts it short; a pass that raises is retried after ERROR_WAIT_S)."""
        now = self._store.now_ms()
        if now >= self._next_prune_ms:
            self._prune(now)
        with self._lock:
            free = self.policy.concurrency - sum(self._busy.values())
        if free > 0:
            for row in self._store.due_heads(now, MAX_HEADS):
                if free == 0 or self._stopping.is_set():
                    break
                with self._lock:
                    full = self._busy[row.webhook_id] >= self.policy.per_webhook
                if full or not self._store.claim(row.id):
                    continue
                with self._lock:
                    self._busy[row.webhook_id] += 1
                free -= 1
                self._queue.put(replace(row, attempts=row.attempts + 1, status="delivering"))
        # Due heads left unclaimed wait for a sender to finish, and a finishing sender wakes us.
        next_ms = self._store.next_due_after(now)
        return IDLE_WAIT_S if next_ms is None else min(IDLE_WAIT_S, (next_ms - now) / 1000)

    def _prune(self, now_ms: int) -> None:
        """Drop finished deliveries older than the retention, at most once an hour."""
        self._next_prune_ms = now_ms + PRUNE_EVERY_MS
        removed = self._store.prune(now_ms - int(self.policy.retention_s * 1000))
        if removed:
            log.info("[Webhooks] %d entrega(s) antiga(s) apagada(s)", removed)

    # -- the sender threads ----------------------------------------------------------------------------

    def _send_loop(self) -> None:
        """Send what the dispatcher hands over, one at a time, until a None arrives."""
        while True:
            row = self._queue.get()
            if row is None:
                return
            try:
                if self._stopping.is_set():
                    self._store.release(row.id)  # picked just before stop(): not sent, not counted
                else:
                    self._deliver(row)
            except ZapPoolError as exc:  # the store closed under a request that outlived stop()
                log.debug("[Webhooks] resultado de %s não gravado (%s); será reenviada", row.id, exc.message)
            except Exception:  # noqa: BLE001 - a sender thread must survive anything
                log.exception("[Webhooks] erro inesperado ao entregar %s", row.id)
            finally:
                with self._lock:
                    self._busy[row.webhook_id] -= 1
                self._loop.kick()

    def _deliver(self, row: DeliveryRecord) -> None:
        """One attempt: sign, POST, record the outcome."""
        body = row.payload.encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   **delivery_headers(row.secret, row.id, row.event, row.attempts, int(self._clock()), body)}
        try:
            answer = self._transport(row.url, body, headers, self.policy.http_timeout_s)
        except Exception as exc:  # noqa: BLE001 - a transport bug must not leave the row "delivering"
            log.exception("[Webhooks] transporte falhou em %s", row.id)
            answer = Response(None, f"{type(exc).__name__} in ZapPool's transport")
        self._record(row, answer)

    def _record(self, row: DeliveryRecord, answer: Response) -> None:
        """Store the outcome of an attempt and log changes of a webhook's health once."""
        outcome = "failed" if answer.refused else verdict(answer.status)
        error = answer.error or f"HTTP {answer.status}"
        if outcome == "delivered":
            self._store.mark_delivered(row.id, answer.status or 0)
            if self._health(row.webhook_id, failing=False):
                log.info("[Webhooks] %s voltou a responder (%s)", row.webhook_id, _safe_url(row.url))
            return
        if outcome == "retry" and row.attempts < self.policy.max_attempts:
            delay = self._retry_delay(row.attempts, answer)
            self._store.mark_retry(row.id, answer.status, error, self._store.now_ms() + int(delay * 1000))
            if self._health(row.webhook_id, failing=True):
                log.warning("[Webhooks] %s (%s) falhando: %s; nova tentativa em %.1f s", row.webhook_id,
                            _safe_url(row.url), error, delay)
            return
        self._store.mark_failed(row.id, answer.status, error)
        log.warning("[Webhooks] entrega %s (%s) para %s desistida após %d tentativa(s): %s", row.id, row.event,
                    _safe_url(row.url), row.attempts, error)

    def _health(self, webhook_id: str, *, failing: bool) -> bool:
        """Note whether a webhook is failing; True when that is news (so it is logged once)."""
        with self._lock:
            if (webhook_id in self._failing) == failing:
                return False
            if failing:
                self._failing.add(webhook_id)
            else:
                self._failing.discard(webhook_id)
            return True

    def _retry_delay(self, attempts: int, answer: Response) -> float:
        """The receiver's Retry-After on 429/503 when it gave one, else backoff; both capped."""
        policy = self.policy
        if answer.status in (429, 503):
            hinted = retry_after_s(answer.retry_after, self._clock())
            if hinted is not None:
                return min(policy.cap_delay_s, hinted)
        return backoff_s(attempts, policy.base_delay_s, policy.cap_delay_s, self._rng)


def _safe_url(url: str) -> str:
    """The URL without its query string, which may carry a token, for the log."""
    return url.split("?", 1)[0]
