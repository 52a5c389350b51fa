"""Lazy start: app.py serves its API and login page without Playwright's driver (a node process); the first
number that needs a browser starts it. Restoring saved numbers at start is pinned by tests/test_app.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from backend.auth.service import AuthService
from backend.engine.browser import playwright_chromium
from tests.api_support import Api
from tests.conftest import wait_until
from tests.test_app import ROOT, Output, finish

pytestmark = pytest.mark.process  # app.py in a process of its own


def descendants(pid: int) -> list[str]:
    """Command lines of every process below `pid` (the driver runs in a session of its own, still our child)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if entry.name.isdigit():
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for child, ppid in parents.items():
            if ppid == parent:
                found.append(child)
                todo.append(child)
    commands = []
    for child in found:
        try:
            commands.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return commands


def drivers(pid: int) -> list[str]:
    """Playwright's node driver among `pid`'s descendants."""
    return [c for c in descendants(pid) if "node" in c and "playwright" in c and "run-driver" in c]


def make_key(data: Path) -> str:
    """An API key for the app on `data`, made by the auth command line (after the first password change)."""
    AuthService.in_folder(data).change_password("admin", "uma senha nova e longa", username="admin")
    made = subprocess.run([sys.executable, "-m", "backend.auth", "--data", str(data), "keys", "create", "teste"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    return next(line.strip() for line in made.stdout.splitlines() if line.strip().startswith("zp_"))


def test_the_app_serves_before_the_driver_starts_and_a_new_number_starts_it(sim, tmp_path):
    data = tmp_path / "dados"
    key = make_key(data)
    app = subprocess.Popen([sys.executable, "app.py", "--headless", "--data", str(data), "--whatsapp-url", sim.url,
                            "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    output = Output(app)
    try:
        url = re.search(r"http://\S+", output.wait_for("API REST:")).group(0)
        api = Api(url, key)
        assert api.call("GET", "/health").status == 200
        wait_until(lambda: "[Engine] Navegador:" in "".join(output.lines), 10, what="the browser check")
        login = Api(url, None).call("GET", "/")
        assert login.status == 200 and b"<html" in login.body.lower()
        assert drivers(app.pid) == [], "no number needs a browser yet: no Playwright driver"

        assert api.call("POST", "/clients", {"clientId": "loja"}).status in (200, 201)
        assert len(drivers(app.pid)) == 1, "the first number started Playwright's driver"
    finally:
        code, out, _ = finish(app, output, 15, group=True)
    assert code == 0, out


def test_playwrights_chromium_is_found_where_the_driver_says_without_starting_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    assert playwright_chromium() is None, "not downloaded: nothing to find"
    with sync_playwright() as playwright:
        said = Path(playwright.chromium.executable_path)
    assert str(said).startswith(str(tmp_path))
    said.parent.mkdir(parents=True)
    said.write_text("")
    os.chmod(said, 0o755)

    assert playwright_chromium() == str(said)


def test_no_browser_installed_is_said_without_starting_the_driver(sim, tmp_path):
    bare = {**os.environ, "PATH": "/nonexistent", "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "nada")}
    app = subprocess.Popen([sys.executable, "app.py", "--headless", "--data", str(tmp_path / "dados"),
                            "--whatsapp-url", sim.url, "--port", "0"], cwd=ROOT, env=bare, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = Output(app)
    try:
        said = output.wait_for("Erro:")
        assert "No Chromium-based browser was found" in said and "apt-get install chromium" in said
        url = re.search(r"http://\S+", output.wait_for("API REST:")).group(0)
        assert Api(url, None).call("GET", "/health").status == 200, "the app stays up to say it"
        assert drivers(app.pid) == [], "finding no browser needs no Playwright driver"
    finally:
        code, out, _ = finish(app, output, 15, group=True)
    assert code == 0, out
