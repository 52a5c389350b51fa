"""The frontend's files under a versioned address (backend/api/frontend_version.py, issue 16's first paint): a
window opened again takes its scripts from the browser's cache instead of revalidating each one, and an edited
file still reaches the next window. Real waitress server on a free port, real files.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from backend.api.frontend_version import FRESH_S, signature, versioned_page
from tests.api_support import Stack

ROOT = Path(__file__).resolve().parents[1]


def page_files(stack: Stack, page: str) -> list[str]:
    """The scripts, style sheets and images a served page names (without credentials: the pages are public)."""
    reply = stack.api.call("GET", page, key=None)
    assert reply.status == 200 and reply.headers["Cache-Control"] == "no-cache"
    return re.findall(r'(?:src|href)="(/ui/[^"]+)"', reply.body.decode())


def test_a_page_names_its_files_under_the_current_version_and_they_are_kept(stack):
    files = page_files(stack, "/ui/chat.html")
    version = signature(ROOT / "frontend")

    scripts = [f for f in files if f.endswith(".js")]
    assert len(scripts) > 20 and all(f.startswith(f"/ui/v/{version}/js/") for f in scripts), files
    for path in (scripts[0], f"/ui/v/{version}/css/app.css", f"/ui/v/{version}/img/icon.svg"):
        reply = stack.api.call("GET", path, key=None)
        assert reply.status == 200 and reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # The login page too, and the pages' links to each other and to the npm packages stay as they were.
    assert all(f.startswith(f"/ui/v/{version}/") for f in page_files(stack, "/"))
    assert "/ui/vendor/uplot/uPlot.min.css" in page_files(stack, "/ui/reports.html")


def test_a_file_under_another_version_is_served_but_revalidated(stack):
    reply = stack.api.call("GET", "/ui/v/000000000000/js/api.js", key=None)

    assert reply.status == 200 and reply.headers["Cache-Control"] == "no-cache"
    assert reply.body == (ROOT / "frontend/js/api.js").read_bytes()


def test_nothing_outside_the_frontend_is_reachable_through_a_version(stack):
    version = signature(ROOT / "frontend")
    for path in (f"/ui/v/{version}/../../app.py", f"/ui/v/{version}/%2e%2e/%2e%2e/app.py", "/ui/v/x/..%2fapp.py"):
        assert stack.api.call("GET", path, key=None).status == 404, path


def test_an_edited_file_changes_the_version_the_pages_name(tmp_path):
    frontend = tmp_path / "frontend"
    shutil.copytree(ROOT / "frontend", frontend)
    before = signature(frontend)
    html = (frontend / "chat.html").read_text(encoding="utf-8")

    (frontend / "js" / "api.js").write_text((frontend / "js" / "api.js").read_text() + "\n// editado\n")
    time.sleep(FRESH_S + 0.05)  # a signature is reused for a second (a window's ~30 files at once)

    after = signature(frontend)
    assert after != before
    assert f"/ui/v/{after}/js/chat.js" in versioned_page(html, after)
    assert "/ui/js/" not in versioned_page(html, after)
