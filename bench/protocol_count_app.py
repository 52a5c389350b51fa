"""Run app.py and count the messages between Playwright's Python client and its node driver, by kind, written
as JSON when the app exits: which driver messages a sent message brings to the engine loop (issue 15, item 1).

Use it as bench.api_send_cost's launcher:

    API_SEND_COST_LAUNCHER=bench/protocol_count_app.py PROTOCOL_COUNT_OUT=/tmp/count.json \\
        .venv/bin/python -m bench.api_send_cost --before-tree /tmp/old-main --only after --messages 600 --rounds 1

Kinds: `reply` (an answer to a call), an event's method (`frameReceived`: a frame on a page's WebSocket;
`cdp:<method>`: an event of a DevTools session, e.g. our events binding), and `send:<method>` for calls.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import sys
from collections import Counter
from typing import Any

from playwright._impl import connection

counts: Counter[str] = Counter()
_dispatch = connection.Connection.dispatch
_send = connection.Connection.send_message_to_server


def _counted_dispatch(self: Any, message: dict[str, Any]) -> None:
    """Count a message from the driver, then handle it as Playwright does."""
    if message.get("id"):
        counts["reply"] += 1
    elif message.get("method") == "event":
        counts["cdp:" + str((message.get("params") or {}).get("method"))] += 1
    else:
        counts[str(message.get("method"))] += 1
    _dispatch(self, message)


def _counted_send(self: Any, obj: Any, method: str, params: Any, options: dict[str, Any]) -> Any:
    """Count a call to the driver, then make it."""
    counts["send:" + method] += 1
    return _send(self, obj, method, params, options)


def _write(out: str) -> None:
    """The counts, most frequent first."""
    with open(out, "w", encoding="utf-8") as file:
        json.dump(dict(counts.most_common()), file, indent=1)


if __name__ == "__main__":
    connection.Connection.dispatch = _counted_dispatch  # type: ignore[method-assign]
    connection.Connection.send_message_to_server = _counted_send  # type: ignore[method-assign]
    out = os.environ.get("PROTOCOL_COUNT_OUT", "protocol_count.json")
    atexit.register(_write, out)
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.getcwd())  # app.py imports the backend of the tree it runs from
    runpy.run_path(sys.argv[0], run_name="__main__")
