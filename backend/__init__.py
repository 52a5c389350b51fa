"""ZapPool backend: many WhatsApp Web numbers driven from one desktop."""

__version__ = "0.1.0"
