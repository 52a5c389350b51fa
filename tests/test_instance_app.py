"""One ZapPool per data folder, as a user meets it: a second launch finds the first, raises it and leaves."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from backend.host.instance import InstanceLock, running_instance
from tests.conftest import wait_until
from tests.test_app import ROOT, Output, finish

pytestmark = pytest.mark.process  # every test here runs app.py
SECOND_LAUNCH_TIMEOUT_S = 30


def launch(data: Path, url: str) -> subprocess.Popen:
    """app.py --headless on `data`, as a terminal runs it."""
    return subprocess.Popen([sys.executable, "app.py", "--headless", "--data", str(data), "--whatsapp-url", url,
                             "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def snapshot(data: Path) -> dict[str, tuple[int, int]]:
    """Every file of the data folder but the running app's log: size and modification time."""
    return {str(p.relative_to(data)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in data.rglob("*") if p.is_file() and "logs" not in p.parts}


def test_a_second_launch_raises_the_first_and_leaves_its_data_alone(sim, tmp_path: Path) -> None:
    data = tmp_path / "dados"
    first = launch(data, sim.url)
    first_output = Output(first)
    api_url = first_output.wait_for("API REST:").split()[2]
    wait_until(lambda: running_instance(data).url == api_url, what="the instance file")
    before = snapshot(data)

    second = subprocess.run([sys.executable, "app.py", "--headless", "--data", str(data), "--whatsapp-url", sim.url,
                             "--port", "0"], cwd=ROOT, capture_output=True, text=True,
                            timeout=SECOND_LAUNCH_TIMEOUT_S)
    asked = wait_until(lambda: next((ln for ln in first_output.lines if "outra inicialização" in ln), None),
                       what="the first instance hearing the second")
    after = snapshot(data)
    code, text, _ = finish(first, first_output, signal.SIGTERM, group=True)

    assert second.returncode == 0 and "já está aberto" in second.stdout and api_url in second.stdout
    assert "API REST" not in second.stdout, "the second launch started no server"
    assert after == before, "the second launch wrote nothing in the data folder"
    assert api_url in asked
    assert code == 0 and "Encerrado." in text
    log_text = (data / "logs" / "zapool.log").read_text(encoding="utf-8")
    assert "[API] Escutando em" in log_text and "outra inicialização" in log_text
    assert running_instance(data).url is None, "a clean stop withdraws the instance file"


def test_show_needs_the_data_folders_token(sim, tmp_path: Path) -> None:
    data = tmp_path / "dados"
    proc = launch(data, sim.url)
    output = Output(proc)
    api_url = output.wait_for("API REST:").split()[2]
    token = wait_until(lambda: running_instance(data).token, what="the instance file")
    answers = []
    for header in ({}, {"X-ZapPool-Instance": "wrong"}, {"X-ZapPool-Instance": token}):
        request = urllib.request.Request(api_url + "/instance/show", method="POST", data=b"", headers=header)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answers.append(response.status)
        except urllib.error.HTTPError as err:
            answers.append(err.code)
    finish(proc, output, signal.SIGTERM, group=True)

    assert answers == [401, 401, 204]


def start_and_fail(*args: str, timeout_s: float = 60) -> subprocess.CompletedProcess:
    """app.py run with arguments that must stop it before it serves."""
    return subprocess.run([sys.executable, "app.py", "--headless", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout_s)


def test_a_browser_named_on_the_command_line_that_is_missing_stops_the_start_in_one_line(sim, tmp_path: Path):
    done = start_and_fail("--data", str(tmp_path / "dados"), "--whatsapp-url", sim.url, "--port", "0",
                          "--browser", str(tmp_path / "no-browser"))

    said = [line for line in done.stderr.splitlines() if line.startswith("Erro:")]
    assert done.returncode == 1
    assert len(said) == 1 and "is not an executable file" in said[0] and "Install one of: Chromium" in said[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert "API REST" not in done.stdout, "nothing was served"
    assert running_instance(tmp_path / "dados").url is None


def test_a_port_in_use_stops_the_start_in_one_line(sim, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = start_and_fail("--data", str(tmp_path / "dados"), "--whatsapp-url", sim.url, "--port", str(port))

    said = [line for line in done.stderr.splitlines() if line.startswith("Erro:")]
    assert done.returncode == 1
    assert len(said) == 1 and f"127.0.0.1:{port}" in said[0] and "in use" in said[0]
    assert "Traceback" not in done.stdout + done.stderr and "Errno" not in done.stdout + done.stderr


def test_a_data_folder_held_by_a_zapool_that_does_not_answer_stops_the_start(tmp_path: Path) -> None:
    data = tmp_path / "dados"
    holder = InstanceLock(data)
    assert holder.acquire()  # held, and where it listens never published: a ZapPool stuck while starting
    try:
        done = start_and_fail("--data", str(data), "--port", "0", timeout_s=30)
    finally:
        holder.release()

    assert done.returncode == 1
    assert "Erro:" in done.stderr and str(data) in done.stderr and "Traceback" not in done.stderr
