"""The pinned WA-JS bundle (`@wppconnect/wa-js` from npm) that the engine injects into WhatsApp Web."""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path

from ..config import PROJECT_ROOT
from ..errors import EngineError

PACKAGE = "@wppconnect/wa-js"


def _candidate_roots() -> list[Path]:
    """Folders that may hold node_modules: the source tree, or the frozen app's bundle folder."""
    roots = [PROJECT_ROOT]
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        roots.insert(0, Path(frozen_root))
    return roots


@lru_cache(maxsize=1)
def bundle_path() -> Path:
    """Path of `dist/wppconnect-wa.js`, checked to be the version package.json pins."""
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["dependencies"][PACKAGE] \
        if (PROJECT_ROOT / "package.json").exists() else None
    for root in _candidate_roots():
        pkg_dir = root / "node_modules" / PACKAGE
        bundle = pkg_dir / "dist" / "wppconnect-wa.js"
        if not bundle.is_file():
            continue
        installed = json.loads((pkg_dir / "package.json").read_text())["version"]
        if pinned and installed != pinned:
            raise EngineError(
                f"WA-JS {installed} is installed but package.json pins {pinned}: run `npm ci`"
            )
        return bundle
    raise EngineError(f"The WA-JS bundle ({PACKAGE}) is missing: run `npm ci` in {PROJECT_ROOT}")
