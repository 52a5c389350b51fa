"""Finding a browser to drive, and a user agent WhatsApp Web accepts from it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import BrowserNotFound

# Playwright 1.65.2's own feature switches. Chromium keeps only the last --disable-features/--enable-features,
# so ours must repeat them; tests/test_contract.py checks this copy against the installed Playwright.
PLAYWRIGHT_FEATURES_OFF = (
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints", "NetworkTimeServiceQuerying",
    "AimEnabled", "PreconnectToSearch", "msForceBrowserSignIn", "msEdgeUpdateLaunchServicesPreferredVersion",
)
PLAYWRIGHT_FEATURES_ON = ("CDPScreenshotNewSurface", "SkipListAccountsWithoutGaiaCookies")

# Memory per number (bench/memory.py, docs/PERFORMANCE.md): 10 ready numbers at 0.51x the PSS of Playwright's
# defaults. Chromium 156 preloads the address bar's popup WebUI and a spare renderer in every browser (two
# renderers nobody uses); the network service and the compositor can live in the browser process; then the
# second zygote and SwiftShader have nothing to do. Each alone saves little; together, ~90 MB per number.
MEMORY_ARGS = [
    "--disable-features=" + ",".join(PLAYWRIGHT_FEATURES_OFF + (
        "SpareRendererForSitePerProcess", "WebUIOmniboxPopup", "WebUIOmniboxAimPopup")),
    "--enable-features=" + ",".join(PLAYWRIGHT_FEATURES_ON + ("NetworkServiceInProcess2",)),
    "--in-process-gpu",
    "--disable-software-rasterizer",
] + (["--no-unsandboxed-zygote"] if sys.platform.startswith("linux") else [])

# Flags measured on this kind of machine (see GUIDE.md): without the background-networking ones Chromium
# keeps dialling Google's hosts, which a closed network refuses many times a second.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    # A few minutes after a profile first starts, Chromium launches its on-device AI model service to benchmark
    # the machine, and keeps that process: ~17 MB PSS per number (bench.chaos.soak). Stating a performance
    # class (1: "error", no on-device model) skips the benchmark; ZapPool uses no on-device AI.
    "--optimization-guide-performance-class=1",
    *MEMORY_ARGS,
]

INSTALL_HINT = (
    "Install one of: Chromium (Debian/Ubuntu: `sudo apt-get install chromium`), Google Chrome or "
    "Microsoft Edge; or set browser_path to a Chromium-based browser's executable."
)


@dataclass(frozen=True)
class BrowserChoice:
    """The browser the engine will launch: an executable path or a Playwright channel."""

    executable_path: str | None
    channel: str | None
    source: str  # why it was chosen: "configured", "playwright", "installed"

    def launch_options(self) -> dict[str, str]:
        """Keyword arguments for Playwright's launch functions."""
        if self.executable_path:
            return {"executable_path": self.executable_path}
        return {"channel": self.channel} if self.channel else {}


def _installed_candidates() -> list[str]:
    """Well-known install locations of Edge, Chrome and Chromium on this platform."""
    if sys.platform == "win32":
        bases = [os.environ.get(v, "") for v in ("PROGRAMFILES(X86)", "PROGRAMFILES", "LOCALAPPDATA")]
        tails = [r"Microsoft\Edge\Application\msedge.exe", r"Google\Chrome\Application\chrome.exe"]
        return [str(Path(b) / t) for b in bases if b for t in tails]
    if sys.platform == "darwin":
        return [
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
            "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
            "/Applications/Chromium.app/Contents/MacOS/Chromium",
        ]
    names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "microsoft-edge"]
    return [p for p in (shutil.which(n) for n in names) if p]


def discover_browser(
    browser_path: str | None, browser_channel: str | None, playwright_chromium: str | None
) -> BrowserChoice:
    """Pick the browser: configured first, then Playwright's own Chromium, then an installed one."""
    if browser_path:
        if not (Path(browser_path).is_file() and os.access(browser_path, os.X_OK)):
            raise BrowserNotFound(f"The configured browser {browser_path!r} is not an executable file. "
                                  + INSTALL_HINT, details={"browser_path": browser_path})
        return BrowserChoice(browser_path, None, "configured")
    if browser_channel:
        return BrowserChoice(None, browser_channel, "configured")
    if playwright_chromium and Path(playwright_chromium).is_file():
        return BrowserChoice(playwright_chromium, None, "playwright")
    for candidate in _installed_candidates():
        if Path(candidate).is_file():
            return BrowserChoice(candidate, None, "installed")
    raise BrowserNotFound("No Chromium-based browser was found. " + INSTALL_HINT)


def _major_version(choice: BrowserChoice) -> str:
    """The browser's major version, read without starting a window; "130" when it cannot be told."""
    exe = choice.executable_path
    if not exe:
        return "130"
    if sys.platform == "win32":
        # Edge and Chrome keep their files in a sibling folder named after the full version.
        versions = [p.name for p in Path(exe).parent.iterdir() if re.fullmatch(r"\d+(\.\d+){3}", p.name)]
        return max(versions, key=lambda v: [int(x) for x in v.split(".")]).split(".")[0] if versions else "130"
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "130"
    match = re.search(r"(\d+)\.\d+\.\d+\.\d+", out)
    return match.group(1) if match else "130"


def user_agent_for(choice: BrowserChoice) -> str:
    """A normal desktop user agent: headless Chromium says `HeadlessChrome`, which WhatsApp Web refuses."""
    major = _major_version(choice)
    platform = {
        "win32": "Windows NT 10.0; Win64; x64",
        "darwin": "Macintosh; Intel Mac OS X 10_15_7",
    }.get(sys.platform, "X11; Linux x86_64")
    edge = f" Edg/{major}.0.0.0" if "edge" in (choice.executable_path or choice.channel or "").lower() else ""
    return (f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36{edge}")
