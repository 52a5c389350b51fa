"""Lazy start, before and after, side by side in one run: `app.py --headless` with no saved numbers, from the
process start to the first `GET /health` answer and to the login page (`GET /`), then, once settled, its
process count, RSS/PSS and CPU time (the app and all its descendants, Playwright's node driver included).

"before" is app.py of a given commit (default: the one before lazy start), exported with `git archive` into a
temporary folder and run with the same interpreter; "after" is this worktree. Runs alternate (before, after,
before, ...) so the machine's load hits both alike; medians are reported. The simulator runs in its own process.

    .venv/bin/python -m bench.lazy_start --runs 7 --before 8a731c3
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.procs import _rollup, descendants

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def export(commit: str, into: Path) -> Path:
    """The tree of `commit`, to run its app.py as it was."""
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def answered(url: str) -> bool:
    """Did `url` answer 200?"""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


def tree_cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def one_run(tree: Path, sim_url: str, settle_s: float) -> dict[str, float]:
    """Start app.py from `tree` on a fresh data folder; time /health and /, then sample the settled tree."""
    with tempfile.TemporaryDirectory(prefix="lazy-") as data:
        started = time.monotonic()
        app = subprocess.Popen([sys.executable, "app.py", "--headless", "--data", data, "--whatsapp-url", sim_url,
                                "--port", "0"], cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
        try:
            assert app.stdout is not None
            url = next(m.group(0) for line in app.stdout if (m := re.search(r"http://127\.0\.0\.1:\d+", line)))
            while not answered(url + "/health"):
                time.sleep(0.005)
            health = time.monotonic() - started
            while not answered(url + "/"):
                time.sleep(0.005)
            login = time.monotonic() - started
            time.sleep(settle_s)
            pids = [app.pid, *descendants(app.pid)]
            rss = sum(_rollup(p).get("Rss", 0) for p in pids) / 1024
            pss = sum(_rollup(p).get("Pss", 0) for p in pids) / 1024
            return {"health_s": health, "login_s": login, "processes": len(pids), "rss_mb": rss, "pss_mb": pss,
                    "cpu_s": tree_cpu_s(pids)}
        finally:
            app.terminate()
            app.wait(30)


def main(argv: list[str] | None = None) -> None:
    """Alternate before/after runs and print the medians and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", default="8a731c3", help="the commit to compare with (default: before lazy start)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the login page before sampling")
    args = parser.parse_args(argv)
    sim = subprocess.Popen([sys.executable, "-m", "wasim", "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                           text=True)
    try:
        assert sim.stdout is not None
        sim_url = re.search(r"http://\S+", sim.stdout.readline()).group(0)  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory(prefix="lazy-before-") as old:
            trees = {"before": export(args.before, Path(old)), "after": ROOT}
            results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for _ in range(args.runs):
                for name, tree in trees.items():
                    results[name].append(one_run(tree, sim_url, args.settle))
        report(results, args)
    finally:
        sim.terminate()
        sim.wait(10)


def report(results: dict[str, list[dict[str, float]]], args: argparse.Namespace) -> None:
    """One Markdown table: the median of each figure, before and after, and after/before."""
    print(f"{args.runs} runs each, alternating; before = {args.before}; sampled {args.settle:.0f} s after the login "
          "page; medians")
    print("| figure | before | after | after/before |\n|---|---|---|---|")
    for key in ("health_s", "login_s", "processes", "rss_mb", "pss_mb", "cpu_s"):
        before = statistics.median(r[key] for r in results["before"])
        after = statistics.median(r[key] for r in results["after"])
        print(f"| {key} | {before:.3g} | {after:.3g} | {after / before:.2f} |")


if __name__ == "__main__":
    main()
