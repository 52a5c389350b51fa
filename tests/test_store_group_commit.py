"""Group commit in the message log (backend/store/sqlite_db.py, `Database.write_one`): statements that several
threads write at once (accepts from concurrent API requests, lanes' claims, mark_sent) share one transaction and
one fsync, and each caller still returns only once its own row is committed.

Real messages.db files; the writer lock is held by the test only to make the threads' arrival deterministic (the
way an fsync in progress holds it in the app).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from backend.store.message_schema import MessageRecord
from backend.store.messages import MessageStore
from backend.store.sqlite_engine import sqlite3  # the stores' SQLite: same locks, same exceptions
from tests.conftest import wait_until

TO = "5511988887777"


def _accept(store: MessageStore, message_id: str) -> MessageRecord:
    """What the outbox does for POST /messages: one durable INSERT."""
    return store.add_outgoing(message_id, client_id=None, to_number=TO, chat=f"{TO}@c.us", type="chat",
                              body=f"text {message_id}")


def _on_disk(path: Path, message_id: str) -> str | None:
    """The status a fresh connection reads for a message (None: not committed)."""
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()
    return row[0] if row else None


def _while_writer_busy(store: MessageStore, calls: dict[str, Any]) -> dict[str, Any]:
    """Run each call on its own thread while the writer lock is held (as during another commit's fsync), let go
    once all are queued, and return what each call returned or raised; also checks each caller's row was already
    committed when its call returned."""
    db = store.database
    results: dict[str, Any] = {}
    seen_on_return: dict[str, str | None] = {}

    def run(name: str, call: Any) -> None:
        try:
            results[name] = call()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            results[name] = exc
        seen_on_return[name] = _on_disk(store.path, name)

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    with db._lock:
        for thread in threads:
            thread.start()
        # every thread is queued (a build without the queue: every thread started, then blocked on the lock)
        wait_until(lambda: len(getattr(db, "_queue", calls)) == len(calls), timeout=5)
    for thread in threads:
        thread.join(5)
    results["_seen"] = seen_on_return
    return results


def test_accepts_arriving_together_are_committed_in_one_transaction_each_answered_once_on_disk(tmp_path: Path):
    """Eight API requests accepting at once while the writer is busy: one transaction (one fsync) for all eight,
    and each request gets its own message back only once that message is committed."""
    store = MessageStore(tmp_path / "messages.db")
    before = store.database.generation
    ids = [f"m{n}" for n in range(8)]
    results = _while_writer_busy(store, {i: (lambda i=i: _accept(store, i)) for i in ids})
    assert store.database.generation - before == 1, "one transaction for eight accepts"
    for message_id in ids:
        record = results[message_id]
        assert isinstance(record, MessageRecord) and record.id == message_id and record.status == "queued"
        assert record.body == f"text {message_id}"
        assert results["_seen"][message_id] == "queued", "answered before its row was committed"


def test_one_failing_statement_in_a_group_fails_only_its_caller(tmp_path: Path):
    """A message id accepted twice (a UNIQUE violation) among others written at once: that caller gets the error,
    every other message is stored."""
    store = MessageStore(tmp_path / "messages.db")
    _accept(store, "taken")
    calls = {f"m{n}": (lambda n=n: _accept(store, f"m{n}")) for n in range(4)}
    calls["again"] = lambda: _accept(store, "taken")
    results = _while_writer_busy(store, calls)
    assert isinstance(results["again"], sqlite3.IntegrityError)
    for n in range(4):
        assert isinstance(results[f"m{n}"], MessageRecord)
        assert _on_disk(store.path, f"m{n}") == "queued"


def test_a_group_with_a_durable_write_is_fsynced_even_if_the_others_need_not_be(tmp_path: Path):
    """mark_sent alone skips its fsync; queued with an accept it rides the accept's fsynced commit (the accept must
    never lose its fsync to the relaxed setting)."""
    store = MessageStore(tmp_path / "messages.db")
    _accept(store, "out")
    assert store.claim("out", "a") is not None
    committed_on: list[str] = []
    setting = [store.database._synchronous]  # the writer's synchronous setting as the trace follows it

    def trace(sql: str) -> None:
        if sql.startswith("PRAGMA synchronous ="):
            setting[0] = sql.rsplit(" ", 1)[1]
        elif sql == "COMMIT":
            committed_on.append(setting[0].lower())

    store.database._writer.set_trace_callback(trace)
    results = _while_writer_busy(store, {
        "sent": lambda: store.mark_sent("out", wa_id=f"true_{TO}@c.us_W1", chat=None, ack=1),
        "new": lambda: _accept(store, "new"),
    })
    assert results["sent"].status == "sent" and results["new"].status == "queued"
    assert committed_on == ["full"]


def test_concurrent_accepts_from_many_threads_all_stored_in_fewer_transactions(tmp_path: Path):
    """Many threads accepting at full speed: every message stored exactly once, in fewer transactions than
    messages (the commits' fsyncs overlap with the next statements arriving)."""
    store = MessageStore(tmp_path / "messages.db")
    threads, per_thread = 6, 40
    before = store.database.generation

    def burst(t: int) -> None:
        for n in range(per_thread):
            _accept(store, f"t{t}-{n}")

    workers = [threading.Thread(target=burst, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == threads * per_thread
    assert store.database.generation - before < threads * per_thread
