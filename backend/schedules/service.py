"""ScheduleService (`service.schedules`): messages scheduled for a time, or repeating, made, listed, changed and
cancelled until due; its worker (runner.py) sends each occurrence through the outbox exactly once.

A schedule is checked whole when it is made or changed: the number, the recipient, the text or the template and
its variables (the message is drafted as it will be sent), `at`, the zone and the rule (timing.py). What it sends
is drafted again at each occurrence, so a template changed meanwhile is sent as it is then.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Collection
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ..clock import utc_now
from ..drafts import Draft, media_draft, text_draft
from ..errors import InvalidInput
from ..outbox.outbox import Outbox
from ..store.schedules import Run, ScheduleStore, StoredSchedule
from ..templates import TemplatesService
from ..validation import check_client_id, check_limit, check_text, recipient, typed
from ..whatsapp.pool import WhatsAppPool
from . import timing
from .errors import ScheduleBadRule, ScheduleBadTime, ScheduleNotActive, ScheduleNotFound
from .runner import ScheduleRunner, epoch_ms

log = logging.getLogger(__name__)
FIELDS = ("clientId", "to", "text", "templateId", "variables", "at", "rrule", "tz", "missed", "graceS")
STATUSES = ("active", "finished", "cancelled")
MISSED = ("send", "skip")
DEFAULT_GRACE_S = 3600
MAX_GRACE_S = 7 * 86400
LAST_RUNS = 5


class ScheduleService:
    """Make, read, change and cancel schedules; start() runs the worker that sends them."""

    def __init__(self, store: ScheduleStore, outbox: Outbox, pool: WhatsAppPool, templates: TemplatesService, *,
                 default_tz: str = "UTC", clock: Callable[[], datetime] = utc_now,
                 mine: Callable[[], Collection[str] | None] = lambda: None,
                 number_exists: Callable[[str], Any] | None = None):
        """`default_tz`: the zone of a schedule that names none (the machine's: timing.machine_zone());
        `clock`: now, as an aware datetime (tests move it). A cluster node (issue 20) passes `mine`, the numbers
        whose schedules it fires (runner.py), and `number_exists`, which knows the other nodes' numbers too
        (NotFound for a number no node has)."""
        self.default_tz = default_tz
        self._store = store
        self._outbox = outbox
        self._pool = pool
        self._templates = templates
        self._clock = clock
        self._lock = store.guard  # the runner's too: a cancel and a firing never cross
        self._number_exists = number_exists or pool.get
        self.runner = ScheduleRunner(store, outbox, self.draft_of, store.guard, clock, mine)

    def start(self) -> None:
        """Run the worker: what fell due while ZapPool was closed first (sent late or skipped)."""
        self.runner.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the worker (an occurrence being handled finishes), then close schedules.db."""
        self.runner.stop()
        self.runner.join(timeout)
        self._store.close()

    # -- the operations ------------------------------------------------------------------------------------

    def create(self, fields: Any) -> dict[str, Any]:
        """A new schedule from {"clientId"?, "to", "text" | "templateId" + "variables", "at", "rrule"?, "tz"?,
        "missed"?, "graceS"?}, checked whole."""
        made = self._checked(_known(fields), None)
        stored = self._store.insert(made)
        self.runner.kick()
        log.info("[Pool] agendamento %s criado para %s (%s)", stored.id, stored.to_number, stored.rrule or "uma vez")
        return self._to_dict(stored)

    def list(self, client_id: Any = None, status: Any = None, cursor: Any = None, limit: Any = 50) -> dict[str, Any]:
        """Schedules in the order they were made, by number and status; cursor pagination."""
        client_id = typed(client_id, "clientId", str, required=False)
        status = typed(status, "status", str, required=False)
        if status is not None and status not in STATUSES:
            raise InvalidInput("'status' must be active, finished or cancelled", details={"field": "status"})
        after = typed(cursor, "cursor", str, required=False) or "0"
        if not after.isdigit() or len(after) > 18:
            raise InvalidInput("'cursor' is the nextCursor of the previous page", details={"field": "cursor"})
        limit = check_limit(limit)
        rows = self._store.page(client_id=client_id, status=status, after=int(after), limit=limit + 1)
        items = [self._to_dict(s) for s in rows[:limit]]
        return {"items": items, "nextCursor": str(rows[limit - 1].seq) if len(rows) > limit else None}

    def get(self, schedule_id: Any) -> dict[str, Any]:
        """One schedule with its latest runs."""
        return self._to_dict(self._one(schedule_id))

    def update(self, schedule_id: Any, fields: Any) -> dict[str, Any]:
        """Change the fields given (an active schedule only: 409 once finished or cancelled); a new time, zone or
        rule moves the next occurrence from now on."""
        changes = _known(fields)
        with self._lock():  # never across a firing of this schedule
            old = self._active(self._one(schedule_id))
            stored = self._store.change(self._checked(changes, old))
        if stored is None:
            raise _not_active(self._one(schedule_id))
        self.runner.kick()
        log.info("[Pool] agendamento %s alterado", stored.id)
        return self._to_dict(stored)

    def cancel(self, schedule_id: Any) -> dict[str, Any]:
        """Cancel an active schedule: nothing more is sent (an occurrence already queued stays queued)."""
        with self._lock():
            stored = self._store.cancel(self._one(schedule_id).id)
        if stored is None:
            raise _not_active(self._one(schedule_id))
        self.runner.kick()
        log.info("[Pool] agendamento %s cancelado", stored.id)
        return self._to_dict(stored)

    # -- what an occurrence sends --------------------------------------------------------------------------

    def draft_of(self, schedule: StoredSchedule) -> Draft:
        """The message of an occurrence, checked as POST /messages checks one (the number must still exist)."""
        if schedule.client_id is not None:
            self._pool.get(schedule.client_id)
        to = recipient(schedule.to_number)
        message = schedule.message
        if "text" in message:
            return text_draft(schedule.client_id, to, check_text(message["text"]))
        fields = self._templates.message_fields(message["templateId"], message.get("variables"))
        if "text" in fields:
            return text_draft(schedule.client_id, to, fields["text"])
        media = fields["media"]
        return media_draft(schedule.client_id, to, media, {"caption": media.get("caption"),
                                                           "filename": media.get("filename")})

    # -- checks --------------------------------------------------------------------------------------------

    def _checked(self, given: dict[str, Any], old: StoredSchedule | None) -> StoredSchedule:
        """The schedule as it will be stored: `given` over `old`'s fields, every one checked."""
        fields = {**(_fields_of(old) if old else {}), **given}
        if "text" in given or "templateId" in given:  # the new message replaces the old one whole
            fields = {k: v for k, v in fields.items() if k not in ("text", "templateId", "variables") or k in given}
        client_id = typed(fields.get("clientId"), "clientId", str, required=False)
        if client_id is not None:
            self._number_exists(check_client_id(client_id))
        to = recipient(typed(fields.get("to"), "to", str), self._pool.settings.default_region)
        tz = timing.zone(fields.get("tz") or self.default_tz).key
        first = epoch_ms(timing.parse_at(fields.get("at")))
        rule = timing.normal_rule(fields.get("rrule"))
        missed = typed(fields.get("missed"), "missed", str, required=False, default="send")
        grace = typed(fields.get("graceS"), "graceS", int, required=False, default=DEFAULT_GRACE_S)
        if missed not in MISSED or not 0 <= grace <= MAX_GRACE_S:
            name = "missed" if missed not in MISSED else "graceS"
            raise InvalidInput(f"'missed' is send or skip; 'graceS' 0 to {MAX_GRACE_S}", details={"field": name})
        timed = old is None or any(k in given for k in ("at", "rrule", "tz"))
        upcoming = self._first_due(first, tz, rule) if timed else old.next_at  # type: ignore[union-attr]
        made = StoredSchedule(old.id if old else "sch_" + secrets.token_hex(8), client_id, to,
                              _message(fields), first, tz, rule, missed, grace, "active", upcoming)
        self.draft_of(made)  # the message as it will be sent: number, text, template and variables
        return made

    def _first_due(self, first: int, tz: str, rule: str | None) -> int:
        """The next occurrence from now: a one-off may not be past; a rule must fire again, at most hourly."""
        now = epoch_ms(self._clock())
        if first > epoch_ms(self._clock() + timing.MAX_AHEAD):
            raise ScheduleBadTime("'at' is more than ten years ahead", details={"field": "at", "reason": "too_far"})
        if rule is None:
            if first < now - timing.PAST_TOLERANCE_S * 1000:
                raise ScheduleBadTime("'at' is in the past", details={"field": "at", "reason": "past"})
            return first
        timing.check_rule(rule, first, tz)
        upcoming = timing.next_at(first, tz, rule, now, inclusive=True)
        if upcoming is None:
            raise ScheduleBadRule("The rule has no occurrence from now on (COUNT or UNTIL already reached)",
                                  details={"field": "rrule", "reason": "no_occurrence"})
        return upcoming

    def _one(self, schedule_id: Any) -> StoredSchedule:
        """The stored schedule or ScheduleNotFound."""
        stored = self._store.get(schedule_id) if isinstance(schedule_id, str) and len(schedule_id) < 64 else None
        if stored is None:
            raise ScheduleNotFound(f"No schedule with id {str(schedule_id)[:64]!r}",
                                   details={"scheduleId": str(schedule_id)[:64]})
        return stored

    @staticmethod
    def _active(stored: StoredSchedule) -> StoredSchedule:
        """`stored` if it can still change, else the 409."""
        if stored.status != "active":
            raise _not_active(stored)
        return stored

    # -- the JSON shape ------------------------------------------------------------------------------------

    def _to_dict(self, s: StoredSchedule) -> dict[str, Any]:
        """A schedule as the API and the windows show it: times in its zone, with their offset."""
        zone = ZoneInfo(s.tz)
        out: dict[str, Any] = {"id": s.id, "clientId": s.client_id, "to": s.to_number, **s.message,
                               "at": _local(s.first_at, zone), "tz": s.tz, "rrule": s.rrule, "missed": s.missed,
                               "graceS": s.grace_s, "status": s.status,
                               "nextAt": _local(s.next_at, zone) if s.next_at is not None else None,
                               "createdAt": _local(s.created_at, timezone.utc),
                               "updatedAt": _local(s.updated_at, timezone.utc)}
        return out | {"lastRuns": [_run(r, zone) for r in self._store.runs(s.id, LAST_RUNS)]}


def _known(fields: Any) -> dict[str, Any]:
    """A body of known fields only (a typo must not silently drop a change)."""
    if not isinstance(fields, dict):
        raise InvalidInput("The schedule must be a JSON object", details={"field": "body"})
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown field '{unknown[0][:40]}'", details={"field": unknown[0][:40]})
    return fields


def _fields_of(s: StoredSchedule) -> dict[str, Any]:
    """A stored schedule as the fields a body gives."""
    return {"clientId": s.client_id, "to": s.to_number, **s.message, "tz": s.tz, "rrule": s.rrule,
            "at": datetime.fromtimestamp(s.first_at / 1000, timezone.utc).isoformat(), "missed": s.missed,
            "graceS": s.grace_s}


def _message(fields: dict[str, Any]) -> dict[str, Any]:
    """{"text"} or {"templateId", "variables"}: exactly one of text and templateId."""
    text, template = fields.get("text"), fields.get("templateId")
    if (text is None) == (template is None):
        raise InvalidInput("Give either 'text' or 'templateId'", details={"field": "text"})
    if text is not None:
        if fields.get("variables") is not None:
            raise InvalidInput("'variables' go with 'templateId'", details={"field": "variables"})
        return {"text": check_text(typed(text, "text", str))}
    variables = typed(fields.get("variables"), "variables", dict, required=False, default={})
    return {"templateId": typed(template, "templateId", str), "variables": variables}


def _local(ms: int, zone: Any) -> str:
    """Epoch ms as ISO 8601 in a zone, with its offset."""
    return datetime.fromtimestamp(ms / 1000, zone).isoformat(timespec="seconds")


def _run(run: Run, zone: ZoneInfo) -> dict[str, Any]:
    """One run's JSON."""
    return {"occurrence": _local(run.occurrence, zone), "outcome": run.outcome, "messageId": run.message_id,
            "reason": run.reason, "at": _local(run.at, timezone.utc)}


def _not_active(stored: StoredSchedule) -> ScheduleNotActive:
    """The 409 naming the status."""
    return ScheduleNotActive(f"The schedule is {stored.status}: it can no longer be changed",
                             details={"scheduleId": stored.id, "status": stored.status})
