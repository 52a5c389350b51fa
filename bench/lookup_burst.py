"""Benchmark: the look-ups the number cache saves in a burst of 1,000 sends to 20 recipients (issue 16 §1).

A real `app.py --headless` (pacing off: `--send-interval 0`) on the simulator, one linked number. From a
logged-in page, `POST /messages` with `clientId` for each message (8 requests in flight), the recipients taken in
turn; then the run waits until the simulator has recorded every message. The figure is the simulator's count of
`WPP.contact.queryExists` calls answered during the burst (`SimControl.state()['lookups']`): without the cache,
one per send.

    .venv/bin/python -m bench.lookup_burst --messages 1000 --recipients 20
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from bench.ui_app import first_login, launch_browser, link_vendas, running_app, wait_for
from wasim import SimServer

PHONE = "5511999990001"
SIM_TIMINGS = {"first_qr_ms": 30000, "qr_ms": 20000, "ack_delivered_ms": 100, "ack_read_ms": 200, "load_ms": 20}

# Every send through the REST API from the page, `inflight` at a time; the number of 202 answers.
BURST = """async ([to, messages, inflight]) => {
  let next = 0, accepted = 0;
  const one = async () => {
    while (next < messages) {
      const n = next++;
      const r = await fetch('/messages', {method: 'POST', headers: {'Content-Type': 'application/json',
        Accept: 'application/json'}, body: JSON.stringify({clientId: 'vendas', to: to[n % to.length],
        text: `mensagem ${n}`})});
      if (r.status === 202 || r.status === 201) accepted++;
    }
  };
  await Promise.all(Array.from({length: inflight}, one));
  return accepted;
}"""


def run(messages: int, recipients: int) -> dict[str, Any]:
    """Send the burst and count WhatsApp's look-ups; with the load average at the start and the end."""
    load = os.getloadavg()
    numbers = [f"55119888{n:05d}" for n in range(recipients)]
    with SimServer(**SIM_TIMINGS) as sim, sync_playwright() as pw:
        data = Path(tempfile.mkdtemp(prefix="zapool-bench-")) / "dados"
        with running_app(data, sim.url, "--send-interval", "0") as (_url, owner_link):
            browser = launch_browser(pw)
            try:
                page = browser.new_context().new_page()
                first_login(page, owner_link)
                link_vendas(page, sim, PHONE)
                before, start = sim.control.state()["lookups"], time.monotonic()
                accepted = page.evaluate(BURST, [numbers, messages, 8])
                wait_for(lambda: len(sim.control.sent(PHONE)) >= messages, 600, "every message sent")
                seconds = time.monotonic() - start
                lookups = sim.control.state()["lookups"] - before
            finally:
                browser.close()
    return {"load": load, "end_load": os.getloadavg(), "accepted": accepted, "sent": messages,
            "lookups": lookups, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--recipients", type=int, default=20)
    args = parser.parse_args()
    r = run(args.messages, args.recipients)
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in r['load'])}, "
          f"at the end: {' '.join(f'{x:.2f}' for x in r['end_load'])}")
    print(f"{r['accepted']} of {args.messages} sends accepted, all {r['sent']} sent in {r['seconds']:.1f} s, "
          f"to {args.recipients} recipients: {r['lookups']} look-ups (without the cache: {args.messages}; "
          f"saved: {args.messages - r['lookups']})")


if __name__ == "__main__":
    main()
