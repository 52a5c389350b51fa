"""The bridge's operations on the customer list (issue 17 §2): the Contacts window (frontend/js/contacts.js) imports
a CSV, lists and searches customers, tags them, lists and removes opt-outs, and sets the opt-out keywords. One line
each into `service.audience`, checked as the /contacts routes are; mixed into bridge.Bridge, which pywebview
exposes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ..errors import InvalidInput
from ..service import ZapPoolService
from .operations import arg as _arg
from .operations import limit as _limit
from .operations import operation as _operation

MAX_IMPORT_BASE64 = 12 * 1024 * 1024  # the importer's 8 MiB file in base64, with room


class AudienceOperations:
    """The Contacts window's operations; needs the bridge's `_service`, `_session` and `_windows`."""

    _service: ZapPoolService
    _windows: Any

    @_operation()
    def import_contacts(self, data: Any, tags: Any = None) -> dict[str, Any]:
        """A CSV file (base64, as read by the window) imported: {imported, merged, invalid}."""
        text = _arg(data, "data", str)
        if len(text) > MAX_IMPORT_BASE64:
            raise InvalidInput("The file is larger than 8 MB: split it", details={"field": "data"})
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("data must be the file in base64", details={"field": "data"}) from None
        return self._service.audience.import_csv(raw, _arg(tags, "tags", list, required=False))

    @_operation()
    def list_audience(self, query: Any = None, tag: Any = None, cursor: Any = None, limit: Any = 50) -> dict[str, Any]:
        """A page of customers (GET /contacts)."""
        return self._service.audience.list(_arg(query, "q", str, required=False) or "",
                                           _arg(tag, "tag", str, required=False) or "",
                                           _arg(cursor, "cursor", str, required=False), _limit(limit))

    @_operation()
    def list_audience_tags(self) -> list[dict[str, Any]]:
        """Every tag and its count (GET /contacts/tags)."""
        return self._service.audience.tags()

    @_operation()
    def change_audience_contact(self, customer_id: Any, changes: Any) -> dict[str, Any]:
        """Name, variables, tags added or removed (PATCH /contacts/{id})."""
        return self._service.audience.update(_arg(customer_id, "id", int), _arg(changes, "changes", dict))

    @_operation()
    def list_optouts(self, cursor: Any = None, limit: Any = 50) -> dict[str, Any]:
        """A page of opt-outs (GET /contacts/optouts)."""
        return self._service.audience.optouts(_arg(cursor, "cursor", str, required=False), _limit(limit))

    @_operation()
    def add_optout(self, phone: Any) -> dict[str, Any]:
        """Opt a phone out by hand (how: manual)."""
        return self._service.audience.opt_out(_arg(phone, "phone", str), "manual")

    @_operation()
    def remove_optout(self, phone: Any) -> None:
        """The phone may receive messages again."""
        self._service.audience.opt_in(_arg(phone, "phone", str))

    @_operation()
    def get_optout_settings(self) -> dict[str, Any]:
        """The keywords and the confirmation text."""
        return self._service.audience.optout_settings()

    @_operation()
    def set_optout_settings(self, changes: Any) -> dict[str, Any]:
        """Change the keywords and/or the confirmation text."""
        return self._service.audience.optout_settings(_arg(changes, "changes", dict))

    @_operation()
    def open_contacts_window(self) -> None:
        """Open the Contacts window (or bring it to the front)."""
        self._windows.open_contacts_window()
