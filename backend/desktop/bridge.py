"""The js_api object: every operation of frontend/README.md's table, for `window.pywebview.api.<name>()`.

Each public method is one line into ZapPoolService or AuthService, like a REST view: it checks its arguments'
types, checks the desktop session, and answers `{"result": ...}` or REST's error envelope `{"error": {"code",
"message", "details"}}` (an unexpected failure is logged and answered as `internal`, never with a stack trace).
pywebview runs each call on its own thread.

pywebview exposes every public method of this object, and walks every public attribute as a nested API: so
everything that is not an operation is `_`-prefixed, and there are no public attributes or properties.
"""

from __future__ import annotations

import base64
import mimetypes
import threading
from pathlib import Path
from typing import Any, Protocol

from ..auth.service import AuthService, Principal
from ..errors import InvalidMedia, Unauthorized, ZapPoolError
from ..service import ZapPoolService
from ..validation import MAX_DOCUMENT_BYTES, MAX_MEDIA_BYTES, media_kind
from .bridge_templates import TemplateOperations
from .bridge_whatsapp import WhatsAppDataOperations
from .bridge_audience import AudienceOperations
from .bridge_schedules import ScheduleOperations
from .bridge_reports import ReportOperations
from .bridge_campaigns import CampaignOperations
from .operations import ANYONE, DURING_PASSWORD_CHANGE, SIGNED_IN
from .operations import arg as _arg
from .operations import limit as _limit
from .operations import operation as _operation


class Windows(Protocol):
    """What the bridge asks of the window manager (windows.WindowManager; a stand-in in tests)."""

    def open_pool_manager(self) -> None:
        """Open or focus the pool manager."""

    def open_qr_window(self, client_id: str) -> None:
        """Open or focus a number's QR window."""

    def open_chat_window(self, client_id: str, chat_id: str | None = None) -> None:
        """Open or focus a number's chat window."""

    def open_contacts_window(self) -> None:
        """Open or focus the Contacts window (the customer list, issue 17 §2)."""

    def open_templates_window(self) -> None:
        """Open or focus the Templates window (issue 17 §1)."""

    def open_schedules_window(self) -> None:
        """Open or focus the Scheduled messages window (issue 17 §3)."""

    def open_reports_window(self) -> None:
        """Open or focus the Reports window (issue 18)."""

    def choose_save_path(self, filename: str) -> str | None:
        """The native save dialog's chosen path, or None (the Reports window's CSV export)."""
    def open_campaigns_window(self) -> None:
        """Open or focus the Campaigns window (issue 17 §4)."""

    def choose_file(self) -> str | None:
        """The native open dialog's chosen path, or None."""


class DesktopSession:
    """The desktop's one login: the token AuthService gave, checked like REST checks its cookie."""

    def __init__(self, auth: AuthService):
        self.auth = auth
        self._lock = threading.Lock()
        self._token: str | None = None

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in (ending the previous desktop session, if any): REST's POST /auth/login answer."""
        session = self.auth.login(username, password, source="desktop")
        with self._lock:
            old, self._token = self._token, session.token
        if old:
            self.auth.logout(old)
        return {"username": session.username, "mustChangePassword": session.must_change}

    def logout(self) -> None:
        """End the desktop session."""
        with self._lock:
            old, self._token = self._token, None
        if old:
            self.auth.logout(old)

    def require(self, access: str = SIGNED_IN) -> Principal | None:
        """The caller, or Unauthorized / PasswordChangeRequired as REST answers them (None for ANYONE)."""
        if access == ANYONE:
            return None
        token = self._token
        if not token:
            raise Unauthorized("Log in first")
        return self.auth.authenticate(session_token=token,
                                       allow_password_change=access == DURING_PASSWORD_CHANGE)

    def active(self) -> bool:
        """True while a full session is open (events and notifications flow only then)."""
        try:
            self.require(SIGNED_IN)
        except ZapPoolError:
            return False
        return True

    def must_change(self) -> bool:
        """True while the admin password is the first-run one."""
        return self.auth.must_change_password()

    def change_password(self, old: str, new: str) -> None:
        """Change the admin password; this session stays, the others end."""
        self.auth.change_password(old, new, token=self._token, username="admin")


def read_picked_file(path: str) -> dict[str, Any]:
    """A chosen file as send_media takes it, refused when larger than WhatsApp takes for its kind."""
    file = Path(path)
    mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    kind = media_kind(mimetype)
    limit = MAX_DOCUMENT_BYTES if kind == "document" else MAX_MEDIA_BYTES
    try:
        with file.open("rb") as handle:
            raw = handle.read(limit + 1)  # never more than the limit: the size on disk may change meanwhile
    except OSError as exc:
        raise InvalidMedia(f"Could not read {file.name}: {exc.strerror or exc}", details={"filename": file.name}) from None
    if len(raw) > limit:
        raise InvalidMedia(f"The {kind} is larger than WhatsApp's limit of {limit // (1024 * 1024)} MB",
                           details={"size": file.stat().st_size, "limit": limit, "kind": kind})
    return {"data": base64.b64encode(raw).decode("ascii"), "mimetype": mimetype, "filename": file.name,
            "size": len(raw)}


class Bridge(WhatsAppDataOperations, AudienceOperations, TemplateOperations, ScheduleOperations,  # issue 17
             ReportOperations,  # issue 18: the Reports window
             CampaignOperations):  # issue 17 §4: the Campaigns window
    """The operations the desktop windows call; names and results are REST's (frontend/README.md)."""

    def __init__(self, service: ZapPoolService, session: DesktopSession, windows: Windows):
        self._service = service
        self._session = session
        self._windows = windows

    # -- login ------------------------------------------------------------------------------------------

    @_operation(ANYONE)
    def login(self, username: Any, password: Any) -> dict[str, Any]:
        """Log in as the admin (first run: admin / admin, then the password must be changed)."""
        return self._session.login(_arg(username, "username", str), _arg(password, "password", str))

    @_operation(DURING_PASSWORD_CHANGE)
    def logout(self) -> dict[str, Any]:
        """End the desktop session."""
        self._session.logout()
        return {"ok": True}

    @_operation(DURING_PASSWORD_CHANGE)
    def me(self) -> dict[str, Any]:
        """Who is logged in, and whether the password must still be changed."""
        principal = self._session.require(DURING_PASSWORD_CHANGE)
        assert principal is not None
        return {"kind": principal.kind, "id": principal.id, "mustChangePassword": self._session.must_change()}

    @_operation(DURING_PASSWORD_CHANGE)
    def change_password(self, old_password: Any, new_password: Any) -> dict[str, Any]:
        """Change the admin password (required on first run)."""
        self._session.change_password(_arg(old_password, "oldPassword", str), _arg(new_password, "newPassword", str))
        return {"ok": True}

    # -- the pool (the seed's handlers) -------------------------------------------------------------------

    @_operation()
    def list_all_clients_info(self) -> list[dict[str, Any]]:
        """Every number with its status and metadata."""
        return self._service.list_all_clients_info()

    @_operation()
    def get_pool_stats(self) -> dict[str, Any]:
        """The pool's statistics."""
        return self._service.get_pool_stats()

    @_operation()
    def create_client(self, client_id: Any = None, name: Any = None, on_demand: Any = False) -> dict[str, Any]:
        """Add a number and start it (id and name optional, as api.js passes them); answers once its QR code shows."""
        return self._service.create_client(_arg(client_id, "clientId", str, required=False),
                                           _arg(name, "name", str, required=False),
                                           bool(_arg(on_demand, "onDemand", bool, required=False)))

    @_operation()
    def set_client_mode(self, client_id: Any, on_demand: Any) -> dict[str, Any]:
        """On demand or always connected (the card's switch), checked as PATCH /clients/{id}."""
        return self._service.set_client_mode(_arg(client_id, "clientId", str), _arg(on_demand, "onDemand", bool))

    @_operation()
    def get_client(self, client_id: Any) -> dict[str, Any]:
        """One number."""
        return self._service.get_client(_arg(client_id, "clientId", str))

    @_operation()
    def get_client_limits(self, client_id: Any) -> dict[str, Any]:
        """The number's pacing and caps, and today's count against them (its card and settings)."""
        return self._service.get_client_limits(_arg(client_id, "clientId", str))

    @_operation()
    def set_client_limits(self, client_id: Any, changes: Any) -> dict[str, Any]:
        """Change the number's pacing and caps from its settings (checked as PUT /clients/{id}/limits)."""
        return self._service.set_client_limits(_arg(client_id, "clientId", str), changes)

    @_operation()
    def disconnect_client(self, client_id: Any) -> dict[str, Any]:
        """Close the number's browser; its login stays."""
        return self._service.disconnect_client(_arg(client_id, "clientId", str))

    @_operation()
    def reconnect_client(self, client_id: Any) -> dict[str, Any]:
        """Start the number again."""
        return self._service.reconnect_client(_arg(client_id, "clientId", str))

    @_operation()
    def logout_client(self, client_id: Any) -> dict[str, Any]:
        """Unlink the number from the phone and delete its profile."""
        return self._service.logout_client(_arg(client_id, "clientId", str))

    @_operation()
    def remove_client(self, client_id: Any) -> None:
        """Log out and forget the number (the seed's "Remover")."""
        self._service.remove_client(_arg(client_id, "clientId", str))

    @_operation()
    def restore_persisted_sessions(self) -> dict[str, int]:
        """Reconnect the saved numbers that were connected: restored and total."""
        return self._service.restore_persisted_sessions()

    # -- linking a phone ----------------------------------------------------------------------------------

    @_operation()
    def get_qr(self, client_id: Any) -> dict[str, Any]:
        """The QR code to scan, as REST's JSON form of GET /clients/{id}/qr."""
        client_id = _arg(client_id, "clientId", str)
        image, info = self._service.current_qr(client_id)
        return {"clientId": client_id, "code": image.code, "dataUrl": image.data_url,
                "shownAt": info["metadata"]["lastQRAt"], "expiresAt": info["qrExpiresAt"]}

    @_operation()
    def request_pairing_code(self, client_id: Any, phone_number: Any) -> dict[str, Any]:
        """Link with a phone number: the code to type on the phone."""
        return self._service.request_pairing_code(_arg(client_id, "clientId", str),
                                                  _arg(phone_number, "phoneNumber", str))

    # -- messages and chats -------------------------------------------------------------------------------

    @_operation()
    def send_text(self, client_id: Any, to: Any, text: Any) -> dict[str, Any]:
        """Queue a text message through this number: the accepted message (REST's 202 body)."""
        payload = {"to": _arg(to, "to", str), "text": _arg(text, "text", str)}
        return self._service.send(payload, _arg(client_id, "clientId", str))

    @_operation()
    def send_media(self, client_id: Any, to: Any, media: Any) -> dict[str, Any]:
        """Queue a file `{data (base64), mimetype, filename?, caption?}` through this number."""
        media = _arg(media, "media", dict)
        for name, required in (("data", True), ("mimetype", True), ("filename", False), ("caption", False)):
            _arg(media.get(name), name, str, required=required)
        return self._service.send({"to": _arg(to, "to", str), "media": media}, _arg(client_id, "clientId", str))

    @_operation()
    def list_chats(self, client_id: Any, cursor: Any = None, limit: Any = 50) -> dict[str, Any]:
        """A number's conversations: WhatsApp's list merged with the log's (see contacts/chats.py)."""
        return self._service.contacts.list_chats(_arg(client_id, "clientId", str),
                                                 _arg(cursor, "cursor", str, required=False), _limit(limit))

    @_operation()
    def chat_messages(self, client_id: Any, chat_id: Any, cursor: Any = None, limit: Any = 50) -> dict[str, Any]:
        """One conversation, newest first."""
        return self._service.chat_messages(_arg(client_id, "clientId", str), _arg(chat_id, "chatId", str),
                                           _arg(cursor, "cursor", str, required=False), _limit(limit))

    @_operation()
    def mark_chat_read(self, client_id: Any, chat_id: Any) -> dict[str, Any]:
        """The conversation was seen: its unread count drops to 0 (on WhatsApp too)."""
        return self._service.mark_chat_read(_arg(client_id, "clientId", str), _arg(chat_id, "chatId", str))

    # -- preferences and API keys -------------------------------------------------------------------------

    @_operation()
    def get_preferences(self) -> dict[str, Any]:
        """Language, notifications, the pool manager's card order."""
        return self._service.get_preferences()

    @_operation()
    def set_preferences(self, changes: Any) -> dict[str, Any]:
        """Change some preferences (a bad value changes none); returns them all."""
        return self._service.set_preferences(changes)

    @_operation()
    def list_api_keys(self) -> list[dict[str, Any]]:
        """API keys, never the key itself."""
        return self._service.list_api_keys()

    @_operation()
    def create_api_key(self, name: Any) -> dict[str, Any]:
        """A new API key: `{id, key}`, the key shown this once."""
        return self._service.create_api_key(_arg(name, "name", str))

    @_operation()
    def revoke_api_key(self, key_id: Any) -> dict[str, Any]:
        """Revoke a key: it stops working at once."""
        return self._service.revoke_api_key(_arg(key_id, "keyId", str))

    @_operation()
    def sealing_state(self) -> dict[str, Any]:
        """Whether the data folder is sealed (issue 19): GET /sealing's answer."""
        return self._service.sealing_state()

    @_operation()
    def request_sealing(self, wanted: Any) -> dict[str, Any]:
        """Seal the data folder at the next start, or cancel that: PUT /sealing's answer."""
        return self._service.request_sealing(wanted)

    @_operation()
    def open_logs_folder(self) -> dict[str, Any]:
        """Show the log files' folder in the file manager: `{path, opened}`."""
        return self._service.open_logs_folder()

    # -- windows ------------------------------------------------------------------------------------------

    @_operation()
    def open_pool_manager(self) -> None:
        """Open the pool manager (or bring it to the front)."""
        self._windows.open_pool_manager()

    @_operation()
    def open_qr_window(self, client_id: Any) -> None:
        """Open the QR window of a number (one per number)."""
        self._windows.open_qr_window(self._service.get_client(_arg(client_id, "clientId", str))["clientId"])

    @_operation()
    def open_chat_window(self, client_id: Any, chat_id: Any = None) -> None:
        """Open the chat window of a number, on one conversation if named."""
        client_id = self._service.get_client(_arg(client_id, "clientId", str))["clientId"]
        self._windows.open_chat_window(client_id, _arg(chat_id, "chatId", str, required=False))

    @_operation()
    def pick_file(self) -> dict[str, Any] | None:
        """The native open dialog: `{data (base64), mimetype, filename, size}`, or None when cancelled."""
        path = self._windows.choose_file()
        return read_picked_file(path) if path else None
