"""Benchmark: CPU per number started (issue 15, item 3), launch configurations side by side in one run.

The simulator runs in its own process (`python -m wasim --port 0`). N numbers are linked once; then each round
builds a new pool on the same dados/ (as a restart does) for each configuration in turn, and
`restore_persisted_sessions()` brings every number back from its Chromium profile, no QR scan. CPU is read from
/proc/<pid>/stat of this run's processes when the restore returns (every number ready) and again `--settle`
seconds later: Chromium (every process of ours, utime+stime plus the cutime+cstime of children it already reaped)
and Playwright's node driver apart, each divided by N; the bench's own Python process (the pool) apart too.
Before each round every leftover process of the previous one is killed and reaped, so each round starts at zero.

    .venv/bin/python -m bench.start_cost --numbers 5 --rounds 3 --configs chromium,shipped
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from backend.config import Settings
from backend.engine.browser import CHROMIUM_ARGS
from bench.procs import become_subreaper, descendants, is_chromium, measure, reap
from bench.restore import link_numbers, open_pool
from bench.send_cost import exe_name, start_simulator
from wasim.control import SimControl

TICK = os.sysconf("SC_CLK_TCK")
_FEATURES_OFF = next(a for a in CHROMIUM_ARGS if a.startswith("--disable-features="))

_FULL = "/usr/bin/chromium"  # Debian's Chromium: what the engine launched before the headless shell
_SHELL = "/usr/lib/chromium/chromium-headless-shell"
_CACHES = ["--disk-cache-size=1048576", "--media-cache-size=1048576"]

# name -> (browser executable or None for the one the engine picks, extra switches after the shipped ones).
# "chromium" is the engine before (the full Chromium in headless mode), "shipped" the engine as it is now; the
# others are the levers measured one at a time (docs/PERFORMANCE.md, "Cheaper browser starts").
CONFIGS: dict[str, tuple[str | None, list[str]]] = {
    "chromium": (_FULL, []),
    "shipped": (None, []),
    "direct": ("/usr/lib/chromium/chromium", []),  # without Debian's launcher script and its flags
    "no_crashpad": (_FULL, ["--disable-crash-reporter"]),
    "features": (_FULL, [_FEATURES_OFF + ",Translate,OptimizationGuideModelDownloading,OptimizationHintsFetching,"
                         "OptimizationTargetPrediction,AutofillServerCommunication,CertificateTransparencyComponentUpdater,"
                         "InterestFeedContentSuggestions,GlobalMediaControls,LiveCaption,SafeBrowsing"]),
    "caches": (_FULL, [*_CACHES, "--aggressive-cache-discard"]),
    "js_lite": (_FULL, ["--js-flags=--lite-mode"]),
    "no_gpu_raster": (_FULL, ["--disable-gpu-rasterization", "--disable-gpu-compositing"]),
    "shell": (_SHELL, []),
    "shell_no_crashpad": (_SHELL, ["--disable-crash-reporter"]),
    "shell_caches": (_SHELL, _CACHES),
}


def cpu_s(pid: int) -> float:
    """utime+stime+cutime+cstime of one process in seconds: its own and that of the children it reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / TICK


def cpu_now(sim_pid: int) -> dict[str, float]:
    """CPU seconds so far of this run's Chromium processes, of Playwright's driver, and of this process."""
    ours = [p for p in descendants(os.getpid()) if p != sim_pid and p not in descendants(sim_pid)]
    chromium = [p for p in ours if is_chromium(p)]
    driver = [p for p in ours if not is_chromium(p) and exe_name(p) == "node"]
    me = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return {"chromium": sum(map(cpu_s, chromium)), "driver": sum(map(cpu_s, driver)),
            "python": (int(me[11]) + int(me[12])) / TICK}


def kill_leftovers(sim_pid: int) -> None:
    """SIGKILL every process of ours below this one but the simulator (after the engine stopped: leftovers), reap."""
    spare = {sim_pid, *descendants(sim_pid)}
    for pid in descendants(os.getpid()):
        if pid not in spare:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    reap()


def one_round(url: str, data: Path, sim_pid: int, numbers: int, config: str, settle: float) -> dict[str, float]:
    """Restore every number with this configuration; CPU-s per number at ready and after settling, wall time."""
    exe, extra = CONFIGS[config]
    settings = Settings(data_dir=data, whatsapp_url=url, browser_path=exe, extra_browser_args=extra)
    kill_leftovers(sim_pid)
    py0 = cpu_now(sim_pid)["python"]
    with open_pool(settings) as pool:
        start = time.perf_counter()
        result = pool.restore_persisted_sessions()
        wall = time.perf_counter() - start
        assert result == {"restored": numbers, "total": numbers}, (config, result)
        ready = cpu_now(sim_pid)
        time.sleep(settle)
        settled = cpu_now(sim_pid)
        memory = measure()
    kill_leftovers(sim_pid)
    return {"chromium": ready["chromium"] / numbers, "driver": ready["driver"] / numbers,
            "python": (ready["python"] - py0) / numbers, "total": (ready["chromium"] + ready["driver"]) / numbers,
            "settled": (settled["chromium"] + settled["driver"]) / numbers, "wall": wall,
            "pss_mb": memory.pss_kb / 1024 / numbers, "processes": memory.processes / numbers}


def main() -> None:
    """Link the numbers, then alternate the configurations round by round; print each round and the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--configs", default="chromium,shipped")
    args = parser.parse_args()
    configs = args.configs.split(",")
    become_subreaper()
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    sim_proc, url = start_simulator()
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    try:
        control = SimControl(url)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "dados"
            link_numbers(SimpleNamespace(url=url, control=control), data, args.numbers)  # type: ignore[arg-type]
            for _ in range(args.rounds):
                for name in configs:
                    rows[name].append(one_round(url, data, sim_proc.pid, args.numbers, name, args.settle))
                    print(name, {k: round(v, 3) for k, v in rows[name][-1].items()}, flush=True)
    finally:
        sim_proc.terminate()
        sim_proc.wait(10)
    report(rows, args)


def report(rows: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    """Medians of the rounds per configuration, and each one's ratio to the first configuration."""
    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in rows.items()}
    base = next(iter(med.values()))
    print(f"\n{args.numbers} numbers restored, {args.rounds} rounds each (medians), CPU-s per number\n")
    print("| config | Chromium at ready | driver at ready | Chromium+driver at ready | ratio | "
          f"+{args.settle:.0f} s | Python (pool) | restore wall | PSS per number | processes per number |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, m in med.items():
        print(f"| {name} | {m['chromium']:.3f} | {m['driver']:.3f} | {m['total']:.3f} | "
              f"{m['total'] / base['total']:.2f} | {m['settled']:.3f} | {m['python']:.3f} | {m['wall']:.2f} s | "
              f"{m['pss_mb']:.0f} MB | {m['processes']:.1f} |")


if __name__ == "__main__":
    main()
