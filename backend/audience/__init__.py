"""The business's customer list (issue 17 §2): customers imported from CSV or added one by one, tags, and the
phones that opted out (by keyword, by hand, by the API), which campaigns must never reach.

importer.py   reading a CSV file as people export it; phones normalised (the Brazilian ninth digit)
service.py    AudienceService (`service.audience`): import, customers, tags, opt-outs, `is_opted_out`
optout.py     the opt-out keywords: settings, and the listener that opts a sender out and confirms once
"""

from __future__ import annotations

from pathlib import Path

from ..store.audience import AudienceStore
from ..whatsapp.pool import WhatsAppPool
from .optout import EVENT as OPTED_OUT_EVENT, OptOutListener, OptOutSettings
from .service import AudienceService, ContactNotFound, CsvRefused, OptOutNotFound

__all__ = ["OPTED_OUT_EVENT", "AudienceService", "ContactNotFound", "CsvRefused", "OptOutListener",
           "OptOutNotFound", "OptOutSettings", "build_audience"]


def build_audience(data_dir: Path, pool: WhatsAppPool, store: AudienceStore | None = None) -> AudienceService:
    """The service over <data>/audience.db (or `store`: a cluster's, issue 20), with its opt-out settings and
    keyword listener (subscribed to the pool's incoming messages here: the listener's worker thread starts only
    at the first message to handle)."""
    store = store if store is not None else AudienceStore(data_dir / "audience.db")
    service = AudienceService(store)
    service.settings = OptOutSettings(store)
    service.listener = OptOutListener(store, pool, pool.outbox, service.settings)
    service.listener.start()
    return service
