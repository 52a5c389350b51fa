"""TemplatesService (`service.templates`): named message templates and their use as quick replies and sends.

The REST views (api/templates.py), the desktop bridge and POST /messages call this; it checks a template
when it is saved (render.parse: syntax, the whitelist, the size) so a stored template always renders, and
renders one for a message (`message_fields`), which the service then sends as if its text had been typed.
"""

from __future__ import annotations

import logging
import random
import secrets
from datetime import datetime, timezone
from typing import Any

from ..clock import iso
from ..errors import InvalidInput
from ..store.templates import NameTaken, StoredTemplate, TemplateStore
from ..validation import Media, decode_media, media_kind
from . import render
from .errors import TemplateNameTaken, TemplateNotFound

log = logging.getLogger(__name__)
MAX_NAME_CHARS = 100


class TemplatesService:
    """Create, read, change, delete and render templates; safe from any thread (the store's locking)."""

    def __init__(self, store: TemplateStore, rng: random.Random | None = None):
        self._store = store
        self._rng = rng or random.SystemRandom()

    def close(self) -> None:
        """Close templates.db (at shutdown)."""
        self._store.close()

    def list(self) -> list[dict[str, Any]]:
        """Every template, by name."""
        return [_to_dict(t) for t in self._store.all()]

    def get(self, template_id: str) -> dict[str, Any]:
        """One template; TemplateNotFound."""
        return _to_dict(self._one(template_id))

    def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        """A new template from {"name", "text", "media"?}, checked before it is stored."""
        name, text, media = _checked(fields.get("name"), fields.get("text"), fields.get("media"))
        try:
            stored = self._store.insert("tpl_" + secrets.token_hex(8), name, text, media)
        except NameTaken:
            raise _taken(name) from None
        log.info("[Pool] modelo %s criado (%s)", stored.id, name)
        return _to_dict(stored)

    def update(self, template_id: str, fields: dict[str, Any], *, partial: bool) -> dict[str, Any]:
        """PUT (every field; media absent means none) or PATCH (only the fields given; media null removes it)."""
        old = self._one(template_id)
        if partial:
            fields = {"name": old.name, "text": old.text, "media": old.media, **fields}
        name, text, media = _checked(fields.get("name"), fields.get("text"), fields.get("media"))
        try:
            stored = self._store.update(template_id, name, text, media)
        except NameTaken:
            raise _taken(name) from None
        if stored is None:
            raise _not_found(template_id)
        log.info("[Pool] modelo %s alterado", template_id)
        return _to_dict(stored)

    def delete(self, template_id: str) -> None:
        """Remove a template; TemplateNotFound if there was none."""
        if not self._store.delete(template_id):
            raise _not_found(template_id)
        log.info("[Pool] modelo %s removido", template_id)

    def preview(self, template_id: str, variables: Any) -> dict[str, Any]:
        """The text one message would get (alternatives chosen at random), with every choice's alternatives."""
        template = self._one(template_id)
        text = render.render(template.text, render.check_values(variables), self._rng)
        return {"text": text, "alternatives": render.alternatives(render.split_spintax(template.text))}

    def preview_text(self, text: Any, variables: Any) -> dict[str, Any]:
        """The same for unsaved text (the Templates page's live preview); an unfilled variable shows its name."""
        parsed = render.parse(text)
        values = {name: f"[{name}]" for name in parsed.required} | render.check_values(variables)
        return {"text": render.render(text, values, self._rng), "variables": parsed.variables,
                "alternatives": render.alternatives(render.split_spintax(text))}

    def message_fields(self, template_id: Any, variables: Any) -> dict[str, Any]:
        """What POST /messages sends for a template: {"text"}, or {"media"} with the rendered text as caption."""
        if not isinstance(template_id, str):
            raise InvalidInput("'templateId' must be text", details={"field": "templateId"})
        template = self._one(template_id)
        text = render.render(template.text, render.check_values(variables), self._rng)
        if template.media is None:
            return {"text": text}
        media = {k: v for k, v in template.media.items() if k in ("data", "mimetype", "filename")}
        return {"media": media | {"caption": text}}

    def _one(self, template_id: str) -> StoredTemplate:
        """The stored template or TemplateNotFound."""
        stored = self._store.get(template_id)
        if stored is None:
            raise _not_found(template_id)
        return stored


def _checked(name: Any, text: Any, media: Any) -> tuple[str, str, dict[str, Any] | None]:
    """The fields of a template, each checked: a name of 1-100 characters, text that parses, media as
    POST /messages takes it (base64 within WhatsApp's limits, its bytes matching its type)."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_CHARS:
        raise InvalidInput(f"'name' must be 1 to {MAX_NAME_CHARS} characters", details={"field": "name"})
    if not isinstance(text, str):
        raise InvalidInput("'text' must be text", details={"field": "text"})
    render.parse(text)
    return name.strip(), text, _media(media)


def _media(media: Any) -> dict[str, Any] | None:
    """Media {"data", "mimetype", "filename"?}, checked now so a template never fails at send time for it."""
    if media is None:
        return None
    if not isinstance(media, dict) or not isinstance(media.get("data"), str) \
            or not isinstance(media.get("mimetype"), str) or not isinstance(media.get("filename", ""), str):
        raise InvalidInput("'media' needs 'data' (base64) and 'mimetype'", details={"field": "media"})
    checked = Media(media["mimetype"].strip(), media["data"], media.get("filename"))
    raw = decode_media(checked, media_kind(checked.mimetype))
    kept = {"data": checked.data, "mimetype": checked.mimetype, "size": len(raw)}
    return kept | ({"filename": checked.filename} if checked.filename else {})


def _to_dict(t: StoredTemplate) -> dict[str, Any]:
    """The JSON shape: media shown by type, name and size, never its bytes (a list of templates stays small)."""
    parsed = render.parse(t.text)
    out: dict[str, Any] = {"id": t.id, "name": t.name, "text": t.text, "variables": parsed.variables,
                           "defaults": parsed.defaults, "required": parsed.required}
    if t.media is not None:
        out["media"] = {k: v for k, v in t.media.items() if k != "data"}
    return out | {"createdAt": _iso_ms(t.created_at), "updatedAt": _iso_ms(t.updated_at)}


def _iso_ms(ms: int) -> str | None:
    """Epoch milliseconds as ISO 8601."""
    return iso(datetime.fromtimestamp(ms / 1000, timezone.utc))


def _not_found(template_id: str) -> TemplateNotFound:
    """The 404 naming the id."""
    return TemplateNotFound(f"No template with id {template_id!r}", details={"templateId": str(template_id)[:100]})


def _taken(name: str) -> TemplateNameTaken:
    """The 409 naming the name."""
    return TemplateNameTaken(f"A template named {name!r} already exists", details={"name": name})
