"""One ZapPool per data folder: the lock, what a second launch learns, and a crash never leaving it locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from backend.host.instance import InstanceLock, running_instance
from tests.conftest import wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HOLD = ("import sys, time; from backend.host.instance import InstanceLock; lock = InstanceLock(sys.argv[1]); "
        "print('got' if lock.acquire() else 'busy', flush=True); time.sleep(60)")


def holder(data: Path) -> subprocess.Popen[str]:
    """Another process that takes the folder and keeps it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(data)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "got"
    return proc


@pytest.mark.process
def test_a_second_process_cannot_take_a_held_folder_until_it_is_released(tmp_path: Path) -> None:
    data = tmp_path / "dados"
    first = InstanceLock(data)
    assert first.acquire()
    first.publish("http://127.0.0.1:3000")

    other = subprocess.run([sys.executable, "-c", HOLD.replace("time.sleep(60)", "pass"), str(data)],
                           cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
    seen = running_instance(data)
    first.release()
    after = InstanceLock(data)

    assert other.stdout.strip() == "busy"
    assert seen.pid == os.getpid() and seen.url == "http://127.0.0.1:3000" and first.matches(seen.token)
    assert after.acquire(), "released: the folder is free again"
    assert running_instance(data).url is None, "the released instance no longer says where it listens"
    after.release()


def test_the_instance_file_is_private_and_tokens_are_checked(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path / "dados")
    assert lock.acquire()
    lock.publish("http://127.0.0.1:3001")

    assert (lock.info_path.stat().st_mode & 0o777) == 0o600
    assert not lock.matches("wrong") and not lock.matches(None) and lock.matches(lock.token)
    lock.release()


@pytest.mark.process
def test_a_killed_instance_leaves_the_folder_free(tmp_path: Path) -> None:
    data = tmp_path / "dados"
    proc = holder(data)
    assert not InstanceLock(data).acquire()

    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()

    lock = InstanceLock(data)
    wait_until(lock.acquire, what="the lock freed by the kernel")
    lock.release()


def test_a_bad_instance_file_reads_as_unknown(tmp_path: Path) -> None:
    data = tmp_path / "dados"
    data.mkdir()
    for content in ("", "{", '{"pid": "x"}', "[]"):
        (data / "zapool-instance.json").write_text(content)
        assert running_instance(data).url is None
