"""A constructed message history for the report tests: messages written through MessageStore's public methods at
chosen times (its clock is injected), so each figure has one right answer worked out by hand."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from backend.reports import ReportService
from backend.store.messages import MessageStore
from backend.store.pg_messages import PgMessageStore
from backend.store.pg_reports import PgReportStore, SqliteStyle
from backend.store.reports import ReportStore

CUSTOMER = "5511999990001@c.us"
OTHER = "5511999990002@c.us"
GROUP = "120363000000000001@g.us"


def ms(when: str) -> int:
    """'2026-11-30T10:00' (UTC) as epoch ms."""
    return int(datetime.fromisoformat(when).replace(tzinfo=timezone.utc).timestamp() * 1000)


class History:
    """A message log and a pen to write it at chosen times (UTC): messages.db in a temp folder, or with `pg`
    (an open PgDatabase) the cluster's shared log on PostgreSQL, its report tables kept there (issue 20)."""

    def __init__(self, folder: Path, pg: Any = None):
        self.now = ms("2026-12-20T00:00") / 1000
        if pg is None:
            self.store = MessageStore(folder / "messages.db", clock=lambda: self.now)
            self.database, report_store = self.store.database, ReportStore(self.store.database)
        else:
            self.store = PgMessageStore(pg, clock=lambda: self.now)
            report_store = PgReportStore(pg)
            self.database = SqliteStyle(pg)
        self.reports = ReportService(report_store, clock=lambda: self.now)
        self._ids = itertools.count(1)

    def at(self, when: str) -> None:
        """Move the clock to a UTC time."""
        self.now = ms(when) / 1000

    def customer(self, when: str, chat: str = CUSTOMER, client: str = "n1", author: str | None = None) -> str:
        """A customer's message arrives at `when`; its ZapPool id."""
        self.at(when)
        n = next(self._ids)
        message: dict[str, Any] = {"from": chat, "id": f"false_{chat}_IN{n}", "body": f"msg {n}", "t": int(self.now)}
        if author:
            message["author"] = author
        self.store.add_incoming([(client, f"in{n}", message)])
        return f"in{n}"

    def business(self, when: str, chat: str = CUSTOMER, client: str = "n1") -> str:
        """The business sends a message that WhatsApp accepts at `when`; its ZapPool id (wa id = 'wa' + id)."""
        self.at(when)
        message_id = f"out{next(self._ids)}"
        self.store.add_outgoing(message_id, client_id=client, to_number=chat.split("@")[0], chat=chat, type="chat",
                                body="resposta")
        self.store.claim(message_id, client)
        self.store.mark_sent(message_id, wa_id=f"wa{message_id}", chat=chat, ack=1)
        return message_id

    def ack(self, when: str, message_id: str, ack: int, client: str = "n1") -> None:
        """WhatsApp's ack for a sent message (2 delivered, 3 read) at `when`."""
        self.at(when)
        self.store.apply_acks([(client, f"wa{message_id}", ack)])

    def failure(self, when: str, code: str, chat: str = OTHER, client: str = "n1") -> None:
        """A message that will not be sent, failed at `when` with `code`."""
        self.at(when)
        message_id = f"out{next(self._ids)}"
        self.store.add_outgoing(message_id, client_id=client, to_number=chat.split("@")[0], chat=chat, type="chat",
                                body="x")
        self.store.mark_failed(message_id, code, "why")

    def delete(self, message_id: str) -> None:
        """Remove a message from the log (what a retention sweep or the owner's own tool would do)."""
        with self.database.write() as conn:
            conn.execute("DELETE FROM messages WHERE id = ?", (message_id,))

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every report table, sorted, for comparing two ways of computing them."""
        read = self.database.read()
        tables = {t: f"SELECT * FROM {t}" for t in ("report_hours", "report_failures", "report_chats", "report_waits",
                                                    "report_buckets")}
        tables["report_wait_days"] = "SELECT * FROM report_wait_days WHERE n <> 0"  # emptied rows may stay
        return {t: sorted(tuple(r) for r in read.execute(sql)) for t, sql in tables.items()}
