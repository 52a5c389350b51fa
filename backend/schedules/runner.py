"""The schedules' worker: each due occurrence goes into the durable outbox exactly once, crash or not.

Two files take part, schedules.db and messages.db, and no transaction spans both. So the order does the work:

1. the occurrence's message goes into the outbox under an id derived from the schedule and the occurrence
   (`occurrence_id`); the outbox accepts an id once (`Outbox.accept_once`), so doing it again is a no-op;
2. then the schedule moves on (`ScheduleStore.advance`: the run recorded and the next occurrence set, in one
   transaction).

A crash between 1 and 2 leaves the schedule at the occurrence whose message is already queued (or sent): the next
start does 1 again, finds the message, and only does 2. A crash before 1 leaves nothing to undo. Either way the
occurrence is sent once.

Missed occurrences (ZapPool closed, the machine asleep): one handled more than ON_TIME_S late was missed. With
`missed: "send"` it is sent late while within the schedule's grace window, and skipped beyond it; with
`missed: "skip"` it is skipped. A skip is recorded as a run (`skipped`, how late), visible in the schedule's
lastRuns. The worker sleeps until the next occurrence due (at most IDLE_S, so a clock that jumps is noticed),
and is kicked when a schedule is made, changed or cancelled.

In a cluster (issue 20) every node runs this worker over the cluster's schedules (store/pg_schedules.py), each
firing only its share: the schedules of the numbers it drives (`mine`), and those of no number in particular.
Two nodes reaching the same occurrence queue it once: the firing holds the cluster's lock (`guard`), and the
occurrence's message id is the same on every node.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from datetime import datetime

from ..drafts import Draft
from ..errors import ZapPoolError
from ..outbox.outbox import Outbox
from ..store.schedules import Run, ScheduleStore, StoredSchedule
from ..worker import Worker
from . import timing

log = logging.getLogger(__name__)
IDLE_S = 60.0
BATCH = 50  # due schedules per step
SKIP_BATCH = 1000  # missed occurrences recorded per write
_IDS = uuid.UUID("6f0c53c4-7a55-4d1e-9a3e-5c1d2b8e0a17")  # the namespace of occurrence ids


def occurrence_id(schedule_id: str, occurrence_ms: int) -> str:
    """The outbox message id of one occurrence: the same every time it is asked for (32 hex digits, like the
    outbox's own ids)."""
    return uuid.uuid5(_IDS, f"{schedule_id}@{occurrence_ms}").hex


def epoch_ms(moment: datetime) -> int:
    """An aware datetime as epoch milliseconds."""
    return int(moment.timestamp() * 1000)


class ScheduleRunner(Worker):
    """Sends what is due; one thread (a Worker), holding the store's `guard` as the edits do, so a cancel and a
    firing never cross. `mine`: the numbers whose schedules this process fires (None: every schedule)."""

    def __init__(self, store: ScheduleStore, outbox: Outbox, draft_of: Callable[[StoredSchedule], Draft],
                 guard: Callable[[], AbstractContextManager[None]], clock: Callable[[], datetime],
                 mine: Callable[[], Collection[str] | None] = lambda: None):
        super().__init__("schedules")
        self._store = store
        self._outbox = outbox
        self._draft_of = draft_of
        self._guard = guard
        self._clock = clock
        self._mine = mine

    def step(self) -> float:
        """Handle what is due now; sleep until the next occurrence (or IDLE_S)."""
        now_ms = epoch_ms(self._clock())
        due = self._store.due(now_ms, BATCH, self._mine())
        for schedule in due:
            self.handle(schedule.id, now_ms)
        if len(due) == BATCH:
            return 0.0
        upcoming = self._store.next_due(self._mine())
        if upcoming is None:
            return IDLE_S
        return min(IDLE_S, max(0.0, (upcoming - epoch_ms(self._clock())) / 1000))

    def handle(self, schedule_id: str, now_ms: int) -> None:
        """One due schedule: its occurrence sent (on time, or late within grace) or skipped as missed."""
        with self._guard():
            schedule = self._store.get(schedule_id)
            if schedule is None or schedule.status != "active" or schedule.next_at is None \
                    or schedule.next_at > now_ms or not self._is_mine(schedule):
                return  # cancelled, changed, handled or moved to another node since the due list was read
            late_ms = now_ms - schedule.next_at
            if late_ms > timing.ON_TIME_S * 1000 and (schedule.missed == "skip" or late_ms > schedule.grace_s * 1000):
                self._skip(schedule, now_ms)
            else:
                self._fire(schedule, late_ms)

    def _is_mine(self, schedule: StoredSchedule) -> bool:
        """Whether this process fires the schedule (a cluster node: its number is driven here, or it has none)."""
        clients = self._mine()
        return clients is None or schedule.client_id is None or schedule.client_id in clients

    def _fire(self, schedule: StoredSchedule, late_ms: int) -> None:
        """Step 1 then step 2 of the module's doc."""
        occurrence = schedule.next_at
        assert occurrence is not None
        message_id = occurrence_id(schedule.id, occurrence)
        late = f"sent {late_ms // 1000} s late" if late_ms > timing.ON_TIME_S * 1000 else None
        refused: list[ZapPoolError] = []

        def draft() -> Draft:
            try:
                return self._draft_of(schedule)
            except ZapPoolError as exc:
                refused.append(exc)
                raise

        try:
            record, accepted = self._outbox.accept_once(message_id, draft)
        except ZapPoolError as exc:
            if not refused:
                raise  # the outbox's own (stopping, a full disk): tried again later, the schedule stays put
            run = Run(occurrence, "failed", None, f"{exc.code}: {exc.message}"[:300])
            log.warning("[Pool] agendamento %s: ocorrência não enviada (%s)", schedule.id, exc.code)
        else:
            run = Run(occurrence, "queued", record.id, late)
            if accepted:
                log.info("[Pool] agendamento %s: mensagem %s na fila para %s%s", schedule.id, record.id,
                         schedule.to_number, f" ({late})" if late else "")
        self._store.advance(schedule, [run], timing.following(schedule.first_at, schedule.tz, schedule.rrule,
                                                              occurrence))

    def _skip(self, schedule: StoredSchedule, now_ms: int) -> None:
        """Every occurrence missed beyond what the policy sends late, recorded as skipped; the schedule moves to
        the first one after them."""
        assert schedule.next_at is not None
        window_s = timing.ON_TIME_S if schedule.missed == "skip" else max(timing.ON_TIME_S, schedule.grace_s)
        cutoff = now_ms - window_s * 1000
        missed = timing.between(schedule.first_at, schedule.tz, schedule.rrule, schedule.next_at, cutoff, SKIP_BATCH)
        runs = [Run(o, "skipped", None, f"missed: {(now_ms - o) // 1000} s late, ZapPool was not running")
                for o in missed]
        last = missed[-1] if missed else schedule.next_at
        upcoming = timing.following(schedule.first_at, schedule.tz, schedule.rrule, last)
        self._store.advance(schedule, runs, upcoming)
        log.warning("[Pool] agendamento %s: %d ocorrência(s) perdida(s) com o ZapPool fechado, puladas",
                    schedule.id, len(runs))
