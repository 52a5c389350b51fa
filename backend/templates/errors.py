"""The refusals of templates, each a 4xx naming its reason (their sentences: frontend/js/i18n_errors.js)."""

from __future__ import annotations

from ..errors import Conflict, InvalidInput, NotFound


class TemplateNotFound(NotFound):
    """No template has this id."""

    code = "template_not_found"


class TemplateNameTaken(Conflict):
    """Another template already has this name (names are unique, case aside)."""

    code = "template_name_taken"


class TemplateSyntax(InvalidInput):
    """The text does not parse: details name the line and the reason."""

    code = "template_syntax"


class TemplateNotAllowed(InvalidInput):
    """The text uses more than variables and their defaults (attributes, calls, loops...): refused at save, so
    no template can reach into Python (details: the construct and its line)."""

    code = "template_not_allowed"


class TemplateVariableMissing(InvalidInput):
    """A variable without a default was not given: details list them, so no message goes out with a hole."""

    code = "template_variable_missing"
