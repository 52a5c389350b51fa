"""The service layer: one method per operation, shared by the REST views and the desktop bridge.

Views and bridge methods stay a few lines: they parse their input, call one method here, and render the result
(or the ZapPoolError it raises) the same way. Names follow the seed's IPC handlers where it has one.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .audience import AudienceService
from .campaigns import CampaignsService
from .auth.service import AuthService
from .contacts.service import ContactsService
from .errors import Conflict, InvalidInput, NotFound, Unavailable, ZapPoolError
from .events.bus import EventBus
from .groups import GroupsService
from .host.logs import log_folder, open_folder
from .media import MediaService, ServedMedia  # noqa: F401 - ServedMedia: what the API serves
from .outbox.caps import read_limits
from .templates import TemplatesService
from .schedules import ScheduleService
from .reports import ReportService
from .sealing import KeyFile, KeyringUnavailable, vault
from .sealing import request as seal_request
from .outbox.outbox import Outbox
from .status import ClientStatus
from .store.preferences import PreferencesStore, apply_pool_limits
from .drafts import Draft, media_draft, text_draft
from .validation import normalize_number, recipient
from .webhooks.service import WebhookService
from .whatsapp.client import WhatsAppClient
from .whatsapp.pool import WhatsAppPool
from .whatsapp.qr import QrImage

if TYPE_CHECKING:
    from .cluster.service import ClusterService

log = logging.getLogger(__name__)
S = ClientStatus
STARTED_AT = time.time()  # when the backend was loaded: the process's start, near enough for an uptime


class ZapPoolService:
    """Every operation ZapPool offers on its pool of numbers and their messages."""

    groups: GroupsService  # a number's groups (backend/groups/), set by backend/assembly.py's build_service
    contacts: ContactsService  # contacts, WhatsApp's chat list and history (issue 16 section 1), set by assembly.py
    audience: AudienceService  # the customer list, tags, opt-outs (issue 17 §2, backend/audience/), set by assembly.py
    templates: TemplatesService  # named message templates (issue 17 §1, backend/templates/), set by assembly.py
    schedules: ScheduleService  # scheduled and recurring messages (issue 17 §3, backend/schedules/), by assembly.py
    reports: ReportService  # response rate, response times, funnel, volumes (issue 18, backend/reports/), assembly.py
    campaigns: CampaignsService  # campaigns (issue 17 §4, backend/campaigns/), set by assembly.py

    def __init__(self, pool: WhatsAppPool, outbox: Outbox, preferences: PreferencesStore, auth: AuthService,
                 bus: EventBus, webhooks: WebhookService | None = None):
        """Everything is given (backend/assembly.py builds it): `bus` is fed the pool's events by whoever built it;
        `webhooks` None makes the webhook operations answer Unavailable."""
        self.pool = pool
        self.outbox = outbox
        self.preferences = preferences
        self.auth = auth
        self.bus = bus
        self.webhooks = webhooks
        self.media: MediaService | None = None  # media both ways (issue 16 §2): set by backend.assembly.build_service
        self.cluster: ClusterService | None = None  # cluster mode (issue 20): this node; set by assembly.py

    # -- the seed's handlers ------------------------------------------------------------------------------

    def list_ready_clients(self) -> list[str]:
        """Ids of the connected numbers (the seed's GET /clients)."""
        return self.pool.get_ready_clients()

    def list_all_clients_info(self) -> list[dict[str, Any]]:
        """Every number with its status and metadata (list-all-clients-info); a cluster's, each with its node."""
        views = self.cluster.views if self.cluster is not None else None
        return views.all_clients(self.pool.get_all_clients_info()) if views else self.pool.get_all_clients_info()

    def get_pool_stats(self) -> dict[str, Any]:
        """The seed's statistics (get-pool-stats); a cluster's added up, with each node's under `nodes`."""
        views = self.cluster.views if self.cluster is not None else None
        return views.stats(self.pool.get_stats()) if views else self.pool.get_stats()

    def disconnect_client(self, client_id: str) -> dict[str, Any]:
        """Close the number's browser, keeping its login (disconnect-client)."""
        self.pool.disconnect(client_id)
        return self.get_client(client_id)

    def reconnect_client(self, client_id: str) -> dict[str, Any]:
        """Start the number again (reconnect-client)."""
        return self.pool.reconnect(client_id)

    def logout_client(self, client_id: str) -> dict[str, Any]:
        """Unlink the number and delete its profile; it stays listed (logout-client)."""
        self.pool.logout(client_id)
        return self.get_client(client_id)

    def restore_persisted_sessions(self) -> dict[str, int]:
        """Reconnect the saved numbers that were connected (restore-persisted-sessions)."""
        return self.pool.restore_persisted_sessions()

    # -- numbers ------------------------------------------------------------------------------------------

    def create_client(self, client_id: str | None = None, name: str | None = None,
                      on_demand: bool = False) -> dict[str, Any]:
        """Add a number and start it: returns once its QR code shows (or it is ready)."""
        return self.pool.create_and_initialize(client_id, name, on_demand)

    def set_client_mode(self, client_id: str, on_demand: Any) -> dict[str, Any]:
        """On demand (browser only while there is something to send) or always connected; saved at once."""
        return self.pool.set_on_demand(client_id, on_demand)

    def get_client(self, client_id: str) -> dict[str, Any]:
        """One number's info; in cluster mode with the node that drives it, as /clients/all gives it."""
        info = self.pool.get(client_id).get_info()
        return {**info, "node": self.cluster.node.name} if self.cluster is not None else info

    def remove_client(self, client_id: str) -> None:
        """The seed's "Remover": log out, delete the profile, forget the number."""
        self.pool.remove(client_id)

    def current_qr(self, client_id: str) -> tuple[QrImage, dict[str, Any]]:
        """The QR code a number shows now, with its info; Conflict when it is not waiting for a scan."""
        client = self.pool.get(client_id)
        qr = client.qr
        if client.status != S.QR_READY or qr is None:
            raise Conflict(f"Client {client_id} is {client.status.value}: there is no QR code to scan",
                           details={"status": client.status.value}, code="no_qr_code")
        return qr, client.get_info()

    def request_pairing_code(self, client_id: str, phone: str) -> dict[str, Any]:
        """Link by phone number instead of a QR code: the code to type on the phone."""
        number = self._number(phone)
        code = self.pool.get(client_id).request_pairing_code(number)
        return {"clientId": client_id, "code": code, "phoneNumber": number}

    def check_number(self, client_id: str, number: str) -> dict[str, Any]:
        """Is the number on WhatsApp, and under which id (asked through one connected number)."""
        return self.pool.get(client_id).check_number(self._number(number))

    def get_client_limits(self, client_id: str) -> dict[str, Any]:
        """A number's pacing and caps (effective), the defaults, and what it has sent this hour and today."""
        self.pool.get(client_id)  # NotFound for a number not in the pool
        caps = self.outbox.caps
        hour, day = caps.usage(client_id, time.time())
        return {"clientId": client_id, **caps.limits_for(client_id).to_dict(), "defaults": caps.defaults.to_dict(),
                "sentThisHour": hour, "sentToday": day}

    def set_client_limits(self, client_id: str, changes: Any) -> dict[str, Any]:
        """Change a number's pacing and caps (fields left out are kept, null: the default); kept across restarts."""
        self.pool.get(client_id)
        limits = read_limits(changes, self.outbox.caps.stored(client_id))
        self.outbox.set_limits(client_id, limits)
        log.info("[API] limites de %s: %s", client_id, self.outbox.caps.limits_for(client_id).to_dict())
        return self.get_client_limits(client_id)

    def _number(self, raw: Any) -> Any:
        """A number as a person in the configured region writes it, made international (non-text is left for
        the checks after, which name the field)."""
        return normalize_number(raw, self.pool.settings.default_region) if isinstance(raw, str) else raw

    def _recipient(self, raw: Any) -> Any:
        """Where a message goes: a group id (…@g.us) as it is, else a number as _number() makes it."""
        return recipient(raw, self.pool.settings.default_region) if isinstance(raw, str) else raw

    # -- messages -----------------------------------------------------------------------------------------

    def send(self, payload: dict[str, Any], client_id: str | None = None, *, wait: bool = False,
             timeout_s: float = 60.0) -> dict[str, Any]:
        """Accept a text or media message (round-robin when no client); wait=True returns once sent or failed."""
        client_id = client_id if client_id is not None else payload.get("clientId")
        elsewhere = self._other_node(client_id) if client_id is not None else None
        draft = self._draft(client_id, payload)
        if elsewhere is not None:  # cluster mode: the number's node sends it from the shared outbox
            from .cluster.remote import send_elsewhere
            return send_elsewhere(self.outbox, draft, elsewhere, wait=wait, timeout_s=timeout_s).to_dict()
        if wait and client_id is not None:
            self.pool.wake_for_send(client_id)  # a sleeping on-demand number: it must be ready to be waited on
        if wait:
            return self.outbox.send_and_wait(draft, timeout_s).to_dict()
        return self.outbox.accept(draft).to_dict()

    def node_token(self) -> str | None:
        """Cluster mode: the token a call forwarded between nodes carries (api/forward.py); None otherwise."""
        return self.cluster.forward_token() if self.cluster is not None else None

    def forward_target(self, client_id: str) -> tuple[str, str] | None:
        """Cluster mode: (node, its API address) when another node drives this number; None to answer here."""
        if self.cluster is None or any(c.client_id == client_id for c in self.pool.clients()):
            return None
        from .cluster.remote import other_node
        node = other_node(self.cluster, client_id)
        url = self.cluster.store.api_url(node) if node else None
        return (node, url) if node and url else None

    def require_client(self, client_id: str) -> None:
        """NotFound unless this pool or, in a cluster, another node has the number `client_id`."""
        self._other_node(client_id)

    def _other_node(self, client_id: str) -> str | None:
        """None for a number of this pool; the node driving it in a cluster; NotFound when nobody does."""
        try:
            self.pool.get(client_id)
            return None
        except NotFound:
            if self.cluster is None:
                raise
            from .cluster.remote import other_node
            node = other_node(self.cluster, client_id)
            if node is None:
                raise
            return node

    def _draft(self, client_id: str | None, payload: dict[str, Any]) -> Draft:
        """The message checked once, here: every layer below trusts the Draft."""
        to, text, media = self._recipient(payload.get("to")), payload.get("text"), payload.get("media")
        if (text is None) == (media is None):
            raise InvalidInput("Send either text or media", details={"field": "text"})
        if media is None:
            return text_draft(client_id, to, text)
        return media_draft(client_id, to, media, {"caption": media.get("caption"), "filename": media.get("filename")})

    def get_message(self, message_id: str) -> dict[str, Any]:
        """One message: status, ack, reason."""
        return self.outbox.get(message_id).to_dict()

    def list_messages(self, **filters: Any) -> dict[str, Any]:
        """Messages, newest first, filtered by client, chat, direction and time; cursor pagination."""
        page = self.outbox.list_messages(**filters)
        return {"items": [m.to_dict() for m in page.items], "nextCursor": page.next_cursor}

    def list_chats(self, client_id: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """A number's conversations, most recent first, with unread counts."""
        self.pool.get(client_id)
        page = self.outbox.list_chats(client_id, cursor=cursor, limit=limit)
        return {"items": [c.to_dict() for c in page.items], "nextCursor": page.next_cursor}

    def chat_messages(self, client_id: str, chat: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """One conversation's messages, newest first (for the chat window)."""
        self.pool.get(client_id)
        page = self.outbox.chat_messages(client_id, chat, cursor=cursor, limit=limit)
        return {"items": [m.to_dict() for m in page.items], "nextCursor": page.next_cursor}

    def mark_chat_read(self, client_id: str, chat: str) -> dict[str, Any]:
        """The chat window was opened on a conversation: its incoming messages are read (the unread badge goes),
        on WhatsApp too when the number is connected."""
        client = self.pool.get(client_id)
        marked = self.outbox.mark_chat_read(client_id, chat)
        if client.status == S.READY:
            self._read_on_whatsapp(client, chat)
        return {"clientId": client_id, "chatId": chat, "marked": marked}

    @staticmethod
    def _read_on_whatsapp(client: WhatsAppClient, chat: str) -> None:
        """Tell WhatsApp too (the phone's badge, the contact's blue ticks); best effort: ZapPool's own mark stands."""
        try:
            client.mark_chat_read(chat)
        except ZapPoolError as exc:
            if exc.details.get("wppCode") == "chat_not_found":  # a new conversation: nothing on WhatsApp to read
                log.debug("[Pool] conversa %s de %s ainda não existe no WhatsApp", chat[:80], client.client_id)
                return
            log.warning("[Pool] conversa %s de %s não marcada como lida no WhatsApp: %s", chat[:80],
                        client.client_id, exc.message)

    # -- the desktop's preferences ------------------------------------------------------------------------

    def get_preferences(self) -> dict[str, Any]:
        """Language, notifications on or off, the pool manager's card order."""
        return self.preferences.get()

    def set_preferences(self, changes: Any) -> dict[str, Any]:
        """Change some preferences (a bad value changes none); returns them all. The pool limits take effect at
        once: a lower maxClients refuses new numbers but removes none; null goes back to the default at restart."""
        values = self.preferences.update(changes)
        self.apply_pool_limits(changes)
        return values

    def apply_pool_limits(self, values: dict[str, Any]) -> None:
        """Put the chosen pool limits on the running pool and its supervisor (read on their next use)."""
        settings = self.pool.settings
        if apply_pool_limits(values, settings):
            supervisor = self.pool.supervisor
            supervisor.interval_s, supervisor.base_s = settings.health_check_interval_s, settings.reconnect_delay_s
            supervisor.enabled = settings.auto_reconnect
            log.info("[API] limites do pool: maxClients=%d, healthCheck=%gs, reconnect=%gs, auto=%s",
                     settings.max_clients, settings.health_check_interval_s, settings.reconnect_delay_s,
                     settings.auto_reconnect)

    def open_logs_folder(self) -> dict[str, Any]:
        """Show the log files' folder in the file manager (this computer's); says where it is either way."""
        folder = log_folder(self.pool.settings.data_dir)
        return {"path": str(folder), "opened": open_folder(folder)}

    def sealing_state(self) -> dict[str, Any]:
        """Issue 19: is the data folder sealed, opened how, and could this system's keyring seal it; the
        command that turns it on (the folder's own path in it)."""
        data_dir = self.pool.settings.data_dir
        state = KeyFile(data_dir, write=_read_only).describe()
        return {**state, "keyringAvailable": vault.available(), "sealAtNextStart": seal_request.requested(data_dir),
                "command": f"app.py seal --data {data_dir} convert"}

    def request_sealing(self, wanted: Any) -> dict[str, Any]:
        """Seal the data folder the next time ZapPool opens (or cancel that): the settings' switch, where the
        system keyring can hold the key (sealing/request.py). Conflict without one."""
        if not isinstance(wanted, bool):
            raise InvalidInput("'sealAtNextStart' is true or false", details={"field": "sealAtNextStart"})
        try:
            seal_request.request(self.pool.settings.data_dir, wanted)
        except KeyringUnavailable as exc:
            raise Conflict(exc.message, code="keyring_unavailable") from None
        return self.sealing_state()

    # -- API keys ---------------------------------------------------------------------------------------

    def list_api_keys(self) -> list[dict[str, Any]]:
        """Every API key (never the key itself)."""
        return [key.to_dict() for key in self.auth.list_api_keys()]

    def create_api_key(self, name: str) -> dict[str, Any]:
        """A new API key: {"id", "key"}; the only time the key is shown."""
        key_id, key = self.auth.create_api_key(name)
        return {"id": key_id, "key": key}

    def revoke_api_key(self, key_id: str) -> dict[str, Any]:
        """Revoke a key: it stops working at once."""
        return self.auth.revoke_api_key(key_id).to_dict()

    # -- webhooks -----------------------------------------------------------------------------------------

    def _hooks(self) -> WebhookService:
        """The webhook service, or Unavailable when ZapPool runs without one."""
        if self.webhooks is None:
            raise Unavailable("Webhooks are not enabled in this ZapPool", code="webhooks_unavailable")
        return self.webhooks

    def list_webhooks(self) -> list[dict[str, Any]]:
        """Every webhook, oldest first (secrets only as a hint)."""
        return self._hooks().list()

    def add_webhook(self, url: Any, events: Any = None, secret: Any = None) -> dict[str, Any]:
        """Subscribe a URL to events; the answer holds the secret, the only time it is shown."""
        return self._hooks().add(url, events, secret)

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        """One webhook."""
        return self._hooks().get(webhook_id)

    def remove_webhook(self, webhook_id: str) -> None:
        """Delete a webhook and its deliveries."""
        self._hooks().remove(webhook_id)

    def webhook_deliveries(self, webhook_id: str, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        """A webhook's deliveries, newest first; cursor pagination."""
        return self._hooks().deliveries(webhook_id, limit, cursor)

    # -- monitoring ---------------------------------------------------------------------------------------

    def metrics(self) -> dict[str, Any]:
        """What /metrics shows: each number's status, message counts per number, pool counters, webhooks."""
        counts = self.outbox.counts()
        return {
            "clients": [(c.client_id, c.status.value) for c in self.pool.clients()],
            "messages": {client_id: c.to_dict() for client_id, c in counts.items()},
            "stats": self.pool.get_stats(),
            "webhooks": self.webhooks.delivery_counts() if self.webhooks is not None else None,
            "events": {"published": self.bus.published},
            "uptimeSeconds": time.time() - STARTED_AT,
        }


def _read_only(path: Path, _data: bytes) -> None:
    """sealing_state() reads the key file only: a write would be a bug."""
    raise RuntimeError(f"{path.name} is only read here")
