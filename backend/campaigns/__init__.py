"""Campaigns (issue 17 §4): a template sent to an audience from some or all ready numbers, once per recipient,
inside a window of allowed hours and days, with random delays, a per-number daily cap and a warm-up ramp.

spec.py     the settings as POST /campaigns sends them, checked, and the defaults (and why those)
plan.py     the window, the day, each number's allowance (warm-up), the expected end
runner.py   one step of a running campaign: claim -> enqueue -> mark, exactly once across kill -9
service.py  CampaignsService (`service.campaigns`): create, read, pause/resume/cancel, recipients, report, preview
report.py   counts, the funnel and per-number breakdown, a recipient's status
driver.py   the Worker thread that runs tick()
Its data: store/campaigns.py (campaigns.db; the message log read by id range).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..audience import AudienceService
from ..audience.service import check_tags
from ..store.campaigns import CampaignLog, CampaignStore
from ..templates import TemplatesService
from ..whatsapp.pool import WhatsAppPool
from .driver import CampaignDriver
from .errors import (CampaignAudienceEmpty, CampaignClientUnknown, CampaignNotFound, CampaignStateConflict,
                     CampaignTemplateUnknown, CampaignWindowInvalid)
from .service import EVENTS, CampaignsService, Cluster

__all__ = ["EVENTS", "CampaignAudienceEmpty", "CampaignClientUnknown", "CampaignDriver", "CampaignNotFound",
           "CampaignStateConflict", "CampaignTemplateUnknown", "CampaignWindowInvalid", "CampaignsService",
           "build_campaigns"]


def build_campaigns(pool: WhatsAppPool, audience: AudienceService, templates: TemplatesService,
                    log_db: Any = None, *, clock: Callable[[], float] = time.time,
                    draw: Callable[[float, float], float] | None = None,
                    cluster: tuple[Any, Any, Cluster] | None = None) -> CampaignsService:
    """The service over <data>/campaigns.db and the message log (`log_db`: messages.db's Database, the pool's
    outbox's own when not given), with its driver (`service.driver`), which start() starts: the pool's outbox
    must be running first. In cluster mode (issue 20) `cluster` is (the cluster's campaign store, its message
    log's reads, what the node drives)."""
    if cluster is not None:
        store, log_, share = cluster
    else:
        store, log_, share = CampaignStore(pool.settings.data_dir / "campaigns.db"), None, None
        log_ = CampaignLog(log_db or pool.outbox.store.database)
    service = CampaignsService(store, log_, pool, audience, templates, check_tags, clock, draw, cluster=share)
    service.driver = CampaignDriver(service)
    return service
