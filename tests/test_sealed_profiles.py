"""A number's profile in a sealed data folder (issue 19 step 3), on the simulator with real Chromium: it runs in
a private runtime folder, only a sealed snapshot of the parts WhatsApp Web needs is left in the data folder when
it closes, it comes back from that snapshot without a scan, and a snapshot that does not open leaves the number
disconnected saying why (set aside, never deleted), with no reconnection loop."""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.assembly import build_pool
from backend.config import Settings
from backend.engine import EngineRuntime
from backend.sealing import KeyFile
from backend.store.atomic import write_atomic
from backend.store.sealed import SealedFolder
from backend.whatsapp.pool import WhatsAppPool
from tests.conftest import PHONE, connect, wait_until


@pytest.fixture
def sealed_pool(runtime: EngineRuntime, settings: Settings, tmp_path: Path) -> Iterator[WhatsAppPool]:
    """A pool on a sealed data folder, its runtime folder in the test's temp folder."""
    settings.data_dir.mkdir(parents=True)
    sealer = KeyFile(settings.data_dir, write_atomic).create("frase", use_keyring=False)
    values = {**settings.__dict__, "reconnect_delay_s": 0.2, "restore_on_start": False, "send_interval_s": 0,
              "send_jitter_s": 0, "snapshot_first_s": 0.5}
    pool = build_pool(Settings(**values), runtime, sealer)
    pool.saved.profiles.root = tmp_path / "run"
    pool.start()
    yield pool
    pool.shutdown()
    pool.outbox.store.close()


def test_the_live_profile_is_private_and_only_a_small_sealed_snapshot_stays(sealed_pool: WhatsAppPool, sim):
    connect(sealed_pool, sim, "loja")
    profiles = sealed_pool.saved.profiles
    live = profiles.live_dir("loja")
    assert (live / "Default" / "IndexedDB").is_dir() and stat.S_IMODE(live.stat().st_mode) == 0o700
    assert not (sealed_pool.settings.sessions_dir / "loja").exists(), "no profile in the data folder"
    wait_until(lambda: profiles.snapshot_path("loja").is_file(), 20, what="the snapshot after login")
    sealed_pool.disconnect("loja")
    assert not live.exists(), "closed: the live profile is gone"
    size = profiles.snapshot_path("loja").stat().st_size
    assert 0 < size < 256 * 1024, "the caches are not kept"
    assert PHONE.encode() not in profiles.snapshot_path("loja").read_bytes()
    devices = len(sim.control.state()["devices"])
    assert sealed_pool.reconnect("loja")["status"] == "ready"  # from the snapshot: no scan
    assert len(sim.control.state()["devices"]) == devices


def test_a_snapshot_that_does_not_open_is_set_aside_and_the_number_says_why(sealed_pool: WhatsAppPool, sim):
    connect(sealed_pool, sim, "loja")
    sealed_pool.disconnect("loja")
    snapshot = sealed_pool.saved.profiles.snapshot_path("loja")
    raw = bytearray(snapshot.read_bytes())
    raw[-1] ^= 1
    snapshot.write_bytes(bytes(raw))
    with pytest.raises(Exception, match="alterado"):
        sealed_pool.reconnect("loja")
    info = sealed_pool.get("loja").get_info()
    assert (info["status"], info["reason"]) == ("disconnected", "snapshot_unreadable")
    assert [p.name.startswith("loja.bad-") for p in snapshot.parent.iterdir()] == [True]
    time.sleep(2)  # ten times the reconnect delay: the supervisor does not retry it
    assert sealed_pool.get("loja").get_info()["status"] == "disconnected"
    assert sealed_pool.reconnect("loja")["status"] == "qr_ready", "next time: a scan, not the same error"


def test_an_existing_folder_converted_in_place_keeps_its_numbers_logged_in(runtime: EngineRuntime,
                                                                           settings: Settings, sim):
    plain = build_pool(settings, runtime)
    plain.start()
    connect(plain, sim, "loja")
    plain.shutdown()
    plain.outbox.store.close()
    assert (settings.sessions_dir / "loja" / "Default" / "IndexedDB").is_dir()
    sealer = KeyFile(settings.data_dir, write_atomic).create("frase", use_keyring=False)
    assert SealedFolder(settings.data_dir).reseal(sealer) == 3  # the profile, whatsapp-sessions.json, messages.db
    assert not (settings.sessions_dir / "loja").exists() and SealedFolder(settings.data_dir).clear_files(sealer) == []
    devices = len(sim.control.state()["devices"])
    pool = build_pool(settings, runtime, sealer)
    pool.start()
    try:
        assert pool.restore_persisted_sessions() == {"restored": 1, "total": 1}
        assert len(sim.control.state()["devices"]) == devices, "no scan"
    finally:
        pool.shutdown()
        pool.outbox.store.close()


def test_snapshots_go_on_after_the_network_comes_back(sealed_pool: WhatsAppPool, sim):
    sealed_pool.settings.snapshot_interval_s = 0.5
    connect(sealed_pool, sim, "loja")
    snapshot = sealed_pool.saved.profiles.snapshot_path("loja")
    wait_until(snapshot.is_file, 20, what="the first snapshot")
    sim.control.network(False)
    wait_until(lambda: sealed_pool.get("loja").get_info()["status"] == "disconnected", 20, what="offline")
    time.sleep(1)  # the snapshot loop sees the number is not ready and ends
    sim.control.network(True)
    wait_until(lambda: sealed_pool.get("loja").get_info()["status"] == "ready", 30, what="back online")
    after = snapshot.stat().st_mtime_ns
    wait_until(lambda: snapshot.stat().st_mtime_ns > after, 10, what="a snapshot after the network came back")
