"""The windows' icon font (frontend/js/icon-font.js, issue 16 section 4) has every icon the frontend writes.

The font is cut out of Noto Emoji by scripts/build_icon_font.py and committed: an icon added to a page or a
script without running the script again would draw as an empty box on a machine with no emoji font, and an
emoji Noto Emoji does not have would never draw at all. Both fail here, before anyone sees a box.
"""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from pathlib import Path

from fontTools.ttLib import TTFont

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "frontend" / "js" / "icon-font.js"
NOTO_EMOJI = ROOT / "node_modules" / "@fontsource" / "noto-emoji" / "files" / "noto-emoji-emoji-400-normal.woff2"
# The symbol and pictograph blocks (arrows to miscellaneous symbols, and U+1F000 on): where emoji live.
SYMBOLS = re.compile(r"[\u2190-\u2BFF\U0001F000-\U0001FAFF]")
# Symbols the windows use as text, not emoji: Noto Emoji has none of them; the system's text font draws them
# (DejaVu Sans on Linux, Segoe UI Symbol on Windows, Apple Symbols on macOS).
TEXT_SYMBOLS = {"←", "→", "✓", "⠿"}


def frontend_symbols() -> set[str]:
    """Every symbol written in the frontend's pages, scripts and style sheets (the generated font aside)."""
    paths = [*ROOT.glob("frontend/*.html"), *ROOT.glob("frontend/js/*.js"), *ROOT.glob("frontend/css/*.css")]
    return {c for p in paths if p != SCRIPT for c in SYMBOLS.findall(p.read_text(encoding="utf-8"))}


def icon_font() -> TTFont:
    """The font icon-font.js registers, decoded from the script's own text."""
    chunks = re.findall(r'^\s+"([A-Za-z0-9+/=]+)",?$', SCRIPT.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return TTFont(io.BytesIO(base64.b64decode("".join(chunks))))


def test_the_icon_font_is_what_the_script_writes_for_the_frontend_of_today():
    run = subprocess.run([sys.executable, "scripts/build_icon_font.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=False)

    assert run.returncode == 0, run.stderr


def test_every_icon_of_the_frontend_is_in_the_icon_font():
    in_font = {chr(cp) for cp in icon_font().getBestCmap()}

    missing = frontend_symbols() - TEXT_SYMBOLS - in_font

    assert not missing, f"icons the windows would draw as empty boxes: {sorted(missing)}"
    assert {"🔗", "➕", "📎", "⚙", "💬"} <= in_font


def test_no_icon_asks_for_emoji_presentation():
    # U+FE0F after an icon ("⚙️") asks for a colour emoji: WebKitGTK, the Linux windows' engine, drew nothing
    # there with the icon font (a box without it), and Chromium fetched the nine pieces of Noto Emoji holding
    # U+FE0F (517 kB) looking for one. The icon font draws "⚙" the same without it.
    paths = [*ROOT.glob("frontend/*.html"), *ROOT.glob("frontend/js/*.js"), *ROOT.glob("frontend/css/*.css")]

    asking = sorted(str(p.relative_to(ROOT)) for p in paths if "\ufe0f" in p.read_text(encoding="utf-8"))

    assert not asking, f"U+FE0F in {asking}: write the icon without it"


def test_the_text_symbols_are_left_to_the_text_font_because_noto_emoji_has_none():
    noto = {chr(cp) for cp in TTFont(NOTO_EMOJI).getBestCmap()}

    assert not TEXT_SYMBOLS & noto


def test_the_icon_font_holds_only_the_icons_not_the_digits_noto_emoji_also_has():
    in_font = {chr(cp) for cp in icon_font().getBestCmap()}

    assert in_font <= frontend_symbols(), in_font - frontend_symbols()
    assert not set("0123456789#*") & in_font


def test_every_page_registers_the_icon_font_before_its_style_sheet():
    """Registered later, the icons in a page's first layout draw as boxes and stay so (the font is known to the
    page only once that classic script has run, before the body is parsed)."""
    for page in ROOT.glob("frontend/*.html"):
        html = page.read_text(encoding="utf-8")
        font, sheet = html.find('<script src="/ui/js/icon-font.js"></script>'), html.find('href="/ui/css/app.css"')
        assert 0 <= font < sheet, page.name
