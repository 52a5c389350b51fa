"""The outbox's threads (each a backend.worker.Worker): one lane per number (pacing, sending, retries) and the
router; the event log is in event_log.py.

A lane sends its number's queue strictly in order, one message at a time: WhatsAppClient's send methods
block until WhatsApp has the message, and order matters to whoever reads the chat. The router hands
auto-routed messages to ready numbers one at a time, at send time, so a number that goes down holds at most
one of them (and gives it back); a number without pacing that finishes one claims the next itself, with no
router hand-off. The event log writes acks and incoming messages off the engine thread,
which delivers them and must not wait for a disk.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..clock import backoff_s
from ..drafts import MediaFile
from ..errors import BrowserClosed, ClientNotReady, EngineTimeout, InvalidInput, InvalidMedia, NotFound, ZapPoolError
from ..status import Routing
from ..store.media import MediaFiles
from ..store.message_schema import MessageRecord
from ..store.message_protocol import MessageLog
from ..validation import PhoneNumber
from ..worker import Worker
from .caps import RATE_LIMITED, Caps, Hold
from .event_log import EventLog
from .sender import Attempt, Sender

log = logging.getLogger(__name__)

# Errors that will not go away by trying again.
PERMANENT = (InvalidInput, NotFound)
# Errors after which the message may have reached WhatsApp anyway: a retry may send it twice.
AMBIGUOUS = (EngineTimeout, BrowserClosed)


class Outcome(Enum):
    """What one attempt at a message came to."""

    SENT = "sent"            # WhatsApp has it
    FAILED = "failed"        # will not be sent
    RETRY = "retry"          # a transient failure: tried again after a backoff
    NOT_READY = "not_ready"  # the number was not ready: nothing reached the page, not an attempt


@dataclass(frozen=True)
class Pacing:
    """Per-number gap between sends: `interval_s` plus a random 0..`jitter_s`, so bursts look human."""

    interval_s: float = 1.0
    jitter_s: float = 1.0

    def gap(self, rng: random.Random) -> float:
        """The wait before this number's next send."""
        return self.interval_s + (rng.uniform(0, self.jitter_s) if self.jitter_s > 0 else 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures: exponential backoff with jitter, then failed after `max_attempts`."""

    max_attempts: int = 5
    base_s: float = 2.0
    cap_s: float = 60.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds before attempt `attempt + 1` (clock.backoff_s: half of the doubled delay fixed, half random)."""
        return backoff_s(attempt, self.base_s, self.cap_s, rng.random)


@dataclass
class Context:
    """What the workers share; built by Outbox."""

    store: MessageLog
    sender: Sender
    media: MediaFiles
    clock: Callable[[], float]
    rng: random.Random
    retry: RetryPolicy
    idle_poll_s: float
    pacing_for: Callable[[str], Pacing]
    lane_for: Callable[[str], Lane]
    kick_router: Callable[[], None]
    finished: Callable[[MessageRecord], None]
    events: EventLog
    caps: Caps
    held: Callable[[str, Hold, str], None]  # (client, hold, message id): a cap holds that message

    def ms(self, seconds: float) -> int:
        """Clock seconds as the store's epoch milliseconds (rounded down: "now")."""
        return int(seconds * 1000)

    def due_ms(self, seconds: float) -> int:
        """A future moment in epoch milliseconds, rounded up so a retry never comes early."""
        return math.ceil(seconds * 1000)


class Lane(Worker):
    """One number's sender: oldest queued message first, paced, only while the number is ready."""

    def __init__(self, client_id: str, ctx: Context):
        super().__init__(f"outbox-{client_id}")
        self.client_id = client_id
        self.ctx = ctx
        self.next_send_at = 0.0
        self._parked = False
        self._held: tuple[str, float] | None = None  # (message, window end) last said to be held
        self._maybe_work = True  # False once a look found the queue empty, True again at the next kick
        # Unpaced and just done with an auto-routed message: the epoch ms it was claimed at, to take the next one
        # accepted before then (a backlog) itself; None: the router hands them out (its round-robin).
        self._chain: int | None = None

    def kick(self) -> None:
        """A message for this number, or the number is ready again: look now."""
        self._maybe_work = True
        super().kick()

    def step(self) -> float:
        """Send the next message if it is due and the number is ready; else how long to wait."""
        ctx = self.ctx
        now = ctx.clock()
        if self.next_send_at > now:
            return self.next_send_at - now  # pacing: nothing to read before then
        # The usual case in one statement (asking readiness must not wake a sleeping number with nothing to send);
        # an idle lane's polls only read.
        if (self._maybe_work and ctx.sender.client_ready(self.client_id, wake=False)
                and ctx.caps.hold_for(self.client_id, now) is None):
            claimed = ctx.store.claim_next(self.client_id, ctx.ms(now))
            if claimed is not None:
                self._resume()
                self._send(claimed)
                return 0.0
        elif self._chain is not None and self._take_auto(now):
            return 0.0
        return self._look(ctx.clock())

    def _take_auto(self, now: float) -> bool:
        """An unpaced lane that just sent an auto-routed message claims the next due one that was already waiting
        when it claimed that one (a backlog) itself, in one statement: no router step, assign and kick per
        message (issue 15, item 1). A message accepted later goes through the router's round-robin, as do all
        when the lane cannot take one (not ready, a cap): the chain ends and the router is told."""
        ctx = self.ctx
        accepted_before, self._chain = self._chain, None
        if not ctx.sender.client_ready(self.client_id, wake=False) or ctx.caps.hold_for(self.client_id, now):
            ctx.kick_router()
            return False
        claimed = ctx.store.claim_auto(self.client_id, ctx.ms(now), accepted_before or 0)
        if claimed is None:
            ctx.kick_router()  # one accepted since, or none: the router's round-robin decides
            return False
        self._resume()
        self._send(claimed)
        return True

    def _look(self, now: float) -> float:
        """Nothing claimed at once: read the next message to say why (none, not due, number down, a cap)."""
        ctx = self.ctx
        row = ctx.store.next_for_client(self.client_id)
        self._maybe_work = row is not None
        if row is None:
            return 0.0 if self._chain is not None and self._take_auto(now) else ctx.idle_poll_s
        wait = max(row.next_attempt_at / 1000 - now, self.next_send_at - now)
        if wait > 0:
            return wait
        if not ctx.sender.client_ready(self.client_id):
            return self._park()
        hold = ctx.caps.hold_for(self.client_id, now)
        if hold is not None:
            return self._hold(row, hold, now)
        self._resume()
        claimed = ctx.store.claim(row.id, self.client_id)
        if claimed is not None:
            self._send(claimed)
        return 0.0

    def _resume(self) -> None:
        """Say once that a parked number sends again."""
        if self._parked:
            self._parked = False
            log.info("[Outbox] %s pronto de novo: retomando a fila", self.client_id)

    def _hold(self, row: MessageRecord, hold: Hold, now: float) -> float:
        """The number is at a cap: its next message waits for the window's end with the reason on its record
        (said once per message and window); an auto-routed one goes back to the router for another number."""
        ctx = self.ctx
        if row.routing == Routing.AUTO and ctx.store.release_auto(self.client_id):
            ctx.kick_router()
        elif (row.id, hold.until) != self._held:
            self._held = (row.id, hold.until)
            if ctx.caps.store.note_held(row.id, RATE_LIMITED, hold.reason):
                log.info("[Outbox] %s", hold.reason)
                ctx.held(self.client_id, hold, row.id)
        return max(0.001, hold.until - now)

    def _park(self) -> float:
        """The number is not ready: its pinned messages wait, auto-routed ones go back to the router."""
        if self.ctx.store.release_auto(self.client_id):
            self.ctx.kick_router()
        if not self._parked:
            self._parked = True
            log.info("[Outbox] %s não está pronto: mensagens aguardando a reconexão", self.client_id)
        return self.ctx.idle_poll_s

    def _send(self, row: MessageRecord) -> None:
        """Deliver a claimed message and record what happened; pace the next one."""
        ctx = self.ctx
        pacing = ctx.pacing_for(self.client_id)
        chain = row.routing == Routing.AUTO and pacing.interval_s <= 0 and pacing.jitter_s <= 0
        if row.routing == Routing.AUTO and not chain:
            ctx.kick_router()  # this lane can hold another auto-routed message behind its pacing now
        outcome = deliver(ctx, row, self.client_id)
        self._chain = row.updated_at if chain and outcome in (Outcome.SENT, Outcome.FAILED) else None
        if outcome == Outcome.NOT_READY:
            self.next_send_at = ctx.clock() + ctx.idle_poll_s  # trust client_ready() again only after a pause
        else:
            self.next_send_at = ctx.clock() + ctx.pacing_for(self.client_id).gap(ctx.rng)


def deliver(ctx: Context, row: MessageRecord, client_id: str) -> Outcome:
    """One attempt at a claimed message, and what came of it."""
    try:
        receipt = _hand_to_client(ctx, row, client_id)
    except ClientNotReady as exc:
        # Refused before anything reached the page: not an attempt, and never a duplicate.
        ctx.store.retry_later(row.id, next_attempt_at=0, code=exc.code, reason=exc.message, uncount=True,
                              release=not row.possible_duplicate)
        ctx.kick_router()
        return Outcome.NOT_READY
    except PERMANENT as exc:
        _fail(ctx, row, exc.code, exc.message)
        return Outcome.FAILED
    except Exception as exc:  # noqa: BLE001 - anything else is worth another try
        return _transient(ctx, row, exc)
    sent = ctx.store.mark_sent(row.id, wa_id=receipt.get("id"), chat=receipt.get("to"), ack=receipt.get("ack"))
    if receipt.get("id"):
        ctx.events.after_sent(client_id, receipt["id"])
    if receipt.get("found"):
        log.info("[Outbox] %s já estava no WhatsApp de %s (%s): não foi enviada de novo", row.id, client_id,
                 receipt.get("id"))
    else:
        log.debug("[Outbox] %s enviada por %s (%s)", row.id, client_id, receipt.get("id"))
    ctx.finished(sent or ctx.store.get(row.id) or row)  # None: no longer 'sending' (its number was removed)
    return Outcome.SENT


def _hand_to_client(ctx: Context, row: MessageRecord, client_id: str) -> dict[str, Any]:
    """Call the pool's delivery for text or media."""
    # Every attempt sends under the id chosen at the first claim; one that may be out already (after a crash or
    # a timeout) is first looked for under it, and not sent again if WhatsApp has it.
    attempt = Attempt(key_id=row.key_id, look_first=row.possible_duplicate)
    to = PhoneNumber(row.to_number or "")  # checked when it was accepted
    if row.media is None:
        return ctx.sender.deliver_text(client_id, to, row.body or "", attempt)
    media = MediaFile(_media_bytes(ctx, row), row.media["mimetype"], row.type, row.media.get("filename"))
    return ctx.sender.deliver_media(client_id, to, media, dict(row.media.get("options") or {}), attempt)


def _media_bytes(ctx: Context, row: MessageRecord) -> bytes:
    """The bytes accepted for a media message, exactly: a file cut short, emptied or overwritten on disk since
    is refused (InvalidMedia, so the message fails) rather than sent broken to the contact."""
    try:
        data = ctx.media.read(row.id)
    except FileNotFoundError:
        raise InvalidMedia(f"The media file of message {row.id} is missing from {ctx.media.folder}") from None
    size, digest = row.media.get("size"), row.media.get("sha256")  # rows from before sha256 have only a size
    if (isinstance(size, int) and len(data) != size) or (digest and hashlib.sha256(data).hexdigest() != digest):
        accepted = f"{size:,}" if isinstance(size, int) else "?"
        raise InvalidMedia(f"The media file of message {row.id} is damaged ({len(data):,} bytes on disk, "
                           f"{accepted} accepted, or other bytes): it was not sent")
    return data


def _fail(ctx: Context, row: MessageRecord, code: str, reason: str) -> None:
    """The message will not be sent."""
    ctx.store.mark_failed(row.id, code, reason)
    log.warning("[Outbox] mensagem %s para %s falhou: %s", row.id, row.to_number, reason)
    ctx.finished(ctx.store.get(row.id) or row)


def _transient(ctx: Context, row: MessageRecord, exc: Exception) -> Outcome:
    """Back off and retry, or give up after max_attempts."""
    attempts = row.attempts  # the row as claimed: this attempt counted
    code = exc.code if isinstance(exc, ZapPoolError) else "internal"
    reason = exc.message if isinstance(exc, ZapPoolError) else f"{type(exc).__name__}: {exc}"
    if attempts >= ctx.retry.max_attempts:
        _fail(ctx, row, code, f"gave up after {attempts} attempts: {reason}")
        return Outcome.FAILED
    delay = ctx.retry.delay(attempts, ctx.rng)
    ambiguous = isinstance(exc, AMBIGUOUS) or not isinstance(exc, ZapPoolError)
    # One that may be out already stays with its number, the only one that can look for it before sending again.
    ctx.store.retry_later(row.id, next_attempt_at=ctx.due_ms(ctx.clock() + delay), code=code, reason=reason,
                          possible_duplicate=ambiguous, release=not (ambiguous or row.possible_duplicate))
    log.warning("[Outbox] mensagem %s: %s; nova tentativa em %.1f s (%d/%d)", row.id, reason, delay, attempts,
                ctx.retry.max_attempts)
    if row.routing == Routing.AUTO:
        ctx.kick_router()
    return Outcome.RETRY


class Router(Worker):
    """Gives each auto-routed message to the next ready number (the pool's round-robin), when it is due."""

    def __init__(self, ctx: Context):
        super().__init__("outbox-router")
        self.ctx = ctx
        self._stalled = False
        self._held: tuple[str, float] | None = None  # (message, window end) last said to be held

    def step(self) -> float:
        """Route the oldest due message; else how long until one is due."""
        ctx = self.ctx
        now = ctx.clock()
        message_id, busy = ctx.store.next_auto(ctx.ms(now))  # busy: one waiting auto message per number at a time
        if message_id is None:
            due = ctx.store.auto_due_at()
            return ctx.idle_poll_s if due is None else min(ctx.idle_poll_s, max(0.001, due / 1000 - now))
        client_id, hold = self._pick(busy, now)
        if client_id is None and hold is not None:
            return self._all_capped(message_id, hold, now)
        if client_id is None:
            if not self._stalled:
                self._stalled = True
                log.info("[Outbox] nenhum número livre e pronto para mensagens sem número definido")
            return ctx.idle_poll_s
        self._stalled = False
        if not ctx.store.assign(message_id, client_id):
            return 0.0
        ctx.lane_for(client_id).kick()
        # Every ready number holding one now: wait for a kick (a lane taking its message, a new message, a number
        # becoming ready) rather than step again at once only to find none free (that was ~1 step per message).
        return 0.0 if ctx.sender.ready_client_besides(busy | {client_id}) else ctx.idle_poll_s


    def _pick(self, busy: frozenset[str], now: float) -> tuple[str | None, tuple[str, Hold] | None]:
        """The next ready number in the pool's round-robin that is neither busy nor at a cap; else None, with the
        capped number whose window ends first when caps are why (else None)."""
        skip, first = set(busy), None
        while True:
            client_id = self.ctx.sender.pick_ready_client(frozenset(skip))
            if client_id is None or client_id in skip:
                return None, first
            hold = self.ctx.caps.hold_for(client_id, now)
            if hold is None:
                return client_id, None
            if first is None or hold.until < first[1].until:
                first = (client_id, hold)
            skip.add(client_id)

    def _all_capped(self, message_id: str, capped: tuple[str, Hold], now: float) -> float:
        """Every free ready number is at a cap: the message waits, saying so once per window."""
        client_id, hold = capped
        if (message_id, hold.until) != self._held and self.ctx.caps.store.note_held(message_id, RATE_LIMITED,
                                                                                     hold.reason):
            self._held = (message_id, hold.until)
            log.info("[Outbox] mensagem %s sem número definido: todos no limite; %s", message_id, hold.reason)
            self.ctx.held(client_id, hold, message_id)
        return min(self.ctx.idle_poll_s, max(0.001, hold.until - now))
