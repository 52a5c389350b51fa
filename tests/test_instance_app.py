"""One ZapPool per data folder, as a user meets it: a second launch finds the first, raises it and leaves."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from backend.host.instance import running_instance
from tests.conftest import wait_until
from tests.test_app import ROOT, Output, finish

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


def test_a_missing_browser_is_said_at_start_with_what_to_install(sim, tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "app.py", "--headless", "--data", str(tmp_path / "dados"),
                             "--whatsapp-url", sim.url, "--port", "0", "--browser", str(tmp_path / "no-browser")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output = Output(proc)
    said = output.wait_for("Erro:")
    code, _, _ = finish(proc, output, signal.SIGTERM, group=True)

    assert "is not an executable file" in said and "Install one of: Chromium" in said
    assert code == 0, "the app stays up (the API answers, the browser can be chosen in the settings)"
