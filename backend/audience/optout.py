"""Opt-out by message: a contact who writes exactly one of the keywords ("SAIR", "PARAR", "STOP", "CANCELAR" by
default; compared without case, accents or spaces) is opted out at once, answered once with a confirmation from
the number that received it (through the outbox, so pacing and caps apply), and `contact.opted_out` goes to SSE
and the webhooks.

The pool's events arrive on the engine's thread, which must never wait on a disk: the listener only queues the
match, and a Worker records it, sends the reply and emits the event. A keyword from a phone already opted out
changes nothing and sends nothing (the reply goes once per opt-out).
"""

from __future__ import annotations

import logging
import queue
import unicodedata
from typing import Any

from ..clock import iso, utc_now
from ..drafts import text_draft
from ..errors import InvalidInput, ZapPoolError
from ..events.hub import ClientEvent
from ..outbox.outbox import Outbox
from ..store.audience import AudienceStore, OptOut
from ..worker import Worker
from ..whatsapp.pool import WhatsAppPool
from .importer import normalise_phone

log = logging.getLogger(__name__)
EVENT = "contact.opted_out"
DEFAULT_KEYWORDS = ["SAIR", "PARAR", "STOP", "CANCELAR"]
DEFAULT_REPLY = ("Pronto! Você não receberá mais nossas mensagens. Se mudar de ideia, é só nos escrever.")
MAX_KEYWORDS = 20
MAX_KEYWORD_CHARS = 30
MAX_REPLY_CHARS = 1_000


def folded(text: str) -> str:
    """Text compared without case, accents or spaces: " Cancelár " -> "cancelar"."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return "".join(plain.casefold().split())


class OptOutSettings:
    """The keywords and the confirmation text, kept in audience.db."""

    def __init__(self, store: AudienceStore):
        self.store = store

    def get(self) -> dict[str, Any]:
        """{keywords, reply}: the stored ones, else the defaults."""
        return {"keywords": self.store.setting("optout.keywords") or list(DEFAULT_KEYWORDS),
                "reply": self.store.setting("optout.reply") or DEFAULT_REPLY}

    def update(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change the keywords and/or the reply text; other fields are refused."""
        unknown = sorted(set(body) - {"keywords", "reply"})
        if unknown:
            raise InvalidInput(f"Unknown field {unknown[0][:64]!r}", details={"field": unknown[0][:64]})
        keywords, reply = body.get("keywords"), body.get("reply")
        if keywords is not None:
            if not isinstance(keywords, list) or not 0 < len(keywords) <= MAX_KEYWORDS or not all(
                    isinstance(k, str) and 0 < len(folded(k)) <= MAX_KEYWORD_CHARS for k in keywords):
                raise InvalidInput(f"keywords: 1 to {MAX_KEYWORDS} words of 1 to {MAX_KEYWORD_CHARS} characters",
                                   details={"field": "keywords"})
            self.store.set_setting("optout.keywords", [k.strip() for k in keywords])
        if reply is not None:
            if not isinstance(reply, str) or not reply.strip() or len(reply) > MAX_REPLY_CHARS:
                raise InvalidInput(f"reply: text of 1 to {MAX_REPLY_CHARS} characters", details={"field": "reply"})
            self.store.set_setting("optout.reply", reply.strip())
        return self.get()


class OptOutListener:
    """Watches incoming texts for a keyword; records, replies and announces off the engine's thread."""

    def __init__(self, store: AudienceStore, pool: WhatsAppPool, outbox: Outbox, settings: OptOutSettings):
        self.store, self.pool, self.outbox, self.settings = store, pool, outbox, settings
        self._queue: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._worker = Worker("audience-optout", self._step, error_pause_s=0)
        self._unsubscribe: Any = None

    def start(self) -> None:
        """Listen to incoming messages; the worker starts at the first keyword."""
        if self._unsubscribe is None:
            self._unsubscribe = self.pool.subscribe(self._on_message, {"message"})

    def stop(self) -> None:
        """Stop listening and end the worker."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._worker.stop()
        self._worker.join(5.0)

    def _on_message(self, event: ClientEvent) -> None:
        """Engine thread: a plain text from a contact (never a group) whose words are only a keyword, queued."""
        message = event.data.get("message")
        if not isinstance(message, dict) or message.get("type") not in (None, "chat"):
            return
        body, sender = message.get("body"), message.get("from")
        if not isinstance(body, str) or len(body) > 64 or not isinstance(sender, str) \
                or not sender.endswith("@c.us"):
            return
        self._queue.put((event.client_id, message))
        self._worker.start()
        self._worker.kick()

    def _step(self) -> float | None:
        """Worker: handle one queued message (waits up to a second for one)."""
        try:
            client_id, message = self._queue.get(timeout=1.0)
        except queue.Empty:
            return 0.0
        self.handle(client_id, message)
        return 0.0

    def handle(self, client_id: str, message: dict[str, Any]) -> bool:
        """Opt the sender out when the text is a keyword: True when this made a new opt-out."""
        keywords = {folded(k) for k in self.settings.get()["keywords"]}
        if folded(message.get("body") or "") not in keywords:
            return False
        try:
            phone = normalise_phone("+" + message["from"].removesuffix("@c.us"))
        except ValueError:
            return False
        msg_id = message.get("id") if isinstance(message.get("id"), str) else None
        item = OptOut(phone, iso(utc_now()) or "", "keyword", msg_id, client_id)
        if not self.store.opt_out(item):
            return False  # already out: no second confirmation
        log.info("[Pool] Contato %s pediu para sair (mensagem em %s)", phone, client_id)
        self._confirm(client_id, message["from"].removesuffix("@c.us"), phone)
        self.pool.events.emit(ClientEvent(client_id, EVENT, {"optOut": item.to_dict()}))
        return True

    def _confirm(self, client_id: str, chat_number: str, phone: str) -> None:
        """The confirmation, once, to the chat that asked (its own digits: WhatsApp's, maybe without the ninth)."""
        try:
            record = self.outbox.accept(text_draft(client_id, chat_number, self.settings.get()["reply"]))
            self.store.set_reply(phone, record.id)
        except ZapPoolError as exc:
            log.warning("[Pool] Confirmação de saída para %s não enviada: %s", phone, exc.message)
