"""The passphrase asked in a window (issue 19): the desktop app started on a sealed folder that neither a keyring,
ZAPOOL_PASSPHRASE nor --passphrase-fd opens (and no terminal) shows the passphrase window. A wrong passphrase
shows a readable message in the window's language (pt-BR, then English after picking it) and the window asks
again, with nothing in the data folder changed; the right one closes it and ZapPool starts on the sealed folder.
A real app.py, its real Qt window offscreen, typed into through the window's DevTools port."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from backend.sealing import KeyFile
from backend.store.messages import MessageStore
from backend.store.sealed import SealedFolder
from bench.built_app import CDP_EVALUATE, free_port
from tests.conftest import wait_until
from tests.test_app import ROOT, Output, finish
from tests.test_desktop_smoke import QT_ENV, env, needs_qt

pytestmark = [pytest.mark.process, needs_qt]
PASS = "frase da janela 42"
NODE = Path(sys.executable).parents[1] / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
    "site-packages" / "playwright" / "driver" / "node"
# Type a passphrase, send the form, wait for the window's answer (the message under the field, or the window
# gone when it opened the folder: then this evaluation never answers).
TRY = """(async (passphrase, lang) => {
  const sleep = () => new Promise((r) => setTimeout(r, 50));
  while (!document.querySelector('#language')?.options.length || !window.pywebview?.api?.unlock) await sleep();
  const pick = document.querySelector('#language');
  if (pick.value !== lang) { pick.value = lang; pick.dispatchEvent(new Event('change')); }
  const message = document.querySelector('#unlock-error');
  message.textContent = '';
  document.querySelector('#passphrase').value = passphrase;
  document.querySelector('#unlock-form').requestSubmit();
  for (let i = 0; i < 1200; i++) {  // a minute: scrypt (128 MiB) on a loaded machine
    const text = message.textContent;
    if (text && text !== 'Verificando...' && text !== 'Checking...') {
      return {text, focused: document.activeElement.id, title: document.title};
    }
    await sleep();
  }
  return null;
})(%s, %s)"""


def _page(devtools: str) -> str | None:
    """The passphrase window's DevTools socket, once it shows its form."""
    try:
        with urllib.request.urlopen(devtools + "/json/list", timeout=5) as reply:
            pages = [p for p in json.loads(reply.read()) if p["type"] == "page" and p["url"].endswith("unlock.html")]
    except OSError:
        return None
    return pages[0]["webSocketDebuggerUrl"] if pages else None


def _evaluate(socket: str, expression: str) -> object:
    """The expression's value in the window's page (None: it threw or timed out there). A DevTools connection
    refused (the node script exits 1: seen once under a CI run's load) is tried again, twice at most."""
    for _ in range(3):
        done = subprocess.run([str(NODE), "-e", CDP_EVALUATE, socket, expression], capture_output=True, text=True,
                              timeout=90, check=False)
        if done.returncode == 0:
            return json.loads(done.stdout) if done.stdout.strip() else None
        time.sleep(1)
    raise AssertionError(f"DevTools did not answer: {done.stderr[-500:]}")


def _hashes(data: Path) -> dict[str, str]:
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data.rglob("*")) if p.is_file()}


def test_a_sealed_folder_asks_its_passphrase_in_a_window_again_after_a_wrong_one(tmp_path: Path):
    data = tmp_path / "dados"
    data.mkdir()
    folder = SealedFolder(data)
    folder.use(KeyFile(data, folder.write).create(PASS, use_keyring=False))
    MessageStore(data / "messages.db").close()
    before = _hashes(data)
    devtools = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--data", str(data), "--port", "0", "--no-restore"], cwd=ROOT,
        env=env(**QT_ENV, DISPLAY=None, WAYLAND_DISPLAY=None, ZAPOOL_PASSPHRASE=None, PYTHONUNBUFFERED="1",
                PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
                QTWEBENGINE_REMOTE_DEBUGGING=devtools.removeprefix("http://")),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    output = Output(proc)
    try:
        socket = wait_until(lambda: _page(devtools), 90, what="the passphrase window")
        wrong = _evaluate(socket, TRY % (json.dumps("frase errada"), json.dumps("pt-BR")))
        assert wrong == {"text": "Frase-senha incorreta: nada foi alterado.", "focused": "passphrase",
                         "title": "Frase-senha — ZapPool"}
        again = _evaluate(socket, TRY % (json.dumps("outra errada"), json.dumps("en")))
        assert again == {"text": "Wrong passphrase: nothing was changed.", "focused": "passphrase",
                         "title": "Passphrase — ZapPool"}
        assert proc.poll() is None, "a wrong passphrase asks again"
        assert _hashes(data) == before, "nothing in the folder is touched while the window asks"
        subprocess.Popen([str(NODE), "-e", CDP_EVALUATE, socket, TRY % (json.dumps(PASS), json.dumps("en"))],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        output.wait_for("Interface:", 90)  # the right one: the window closed and ZapPool started
        wait_until(lambda: "[Desktop] janelas abertas" in "".join(output.lines), 90, what="the main window")
    finally:
        if proc.poll() is None:
            code, text, _ = finish(proc, output, signal.SIGTERM, group=True)
        else:
            code, text = proc.returncode, output.text()
    assert code == 0, text[-3000:]
    assert PASS not in text, "the passphrase is never printed"
