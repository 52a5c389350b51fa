"""The page a WebKitGTK window shows, read from outside through WebKit's remote inspector.

QtWebEngine's windows are read through their DevTools port (bench/built_app.py window_page). WebKitGTK has no
DevTools port: with WEBKIT_INSPECTOR_HTTP_SERVER=host:port it serves a list of its pages over HTTP and an
inspector socket per page that speaks WebKit's own protocol, where a page's commands go inside
Target.sendMessageToTarget to the target the socket announces. This reads the login page's state the same way
window_page does, so tests/test_built_app.py can prove a WebKitGTK build's window rendered and its script ran.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import urllib.request
from pathlib import Path

# One Runtime.evaluate in the page target the socket announces, with Node's WebSocket.
WEBKIT_EVALUATE = """
const [address, expression] = process.argv.slice(1);
const socket = new WebSocket(address);
socket.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.method === 'Target.targetCreated') {
    const inner = {id: 1, method: 'Runtime.evaluate', params: {expression, returnByValue: true}};
    socket.send(JSON.stringify({id: 2, method: 'Target.sendMessageToTarget',
                                params: {targetId: data.params.targetInfo.targetId, message: JSON.stringify(inner)}}));
  } else if (data.method === 'Target.dispatchMessageFromTarget') {
    const answer = JSON.parse(data.params.message);
    if (answer.id !== 1) return;
    console.log(JSON.stringify(answer.result?.result?.value ?? null));  // null: it threw
    socket.close();
  }
};
socket.onerror = () => process.exit(1);
"""
# The login page once its script has run and pywebview's bridge answered api.me(): the form shows (as
# bench/built_app.py LOGIN_STATE, but read at once: WebKit's Runtime.evaluate does not wait for promises).
LOGIN_STATE_NOW = """(() => {
  const form = document.querySelector('#login-form');
  if (!form || form.hidden) return null;
  return {title: document.title, bridge: typeof window.pywebview?.api?.login,
          loading: !document.querySelector('#login-loading').hidden, form: true};
})()"""
TARGET = re.compile(r'class="targeturl">([^<]*)</div>.*?ws=\' \+ window\.location\.host \+ \'([^\']+)\'', re.S)


def webkit_window_page(node: Path, inspector: str) -> dict | None:
    """The first window's page (its address and login state) once the login form shows, else None; `inspector`
    is WEBKIT_INSPECTOR_HTTP_SERVER's address (host:port), `node` runs the socket call."""
    try:
        with urllib.request.urlopen(f"http://{inspector}/", timeout=5) as response:
            found = TARGET.search(response.read().decode("utf-8", "replace"))
    except OSError:
        return None
    if found is None or html.unescape(found.group(1)) == "about:blank":
        return None  # no window yet, or its first navigation not listed yet (the inspector's list lags the page)
    try:
        done = subprocess.run([str(node), "-e", WEBKIT_EVALUATE, f"ws://{inspector}{found.group(2)}",
                               LOGIN_STATE_NOW], check=False, capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return None
    state = json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None
    return {"url": html.unescape(found.group(1)), **state} if state else None
