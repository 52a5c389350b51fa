"""Finding a browser to drive, a user agent WhatsApp Web accepts from it, and whether it runs in Chromium's
sandbox: every contact's message, picture and link preview is rendered in these browsers, so they keep the
sandbox whenever the machine allows it (`sandbox_problem`); when it cannot (ZapPool run as root, user namespaces
turned off by the kernel or AppArmor), the log says why at start."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import BrowserNotFound

log = logging.getLogger(__name__)
# Kernel switches that take unprivileged user namespaces (the sandbox's layer on Linux) away: (file, refusing value).
USERNS_SWITCHES = (("/proc/sys/kernel/unprivileged_userns_clone", "0"), ("/proc/sys/user/max_user_namespaces", "0"),
                   ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"))

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
    source: str  # why it was chosen: "configured", "headless-shell", "playwright", "installed"

    def launch_options(self) -> dict[str, str | bool]:
        """Keyword arguments for Playwright's launch functions: the browser, and the sandbox when this machine
        allows it (Playwright passes `--no-sandbox` otherwise)."""
        sandbox: dict[str, str | bool] = {"chromium_sandbox": use_sandbox()}
        if self.executable_path:
            return {"executable_path": self.executable_path, **sandbox}
        return {"channel": self.channel, **sandbox} if self.channel else sandbox


def sandbox_problem() -> str | None:
    """None when Chromium's sandbox can run here; otherwise why not, in Portuguese for the log. Windows and
    macOS sandbox any user. On Linux, Chromium refuses it to root, and it needs unprivileged user namespaces
    (a Chromium installed with its setuid helper, chrome-sandbox, could do without; Playwright's and
    distributions' builds rely on the namespaces)."""
    if not sys.platform.startswith("linux"):
        return None
    if os.geteuid() == 0:
        return "o ZapPool roda como root, e o Chromium não usa o sandbox como root: rode-o como um usuário comum"
    for path, refusing in USERNS_SWITCHES:
        try:
            value = Path(path).read_bytes().decode("ascii", "replace").strip()
        except OSError:  # this kernel has no such switch
            continue
        if value == refusing:
            return f"o sistema não permite namespaces de usuário sem privilégio ({path} = {value})"
    return _namespaces_refused()


def _namespaces_refused() -> str | None:
    """Try the namespaces Chromium's sandbox makes (user, PID, network) in a throwaway process: a container's
    seccomp policy may refuse them whatever the kernel's switches say, and Chromium would then not start.
    None when they work, or when util-linux's `unshare` is not there to try (the switches decided)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    try:
        done = subprocess.run([unshare, "--user", "--pid", "--net", "--fork", "true"], capture_output=True,
                              timeout=10, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"não foi possível testar os namespaces de usuário ({exc})"
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip()[:200]
        return f"o sistema recusa namespaces de usuário sem privilégio (unshare: {said or done.returncode})"
    return None


@functools.cache
def use_sandbox() -> bool:
    """Run the browsers in Chromium's sandbox? Decided once per process; when not, the log says why."""
    problem = sandbox_problem()
    if problem is None:
        log.info("[Engine] Navegadores no sandbox do Chromium")
        return True
    log.warning("[Engine] Navegadores SEM o sandbox do Chromium (o conteúdo que os contatos enviam é exibido sem "
                "essa proteção): %s", problem)
    return False


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


def _playwright_browsers_dir() -> Path:
    """Where Playwright keeps the browsers it downloads: PLAYWRIGHT_BROWSERS_PATH ("0" meaning inside the
    package), else the platform's cache folder, as Playwright's own registry decides it."""
    import playwright  # the package only (no driver): engine/ is the one place that imports Playwright

    package = Path(playwright.__file__).parent / "driver" / "package"
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured == "0":
        return package / ".local-browsers"
    if configured:
        return Path(configured)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "ms-playwright"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ms-playwright"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ms-playwright"


# Inside chromium-<revision>/, per platform: the executable's place in Playwright's builds, old and new.
_BUNDLED_TAILS = {
    "win32": ("chrome-win64/chrome.exe", "chrome-win/chrome.exe"),
    "darwin": ("chrome-mac*/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
               "chrome-mac*/Chromium.app/Contents/MacOS/Chromium"),
}


# The same for Playwright's Chrome Headless Shell (folder chromium_headless_shell-<revision>).
_SHELL_TAILS = {
    "win32": ("chrome-headless-shell-win64/chrome-headless-shell.exe",),
    "darwin": ("chrome-headless-shell-mac*/chrome-headless-shell",),
}
# Installed headless shells, found on PATH: Debian's package and Chrome for Testing's name. Debian's command is
# a shell script that would stay as one more process per number: its binary is launched instead.
SHELL_NAMES = ("chromium-headless-shell", "chrome-headless-shell")
DEBIAN_SHELL = ("/usr/bin/chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell")


def _playwright_build(name: str, folder_prefix: str, tails: tuple[str, ...]) -> str | None:
    """One of Playwright's own browsers, found on disk without starting its driver: the revision its
    browsers.json names, in the folder its registry uses; None when it is not downloaded."""
    import playwright

    manifest = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    try:
        browsers = json.loads(manifest.read_text(encoding="utf-8"))["browsers"]
        revision = next(b["revision"] for b in browsers if b["name"] == name)
    except (OSError, ValueError, KeyError, StopIteration):
        return None
    folder = _playwright_browsers_dir() / f"{folder_prefix}-{revision}"
    for tail in tails:
        for found in sorted(folder.glob(tail)):
            if found.is_file():
                return str(found)
    return None


def playwright_chromium() -> str | None:
    """Playwright's own Chromium, found without starting Playwright's driver (a node process, ~50 MB and a
    second of CPU); None when it is not downloaded (tests/test_engine.py checks this against the driver)."""
    return _playwright_build("chromium", "chromium",
                             _BUNDLED_TAILS.get(sys.platform, ("chrome-linux64/chrome", "chrome-linux/chrome")))


def headless_shell() -> str | None:
    """A Chrome Headless Shell, the browser Playwright itself runs headless: Playwright's own download, else an
    installed one (Debian: `apt-get install chromium-headless-shell`). It starts a number's browser for about
    half the CPU of the full Chromium in headless mode (bench/start_cost.py, docs/PERFORMANCE.md), and the same
    profile folders work in both; None when there is none."""
    tails = _SHELL_TAILS.get(sys.platform, ("chrome-headless-shell-linux64/chrome-headless-shell",))
    bundled = _playwright_build("chromium-headless-shell", "chromium_headless_shell", tails)
    if bundled:
        return bundled
    found = next((p for p in (shutil.which(n) for n in SHELL_NAMES) if p), None)
    script, binary = DEBIAN_SHELL
    return binary if found == script and os.access(binary, os.X_OK) else found


def discover_browser(
    browser_path: str | None, browser_channel: str | None, playwright_chromium: str | None,
    shell: str | None = None,
) -> BrowserChoice:
    """Pick the browser: configured first, then a headless shell (`shell`: given only when the browsers run
    headless), then Playwright's own Chromium, then an installed one."""
    if browser_path:
        if not (Path(browser_path).is_file() and os.access(browser_path, os.X_OK)):
            raise BrowserNotFound(f"The configured browser {browser_path!r} is not an executable file. "
                                  + INSTALL_HINT, details={"browser_path": browser_path})
        return BrowserChoice(browser_path, None, "configured")
    if browser_channel:
        return BrowserChoice(None, browser_channel, "configured")
    if shell and Path(shell).is_file():
        return BrowserChoice(shell, None, "headless-shell")
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
