"""What every chaos run shares: app.py as a child process, linked numbers, the REST API, Chromium by profile."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from backend.auth.service import AuthService
from backend.status import ClientStatus
from bench.procs import descendants, is_chromium, kind
from bench.restore import link_numbers
from wasim import SimServer

ROOT = Path(__file__).resolve().parents[2]
SENT = ("sent", "delivered", "read")
CONTACT = "5511988887777"
STATUSES = frozenset(s.value for s in ClientStatus)
# Short acks and codes so minutes of traffic fit in a run; the real site's are 0.5-1.5 s and 60/20 s.
SIM_TIMINGS = {"first_qr_ms": 60000, "qr_ms": 20000, "ack_delivered_ms": 100, "ack_read_ms": 200, "load_ms": 20}


def phone_for(n: int) -> str:
    """The phone bench.restore.link_numbers scans number n{n} with."""
    return f"55119999{n:05d}"


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll until `predicate()` is truthy and return it; RuntimeError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def summary(values: list[float]) -> str:
    """'median X, worst Y (n=N)' in seconds."""
    if not values:
        return "no values"
    return f"median {statistics.median(values):.2f} s, worst {max(values):.2f} s (n={len(values)})"


def prepare(sim: SimServer, data: Path, numbers: int) -> str:
    """A data folder with `numbers` linked numbers (n0, n1, ...) and an API key; returns the key."""
    if numbers:
        link_numbers(sim, data, numbers)
    auth = AuthService.in_folder(data)
    auth.reset_password("chaos-admin-password")  # keys need a changed admin password
    _key_id, key = auth.create_api_key("chaos")
    return key


class App:
    """app.py run as a user runs it (its own session and process group), headless, on the simulator."""

    def __init__(self, data: Path, sim_url: str, key: str, *, pacing: float = 0.0, extra: tuple[str, ...] = (),
                 tree: bool = True):
        self.data = data
        self.tree = tree  # count Chromium below this process as the app's (False in tests: see chromium_of)
        self.sim_url = sim_url
        self.key = key
        self.pacing = pacing
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.runs = 0
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        """The app's process id."""
        assert self.proc is not None
        return self.proc.pid

    @property
    def out_path(self) -> Path:
        """Where this run's terminal output goes (beside the data folder)."""
        return self.data.parent / f"app-{self.runs}.out"

    def start(self, timeout: float = 60) -> App:
        """Start app.py and wait for its REST API to answer /health."""
        self.runs += 1
        out = open(self.out_path, "w")  # noqa: SIM115 - the child keeps it; closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "app.py", "--headless", "--data", str(self.data), "--whatsapp-url", self.sim_url,
             "--port", "0", "--send-interval", str(self.pacing), *self.extra],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.started_at = time.monotonic()
        line = wait_until(lambda: self._line("API REST:"), timeout, "the API address")
        self.url = line.split()[2]
        wait_until(lambda: self.call("GET", "/health")[0] == 200, timeout, "/health")
        return self

    def _line(self, prefix: str) -> str | None:
        """The first output line starting with `prefix` (None yet); fails if the app died."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
        return next((ln for ln in self.output().splitlines() if ln.startswith(prefix)), None)

    def output(self) -> str:
        """Everything this run printed so far."""
        try:
            return self.out_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log(self) -> str:
        """The app's log file (every run on this data folder, the rotated files included, oldest first)."""
        folder = self.data / "logs"
        files = sorted(folder.glob("zapool.log*"), key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
        return "".join(p.read_text(errors="replace") for p in files)

    def call(self, method: str, path: str, body: Any = None, timeout: float = 30) -> tuple[int, Any]:
        """One request with the API key: (status, parsed JSON or None); (0, error text) if it never answered."""
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"X-Api-Key": self.key, "Content-Type": "application/json"})
            reply = conn.getresponse()
            raw = reply.read()
            return reply.status, (json.loads(raw) if raw and reply.getheader("Content-Type", "").startswith(
                "application/json") else None)
        except (OSError, http.client.HTTPException) as exc:
            return 0, f"{type(exc).__name__}: {exc}"
        finally:
            conn.close()

    def text(self, path: str, timeout: float = 30) -> str:
        """A text answer (GET /metrics) with the API key; '' if it failed."""
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            conn.request("GET", path, headers={"X-Api-Key": self.key})
            reply = conn.getresponse()
            return reply.read().decode() if reply.status == 200 else ""
        except (OSError, http.client.HTTPException):
            return ""
        finally:
            conn.close()

    def clients(self) -> dict[str, dict[str, Any]]:
        """GET /clients/all by client id ({} if the API did not answer)."""
        status, body = self.call("GET", "/clients/all")
        return {c["clientId"]: c for c in body} if status == 200 else {}

    def statuses(self) -> dict[str, str]:
        """Each number's status now."""
        return {cid: c["status"] for cid, c in self.clients().items()}

    def wait_ready(self, count: int, timeout: float = 120) -> float:
        """Wait until `count` numbers are ready; seconds it took."""
        started = time.monotonic()
        wait_until(lambda: list(self.statuses().values()).count("ready") >= count, timeout, f"{count} ready")
        return time.monotonic() - started

    def kill9(self) -> None:
        """SIGKILL the app's whole process group, as a power cut of the process would."""
        os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, sig: int = signal.SIGTERM, *, group: bool = False, timeout: float = 30) -> tuple[int, float]:
        """Send `sig` (to the group, as a terminal's Ctrl+C does, or to the process); (exit code, seconds)."""
        started = time.monotonic()
        if group:
            os.killpg(self.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            code = -9
        return code, time.monotonic() - started

    def ensure_stopped(self) -> None:
        """Stop the app if it still runs (end of a scenario, whatever happened) and wait for its browsers."""
        if self.proc is not None and self.proc.poll() is None:
            self.stop(signal.SIGTERM)
        try:
            wait_until(lambda: not chromium_of(self.data, tree=self.tree), 20, "the browsers gone")
        except RuntimeError:
            for pid in chromium_of(self.data, tree=self.tree):
                os.kill(pid, signal.SIGKILL)


def _cmdline(pid: int) -> list[str]:
    """A process's arguments ([] if it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _all_pids() -> list[int]:
    """Every process id now."""
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def browser_pid(profile: Path) -> int | None:
    """The browser process (not a renderer or helper) running on exactly this profile."""
    flag = f"--user-data-dir={profile}"
    found = [pid for pid in _all_pids() if flag in _cmdline(pid) and is_chromium(pid) and kind(pid) == "browser"]
    return found[0] if len(found) == 1 else None


def chromium_of(data: Path, *, tree: bool = True) -> list[int]:
    """Chromium processes of this data folder: on one of its profiles, or (`tree`) anywhere below this process,
    which as a subreaper also adopts the crashpad handlers (they name no profile). Tests, whose own engine has
    browsers below them, look at the profiles only."""
    prefix = f"--user-data-dir={data}"
    mine = set(descendants(os.getpid())) if tree else set()
    return [pid for pid in _all_pids() if is_chromium(pid)
            and (pid in mine or any(arg.startswith(prefix) for arg in _cmdline(pid)))]


def kill_browser(profile: Path) -> list[int]:
    """SIGKILL the browser process of a profile (its helpers die with it); the pids it had below it."""
    pid = browser_pid(profile)
    if pid is None:
        raise RuntimeError(f"no single browser process on {profile}")
    below = descendants(pid)
    os.kill(pid, signal.SIGKILL)
    return [pid, *below]


def alive(pids: list[int]) -> list[int]:
    """The pids still running (zombies count as gone)."""
    left = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.append(pid)
    return left


def reap_zombies(keep: tuple[int, ...] = ()) -> None:
    """Collect exited orphans re-parented to this process (a subreaper), except children in `keep`."""
    me = os.getpid()
    for pid in _all_pids():
        if pid in keep:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def check_files(data: Path) -> list[str]:
    """Problems with the data folder's files: JSON that does not parse, SQLite that fails quick_check."""
    problems = []
    for name in ("whatsapp-sessions.json", "auth.json", "preferences.json"):
        path = data / name
        if path.exists():
            try:
                json.loads(path.read_bytes())
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
    for name in ("messages.db", "webhooks.db"):
        path = data / name
        if path.exists():
            conn = sqlite3.connect(path)
            try:
                result = conn.execute("PRAGMA quick_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                result = str(exc)
            finally:
                conn.close()
            if result != "ok":
                problems.append(f"{name}: quick_check says {result}")
    problems += [f"set aside: {p.name}" for p in data.glob("*.bad-*")]
    return problems


def sent_texts(sim: SimServer, phones: list[str]) -> dict[str, list[str]]:
    """Texts each phone sent, in order, from the simulator's own records."""
    return {phone: [m["text"] for m in sim.control.sent(phone)] for phone in phones}


def duplicates(by_phone: dict[str, list[str]]) -> tuple[int, dict[str, int]]:
    """Extra copies of any text across all phones, and per phone."""
    every: dict[str, int] = {}
    per_phone = {}
    for phone, texts in by_phone.items():
        per_phone[phone] = len(texts) - len(set(texts))
        for text in texts:
            every[text] = every.get(text, 0) + 1
    return sum(n - 1 for n in every.values()), per_phone


def status_changes(log_text: str) -> list[tuple[str, str, str]]:
    """(client, old, new) for every status change the log recorded ('[Client x] a -> b')."""
    found = []
    for line in log_text.splitlines():
        if "[Client " in line and " -> " in line:
            head, _, tail = line.partition("[Client ")[2].partition("] ")
            old, _, new = tail.partition(" -> ")
            new = new.split(" ")[0].strip()
            if old.strip() in STATUSES and new in STATUSES:  # not other lines that hold an arrow
                found.append((head, old.strip(), new))
    return found
