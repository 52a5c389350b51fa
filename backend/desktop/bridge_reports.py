"""The bridge's report operations (issue 18): the Reports window (frontend/js/reports.js) reads each report, its
CSV and the report settings through these, one line each into `service.reports`, checked as the /reports routes
are (the same query names and values). Mixed into bridge.Bridge, which pywebview exposes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..service import ZapPoolService
from .operations import arg as _arg
from .operations import operation as _operation

REPORTS = {"summary": "summary", "response-times": "response_times", "funnel": "funnel", "volume": "volume",
           "heatmap": "heatmap"}


def _query(params: Any) -> dict[str, Any]:
    """The report query as the REST route reads it: names to text values (a list for clientId)."""
    params = _arg(params, "params", dict, required=False) or {}
    for name, value in params.items():
        if not isinstance(value, (str, list)) or (isinstance(value, list)
                                                   and not all(isinstance(v, str) for v in value)):
            raise InvalidInput(f"'{name}' is text", details={"field": name})
    return params


class ReportOperations:
    """Reports for the windows; needs the bridge's `_service` and `_windows`."""

    _service: ZapPoolService
    _windows: Any  # bridge.Windows (its open_reports_window)

    @_operation()
    def report(self, name: Any, params: Any = None) -> dict[str, Any]:
        """One report as GET /reports/{name} answers it."""
        name = _arg(name, "name", str)
        if name not in REPORTS:
            raise InvalidInput(f"No report '{name}'", details={"field": "name"})
        return getattr(self._service.reports, REPORTS[name])(_query(params))

    @_operation()
    def report_csv(self, name: Any, params: Any = None) -> str:
        """A report's table as CSV text (GET /reports/{name}?format=csv)."""
        return self._service.reports.csv(_arg(name, "name", str), _query(params))

    @_operation()
    def save_report_csv(self, name: Any, params: Any = None) -> dict[str, Any]:
        """A report's CSV saved where the owner chooses in the native save dialog (the desktop windows do not
        download files): {"saved": false} when the dialog was cancelled. UTF-8 with a BOM, so Excel reads the
        accents."""
        name = _arg(name, "name", str)
        text = self._service.reports.csv(name, _query(params))
        path = self._windows.choose_save_path(f"zapool-{name}.csv")
        if not path:
            return {"saved": False, "path": None}
        Path(path).write_text(text, encoding="utf-8-sig", newline="")
        return {"saved": True, "path": path}

    @_operation()
    def get_report_settings(self) -> dict[str, Any]:
        """The conversation gap, the response target, business hours (GET /reports/settings)."""
        return self._service.reports.settings()

    @_operation()
    def set_report_settings(self, changes: Any) -> dict[str, Any]:
        """Change some report settings (PUT /reports/settings)."""
        return self._service.reports.set_settings(_arg(changes, "changes", dict))

    @_operation()
    def open_reports_window(self) -> None:
        """Open the Reports window (or bring it to the front)."""
        self._windows.open_reports_window()
