"""CSV cells a spreadsheet opens as data, never as a formula.

Exports (reports' tables, a campaign's per-recipient report) carry text that came from contacts: a name
such as `=HYPERLINK("http://evil", "x")` would run when the file is opened in Excel or LibreOffice (CSV
injection, OWASP). A cell that starts like a formula gets a leading quote, which both show as plain text.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: empty for None, text that starts like a formula made inert, the rest as is."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
