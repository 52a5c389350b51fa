"""Benchmark: what an incoming 5 MB photo costs, per MB, from the moment the contact sends it until its file is
complete in media/kept/ (issue 16 §2): wall time, ZapPool's CPU (this process + Playwright's node driver), and
Chromium's (the page fetching the bytes and handing them out in base64 chunks). The two ways to read the Blob
(DevTools' IO.read, FileReader in the page) and chunk sizes side by side in one run, interleaved round by round,
so the machine's other load falls on each alike.

The simulator runs in its own process (`python -m wasim --port 0`), its CPU apart (it also decodes the 5 MB
the control API is given, which is the test's cost, not ZapPool's). CPU from /proc/<pid>/stat.

    .venv/bin/python -m bench.media_download --rounds 7 --mb 5
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import time
from pathlib import Path

from backend.assembly import build_media
from backend.config import Settings
from backend.engine import wpp
from bench.restore import open_pool
from bench.send_cost import cpu_by_part, start_simulator
from wasim.control import SimControl

MIB = 1024 * 1024
# name -> (read with DevTools' IO.read, else FileReader in the page; bytes per call)
CONFIGS = {"FileReader, 2 MiB (the first version)": (False, 2 * MIB), "FileReader, 512 KiB": (False, MIB // 2),
           "IO.read, 256 KiB": (True, MIB // 4), "IO.read, 512 KiB (default)": (True, MIB // 2),
           "IO.read, 1 MiB": (True, MIB), "IO.read, 2 MiB": (True, 2 * MIB)}
PHONE, PEER = "5511999900000", "5511988880000"


def one(control: SimControl, media, sim_pid: int, data: bytes) -> dict[str, float]:
    """One photo: seconds until its file is complete, and CPU seconds by part meanwhile."""
    payload = {"type": "image", "mimetype": "image/jpeg", "data": base64.b64encode(data).decode()}
    before = cpu_by_part(sim_pid)
    start = time.perf_counter()
    key = control.incoming(PHONE, PEER, media=payload)["id"]
    while (row := media.log.get("n0", key)) is None or row.state == "pending":
        time.sleep(0.002)
    took = time.perf_counter() - start
    assert row.state == "present" and row.size == len(data), row
    after = cpu_by_part(sim_pid)
    return {"wall": took, **{part: after[part] - before[part] for part in after}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--mb", type=float, default=5.0)
    args = parser.parse_args()
    sim, url = start_simulator()
    control = SimControl(url)
    data = b"\xff\xd8\xff\xe0" + os.urandom(int(args.mb * 1024 * 1024) - 4)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in CONFIGS}
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp) / "dados", whatsapp_url=url, restore_on_start=False,
                                send_interval_s=0, send_jitter_s=0)
            with open_pool(settings) as pool:
                pool.create_and_initialize("n0")
                control.scan(pool.get("n0").qr.code, PHONE)
                while not pool.get_ready_clients():
                    time.sleep(0.05)
                media = build_media(pool)
                media.start()
                one(control, media, sim.pid, data)  # warm-up
                for _ in range(args.rounds):
                    for name, (via_io, size) in CONFIGS.items():
                        wpp.BLOB_VIA_IO = via_io
                        media.downloads.chunk_bytes = size
                        results[name].append(one(control, media, sim.pid, data))
                media.stop()
    finally:
        sim.terminate()
        sim.wait(10)
    load_after = os.getloadavg()
    mb = len(data) / (1024 * 1024)
    print(f"{mb:.1f} MB photo, {args.rounds} rounds per configuration, medians per MB; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print("| read | wall ms/MB | ZapPool CPU ms/MB | Chromium CPU ms/MB | simulator CPU ms/MB |")
    print("|---|---|---|---|---|")
    for name, rows in results.items():
        med = {k: statistics.median(r[k] for r in rows) * 1000 / mb for k in ("wall", "zappool", "chromium",
                                                                               "simulator")}
        print(f"| {name} | {med['wall']:.1f} | {med['zappool']:.1f} | {med['chromium']:.1f} | "
              f"{med['simulator']:.1f} |")


if __name__ == "__main__":
    main()
