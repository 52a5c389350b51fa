"""Named message templates (issue 17 §1): rendering (render.py), the service (service.py), their refusals."""

from .service import TemplatesService

__all__ = ["TemplatesService"]
