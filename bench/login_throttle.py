"""How much the login throttle slows down someone guessing the admin password, against app.py as users run it.

app.py --headless on a fresh data folder whose password was set with the app's own scrypt costs. First a burst:
wrong guesses as fast as the answers come. Then a patient guesser who waits out every Retry-After. Last, what
the throttle's schedule (5 free tries, then locks doubling from 1 s up to 5 minutes) allows over a day,
computed from backend/auth/passwords.py's constants, not measured.

    .venv/bin/python -m bench.login_throttle --burst 20 --patient 10
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from backend.auth.passwords import LoginThrottle
from backend.auth.service import AuthService

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "a-senha-certa-123"


def start_app(data: Path) -> tuple[subprocess.Popen, str]:
    """app.py --headless on `data`; its base URL once it listens."""
    proc = subprocess.Popen([sys.executable, "app.py", "--headless", "--no-restore", "--port", "0", "--data",
                             str(data)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = next((ln for ln in list(lines) if ln.startswith("API REST:")), None)
        if found:
            return proc, re.match(r"API REST: (\S+)", found).group(1)
        time.sleep(0.05)
    raise SystemExit("app.py did not start:\n" + "".join(lines))


def guess(url: str, password: str) -> tuple[int, int | None, float]:
    """One login: (status, Retry-After seconds or None, seconds the answer took)."""
    body = json.dumps({"username": "admin", "password": password}).encode()
    request = urllib.request.Request(url + "/auth/login", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            status, retry = reply.status, None
    except urllib.error.HTTPError as err:
        status, retry = err.code, err.headers.get("Retry-After")
    return status, int(retry) if retry else None, time.perf_counter() - started


def burst(url: str, count: int) -> None:
    """Wrong guesses back to back."""
    started = time.perf_counter()
    answers = [guess(url, f"errada-{i}") for i in range(count)]
    took = time.perf_counter() - started
    checked = [a for a in answers if a[0] == 401]
    print(f"burst: {count} wrong guesses in {took:.2f} s; {len(checked)} checked (401, "
          f"{sum(a[2] for a in checked) / max(1, len(checked)):.2f} s each: scrypt), "
          f"{sum(1 for a in answers if a[0] == 429)} refused unchecked (429, Retry-After "
          f"{sorted({a[1] for a in answers if a[1]})} s)")
    right = guess(url, PASSWORD)
    print(f"the right password during the lock: {right[0]} (Retry-After {right[1]} s)")


def patient(url: str, count: int) -> None:
    """A guesser who waits out each lock: how long `count` checked guesses take, and each lock's length."""
    started, checked, locks = time.perf_counter(), 0, []
    while checked < count:
        status, retry, _ = guess(url, f"paciente-{checked}")
        if status == 429:
            locks.append(retry)
            time.sleep(retry)
        else:
            checked += 1
    print(f"patient: {count} checked guesses in {time.perf_counter() - started:.1f} s; Retry-After waited: "
          f"{locks} s")


def schedule(horizon_s: float) -> int:
    """Checked guesses LoginThrottle allows in `horizon_s` seconds to one who waits out every lock."""
    throttle, now, guesses = LoginThrottle(), 0.0, 0
    while now <= horizon_s:
        guesses += 1
        delay = throttle.failed(["user:admin"], now)
        now += delay + 1 if delay else 0.0  # +1: the API rounds Retry-After up
    return guesses - 1


def main(argv: list[str] | None = None) -> None:
    """Burst, patient guesser, computed schedule."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--patient", type=int, default=10)
    args = parser.parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="zapool-throttle-")) / "dados"
    AuthService.in_folder(data).reset_password(PASSWORD)  # the app's own scrypt costs
    proc, url = start_app(data)
    try:
        burst(url, args.burst)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    # The throttle lives in memory, so a new process counts from zero: the patient guesser starts fresh
    # instead of waiting out the burst's lock.
    proc, url = start_app(data)
    try:
        patient(url, args.patient)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    for label, seconds in (("1 hour", 3600), ("1 day", 86_400), ("30 days", 30 * 86_400)):
        print(f"computed from the schedule: at most {schedule(seconds):,} checked guesses in {label}")


if __name__ == "__main__":
    main()
