"""WhatsApp Web simulator: a local site exposing window.WPP like WA-JS 4.6.0, plus a control API for tests."""

from .control import SimControl, SimError
from .server import SimServer

__all__ = ["SimControl", "SimError", "SimServer"]
