"""Run app.py and record, once a second, the CPU of each of its Python threads by name (utime+stime from
/proc/self/task/<tid>/stat), to see which part of ZapPool a message's CPU goes to without a profiler's overhead.

Use it as bench.api_send_cost's launcher, then split a window of the file:

    API_SEND_COST_LAUNCHER=bench/thread_cpu_app.py THREAD_CPU_OUT=/tmp/threads.jsonl \\
        .venv/bin/python -m bench.api_send_cost --before-tree /tmp/old-main --only after --messages 2000 --rounds 1
    .venv/bin/python -m bench.thread_cpu_app --split /tmp/threads.jsonl --messages 2060

(2,060: the bench's 60-message warm-up and the round.) Threads of a kind are summed (waitress-0..N: the API's
request threads; outbox-<number>: the lanes); a thread that ended between two samples is missing from both,
so the named threads add up to a little less than the process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import runpy
import sys
import threading
import time
from collections import Counter
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(stat_path: str) -> tuple[float, float]:
    """(user, system) seconds of a process or thread from its stat file."""
    fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def _sample() -> dict[str, float]:
    """CPU seconds of every live thread by name (name:sys for system time), and of the whole process."""
    row: dict[str, float] = {"t": time.time()}
    for thread in threading.enumerate():
        try:
            user, system = _cpu(f"/proc/self/task/{thread.native_id}/stat")
        except OSError:
            continue  # it ended meanwhile
        row[thread.name] = row.get(thread.name, 0.0) + user + system
        row[f"{thread.name}:sys"] = row.get(f"{thread.name}:sys", 0.0) + system
    user, system = _cpu("/proc/self/stat")
    row["_process"], row["_process:sys"] = user + system, system
    return row


def _record(out: Path) -> None:
    """Append a sample every second for as long as the app runs."""
    with out.open("w") as file:
        while True:
            file.write(json.dumps(_sample()) + "\n")
            file.flush()
            time.sleep(1)


def split(path: Path, messages: int, busy_cpu_s: float = 0.1) -> None:
    """Per-message CPU by thread kind over the span where the process used more than busy_cpu_s per second."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rates = [(b["_process"] - a["_process"]) / (b["t"] - a["t"]) for a, b in zip(rows, rows[1:])]
    busy = [i for i, rate in enumerate(rates) if rate > busy_cpu_s]
    first, last = rows[busy[0]], rows[busy[-1] + 1]
    kinds: Counter[str] = Counter()
    for name, value in last.items():
        if name != "t":
            kinds[re.sub(r"[-_]\d+(?=$|:)", "-N", name)] += value - first.get(name, 0.0)
    print(f"{last['t'] - first['t']:.0f} s busy; ms of CPU per message:")
    for name, value in kinds.most_common():
        if value > 0:
            print(f"  {value * 1000 / messages:6.2f}  {name}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--split":
        parser = argparse.ArgumentParser()
        parser.add_argument("--split", type=Path, required=True)
        parser.add_argument("--messages", type=int, required=True)
        args = parser.parse_args()
        split(args.split, args.messages)
    else:
        target = Path(os.environ.get("THREAD_CPU_OUT", "threads.jsonl"))
        threading.Thread(target=_record, args=(target,), name="thread-cpu", daemon=True).start()
        sys.argv = sys.argv[1:]
        sys.path.insert(0, os.getcwd())  # app.py imports the backend of the tree it runs from
        runpy.run_path(sys.argv[0], run_name="__main__")
