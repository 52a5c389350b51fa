"""The browser engine: the only package that imports Playwright.

runtime.py  the engine thread (one asyncio loop owning Playwright) and browser launch
browser.py  finding a usable Chromium, Chrome or Edge and a normal user agent for it
wajs.py     the pinned WA-JS bundle injected into WhatsApp Web
wpp.py      the page driver over window.WPP, with every WPP name the engine uses in one table
errors.py   Playwright's errors translated to ZapPool's, in one place
"""

from .runtime import EngineRuntime
from .wpp import WPP_EVENTS, WPP_FUNCTIONS, Patience, WppPage

__all__ = ["EngineRuntime", "Patience", "WppPage", "WPP_EVENTS", "WPP_FUNCTIONS"]
