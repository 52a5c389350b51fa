"""WhatsApp Web simulator: a local site exposing window.WPP like WA-JS 4.6.0, plus a control API for tests."""

from .control import SimControl, SimError
from .server import SimServer
from .store import DEFAULT_PORT, saved_port

__all__ = ["DEFAULT_PORT", "SimControl", "SimError", "SimServer", "saved_port"]
