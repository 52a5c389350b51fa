"""The import rules of backend/README.md, checked on the source: dependencies point one way.

    api, desktop -> service -> contacts, media, groups, audience, schedules -> whatsapp -> outbox, webhooks, auth,
        events -> store -> the foundation (and schedules -> templates -> store)

Each package may import only the packages listed for it in ALLOWED (and itself); Playwright only in
backend/engine/, the databases only in backend/store/, Flask and waitress only in backend/api/, pywebview and
Qt only in backend/desktop/; nothing outside tests/ imports tests, and nothing in backend/ imports the
simulator. A new import that breaks a rule fails here with the file and line that made it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The foundation: modules at the root of backend/ that every package may use, and that use only each other.
FOUNDATION = {"backend", "backend.errors", "backend.config", "backend.clock", "backend.status", "backend.validation",
              "backend.drafts", "backend.worker", "backend.csv_cells"}
ALLOWED: dict[str, set[str]] = {
    # Issue 19: keys and sealed files (pure crypto over bytes and folders); stores and the pool use it.
    "backend.sealing": set(),
    "backend.store": {"backend.sealing"},
    "backend.host": {"backend.store"},
    "backend.engine": set(),
    "backend.events": set(),
    "backend.auth": {"backend.store", "backend.host"},
    "backend.webhooks": {"backend.store", "backend.events"},
    "backend.outbox": {"backend.store", "backend.events"},
    "backend.whatsapp": {"backend.store", "backend.events", "backend.outbox", "backend.engine", "backend.sealing"},
    # Capabilities over the numbers: each reaches WhatsApp through whatsapp.client, never the engine.
    "backend.contacts": {"backend.store", "backend.events", "backend.outbox", "backend.whatsapp"},
    "backend.media": {"backend.store", "backend.events", "backend.outbox", "backend.whatsapp"},
    "backend.groups": {"backend.store", "backend.events", "backend.outbox", "backend.whatsapp"},
    # Issue 17's capabilities: templates render text; the audience (imported contacts, tags, opt-outs) and the
    # schedules send through the outbox; a schedule may render a template.
    "backend.templates": {"backend.store"},
    "backend.audience": {"backend.store", "backend.events", "backend.outbox", "backend.whatsapp"},
    "backend.schedules": {"backend.store", "backend.events", "backend.outbox", "backend.whatsapp",
                          "backend.templates"},
    # Campaigns send a rendered template to an audience through the outbox, over the ready numbers.
    "backend.campaigns": {"backend.store", "backend.events", "backend.outbox", "backend.whatsapp",
                          "backend.templates", "backend.audience"},
    # Issue 18: reports read the message log's aggregates.
    "backend.reports": {"backend.store"},
    # Issue 20: a node's leases, heartbeats and placement over the shared PostgreSQL stores; the login snapshots
    # it keeps there are sealed with the cluster's key (sealing: crypto over bytes).
    "backend.cluster": {"backend.store", "backend.events", "backend.outbox", "backend.whatsapp", "backend.sealing"},
    "backend.service": {"backend.store", "backend.host", "backend.events", "backend.outbox", "backend.whatsapp",
                        "backend.webhooks", "backend.auth", "backend.contacts", "backend.media", "backend.groups",
                        "backend.templates", "backend.audience", "backend.schedules", "backend.campaigns",
                        "backend.reports", "backend.cluster", "backend.sealing"},
    # Building the parts from the settings (the composition root's half that tests and benches share).
    "backend.assembly": {"backend.store", "backend.host", "backend.engine", "backend.events", "backend.outbox",
                         "backend.whatsapp", "backend.webhooks", "backend.auth", "backend.contacts", "backend.media",
                         "backend.groups", "backend.templates", "backend.audience", "backend.schedules",
                         "backend.campaigns", "backend.reports", "backend.cluster", "backend.sealing",
                         "backend.service"},
    # The edges: the service, the event stream they forward, and the credential check on who is calling.
    "backend.api": {"backend.service", "backend.events", "backend.auth", "backend.host"},
    "backend.desktop": {"backend.service", "backend.events", "backend.auth", "backend.host"},
}
# Third-party packages that only one package may import.
ONLY_IN = {"playwright": "backend.engine", "sqlite3": "backend.store", "tinydb": "backend.store",
           "flask": "backend.api", "werkzeug": "backend.api", "waitress": "backend.api",
           "webview": "backend.desktop", "PyQt6": "backend.desktop",
           "psycopg": "backend.store", "psycopg_pool": "backend.store", "keyring": "backend.sealing"}
ONLY_IN["sqlcipher3"] = "backend.store"  # issue 19: SQLCipher's SQLite, the sealed folders' databases


def module_name(path: Path) -> str:
    """backend/whatsapp/pool.py -> backend.whatsapp.pool (a package's __init__ is the package)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, source: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in a file (or `source` as if it were that file)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8") if source is None else source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            yield from ((node.lineno, f"{target}.{alias.name}") for alias in node.names
                        if (ROOT / target.replace(".", "/") / f"{alias.name}.py").exists())


def unit(module: str) -> str:
    """The unit a module belongs to for the rules: a backend package, a foundation module, or a top-level name."""
    parts = module.split(".")
    if parts[0] != "backend" or len(parts) == 1:
        return parts[0]
    return f"backend.{parts[1]}"


def files(*folders: str) -> list[Path]:
    """Python files under the named folders of the repository (or the named files)."""
    found: list[Path] = []
    for folder in folders:
        path = ROOT / folder
        found.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return found


def broken_rules(path: Path, source: str | None = None) -> list[str]:
    """The import rules one backend file breaks (or `source` as if it were that file), each 'file:line: what'."""
    owner = unit(module_name(path))
    allowed = FOUNDATION | ALLOWED.get(owner, FOUNDATION) | {owner}
    broken = []
    for line, target in imports_of(path, source):
        where = f"{path.relative_to(ROOT)}:{line}"
        top = target.split(".")[0]
        if top in ONLY_IN and ONLY_IN[top] != owner:
            broken.append(f"{where}: {target} belongs in {ONLY_IN[top]} only")
        elif top in ("tests", "wasim"):
            broken.append(f"{where}: backend/ imports {top}")
        elif top == "backend" and unit(target) not in allowed:
            broken.append(f"{where}: {owner} may not import {unit(target)}")
    return broken


@pytest.mark.parametrize("path", files("backend"), ids=lambda p: str(p.relative_to(ROOT)))
def test_backend_imports_point_one_way(path: Path) -> None:
    assert broken_rules(path) == []


def test_the_foundation_imports_only_the_foundation() -> None:
    foundation_files = [ROOT / "backend" / f"{m.split('.')[1]}.py" for m in FOUNDATION if m != "backend"]
    found = [f"{p.name}: {t}" for p in foundation_files for _, t in imports_of(p)
             if t.startswith("backend") and unit(t) not in FOUNDATION]
    assert found == []


def test_nothing_outside_tests_imports_tests() -> None:
    found = [f"{p.relative_to(ROOT)}:{line}" for p in files("backend", "wasim", "bench", "scripts", "app.py")
             for line, target in imports_of(p) if target.split(".")[0] == "tests"]
    assert found == []


def test_every_backend_package_has_a_rule_and_a_line_in_the_map() -> None:
    packages = {f"backend.{p.name}" for p in (ROOT / "backend").iterdir() if (p / "__init__.py").exists()}
    the_map = (ROOT / "backend" / "README.md").read_text(encoding="utf-8")
    assert packages - set(ALLOWED) == set(), "a package without import rules"
    assert [p for p in sorted(packages) if f"`{p.split('.')[1]}/`" not in the_map] == [], "missing from the map"


def test_a_broken_rule_is_caught() -> None:
    """The checker itself: an outbox module that imports the engine, or a database, is refused with its line."""
    probe = ROOT / "backend" / "outbox" / "probe.py"
    source = "from ..engine import EngineRuntime\nimport sqlite3\nfrom ..store.messages import MessageStore\n"
    assert broken_rules(probe, source) == ["backend/outbox/probe.py:1: backend.outbox may not import backend.engine",
                                           "backend/outbox/probe.py:2: sqlite3 belongs in backend.store only"]


def test_the_embedded_default_never_loads_the_postgresql_driver():
    """The desktop app is built without psycopg (build/zapool.spec): app.py and everything it imports to start
    without --database must not import it, nor the PostgreSQL stores (the auth CLI once did, at import)."""
    import subprocess
    import sys

    loaded = subprocess.run([sys.executable, "-c", "import sys, app; print(sorted(m for m in sys.modules if "
                             "m.startswith(('psycopg', 'backend.store.pg_', 'backend.cluster'))))"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
