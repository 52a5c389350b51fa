"""Versioned addresses for the frontend's scripts, style sheets and images, so a window's browser keeps them.

Every page's files were served `no-cache`: each open of a window asked for its 25-odd scripts again and waited
for 25 answers "304 Not Modified", six at a time, before the first API read could leave (issue 16, the chat
window's first paint; docs/PERFORMANCE.md). Now the pages name their files under `/ui/v/<version>/...`, where
the version is a signature of the frontend's files (path, size, modification time), and a file asked for under
the current version is kept by the browser for a year (`immutable`): a window opened again asks only for its
page. A changed file (an upgrade, or a developer's edit while the server runs) changes the version, so the
pages, which are still revalidated on every open, name new addresses. A file asked for under another version
(a page from before the change) is served as it is now, revalidated as before.

Relative imports (`./api.js`) resolve inside the versioned folder, so every module a page loads is versioned
without touching the scripts.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

VERSIONED_FOLDERS = ("js", "css", "img")
# The pages' own references to those folders: src="/ui/js/...", href="/ui/css/...".
PAGE_REFERENCE = re.compile(r'(?<=["\'])/ui/(?=(?:js|css|img)/)')
FRESH_S = 1.0  # a signature is reused this long: a window's first open asks for ~30 files at once
_last: dict[Path, tuple[float, str]] = {}


def signature(frontend: Path) -> str:
    """A short signature of every file under the versioned folders: it changes when any of them changes.
    A stat of each of the ~90 files, at most once a second, so an edit shows at the next open."""
    now = time.monotonic()
    kept = _last.get(frontend)
    if kept is not None and now - kept[0] < FRESH_S:
        return kept[1]
    value = _signature(frontend)
    _last[frontend] = (now, value)
    return value


def _signature(frontend: Path) -> str:
    """signature() computed now."""
    digest = hashlib.sha256()
    for folder in VERSIONED_FOLDERS:
        for root, _dirs, files in sorted(os.walk(frontend / folder)):
            for name in sorted(files):
                stat = os.stat(os.path.join(root, name))
                digest.update(f"{root}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def versioned_page(html: str, version: str) -> str:
    """The page with its scripts', style sheets' and images' addresses under `/ui/v/<version>/`."""
    return PAGE_REFERENCE.sub(f"/ui/v/{version}/", html)
