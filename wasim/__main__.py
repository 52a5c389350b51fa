"""Run the simulator by hand: `python -m wasim --port 8900`, then open the printed URLs."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from .server import SimServer
from .store import DEFAULT_PORT, saved_port

TIMINGS = ("first_qr_ms", "qr_ms", "max_qrs", "ack_delivered_ms", "ack_read_ms", "load_ms")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, serve until Ctrl+C."""
    parser = argparse.ArgumentParser(prog="python -m wasim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help=f"default: the state's port, else {DEFAULT_PORT}")
    parser.add_argument("--state", type=Path, default=None,
                        help="folder that keeps linked devices and messages across restarts (default: none)")
    for name in TIMINGS:
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=None, dest=name)
    args = parser.parse_args(argv)
    timings = {name: getattr(args, name) for name in TIMINGS if getattr(args, name) is not None}
    port = args.port
    if port is None:  # a stable origin keeps the browser's logins: the state's port, else the default
        port = (saved_port(args.state) if args.state else None) or DEFAULT_PORT
    sim = SimServer(host=args.host, port=port, state_dir=args.state, **timings).start()
    print(f"WhatsApp Web simulator: {sim.url}", flush=True)
    print(f"Phone (control page):   {sim.url}_sim/phone", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
