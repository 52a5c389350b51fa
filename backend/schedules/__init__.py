"""Scheduled and recurring messages (issue 17 §3).

timing.py    `at`, the zone, the repeat rule (python-dateutil's RRULE, a safe subset, at most hourly) and its
             occurrences in the schedule's zone
runner.py    the worker: each due occurrence into the outbox exactly once, crash or not; missed ones sent late
             within the grace window or skipped and recorded
service.py   ScheduleService (`service.schedules`): make, list, change, cancel
errors.py    the refusals, each a 4xx naming its reason
Its rows: store/schedules.py (schedules.db).
"""

from __future__ import annotations

from pathlib import Path

from ..store.schedules import ScheduleStore
from ..templates import TemplatesService
from ..whatsapp.pool import WhatsAppPool
from .service import ScheduleService
from .timing import machine_zone

__all__ = ["ScheduleService", "build_schedules"]


def build_schedules(data_dir: Path, pool: WhatsAppPool, templates: TemplatesService) -> ScheduleService:
    """The service over <data>/schedules.db, sending through the pool's outbox, in the machine's zone by
    default; its worker starts with start()."""
    return ScheduleService(ScheduleStore(data_dir / "schedules.db"), pool.outbox, pool, templates,
                           default_tz=machine_zone())
