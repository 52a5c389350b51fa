"""A pytest plugin that counts the requests Schemathesis makes, by status, for docs/RELIABILITY.md:

    .venv/bin/python -m pytest -p bench.fuzz_count -q tests/test_fuzz_api.py
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis

COUNT: Counter[int] = Counter()
_call = schemathesis.Case.call


def _counted_call(self: schemathesis.Case, *args: Any, **kwargs: Any) -> Any:
    """Case.call, counting the answer's status."""
    response = _call(self, *args, **kwargs)
    COUNT[response.status_code] += 1
    return response


schemathesis.Case.call = _counted_call


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line after the run: how many requests, by status."""
    total = sum(COUNT.values())
    terminalreporter.write_line(f"schemathesis requests: {total:,}; by status: {dict(sorted(COUNT.items()))}")
