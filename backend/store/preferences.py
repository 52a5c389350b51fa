"""dados/preferences.json: what the person at the desktop chose (language, notifications, the cards' order).

    {"version": 1, "language": "pt-BR", "notifications": true, "cardOrder": ["vendas", "suporte"],
     "browserPath": null}

browserPath: the Chromium, Chrome or Edge executable to use (null: found by itself); read at start.

Small, read at start and on every window's load, written atomically on each change. A bad file is set aside and
the defaults are used: preferences are worth far less than starting.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..validation import LANGUAGES, MAX_ORDERED, MAX_PATH_CHARS
from .atomic import set_aside, write_atomic

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
# The pool's limits (null: the app's own default, or the command line's). Applied at once by the service;
# the command line's --max-clients etc. win over these for that run.
POOL_LIMITS: dict[str, tuple[str, type, float, float]] = {
    "maxClients": ("max_clients", int, 1, 500),
    "healthCheckInterval": ("health_check_interval_s", float, 5, 3600),
    "reconnectDelay": ("reconnect_delay_s", float, 1, 3600),
    "onDemandIdle": ("on_demand_idle_s", float, 1, 86400),  # an on-demand number's quiet period
}
# Cluster mode (store/pg_preferences.py): what describes one machine stays in its preferences.json; the rest,
# the pool limits below among them, is the cluster's.
MACHINE_KEYS = ("browserPath", "maxClients")
SHARED_LIMITS = tuple(k for k in (*POOL_LIMITS, "autoReconnect") if k not in MACHINE_KEYS)
DEFAULTS: dict[str, Any] = {"language": "pt-BR", "notifications": True, "cardOrder": [], "browserPath": None,
                            "maxClients": None, "healthCheckInterval": None, "reconnectDelay": None,
                            "autoReconnect": None, "onDemandIdle": None}


def validate(changes: Any) -> dict[str, Any]:
    """The known preferences in `changes`, checked; InvalidInput naming the field otherwise."""
    if not isinstance(changes, dict):
        raise InvalidInput("Preferences are a JSON object", details={"field": "(body)"})
    unknown = sorted(set(changes) - set(DEFAULTS))
    if unknown:
        raise InvalidInput(f"Unknown preference {unknown[0]!r}", details={"field": unknown[0]})
    if "language" in changes and changes["language"] not in LANGUAGES:
        raise InvalidInput(f"'language' is one of {', '.join(LANGUAGES)}", details={"field": "language"})
    if "notifications" in changes and not isinstance(changes["notifications"], bool):
        raise InvalidInput("'notifications' must be true or false", details={"field": "notifications"})
    if "cardOrder" in changes:
        order = changes["cardOrder"]
        if (not isinstance(order, list) or len(order) > MAX_ORDERED
                or not all(isinstance(i, str) and 0 < len(i) <= 64 for i in order)):
            raise InvalidInput(f"'cardOrder' is a list of at most {MAX_ORDERED} client ids",
                               details={"field": "cardOrder"})
        changes = {**changes, "cardOrder": list(dict.fromkeys(order))}  # each id once, first place kept
    if "browserPath" in changes:
        changes = {**changes, "browserPath": _browser_path(changes["browserPath"])}
    for name in POOL_LIMITS:
        if changes.get(name) is not None:
            _pool_limit(name, changes[name])
    if changes.get("autoReconnect") is not None and not isinstance(changes["autoReconnect"], bool):
        raise InvalidInput("'autoReconnect' must be true, false or null", details={"field": "autoReconnect"})
    return dict(changes)


def _pool_limit(name: str, value: Any) -> None:
    """A pool limit within its range (a whole number for maxClients); InvalidInput naming the field otherwise."""
    _, kind, low, high = POOL_LIMITS[name]
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high
          and (kind is float or isinstance(value, int)))
    if not ok:
        what = "a whole number" if kind is int else "a number of seconds"
        raise InvalidInput(f"'{name}' is {what} from {low:g} to {high:g}, or null", details={"field": name})


def apply_pool_limits(values: dict[str, Any], settings: Any) -> list[str]:
    """Set the pool limits chosen in `values` (null ones are left as they are) on `settings`; the names set."""
    done = []
    for name, (attr, kind, _, _) in POOL_LIMITS.items():
        if values.get(name) is not None:
            setattr(settings, attr, kind(values[name]))
            done.append(name)
    if values.get("autoReconnect") is not None:
        settings.auto_reconnect = bool(values["autoReconnect"])
        done.append("autoReconnect")
    return done


def saved_pool_limits(path: Path) -> dict[str, Any]:
    """The pool limits in the preferences file, read without changing anything (see saved_browser_path)."""
    try:
        doc = json.loads(path.read_bytes())
        if not isinstance(doc, dict):
            return {}
        limits = {k: doc.get(k) for k in (*POOL_LIMITS, "autoReconnect")}
        return validate({k: v for k, v in limits.items() if v is not None})
    except (OSError, ValueError, InvalidInput):
        return {}


def _browser_path(value: Any) -> str | None:
    """A browser executable's full path ('' or null: find one by itself); InvalidInput otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if (not isinstance(value, str) or len(value) > MAX_PATH_CHARS or "\0" in value
            or not Path(value.strip()).is_absolute()):
        raise InvalidInput("'browserPath' is the full path of a Chromium, Chrome or Edge executable, or null",
                           details={"field": "browserPath"})
    return value.strip()


def saved_browser_path(path: Path) -> str | None:
    """The browser chosen in the preferences, read without changing anything: app.py needs it before the log
    file is open and before it knows this launch owns the folder, so a bad file is left for PreferencesStore
    to set aside (and say so) later."""
    try:
        doc = json.loads(path.read_bytes())
        return _browser_path(doc.get("browserPath")) if isinstance(doc, dict) else None
    except (OSError, ValueError, InvalidInput):
        return None


class PreferencesStore:
    """The preferences of one data folder; safe to call from any thread."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._values = self._load()

    def _load(self) -> dict[str, Any]:
        """The file's values over the defaults; a bad file is set aside (and said)."""
        if not self.path.exists():
            return dict(DEFAULTS)
        try:
            doc = json.loads(self.path.read_bytes())
            if not isinstance(doc, dict):
                raise InvalidInput("not a JSON object")
            doc.pop("version", None)
            return {**DEFAULTS, **validate(doc)}
        except (ValueError, InvalidInput) as exc:
            set_aside(self.path, f"preferências inválidas: {exc}")
            log.warning("[Prefs] %s inválido: usando as preferências padrão", self.path.name)
            return dict(DEFAULTS)

    def get(self) -> dict[str, Any]:
        """Every preference."""
        with self._lock:
            return {**self._values, "cardOrder": list(self._values["cardOrder"])}

    def update(self, changes: Any) -> dict[str, Any]:
        """Apply some preferences (validated first: a bad value changes nothing) and return them all."""
        checked = validate(changes)
        with self._lock:
            values = {**self._values, **checked}
            write_atomic(self.path, json.dumps({"version": FORMAT_VERSION, **values}, ensure_ascii=False,
                                               indent=2).encode("utf-8"))
            self._values = values
            return {**values, "cardOrder": list(values["cardOrder"])}
