"""The bridge's template operations (issue 17 §1): the chat window's quick replies list the templates and
render the one chosen; one line each into service.templates, checked as their REST routes are. Mixed into
bridge.Bridge, which pywebview exposes."""

from __future__ import annotations

from typing import Any

from ..service import ZapPoolService
from .operations import arg as _arg
from .operations import operation as _operation


class TemplateOperations:
    """Templates for the windows; needs the bridge's `_service` and `_windows`."""

    _service: ZapPoolService
    _windows: Any  # bridge.Windows (its open_templates_window)

    @_operation()
    def list_templates(self) -> list[dict[str, Any]]:
        """Every template, by name (GET /templates)."""
        return self._service.templates.list()

    @_operation()
    def preview_template(self, template_id: Any, variables: Any = None) -> dict[str, Any]:
        """One message's text from a template (POST /templates/{id}/preview)."""
        return self._service.templates.preview(_arg(template_id, "templateId", str), variables)

    @_operation()
    def create_template(self, fields: Any) -> dict[str, Any]:
        """A new template from the Templates window (POST /templates)."""
        return self._service.templates.create(_arg(fields, "fields", dict))

    @_operation()
    def update_template(self, template_id: Any, fields: Any) -> dict[str, Any]:
        """Change the fields given (PATCH /templates/{id})."""
        return self._service.templates.update(_arg(template_id, "templateId", str), _arg(fields, "fields", dict),
                                              partial=True)

    @_operation()
    def delete_template(self, template_id: Any) -> None:
        """Remove a template (DELETE /templates/{id})."""
        self._service.templates.delete(_arg(template_id, "templateId", str))

    @_operation()
    def preview_template_text(self, text: Any, variables: Any = None) -> dict[str, Any]:
        """Unsaved text rendered with sample values: the window's live preview (POST /templates/preview)."""
        return self._service.templates.preview_text(text, variables)

    @_operation()
    def open_templates_window(self) -> None:
        """Open the Templates window (or bring it to the front)."""
        self._windows.open_templates_window()
