"""A scheduled occurrence is sent once even when ZapPool dies between queueing it and recording it (issue 17 §3).

A real process (tests/schedules_support.py) restores a linked number, schedules a message and SIGKILLs itself in the
one place a crash could cost a duplicate: the occurrence is in the outbox (and, in the worst case, already on
WhatsApp), the schedule has not moved on. Then the real app (`app.py --headless`) starts on the same data folder,
reconnects the number and runs the schedules' worker: the occurrence must be on the simulator's phone once, and
the schedule finished with that one message recorded.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import PHONE, connect, wait_until
from tests.ui_support import AppProcess

ROOT = Path(__file__).resolve().parents[1]
TO = "5511988887777"
TEXT = "agendada uma vez"


def _sent(sim) -> list[str]:
    """The texts the number's phone sent."""
    return [m["text"] for m in sim.control.sent(PHONE)]


def _row(data: Path, schedule_id: str) -> tuple[str, list[tuple[str, str | None]]]:
    """The schedule's status and its runs, read from schedules.db as it is on disk."""
    with sqlite3.connect(f"file:{data / 'schedules.db'}?mode=ro", uri=True) as db:
        (status,) = db.execute("SELECT status FROM schedules WHERE id = ?", (schedule_id,)).fetchone()
        runs = db.execute("SELECT outcome, message_id FROM runs WHERE schedule_id = ?", (schedule_id,)).fetchall()
    return status, runs


def _crash(sim, data: Path, when: str, log_path: Path) -> dict[str, str]:
    """Run the child until it kills itself; its SCHEDULED and QUEUED lines."""
    with open(log_path, "w+") as log_file:
        child = subprocess.Popen([sys.executable, "-m", "tests.schedules_support", "--sim", sim.url, "--data",
                                  str(data), "--to", TO, "--kill", when],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=log_file, text=True)
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(line.strip() for line in child.stdout), daemon=True).start()
        try:
            assert child.wait(90) == -signal.SIGKILL, log_path.read_text()
        finally:
            if child.poll() is None:
                child.kill()
    time.sleep(0.2)
    return dict(line.split(" ", 1) for line in lines if " " in line)


@pytest.mark.process
@pytest.mark.parametrize("when", ["after_send", "at_once"])
def test_killed_between_queueing_and_recording_an_occurrence_it_is_sent_once(make_pool, sim, settings, tmp_path,
                                                                              when):
    linking = make_pool()
    connect(linking, sim, "a", PHONE)
    linking.shutdown()  # the sessions file keeps a as ready: the child and the app restore it without a scan

    said = _crash(sim, settings.data_dir, when, tmp_path / "child.log")
    assert set(said) == {"SCHEDULED", "QUEUED"}, said
    assert _row(settings.data_dir, said["SCHEDULED"]) == ("active", []), "killed before the schedule moved on"
    if when == "after_send":
        assert _sent(sim) == [TEXT]

    app = AppProcess(settings.data_dir, sim.url).start()
    try:
        wait_until(lambda: "[a] Conectado" in app.output(), 60, what="the number back in the restarted app")
        wait_until(lambda: _row(settings.data_dir, said["SCHEDULED"])[0] == "finished", 30,
                   what="the occurrence handled again after the restart")
        wait_until(lambda: _sent(sim) == [TEXT], 30, what="the occurrence on the phone")
        time.sleep(2)  # time enough for a second copy, if one were on its way
        assert _sent(sim) == [TEXT]
        assert _row(settings.data_dir, said["SCHEDULED"]) == ("finished", [("queued", said["QUEUED"])])
    finally:
        app.stop()
