"""The Chromium processes of this run, and their memory: process tree walk and /proc/<pid>/smaps_rollup.

Which processes count: the bench makes itself a child subreaper (prctl), so processes Chromium double-forks (its
crashpad handlers) or orphans (zygotes of a killed browser) are re-parented to it rather than to init; every
descendant whose executable is a Chromium binary counts (Playwright's node driver does not). Chromium processes
of other runs on the machine are never counted; they share library pages with ours, which lowers our PSS a
little, so `Sample.foreign` says how many there were, and USS (private pages) is reported beside PSS.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CHROMIUM_EXES = ("chromium", "chrome", "chrome_crashpad_handler", "chromium-headless-shell", "chrome-headless-shell")
PR_SET_CHILD_SUBREAPER = 36
MB = 1024  # smaps figures are in kB


@dataclass
class Sample:
    """Memory of one configuration's Chromium processes at one moment (kB)."""

    processes: int
    pss_kb: int
    rss_kb: int
    uss_kb: int
    foreign: int  # Chromium processes on the machine that are not ours (they share pages with ours)
    kinds: dict[str, tuple[int, int]]  # process type (browser, zygote, renderer, ...) -> (count, PSS kB)


def become_subreaper() -> None:
    """Orphaned descendants (Chromium's crashpad handlers) get re-parented to this process, not init."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _parents() -> dict[int, int]:
    """pid -> parent pid for every process now."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def is_chromium(pid: int) -> bool:
    """Is this process running a Chromium binary (browser, zygote, renderer, utility, crashpad)?"""
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe")) in CHROMIUM_EXES
    except OSError:
        return False


def descendants(root: int, parents: dict[int, int] | None = None) -> list[int]:
    """Every process below `root` in the process tree."""
    parents = parents if parents is not None else _parents()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def our_chromium() -> list[int]:
    """Chromium processes started by this bench (directly or re-parented to it)."""
    return [pid for pid in descendants(os.getpid()) if is_chromium(pid)]


def _rollup(pid: int) -> dict[str, int]:
    """The kB fields of /proc/<pid>/smaps_rollup ({} if the process is gone)."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            key, value = line.split(":", 1)
            fields[key] = int(value.split()[0])
    except (OSError, ValueError):
        return {}
    return fields


def kind(pid: int) -> str:
    """Chromium's process type, from its command line (`--type=...`; none for the browser itself)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if "crashpad" in cmdline.split(" ", 1)[0]:
        return "crashpad"
    found = re.search(r"--type=(\S+)", cmdline)
    sub = re.search(r"--utility-sub-type=\S*?(\w+)\.mojom", cmdline)
    return (found.group(1) if found else "browser") + (f":{sub.group(1)}" if sub else "")


def measure() -> Sample:
    """Sum PSS, RSS and USS (private clean + dirty) over this run's Chromium processes."""
    ours = our_chromium()
    rollups = {pid: r for pid, r in ((pid, _rollup(pid)) for pid in ours) if r}
    kinds: dict[str, tuple[int, int]] = {}
    for pid, r in rollups.items():
        count, pss = kinds.get(kind(pid), (0, 0))
        kinds[kind(pid)] = (count + 1, pss + r["Pss"])
    everyone = sum(1 for pid in _parents() if is_chromium(pid))
    return Sample(processes=len(rollups), pss_kb=sum(r["Pss"] for r in rollups.values()),
                  rss_kb=sum(r["Rss"] for r in rollups.values()),
                  uss_kb=sum(r["Private_Clean"] + r["Private_Dirty"] for r in rollups.values()),
                  foreign=everyone - len(ours), kinds=kinds)


def _adopted() -> list[int]:
    """Direct children of this process running (or having run) Chromium: zygotes and crashpad handlers."""
    me, found = os.getpid(), []
    for pid, ppid in _parents().items():
        try:
            comm = Path(f"/proc/{pid}/stat").read_text().split("(", 1)[1].rsplit(")", 1)[0]
        except OSError:
            continue
        if ppid == me and comm.startswith(("chrom", "headless")):
            found.append(pid)
    return found


def reap(timeout: float = 10.0) -> None:
    """Collect Chromium processes re-parented to this process once they exit; SIGKILL any still up later."""
    deadline = time.monotonic() + timeout
    while pending := _adopted():
        for pid in pending:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if time.monotonic() > deadline:
            for pid in _adopted():
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.1)


def kill_leftovers() -> None:
    """SIGKILL every process still below this one (after the engines stopped: only leftovers of ours), reap."""
    for pid in descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    reap()
