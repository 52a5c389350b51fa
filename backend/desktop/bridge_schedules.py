"""The bridge's schedule operations (issue 17 §3): the chat window's clock button schedules what was typed, and
the Scheduled messages window lists, changes and cancels. One line each into service.schedules, checked as the
/schedules routes are. Mixed into bridge.Bridge, which pywebview exposes."""

from __future__ import annotations

from typing import Any

from ..service import ZapPoolService
from .operations import arg as _arg
from .operations import limit as _limit
from .operations import operation as _operation


class ScheduleOperations:
    """Schedules for the windows; needs the bridge's `_service` and `_windows`."""

    _service: ZapPoolService
    _windows: Any  # bridge.Windows (its open_schedules_window)

    @_operation()
    def list_schedules(self, client_id: Any = None, status: Any = None, cursor: Any = None,
                       limit: Any = 50) -> dict[str, Any]:
        """Schedules in the order they were made (GET /schedules)."""
        return self._service.schedules.list(client_id, status, cursor, _limit(limit))

    @_operation()
    def create_schedule(self, fields: Any) -> dict[str, Any]:
        """A new schedule (POST /schedules)."""
        return self._service.schedules.create(_arg(fields, "fields", dict))

    @_operation()
    def update_schedule(self, schedule_id: Any, fields: Any) -> dict[str, Any]:
        """Change the fields given (PATCH /schedules/{id})."""
        return self._service.schedules.update(_arg(schedule_id, "scheduleId", str), _arg(fields, "fields", dict))

    @_operation()
    def cancel_schedule(self, schedule_id: Any) -> dict[str, Any]:
        """Cancel it (DELETE /schedules/{id})."""
        return self._service.schedules.cancel(_arg(schedule_id, "scheduleId", str))

    @_operation()
    def open_schedules_window(self) -> None:
        """Open the Scheduled messages window (or bring it to the front)."""
        self._windows.open_schedules_window()
