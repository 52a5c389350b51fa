"""Benchmark: memory of N linked WhatsApp numbers, one persistent Chromium profile each, per flag set.

Each configuration starts a fresh engine (its own Playwright and temp data dir), links N clients against the
simulator by scanning their QR codes (phones 55119999900NN), waits until all are ready, lets them settle, then
sums PSS, RSS and USS (/proc/<pid>/smaps_rollup) of every Chromium process of this run, and tears down.

"Baseline" is ZapPool as shipped before this benchmark: Playwright's default Chromium switches, the engine's
CHROMIUM_ARGS (backend/engine/browser.py), a normal user agent, headless, and no extra memory flags
(`Settings(extra_browser_args=[])`). Every other configuration adds its flags through `extra_browser_args`.

Which processes count, and how: bench/procs.py. The stability checks for a flag set: bench/memory_verify.py.

    .venv/bin/python -m bench.memory                        # every config, 3 alternating rounds, N=10
    .venv/bin/python -m bench.memory --configs baseline,lean --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from backend.config import Settings
from backend.engine import EngineRuntime
from backend.whatsapp.client import WhatsAppClient
from bench.procs import MB, Sample, become_subreaper, kill_leftovers, measure
from wasim import SimServer

# Playwright 1.65's own feature switches (playwright-core chromiumSwitches.ts). Chromium does not merge repeated
# --enable-features / --disable-features switches (the last one wins, checked on 156), so a flag set that needs
# one must repeat Playwright's list, or Playwright's choices are silently undone: see features_off / features_on.
PLAYWRIGHT_FEATURES_OFF = (
    "AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,"
    "HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,ThirdPartyStoragePartitioning,"
    "AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,"
    "AimEnabled,PreconnectToSearch,msForceBrowserSignIn,msEdgeUpdateLaunchServicesPreferredVersion"
)
PLAYWRIGHT_FEATURES_ON = "CDPScreenshotNewSurface,SkipListAccountsWithoutGaiaCookies"


def features_off(*names: str) -> str:
    """A --disable-features switch keeping Playwright's list and adding `names`."""
    return "--disable-features=" + ",".join([PLAYWRIGHT_FEATURES_OFF, *names])


def features_on(*names: str) -> str:
    """A --enable-features switch keeping Playwright's list and adding `names`."""
    return "--enable-features=" + ",".join([PLAYWRIGHT_FEATURES_ON, *names])


OMNIBOX_WEBUI = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")  # Chromium 156 preloads these top-chrome WebUIs
# Fewer processes: no spare renderer, no omnibox WebUI renderer, network service and viz in the browser process.
LEAN = [features_off("SpareRendererForSitePerProcess", *OMNIBOX_WEBUI), features_on("NetworkServiceInProcess2"),
        "--in-process-gpu"]
# LEAN, plus no idle unsandboxed zygote and no SwiftShader in the browser process (--disable-gpu is already on).
RECOMMENDED = LEAN + ["--no-unsandboxed-zygote", "--disable-software-rasterizer"]

# Name -> flags added to the baseline through Settings.extra_browser_args. --disable-dev-shm-usage and
# --disable-extensions are not here: Playwright passes them already.
CONFIGS: dict[str, list[str]] = {
    "baseline": [],
    "spare_off": [features_off("SpareRendererForSitePerProcess")],
    "omnibox_off": [features_off(*OMNIBOX_WEBUI)],
    "renderer_limit1": ["--renderer-process-limit=1"],
    "no_site_isolation": ["--disable-site-isolation-trials", features_off("IsolateOrigins", "site-per-process")],
    "process_per_site": ["--process-per-site"],
    "no_zygote": ["--no-zygote"],
    "no_unsandboxed_zygote": ["--no-unsandboxed-zygote"],
    "in_process_gpu": ["--in-process-gpu"],
    "network_in_process": [features_on("NetworkServiceInProcess2")],
    "no_swrast": ["--disable-software-rasterizer"],
    "low_end": ["--enable-low-end-device-mode"],
    "v8_flags": ["--js-flags=--lite-mode --optimize-for-size --max-semi-space-size=1 --single-threaded"],
    "headless_old": ["--headless=old"],
    "single_process": ["--single-process"],
    "lean": LEAN,
    "recommended": RECOMMENDED,
    "single_lean": ["--single-process", "--no-zygote", "--disable-software-rasterizer", features_off(*OMNIBOX_WEBUI)],
}


def phone_for(index: int) -> str:
    """Distinct simulated phones: 5511999990001, 5511999990002, ..."""
    return f"55119999900{index + 1:02d}"


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check()` until true, else raise TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout:.0f} s")
        time.sleep(0.1)


def start_fleet(sim: SimServer, data_dir: Path, flags: list[str], n: int,
                browser: str | None = None) -> tuple[EngineRuntime, list[WhatsAppClient]]:
    """One engine and N clients, each linked by scanning its QR code with its own phone; all ready."""
    settings = Settings(data_dir=data_dir, whatsapp_url=sim.url, extra_browser_args=list(flags),
                        browser_path=browser, load_timeout_s=30, call_timeout_s=60)
    runtime = EngineRuntime(settings)
    clients: list[WhatsAppClient] = []
    try:
        link_all(sim, runtime, settings, n, clients)
    except BaseException:
        stop_fleet(runtime)
        raise
    return runtime, clients


def link_all(sim: SimServer, runtime: EngineRuntime, settings: Settings, n: int,
             clients: list[WhatsAppClient]) -> None:
    """Create N clients into `clients`, scan each one's QR code with its own phone, wait until all are ready."""
    for i in range(n):
        client = WhatsAppClient(f"n{i + 1:02d}", runtime, settings)
        clients.append(client)
        codes: list[str] = []
        client.on("qr", lambda event, codes=codes: codes.append(event.data["code"]))
        info = client.initialize()
        if info["status"] != "qr_ready" or not codes:
            raise RuntimeError(f"{client.client_id}: expected a QR code, got {info['status']}")
        sim.control.scan(codes[-1], phone_for(i))
    wait_until(lambda: all(c.get_info()["status"] == "ready" for c in clients), 60, "clients not all ready")


def stop_fleet(*runtimes: EngineRuntime) -> None:
    """Close every browser, kill what is left of ours (a crashed launch can leave a spinning driver), reap."""
    for runtime in runtimes:
        runtime.stop()
    kill_leftovers()


def run_config(sim: SimServer, flags: list[str], n: int, settle_s: float, browser: str | None = None) -> Sample:
    """Link N clients with `flags`, let them settle, measure, tear down."""
    with tempfile.TemporaryDirectory(prefix="zapmem-") as tmp:
        runtime, _clients = start_fleet(sim, Path(tmp), flags, n, browser)
        try:
            time.sleep(settle_s)
            sample = measure()
        finally:
            stop_fleet(runtime)
            sim.control.reset()
    return sample


def mb(kb: float) -> str:
    """kB -> 'N' MB, rounded."""
    return f"{kb / MB:.0f}"


def short(flag: str) -> str:
    """A flag for the table, with Playwright's own feature lists written as `PW`."""
    return flag.replace(PLAYWRIGHT_FEATURES_OFF, "PW").replace(PLAYWRIGHT_FEATURES_ON, "PW")


def table(results: dict[str, list[Sample]], n: int) -> str:
    """The Markdown table of medians, one row per configuration."""
    base = statistics.median(s.pss_kb for s in results["baseline"]) if "baseline" in results else None
    rows = ["| config | flags (added to baseline) | processes | PSS total MB | per-client MB | USS MB | "
            "RSS MB | ratio to baseline |", "|---|---|---|---|---|---|---|---|"]
    for name, samples in results.items():
        pss = statistics.median(s.pss_kb for s in samples)
        flags = " ".join(f"`{short(f)}`" for f in CONFIGS[name]) or "(none)"
        ratio = f"{pss / base:.2f}x" if base else "-"
        rows.append(f"| {name} | {flags} | {statistics.median(s.processes for s in samples):.0f} | {mb(pss)} | "
                    f"{mb(pss / n)} | {mb(statistics.median(s.uss_kb for s in samples))} | "
                    f"{mb(statistics.median(s.rss_kb for s in samples))} | {ratio} |")
    return "\n".join(rows)


def main() -> None:
    """Measure each configuration `--repeat` times, alternating, and print medians as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds between all-ready and measuring")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names; default: all")
    parser.add_argument("--browser", help="browser executable (default: the engine's discovery)")
    args = parser.parse_args()
    names = args.configs.split(",")
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configs {unknown}; known: {', '.join(CONFIGS)}")
    become_subreaper()
    results: dict[str, list[Sample]] = {name: [] for name in names}
    failures: dict[str, str] = {}
    with SimServer(first_qr_ms=60000, qr_ms=20000, load_ms=20, ack_delivered_ms=100, ack_read_ms=200) as sim:
        for round_no in range(args.repeat):
            for name in names:
                try:
                    sample = run_config(sim, CONFIGS[name], args.clients, args.settle, args.browser)
                except Exception as exc:  # noqa: BLE001 - a flag set that breaks Chromium is a result too
                    failures[name] = f"{type(exc).__name__}: {exc}"
                    print(f"round {round_no + 1} {name}: FAILED {failures[name]}", file=sys.stderr, flush=True)
                    continue
                results[name].append(sample)
                print(f"round {round_no + 1} {name}: {sample.processes} processes, PSS {mb(sample.pss_kb)} MB, "
                      f"USS {mb(sample.uss_kb)} MB, RSS {mb(sample.rss_kb)} MB, foreign {sample.foreign}; "
                      + ", ".join(f"{k} {c}x {mb(p)} MB" for k, (c, p) in sample.kinds.items()),
                      file=sys.stderr, flush=True)
    print(f"\nN = {args.clients} ready clients, medians of {args.repeat} alternating rounds, "
          f"settle {args.settle:.0f} s\n")
    print(table({name: samples for name, samples in results.items() if samples}, args.clients))
    foreign = max((s.foreign for samples in results.values() for s in samples), default=0)
    print("\n`PW` = Playwright's own --disable-features/--enable-features list, repeated because Chromium keeps "
          f"only the last such switch. Other Chromium processes on the machine while measuring: up to {foreign}.")
    for name, error in failures.items():
        print(f"\n{name} failed at least once: {error}")


if __name__ == "__main__":
    main()
