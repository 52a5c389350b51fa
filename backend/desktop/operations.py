"""What makes a method a bridge operation (backend/desktop/bridge.py): its arguments bound and type-checked as REST
checks a body, the desktop session checked, and the answer enveloped as REST's (`{"result": ...}` or
`{"error": {"code", "message", "details"}}`; an unexpected failure is logged and answered as `internal`). Shared
by the bridge's modules, so each stays one line per operation.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import InvalidInput, ZapPoolError
from ..validation import check_limit, typed

log = logging.getLogger("backend.desktop.bridge")  # the bridge's log lines keep their logger name
Envelope = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])
INTERNAL: Envelope = {"error": {"code": "internal", "message": "Internal error: see ZapPool's log for details",
                                "details": {}}}
# Who may call an operation, as REST's security.py: anyone (login), a session whose first-run password must
# still be changed (me, logout, change_password), or a full session (everything else).
ANYONE, DURING_PASSWORD_CHANGE, SIGNED_IN = "anyone", "during_password_change", "signed_in"


def operation(access: str = SIGNED_IN) -> Callable[[F], F]:
    """Turn a method into a bridge operation: arguments bound, session checked, result or error enveloped."""
    def decorate(func: F) -> F:
        """Wrap one method."""
        signature = inspect.signature(func)

        @functools.wraps(func)
        def call(self: Any, *args: Any, **kwargs: Any) -> Envelope:
            """What pywebview calls: never raises, always an envelope."""
            try:
                signature.bind(self, *args, **kwargs)
            except TypeError:
                wanted = [p for p in signature.parameters if p != "self"]
                return InvalidInput(f"{func.__name__} takes ({', '.join(wanted)})",
                                    details={"arguments": wanted}).to_dict()
            try:
                self._session.require(access)
                return {"result": func(self, *args, **kwargs)}
            except ZapPoolError as exc:
                return exc.to_dict()
            except Exception:  # noqa: BLE001 - the page gets the envelope, the log gets the trace
                log.exception("[Desktop] erro inesperado em %s", func.__name__)
                return INTERNAL
        return call  # type: ignore[return-value]
    return decorate


def arg(value: Any, name: str, kind: type, *, required: bool = True) -> Any:
    """An argument checked for its type, refused as REST refuses a body field (validation.typed)."""
    return typed(value, name, kind, required=required)


def limit(value: Any) -> int:
    """A page size, 1 to 200, checked as REST's ?limit= (validation.check_limit)."""
    return check_limit(arg(value, "limit", int))
