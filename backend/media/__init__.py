"""Media, both ways (issue 16 §2): incoming media downloaded on arrival and kept, sent media kept after the send,
both served to the API and the windows (service.py), within a retention bound."""

from .service import MediaService, ServedMedia

__all__ = ["MediaService", "ServedMedia"]
