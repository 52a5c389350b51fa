"""One call from the app's parts to the REST API: what flows where.

    pool ──subscribe──> EventBus (inside ZapPoolService) ──> GET /events
         └─subscribe──> WebhookService.publish ──> signed deliveries;  /webhooks manages them

The caller owns the lifecycles: webhooks.start() before serving, and on the way out ApiServer.stop() (which
ends the event streams), pool.shutdown(), webhooks.stop().
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..auth.service import AuthService
from ..service import ZapPoolService
from ..webhooks.service import WebhookService
from ..whatsapp.pool import WhatsAppPool
from . import create_app


def build_api(pool: WhatsAppPool, auth: AuthService, webhooks: WebhookService | None = None, *,
              test_config: dict[str, Any] | None = None) -> Flask:
    """The Flask app over `pool`: a service with its event bus fed by the pool, and the pool's events
    published to `webhooks` (do not subscribe it elsewhere too: each subscription queues its own deliveries).
    The service, for the desktop bridge, is `app.extensions["zapool.service"]`."""
    if webhooks is not None:
        pool.subscribe(webhooks.publish)
    return create_app(ZapPoolService(pool, webhooks=webhooks), auth, test_config)
