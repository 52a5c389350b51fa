"""Which parts of a number's Chromium profile WhatsApp Web needs to stay logged in (issue 19 §Profiles), measured
on the simulator: link a number, stop it cleanly, then start it again from copies holding only some parts of the
profile; a part is needed when the number comes back without a scan only with it.

    .venv/bin/python -m bench.profile_parts
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from backend.config import Settings
from backend.engine import EngineRuntime
from backend.whatsapp.client import WhatsAppClient
from bench.polling import wait_until
from wasim import SimServer

FAST = {"first_qr_ms": 4000, "qr_ms": 2000, "max_qrs": 6, "load_ms": 20, "main_ready_on_qr": True}
SUBSETS = {
    "all": None,
    "Default/IndexedDB": ["Default/IndexedDB"],
    "Default/Local Storage": ["Default/Local Storage"],
    "IndexedDB + Local Storage": ["Default/IndexedDB", "Default/Local Storage"],
    "IndexedDB + Local Storage + Local State": ["Default/IndexedDB", "Default/Local Storage", "Local State"],
}


def size(path: Path) -> int:
    """Bytes under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def comes_back(runtime: EngineRuntime, sim: SimServer, source: Path, parts: list[str] | None, root: Path) -> str:
    """Start client c1 on a copy of `source` holding only `parts` (None: all); its status once settled."""
    data = Path(tempfile.mkdtemp(dir=root))
    target = data / "sessions" / "c1"
    if parts is None:
        shutil.copytree(source, target)
    for part in parts or []:
        (source / part).is_dir() and shutil.copytree(source / part, target / part)
        (source / part).is_file() and (target.mkdir(parents=True, exist_ok=True), shutil.copy(source / part,
                                                                                               target / part))
    client = WhatsAppClient("c1", runtime, Settings(data_dir=data, whatsapp_url=sim.url, load_timeout_s=20))
    try:
        status = client.initialize()["status"]
        if status not in ("ready", "qr_ready"):
            status = wait_until(lambda: client.get_info()["status"] in ("ready", "qr_ready")
                                and client.get_info()["status"], 20, "settled")
        return status
    finally:
        client.disconnect()


def main() -> int:
    """Link once, then try each subset; print the sizes of the profile's top parts and the verdicts."""
    root = Path(tempfile.mkdtemp(prefix="profile-parts-"))
    with SimServer(**FAST) as sim:
        settings = Settings(data_dir=root / "linked", whatsapp_url=sim.url, load_timeout_s=20)
        runtime = EngineRuntime(settings)
        try:
            client = WhatsAppClient("c1", runtime, settings)
            codes: list[str] = []
            client.subscribe(lambda e: e.name == "qr" and codes.append(e.data["code"]))
            assert client.initialize()["status"] == "qr_ready"
            sim.control.scan(codes[-1], "5511999990001")
            wait_until(lambda: client.get_info()["status"] == "ready", 20, "ready")
            client.disconnect()
            profile = settings.sessions_dir / "c1"
            print(f"whole profile: {size(profile) / 1024:.0f} KiB")
            for top in sorted(profile.iterdir()) + sorted((profile / "Default").iterdir()):
                if top.name != "Default":
                    print(f"  {top.relative_to(profile)}: {size(top) / 1024:.1f} KiB")
            for name, parts in SUBSETS.items():
                print(f"{name}: {comes_back(runtime, sim, profile, parts, root)}", flush=True)
        finally:
            runtime.stop()
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
