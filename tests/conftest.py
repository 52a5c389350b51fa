"""Shared fixtures: the WhatsApp Web simulator on a free port, one engine, real clients in temp data dirs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.assembly import build_pool
from bench.polling import wait_until  # noqa: F401 - the suite's poller; tests import it from here
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.events.hub import ClientEvent
from backend.whatsapp.client import WhatsAppClient
from backend.whatsapp.pool import WhatsAppPool
from wasim import SimServer

# The API tests' `stack` fixture and the desktop tests' `desk` fixture live with their other helpers.
pytest_plugins = ["tests.api_support", "tests.desktop_support", "tests.webhook_support", "tests.pg_support"]

# Short codes and acks so tests run in seconds; the defaults are the real site's (60 s, then 20 s).
# main_ready_on_qr: like the real WA-JS 4.6.0, conn.main_ready fires once per load, on the QR screen too.
FAST = {"first_qr_ms": 4000, "qr_ms": 2000, "max_qrs": 6, "ack_delivered_ms": 100, "ack_read_ms": 200,
        "load_ms": 20, "main_ready_on_qr": True, "require_create_chat": True}
PHONE = "5511999990001"

# Fixtures that start Chromium (the shared engine, which every pool, client, stack and desk builds on, and the
# modules' own Playwright browsers) or another process (app.py, the built app). A test that uses one, however
# indirectly, gets the marker; tests that start Chromium or a process by themselves are marked where they are.
BROWSER_FIXTURES = frozenset({"runtime", "playwright", "browser", "browser_page"})
PROCESS_FIXTURES = frozenset({"app_path", "running", "hostile_app", "session"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `browser` and `process` tests by their fixtures, so `-m "not browser and not process"` leaves the
    fast ones (see pyproject.toml's markers)."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if used & PROCESS_FIXTURES:
            item.add_marker(pytest.mark.process)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimServer]:
    """One simulator for the whole run; `sim` resets it for each test."""
    with SimServer(**FAST) as server:
        yield server


@pytest.fixture
def sim(sim_server: SimServer) -> SimServer:
    """The simulator, reset: no devices, no messages, network up, fast timings, no tab left from before."""
    sim_server.control.wait_for(lambda s: not s["sessions"], timeout=15)
    sim_server.control.reset()
    sim_server.control.network(True)
    sim_server.control.set_numbers(None)
    sim_server.control.configure(**FAST)
    return sim_server


@pytest.fixture(scope="session")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineRuntime]:
    """One engine thread and Playwright for the run, as in the app."""
    engine = EngineRuntime(Settings(data_dir=tmp_path_factory.mktemp("engine"), load_timeout_s=20))
    yield engine
    engine.stop()


@pytest.fixture
def settings(tmp_path: Path, sim: SimServer) -> Settings:
    """Settings pointing at the simulator, with a fresh dados/ folder."""
    return Settings(data_dir=tmp_path / "dados", whatsapp_url=sim.url, load_timeout_s=20, call_timeout_s=20)


class Recorder:
    """Collects a client's events so a test can wait for one."""

    def __init__(self, client: WhatsAppClient):
        self.events: list[ClientEvent] = []
        self._cond = threading.Condition()
        client.subscribe(self._add)

    def _add(self, event: ClientEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def named(self, name: str) -> list[ClientEvent]:
        """Events of one name, oldest first."""
        with self._cond:
            return [e for e in self.events if e.name == name]

    def wait_for(self, name: str, where: Callable[[dict[str, Any]], bool] = lambda d: True,
                 timeout: float = 15) -> ClientEvent:
        """The first event `name` whose data satisfies `where`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events:
                    if event.name == name and where(event.data):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {name!r} event in {timeout} s; got {[e.name for e in self.events]}")
                self._cond.wait(left)

    def statuses(self) -> list[str]:
        """The statuses the client went through, in order."""
        return [e.data["status"] for e in self.named("status")]


@pytest.fixture
def make_client(runtime: EngineRuntime, settings: Settings) -> Iterator[Callable[..., tuple[WhatsAppClient, Recorder]]]:
    """Build clients on the shared engine; all are disconnected after the test."""
    made: list[WhatsAppClient] = []

    def make(client_id: str = "c1", client_settings: Settings | None = None) -> tuple[WhatsAppClient, Recorder]:
        client = WhatsAppClient(client_id, runtime, client_settings or settings)
        made.append(client)
        return client, Recorder(client)

    yield make
    for client in made:
        try:
            client.disconnect()
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass


@pytest.fixture
def make_pool(runtime: EngineRuntime, settings: Settings) -> Iterator[Callable[..., WhatsAppPool]]:
    """Pools on the shared engine and the test's dados/ (no pacing, no periodic check unless asked); each is
    shut down after the test."""
    made: list[WhatsAppPool] = []

    def make(**overrides: Any) -> WhatsAppPool:
        values = {"reconnect_delay_s": 0.2, "health_check_interval_s": 3600, "restore_on_start": False,
                  "send_interval_s": 0, "send_jitter_s": 0, **overrides}
        pool = running_pool(Settings(**{**settings.__dict__, **values}), runtime)
        made.append(pool)
        return pool

    yield make
    for pool in made:
        pool.shutdown()
        pool.outbox.store.close()


def running_pool(settings: Settings, runtime: EngineRuntime) -> WhatsAppPool:
    """A pool built as app.py builds it, then started: its saved numbers listed, its outbox sending (shut it
    down after; the runtime stays the caller's)."""
    pool = build_pool(settings, runtime)
    pool.start()
    return pool


def link_number(sim: SimServer, phone: str, client_id: str, *, start: Callable[[], dict[str, Any]],
                code: Callable[[], str], info: Callable[[], dict[str, Any]], timeout: float = 10.0) -> dict[str, Any]:
    """Linking a number, whichever door a test uses (the pool, REST, the desktop's bridge): `start` it, which
    must end on its QR code; scan `code()` on the simulator's phone `phone`; wait until `info()` says ready.
    Returns that info. The doors differ only in these three calls, so the steps and the wait live here once."""
    started = start()
    assert started["status"] == "qr_ready", started
    sim.control.scan(code(), phone)
    return wait_until(lambda: (now := info())["status"] == "ready" and now, timeout, what=f"{client_id} ready")


def connect(pool: WhatsAppPool, sim: SimServer, client_id: str, phone: str = PHONE) -> dict[str, Any]:
    """Link a number of `pool` as `phone`: added and started if new, started again (a new QR code) if it is
    known but logged out or never linked; returns its info once ready."""
    known = any(c.client_id == client_id for c in pool.clients())
    return link_number(sim, phone, client_id,
                       start=lambda: pool.reconnect(client_id) if known else pool.create_and_initialize(client_id),
                       code=lambda: pool.get(client_id).qr.code, info=lambda: pool.get(client_id).get_info())


def link(client: WhatsAppClient, rec: Recorder, sim: SimServer, phone: str = PHONE) -> dict[str, Any]:
    """Initialize a client and scan its QR code as `phone`; returns its info once ready."""
    info = client.initialize()
    assert info["status"] == "qr_ready", info
    code = rec.named("qr")[-1].data["code"]
    sim.control.scan(code, phone)
    rec.wait_for("ready")
    return client.get_info()


@pytest.fixture
def restore_root() -> Iterator[None]:
    """Tests that call setup_logging() change the root logger: put it back as pytest had it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
