"""The local REST API: a Flask application factory; server.py serves it with waitress.

Blueprints: clients (the seed's endpoints and one number's operations), messages, events (the SSE stream),
webhooks, metrics (Prometheus), security (login, API keys, the credential check before every view), meta
(/health, and the contract: /openapi.json, /docs), ui (the frontend for a browser, and the preferences).
guard.py runs first on every request (the Host it names, its body's size and type) and adds the headers every
answer carries. Views parse input, call ZapPoolService, render JSON.
app.py builds the service and the auth service and hands them to create_app().
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import BaseConverter

from ..auth.service import AuthService
from ..service import ZapPoolService
from ..validation import CLIENT_ID_PATTERN
from . import clients, events, guard, messages, meta, metrics, ratelimit, security, ui, webhooks
from . import groups
from . import media
from . import contacts
from . import audience
from . import templates
from . import schedules
from . import reports
from . import cluster
from . import forward
from . import campaigns
from .errors import register_error_handlers

MAX_BODY_BYTES = guard.MEDIA_BODY  # waitress's cap for any route; guard.py caps each route below it
DEFAULTS = {
    "EVENTS_MAX_STREAMS": 8,     # open GET /events streams at once; each holds a waitress thread
    "EVENTS_KEEPALIVE_S": 15.0,  # a comment line on an idle stream, and a fresh credential check, this often
    "ALLOWED_HOSTS": (),         # names besides loopback the API answers to (--allowed-host)
    "BEHIND_HTTPS": False,       # --behind-https: cookies are Secure
    "TRUSTED_PROXY": None,       # the address whose X-Forwarded-Proto is believed (--trusted-proxy)
}


class ClientIdConverter(BaseConverter):
    """`<client:client_id>`: a valid client id, so /clients/all is never read as the number "all" and a path
    that could not name a number is a plain 404."""

    regex = CLIENT_ID_PATTERN


def create_app(service: ZapPoolService, auth: AuthService, test_config: dict[str, Any] | None = None) -> Flask:
    """Build the API over a service (its bus feeds /events, its webhooks /webhooks) and an auth service."""
    app = Flask(__name__)
    app.url_map.converters["client"] = ClientIdConverter
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False, **DEFAULTS)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    if test_config:
        app.config.update(test_config)
    app.extensions["zapool.service"] = service
    register_error_handlers(app)
    guard.install(app)
    security.install(app, auth)
    ratelimit.install(app, auth)  # after the credential check: it counts the key that check found
    forward.install(app)  # issue 20: a call about another node's number goes to that node
    events.install(app, service.bus)
    for blueprint in (clients.bp, messages.bp, webhooks.bp, metrics.bp, meta.bp, ui.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(groups.bp)  # issue 16 §3
    app.register_blueprint(media.bp)  # issue 16 §2: a message's media
    app.register_blueprint(contacts.bp)
    app.register_blueprint(audience.bp)  # issue 17 §2: /contacts (the customer list), opt-outs
    app.register_blueprint(templates.bp)  # issue 17 §1
    app.register_blueprint(schedules.bp)  # issue 17 §3
    app.register_blueprint(reports.bp)  # issue 18: /reports/*
    app.register_blueprint(cluster.bp)  # issue 20: /cluster
    app.register_blueprint(campaigns.bp)  # issue 17 §4
    return app
