"""The durable outbox: every outgoing message is on disk before it is attempted, then sent paced per number.

    enqueue_text/enqueue_media ──> messages.db (queued) ──> Lane(number) ──> Sender.deliver_* ──> sent
                 client_id None ──> Router ── pick_ready_client() ──┘            │ acks ──> delivered, read
                                                                                 └ error ──> retry | failed

The pool implements `Sender` and feeds the outbox what its clients report: `record_ack`, `record_incoming`
and `wake` when a number becomes ready. After a crash, `start()` queues again whatever was being sent,
flagged `possible_duplicate` (it may be out already): at most one message per number, the one in flight. Its
number looks for it on WhatsApp under the id chosen before the first attempt (key_id) and sends it only if
WhatsApp does not have it (sender.Attempt).
Threads: see outbox_workers.py.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from enum import Enum
from typing import Any

from ..drafts import Draft, media_draft, text_draft
from ..errors import ClientNotReady, Conflict, EngineTimeout, NotFound, ZapPoolError, stored_error
from ..status import MessageStatus
from ..store.media import MediaFiles
from ..store.message_schema import ChatSummary, MessageCounts, MessageRecord, Page
from ..store.limits import StoredLimits
from ..store.message_protocol import MessageLog
from ..validation import chat_of
from .caps import Caps, Hold, Limits
from .sender import NO_SENDER, Sender
from .event_log import EventLog
from .workers import Context, Lane, Pacing, RetryPolicy, Router, Worker

log = logging.getLogger(__name__)


class OutboxState(Enum):
    """An Outbox runs once: new -> starting (recovering what a crash left) -> running -> stopped."""

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"


class Outbox:
    """Accepts messages durably and sends them through the pool; also the reader of the message log."""

    def __init__(self, store: MessageLog, media: MediaFiles, *, pacing_s: float = 1.0,
                 jitter_s: float = 1.0, hourly_cap: int = 0, daily_cap: int = 0,
                 max_attempts: int = 5, retry_base_s: float = 2.0, retry_cap_s: float = 60.0,
                 idle_poll_s: float = 2.0, clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None):
        self.store = store
        self.sender: Sender = NO_SENDER  # start() gives the real one
        self.media = media
        _pacing(pacing_s, jitter_s)  # checked
        # Each number's pacing and caps (caps.py): set per number (kept in messages.db), else these defaults.
        self.caps = Caps(store.limit_store(), Limits(float(pacing_s), float(jitter_s), hourly_cap, daily_cap))
        # Called with (client id, Hold, the record held) when a number's cap holds a message (the pool emits
        # `rate_limited`); once per message and window, from the lane's thread, so it must not block.
        self.on_held: Callable[[str, Hold, MessageRecord], None] | None = None
        self._lanes: dict[str, Lane] = {}
        self._waiters: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._state = OutboxState.NEW
        # Called with the fresh record after a message is queued, sent, failed, delivered or read (the pool
        # sets it); from the thread that made the change, so it must not block. It may run twice for one
        # change or see a later status than the one that prompted it: see events.MessageLifecycle.
        self.on_change: Callable[[MessageRecord], None] | None = None
        self._events = EventLog(store, on_acked=self._changed_ids)
        self._ctx = Context(store=store, sender=self.sender, media=self.media, clock=clock, rng=rng or random.Random(),
                            retry=RetryPolicy(max_attempts, retry_base_s, retry_cap_s), idle_poll_s=idle_poll_s,
                            pacing_for=self.pacing_for, lane_for=self._lane, kick_router=self._kick_router,
                            finished=self._finished, events=self._events, caps=self.caps, held=self._held)
        self._router = Router(self._ctx)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self, sender: Sender) -> None:
        """Recover what a crash left behind, then send through `sender` (the pool) from worker threads (an
        Outbox runs once)."""
        with self._lock:
            if self._state != OutboxState.NEW:
                return
            self.sender = self._ctx.sender = sender
            self._state = OutboxState.STARTING  # lanes made meanwhile wait: nothing may claim before the recovery
        for record in self.store.recover_in_flight():
            log.warning("[Outbox] mensagem %s para %s estava em envio quando o ZapPool parou: %s procura por "
                        "ela no WhatsApp antes de reenviar", record.id, record.to_number, record.client_id)
        if self.store.set_aside_as is None:  # else the files belong to the messages in the set-aside file
            self.media.sweep(self.store.pending_ids())
        for client_id in self.store.pending_clients():
            self._lane(client_id)
        with self._lock:
            if self._state != OutboxState.STARTING:
                return  # stopped meanwhile
            self._state = OutboxState.RUNNING
            workers: list[Worker] = [self._events, self._router, *self._lanes.values()]
        for worker in workers:
            worker.start()
        log.info("[Outbox] iniciado: %d mensagem(ns) na fila", self.store.totals().pending)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop taking work; the message in flight on each number finishes, or is left for the next start."""
        deadline = time.monotonic() + timeout
        with self._lock:
            running, self._state = self._state == OutboxState.RUNNING, OutboxState.STOPPED
            senders: list[Worker] = [self._router, *self._lanes.values()]
        if not running:
            return True
        for worker in senders:
            worker.stop()
        stopped = all([w.join(deadline - time.monotonic()) for w in senders])  # join every one, not the first
        self._events.flush(max(0.1, deadline - time.monotonic()))
        self._events.stop()
        stopped = self._events.join(deadline - time.monotonic()) and stopped
        if not stopped:
            log.warning("[Outbox] parado com envio em andamento: fica como 'sending'; no próximo início é "
                        "procurado no WhatsApp e reenviado só se não estiver lá")
        return stopped

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until the acks and incoming messages reported so far are in the log."""
        return self._events.flush(timeout)

    # -- accepting -------------------------------------------------------------------------------------

    def enqueue(self, draft: Draft) -> str:
        """Accept a checked message (draft.client_id None: any ready number); returns its id at once."""
        return self._accept(draft).id

    def accept(self, draft: Draft) -> MessageRecord:
        """enqueue(), answering the message as accepted (what the API shows) rather than only its id."""
        return self._accept(draft)

    def accept_once(self, message_id: str, draft: Callable[[], Draft]) -> tuple[MessageRecord, bool]:
        """accept() under an id the caller derives (a scheduled occurrence), once: a later call with that id (after
        a crash) returns the message as it is, accepts nothing; `draft()` only if needed. True: accepted now."""
        existing = self.store.get(message_id)
        if existing is not None:
            return existing, False
        return self._accept(draft(), message_id), True

    def send_and_wait(self, draft: Draft, timeout: float = 60.0) -> MessageRecord:
        """Send and return once WhatsApp has it (the seed's send); raises the failure's error if it failed."""
        return self._send_and_wait(draft, timeout)

    # For Python callers with raw input: each builds the Draft (drafts.py) and goes the same way.

    def enqueue_text(self, client_id: str | None, to: str, text: str) -> str:
        """enqueue() of a text message."""
        return self._accept(text_draft(client_id, to, text)).id

    def enqueue_media(self, client_id: str | None, to: str, media: dict[str, Any],
                      options: dict[str, Any] | None = None) -> str:
        """enqueue() of media {mimetype, data (base64), filename}; options: caption, filename, sendAudioAsVoice..."""
        return self._accept(media_draft(client_id, to, media, options)).id

    def send_text_and_wait(self, client_id: str | None, to: str, text: str, timeout: float = 60.0) -> MessageRecord:
        """send_and_wait() of a text message."""
        return self._send_and_wait(text_draft(client_id, to, text), timeout)

    def send_media_and_wait(self, client_id: str | None, to: str, media: dict[str, Any],
                            options: dict[str, Any] | None = None, timeout: float = 120.0) -> MessageRecord:
        """send_and_wait() of media."""
        return self._send_and_wait(media_draft(client_id, to, media, options), timeout)

    def _accept(self, draft: Draft, message_id: str | None = None) -> MessageRecord:
        """Write the media file, then the row: once this returns, the message will be sent or failed."""
        if self._state == OutboxState.STOPPED:
            raise Conflict("The outbox is shutting down: messages are not accepted now")
        message_id = message_id or uuid.uuid4().hex
        if draft.data is not None:
            self.media.write(message_id, draft.data)
        try:
            record = self.store.add_outgoing(message_id, client_id=draft.client_id, to_number=draft.number,
                                             chat=chat_of(draft.number), type=draft.type, body=draft.body,
                                             media=draft.media, tag=draft.tag)
        except BaseException:
            self.media.delete(message_id)
            raise
        self._changed(record)
        if draft.client_id is None:
            self._kick_router()
        else:
            self._lane(draft.client_id).kick()
        return record

    def _send_and_wait(self, draft: Draft, timeout: float) -> MessageRecord:
        """Refuse when nothing could send now (as the seed does), else accept and wait for the outcome."""
        self._require_sender(draft.client_id)
        message_id = uuid.uuid4().hex
        done = threading.Event()
        with self._lock:
            self._waiters[message_id] = done
        try:
            self._accept(draft, message_id)
            if not done.wait(timeout):
                self._give_up(message_id, timeout)
        finally:
            with self._lock:
                self._waiters.pop(message_id, None)
        record = self.get(message_id)
        if record.status == MessageStatus.FAILED:
            raise self.error_of(record)
        return record

    def _require_sender(self, client_id: str | None) -> None:
        """ClientNotReady when the number asked for (or every number) cannot send right now."""
        if client_id is not None and not self.sender.client_ready(client_id):
            raise ClientNotReady(f"Client {client_id} is not ready", details={"clientId": client_id})
        if client_id is None and not self.sender.any_ready_client():
            raise ClientNotReady("No number is ready to send")

    def _give_up(self, message_id: str, timeout: float) -> None:
        """A synchronous send ran out of time: cancel it if it has not started, else say it may still go."""
        reason = f"Not sent within {timeout:g} s; cancelled"
        if self.store.cancel_queued(message_id, EngineTimeout.code, reason):
            self._finished(self.get(message_id))
            raise EngineTimeout(reason, details={"messageId": message_id})
        record = self.get(message_id)
        if not record.finished:
            raise EngineTimeout(f"Still sending after {timeout:g} s: it may yet be sent",
                                details={"messageId": message_id, "status": record.status})

    def error_of(self, record: MessageRecord) -> ZapPoolError:
        """The stored failure as the ZapPoolError it was."""
        return stored_error(record.error_code, record.reason or "The message was not sent",
                            {"messageId": record.id, "clientId": record.client_id, "to": record.to_number})

    # -- workers' callbacks ------------------------------------------------------------------------------

    def pacing_for(self, client_id: str) -> Pacing:
        """The pacing of one number."""
        limits = self.caps.limits_for(client_id)
        return Pacing(limits.interval_s, limits.jitter_s)

    def set_pacing(self, client_id: str, interval_s: float, jitter_s: float) -> None:
        """Change one number's pacing (from its next send on), keeping its caps."""
        _pacing(interval_s, jitter_s)
        self.caps.set_pacing(client_id, float(interval_s), float(jitter_s))

    def set_limits(self, client_id: str, limits: StoredLimits) -> Limits:
        """Change one number's pacing and caps (None: the default), kept across restarts; its queue looks again
        at once (a raised cap lets a held message go now)."""
        _pacing(limits.interval_s or 0.0, limits.jitter_s or 0.0)
        effective = self.caps.set(client_id, limits)
        self.wake(client_id)
        return effective

    def _held(self, client_id: str, hold: Hold, message_id: str) -> None:
        """A lane holds a message for its number's cap: show the reason (on_change) and tell on_held."""
        record = self.store.get(message_id)
        if record is not None:
            self._changed(record)
        callback = self.on_held
        if callback is not None and record is not None:
            try:
                callback(client_id, hold, record)
            except Exception:  # noqa: BLE001 - a listener's problem must not stop a lane
                log.exception("[Outbox] on_held falhou para %s", client_id)

    def _lane(self, client_id: str) -> Lane:
        """The lane of a number, made (and started, if running) on first use."""
        with self._lock:
            lane = self._lanes.get(client_id)
            if lane is None:
                lane = self._lanes[client_id] = Lane(client_id, self._ctx)
                if self._state == OutboxState.RUNNING:
                    lane.start()
            return lane

    def _kick_router(self) -> None:
        """An auto-routed message or a free number appeared."""
        self._router.kick()

    def _finished(self, record: MessageRecord) -> None:
        """Sent or failed (`record` as it is now): keep or drop its media file, tell on_change, wake any waiter."""
        if record.media is not None:
            self.media.finish(record.id)
        self._changed(record)
        with self._lock:
            done = self._waiters.get(record.id)
        if done is not None:
            done.set()

    def _changed(self, record: MessageRecord) -> None:
        """Hand the message as it is now to on_change; a failing callback is logged, never raised."""
        callback = self.on_change
        if callback is None:
            return
        try:
            callback(record)
        except Exception:  # noqa: BLE001 - a listener's problem must not fail a send
            log.exception("[Outbox] on_change falhou para a mensagem %s", record.id)

    def _changed_ids(self, message_ids: list[str]) -> None:
        """on_change for the messages acks moved forward, read as they are now in one query."""
        if self.on_change is not None and message_ids:
            for record in self.store.get_many(message_ids):
                self._changed(record)

    # -- what the pool reports -------------------------------------------------------------------------

    def record_ack(self, client_id: str, wa_message_id: str, ack: int) -> None:
        """WhatsApp's ack for a message (2 delivered, 3 read); never moves a message backwards."""
        if isinstance(wa_message_id, str) and isinstance(ack, int) and not isinstance(ack, bool):
            self._events.put(("ack", client_id, wa_message_id, ack))

    def record_incoming(self, client_id: str, message: dict[str, Any]) -> None:
        """Log a message a number received (WhatsAppClient's `message` event)."""
        if isinstance(message, dict) and not message.get("fromMe"):
            self._events.put(("in", client_id, uuid.uuid4().hex, message))

    def known_incoming(self, client_id: str, wa_ids: list[str]) -> set[str]:
        """Of these WhatsApp ids, those of messages this number received that are in the log already."""
        return self.store.known_incoming(client_id, wa_ids)

    def wake(self, client_id: str, *, follow: bool = False) -> None:
        """A number became ready: its messages can go; `follow`: run its lane even if none was queued here (cluster)."""
        with self._lock:
            lane = self._lanes.get(client_id)
        lane = self._lane(client_id) if lane is None and follow else lane
        if lane is not None:
            lane.kick()
        self._kick_router()

    def forget_client(self, client_id: str, reason: str | None = None) -> int:
        """A number was removed: fail what was queued for it (auto-routed ones go elsewhere); returns how many."""
        with self._lock:
            lane = self._lanes.pop(client_id, None)
        if lane is not None:
            lane.stop()  # a message in flight still finishes
        why = reason or f"Client {client_id} was removed before sending this message"
        failed = self.store.fail_queued_for(client_id, NotFound.code, why)
        self.caps.forget(client_id)  # a number added later under the same id starts from the defaults
        for record in failed:
            self._finished(record)
        self._kick_router()
        return len(failed)

    # -- reads -----------------------------------------------------------------------------------------

    def received(self, client_id: str, wa_id: str) -> MessageRecord | None:
        """A message this number received, by WhatsApp's id, or None."""
        return self.store.received(client_id, wa_id)

    def get(self, message_id: str) -> MessageRecord:
        """One message by id; NotFound if there is none."""
        record = self.store.get(message_id)
        if record is None:
            raise NotFound(f"No message with id {message_id}", details={"messageId": message_id})
        return record

    def list_messages(self, *, client_id: str | None = None, chat: str | None = None, direction: str | None = None,
                      since: int | None = None, until: int | None = None, cursor: str | None = None,
                      limit: int = 50) -> Page:
        """Messages newest first, filtered; since/until in epoch ms; pass `next_cursor` back for more."""
        return self.store.list_messages(client_id=client_id, chat=chat, direction=direction, since=since,
                                        until=until, cursor=cursor, limit=limit)

    def list_chats(self, client_id: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """A number's conversations, most recent first (items are ChatSummary)."""
        return self.store.list_chats(client_id, cursor=cursor, limit=limit)

    def chat_messages(self, client_id: str, chat: str, *, cursor: str | None = None, limit: int = 50) -> Page:
        """The messages of one conversation, newest first."""
        return self.store.chat_messages(client_id, chat, cursor=cursor, limit=limit)

    def counts(self) -> dict[str, MessageCounts]:
        """Per number: sent (the seed's messageCount), received, pending, failed."""
        return self.store.counts()

    def totals(self) -> MessageCounts:
        """All numbers together (the seed's totalMessages is `sent`)."""
        return self.store.totals()

    def mark_chat_read(self, client_id: str, chat: str) -> int:
        """Mark a conversation's incoming messages read."""
        return self.store.mark_chat_read(client_id, chat)


def _pacing(interval_s: float, jitter_s: float) -> Pacing:
    """A checked Pacing."""
    if interval_s < 0 or jitter_s < 0:
        raise ValueError("pacing and jitter are seconds >= 0")
    return Pacing(float(interval_s), float(jitter_s))


__all__ = ["ChatSummary", "Limits", "MessageCounts", "MessageRecord", "Outbox", "Page", "Pacing", "Sender",
           "StoredLimits"]
