"""Kept media on disk (store/media.py, store/media_log.py): a download cut by kill -9 never shows as complete,
and the retention bound removes the oldest files first and says so in the media log. Real files, a real child
process, a real messages.db."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask

from backend.api.media import serve
from backend.media import ServedMedia
from backend.store.media import KeptMedia, received_name
from backend.store.media_log import MediaLog, MediaRow
from backend.store.messages import MessageStore
from tests.conftest import wait_until

ROOT = Path(__file__).resolve().parents[1]
# A child that writes a download chunk by chunk, slowly, and prints once the first chunk is on disk.
SLOW_WRITER = """
import sys, time
from pathlib import Path
from backend.store.media import KeptMedia
def chunks():
    for i in range(1000):
        yield b"x" * 65536
        if i == 0:
            print("writing", flush=True)
        time.sleep(0.05)
KeptMedia(Path(sys.argv[1])).write_stream(sys.argv[2], chunks(), 1 << 30)
"""


def _row(name: str, state: str = "pending") -> MediaRow:
    return MediaRow("c1", name, "in", "image", "image/jpeg", None, 100, None, None, state, None, 0, 0, None)


def test_a_download_killed_mid_write_never_shows_as_complete(tmp_path: Path):
    kept = tmp_path / "media" / "kept"
    name = received_name("c1", "false_5511988887777@c.us_ABC")
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(kept), name], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
        wait_until(lambda: any(p.stat().st_size > 0 for p in kept.glob(".*.tmp")), 5, what="bytes on disk")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    files = KeptMedia(kept)
    assert not files.exists(name), "a cut download must not be under its final name"
    assert next(p.name for p in kept.iterdir()).endswith(".tmp")
    assert files.sweep_temps() == 1 and list(kept.iterdir()) == []


def test_the_retention_bound_removes_the_oldest_first_and_the_log_says_removed(tmp_path: Path):
    store = MessageStore(tmp_path / "messages.db")
    media_log = MediaLog(store.database)
    kept = KeptMedia(tmp_path / "kept")
    now = time.time()
    store.add_incoming([("c1", "m-old", {"id": "in-old", "from": "5511988887777@c.us", "type": "image",
                                         "mimetype": "image/jpeg", "size": 1000})])
    for age_days, name in ((100, "in-old"), (5, "in-mid"), (1, "in-new")):
        kept.write_stream(name, [b"y" * 1000], 10_000)
        os.utime(kept.path(name), (now - age_days * 86400, now - age_days * 86400))
        media_log.expect(_row(name))
        media_log.update("c1", name, state="present", file=name)
    # 90 days: the 100-day-old file goes; 1,500 bytes in all: then the oldest of the rest too.
    assert kept.sweep(90, 1500, now) == ["in-old", "in-mid"]
    assert media_log.removed(["in-old", "in-mid"]) == 2
    assert [media_log.get("c1", n).state for n in ("in-old", "in-mid", "in-new")] == ["removed", "removed", "present"]
    assert kept.exists("in-new") and not kept.exists("in-old")
    record = store.get("m-old")  # the message log says so too
    assert record is not None and record.to_dict()["media"]["state"] == "removed"
    store.close()


def test_a_contacts_mimetype_cannot_break_the_headers(tmp_path: Path):
    """The type comes from a contact: only a checked type and harmless parameters reach Content-Type."""
    data = tmp_path / "voice"
    data.write_bytes(b"OggS")
    app = Flask(__name__)
    with app.test_request_context():
        voice = serve(ServedMedia(data, "audio/ogg; codecs=opus", None, 4), "false_1@c.us_AB")
        evil = serve(ServedMedia(data, "audio/ogg; codecs=opus\r\nSet-Cookie: a=b", None, 4), "false_1@c.us_AB")
        html = serve(ServedMedia(data, "TEXT/HTML", "x.html", 4), "false_1@c.us_AB")
    assert voice.headers["Content-Type"] == "audio/ogg; codecs=opus"
    assert evil.headers["Content-Type"] == "audio/ogg" and "Set-Cookie" not in evil.headers
    assert html.headers["Content-Type"].startswith("text/html") and html.headers["Content-Disposition"].startswith(
        "attachment")
