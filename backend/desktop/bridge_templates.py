"""The bridge's template operations (issue 17 §1): the chat window's quick replies list the templates and
render the one chosen; one line each into service.templates, checked as their REST routes are. Mixed into
bridge.Bridge, which pywebview exposes."""

from __future__ import annotations

from typing import Any

from ..service import ZapPoolService
from .operations import arg as _arg
from .operations import operation as _operation


class TemplateOperations:
    """Templates for the windows; needs the bridge's `_service`."""

    _service: ZapPoolService

    @_operation()
    def list_templates(self) -> list[dict[str, Any]]:
        """Every template, by name (GET /templates)."""
        return self._service.templates.list()

    @_operation()
    def preview_template(self, template_id: Any, variables: Any = None) -> dict[str, Any]:
        """One message's text from a template (POST /templates/{id}/preview)."""
        return self._service.templates.preview(_arg(template_id, "templateId", str), variables)
