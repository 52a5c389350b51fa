"""The bridge's operations on a number's WhatsApp data (issue 16): groups (the pool manager's Groups dialog,
frontend/js/groups.js), contacts and history (the chat window's picker and scroll), a message's media (its
previews). One line each into the service's capabilities, checked as their REST routes are; mixed into
bridge.Bridge, which pywebview exposes.
"""

from __future__ import annotations

from typing import Any

from ..errors import Unavailable
from ..service import ZapPoolService
from .operations import arg as _arg
from .operations import limit as _limit
from .operations import operation as _operation


class WhatsAppDataOperations:
    """Groups, contacts, history and media for the windows; needs the bridge's `_service` and `_session`."""

    _service: ZapPoolService

    # -- groups (frontend/js/groups.js; checked as the /clients/{id}/groups routes, by service.groups) ------------

    @_operation()
    def list_groups(self, client_id: Any) -> list[dict[str, Any]]:
        """The number's groups, for its Groups dialog."""
        return self._service.groups.list_groups(_arg(client_id, "clientId", str))

    @_operation()
    def create_group(self, client_id: Any, subject: Any, participants: Any) -> dict[str, Any]:
        """A new group with these participants (POST /clients/{id}/groups)."""
        return self._service.groups.create(_arg(client_id, "clientId", str), subject, participants)

    @_operation()
    def add_group_participants(self, client_id: Any, group_id: Any, participants: Any) -> dict[str, Any]:
        """Add people to a group."""
        return self._service.groups.add_participants(_arg(client_id, "clientId", str), group_id, participants)

    @_operation()
    def remove_group_participants(self, client_id: Any, group_id: Any, participants: Any) -> dict[str, Any]:
        """Remove people from a group."""
        return self._service.groups.change_participants(_arg(client_id, "clientId", str), group_id, participants,
                                                        "remove")

    @_operation()
    def promote_group_participants(self, client_id: Any, group_id: Any, participants: Any) -> dict[str, Any]:
        """Make members admins."""
        return self._service.groups.change_participants(_arg(client_id, "clientId", str), group_id, participants,
                                                        "promote")

    @_operation()
    def demote_group_participant(self, client_id: Any, group_id: Any, participant: Any) -> dict[str, Any]:
        """An admin back to member."""
        return self._service.groups.change_participants(_arg(client_id, "clientId", str), group_id,
                                                        [_arg(participant, "participant", str)], "demote")

    @_operation()
    def get_group_invite(self, client_id: Any, group_id: Any) -> dict[str, str]:
        """The group's invite link, to copy."""
        return self._service.groups.invite(_arg(client_id, "clientId", str), group_id)

    @_operation()
    def message_media_link(self, client_id: Any, message_id: Any) -> dict[str, Any]:
        """A message's media for the chat window's preview: {url, mimetype, filename, size}, the url a short-lived
        link on ZapPool's server that the page loads as it is (the bytes never cross the bridge)."""
        media = self._service.media
        if media is None:
            raise Unavailable("Media is not enabled in this ZapPool")
        return media.link(_arg(client_id, "clientId", str), _arg(message_id, "messageId", str)[:200])

    @_operation()
    def contact_picture_link(self, client_id: Any) -> dict[str, Any]:
        """{url, maxAgeS}: the base of the number's profile picture links; the window appends a contact id and
        loads it as an <img> (the bytes never cross the bridge; contacts/pictures.py)."""
        return self._service.contacts.picture_link(_arg(client_id, "clientId", str))

    @_operation()
    def chat_history(self, client_id: Any, chat_id: Any, before: Any, limit: Any = 50) -> dict[str, Any]:
        """The page of a conversation before a WhatsApp message id (or `now`), from WhatsApp into the log."""
        return self._service.contacts.history(_arg(client_id, "clientId", str), _arg(chat_id, "chatId", str),
                                              _arg(before, "before", str), _limit(limit))

    @_operation()
    def list_contacts(self, client_id: Any, search: Any = None) -> dict[str, Any]:
        """The number's contacts, for the new-chat picker."""
        return self._service.contacts.list_contacts(_arg(client_id, "clientId", str),
                                                    _arg(search, "search", str, required=False))

    @_operation()
    def get_contact(self, client_id: Any, contact_id: Any) -> dict[str, Any]:
        """One contact's details."""
        return self._service.contacts.get_contact(_arg(client_id, "clientId", str), _arg(contact_id, "contactId", str))
