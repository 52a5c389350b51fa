"""Benchmark: the built app's size, and its start time to a first /health answer, beside app.py from source.

Both start headless on a fresh data folder (no numbers), alternating, `--runs` times each; the time is from
the process's start to the first 200 from GET /health. Build first: `bash scripts/build.sh`.

    .venv/bin/python -m bench.built_app --runs 7
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = ROOT / "build" / "dist" / "ZapPool"


def folder_size(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def time_to_health(command: list[str]) -> float:
    """Seconds from starting `command` to GET /health answering 200; then the process is stopped."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        proc = subprocess.Popen([*command, "--headless", "--no-restore", "--data", f"{tmp}/dados", "--port", "0"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            url = next(line.split()[2] for line in proc.stdout if line.startswith("API REST:"))
            while True:
                try:
                    with urllib.request.urlopen(url + "/health", timeout=5) as response:
                        if response.status == 200:
                            return time.perf_counter() - started
                except OSError:
                    time.sleep(0.01)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)


def main() -> None:
    """Measure and print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    built = [str(APP_DIR / "ZapPool")]
    source = [sys.executable, "app.py"]
    times: dict[str, list[float]] = {"built app": [], "app.py from source": []}
    for _ in range(args.runs):
        times["built app"].append(time_to_health(built))
        times["app.py from source"].append(time_to_health(source))
    print(f"Built app: {folder_size(APP_DIR) / 1e6:.0f} MB in {sum(1 for _ in APP_DIR.rglob('*'))} files\n")
    print("| start to first /health | runs | median | worst |\n|---|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {len(values)} | {statistics.median(values):.2f} s | {max(values):.2f} s |")


if __name__ == "__main__":
    main()
