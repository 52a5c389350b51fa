"""Run app.py under yappi (CPU clock, every thread) and save the profile in pstats form when it exits.

Where ZapPool's CPU goes per message (docs/PERFORMANCE.md, issue 15 item 1): run bench.api_send_cost with this
as the launcher of the app processes, then read the file with pstats:

    API_SEND_COST_LAUNCHER=bench/yappi_app.py YAPPI_OUT=/tmp/app.pstat \\
        .venv/bin/python -m bench.api_send_cost --before-tree /tmp/old-k --only after --messages 600 --rounds 1

yappi's own overhead triples the app's CPU; its shares between functions are what to read, not its totals.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys

import yappi


def _save() -> None:
    """Stop profiling and write every function's stats."""
    yappi.stop()
    yappi.get_func_stats().save(os.environ.get("YAPPI_OUT", "app.pstat"), type="pstat")


if __name__ == "__main__":
    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)
    atexit.register(_save)
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.getcwd())  # app.py imports the backend of the tree it runs from
    runpy.run_path(sys.argv[0], run_name="__main__")
