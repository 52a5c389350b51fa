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
DEFAULTS: dict[str, Any] = {"language": "pt-BR", "notifications": True, "cardOrder": [], "browserPath": None}


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
    return dict(changes)


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
