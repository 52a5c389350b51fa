"""Benchmark: the message log's CPU per message while an unpaced number works through a backlog of auto-routed
messages (claim_auto, then mark_sent), by backlog size, for this tree and another checkout side by side.

Why (issue 15, item 1): the claim picks the oldest waiting message in one statement; it used to sort the whole
backlog on every claim, so a burst's CPU per message grew with the burst. Each tree runs in its own process
(it imports its own backend), on a fresh messages.db in a temporary folder; CPU is the process's own
(user + system: the claim's fsync included), per message.

    .venv/bin/python -m bench.claim_cost --before-tree /tmp/old-main --backlog 600 3000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Run in a child whose cwd is the tree, so `backend` is that tree's.
CHILD = """
import sys, tempfile, time
from pathlib import Path
from backend.store.messages import MessageStore
backlog = int(sys.argv[1])
with tempfile.TemporaryDirectory() as folder:
    store = MessageStore(Path(folder) / "messages.db")
    with store.database.write() as conn:
        conn.executemany("INSERT INTO messages (id, direction, routing, chat, to_number, type, body, status, "
                         "created_at, updated_at) VALUES (?, 'out', 'auto', 'c@c.us', 'c', 'chat', 'x', 'queued', "
                         "?, ?)", [(f"m{n}", n, n) for n in range(backlog)])
    now = int(time.time() * 1000) + 60_000
    started = time.process_time()
    for n in range(backlog):
        row = store.claim_auto("a", now, now)
        store.mark_sent(row.id, wa_id=f"w{n}", chat=None, ack=1)
    print(1000 * (time.process_time() - started) / backlog)
"""


def cost(tree: Path, backlog: int) -> float:
    """ms of CPU per message, working through `backlog` waiting messages, with `tree`'s backend."""
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", CHILD, str(backlog)], cwd=tree, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-tree", type=Path, required=True, help="a checkout of the commit to compare with")
    parser.add_argument("--backlog", type=int, nargs="+", default=[600, 3000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()}")
    trees = {"before": args.before_tree, "after": ROOT}
    for backlog in args.backlog:
        found: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):  # alternating, so the machine's load hits both alike
            for name, tree in trees.items():
                found[name].append(cost(tree, backlog))
        med = {name: statistics.median(v) for name, v in found.items()}
        print(f"backlog {backlog}: before {med['before']:.3f} ms, after {med['after']:.3f} ms per message "
              f"(after/before {med['after'] / med['before']:.2f})")
    print(f"load average at the end: {os.getloadavg()}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
