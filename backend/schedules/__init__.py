"""Scheduled and recurring messages (issue 17 §3).

timing.py    `at`, the zone, the repeat rule (python-dateutil's RRULE, a safe subset, at most hourly) and its
             occurrences in the schedule's zone
runner.py    the worker: each due occurrence into the outbox exactly once, crash or not; missed ones sent late
             within the grace window or skipped and recorded
service.py   ScheduleService (`service.schedules`): make, list, change, cancel
errors.py    the refusals, each a 4xx naming its reason
Its rows: store/schedules.py (schedules.db); in cluster mode store/pg_schedules.py (issue 20).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from ..store.schedules import ScheduleStore
from ..templates import TemplatesService
from ..whatsapp.pool import WhatsAppPool
from .service import ScheduleService
from .timing import machine_zone

__all__ = ["ScheduleService", "build_schedules"]


ClusterShare = tuple[Any, Callable[[], Collection[str]], Callable[[str], Any]]


def build_schedules(data_dir: Path, pool: WhatsAppPool, templates: TemplatesService,
                    cluster: ClusterShare | None = None) -> ScheduleService:
    """The service over <data>/schedules.db, sending through the pool's outbox, in the machine's zone by
    default; its worker starts with start(). `cluster`: a node's (the cluster's store, the numbers it drives,
    a check that knows every node's numbers)."""
    if cluster is not None:
        store, mine, number_exists = cluster
        return ScheduleService(store, pool.outbox, pool, templates, default_tz=machine_zone(), mine=mine,
                               number_exists=number_exists)
    return ScheduleService(ScheduleStore(data_dir / "schedules.db"), pool.outbox, pool, templates,
                           default_tz=machine_zone())
