"""Steady traffic for the chaos runs: messages posted to the REST API, messages written to the linked phones."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import Counter

from bench.chaos.harness import CONTACT, SENT, App, wait_until
from wasim import SimServer


class Outgoing:
    """Posts texts to POST /messages at `rate` per second from `workers` threads until stopped or `limit`.

    Each text is unique (`<prefix> <n>`). `accepted` maps the message id of every 202 to its text; a request
    that never got an answer (the app died under it) is kept in `unanswered`: it may or may not be in the log.
    """

    def __init__(self, app: App, rate: float, routes: list[str | None], prefix: str, *, limit: int | None = None,
                 workers: int = 1):
        self.app = app
        self.rate = rate
        self.routes = routes
        self.prefix = prefix
        self.limit = limit
        self.accepted: dict[str, str] = {}
        self.unanswered: list[str] = []
        self.refused: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._numbers = itertools.count()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True, name=f"traffic-{i}")
                         for i in range(workers)]
        self._started = 0.0

    def start(self) -> Outgoing:
        """Begin posting."""
        self._started = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def halt(self) -> None:
        """Post nothing more (requests in flight go on)."""
        self._stop.set()

    def stop(self) -> Outgoing:
        """Stop posting and wait for the requests in flight."""
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        return self

    @property
    def done(self) -> bool:
        """Every thread finished (limit reached or stopped)."""
        return not any(t.is_alive() for t in self._threads)

    def _run(self) -> None:
        """One worker: take the next number, wait for its slot, post it."""
        while not self._stop.is_set():
            n = next(self._numbers)
            if self.limit is not None and n >= self.limit:
                return
            if self.rate > 0:  # slot n is due at start + n / rate, shared by every worker
                delay = self._started + n / self.rate - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
            self._post(n)

    def _post(self, n: int) -> None:
        """Send message n and note the answer."""
        text = f"{self.prefix} {n:05d}"
        route = self.routes[n % len(self.routes)]
        body = {"to": CONTACT, "text": text, **({"clientId": route} if route else {})}
        status, reply = self.app.call("POST", "/messages", body)
        with self._lock:
            if status == 202:
                self.accepted[reply["id"]] = text
            elif status == 0:
                self.unanswered.append(text)
            else:
                self.refused[status] += 1

    def count(self) -> int:
        """Messages accepted so far."""
        with self._lock:
            return len(self.accepted)

    def snapshot(self) -> dict[str, str]:
        """A copy of what was accepted so far."""
        with self._lock:
            return dict(self.accepted)


class Incoming:
    """Contacts write to the linked phones at `rate` per second (through the simulator) until stopped."""

    def __init__(self, sim: SimServer, phones: list[str], rate: float):
        self.sim = sim
        self.phones = phones
        self.rate = rate
        self.written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="incoming")

    def start(self) -> Incoming:
        """Begin writing."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop writing."""
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        """One message every 1/rate s, to a random phone, from one of 50 contacts."""
        rng = random.Random(7)
        started = time.monotonic()
        while not self._stop.wait(max(0.0, started + self.written / self.rate - time.monotonic())):
            contact = f"55219777{rng.randrange(50):05d}"
            self.sim.control.incoming(rng.choice(self.phones), contact, f"oi {self.written}")
            self.written += 1


def unsent(app: App, accepted: dict[str, str]) -> list[str]:
    """Accepted message ids the app does not report as sent (GET /messages/{id})."""
    missing = []
    for message_id in accepted:
        status, body = app.call("GET", f"/messages/{message_id}")
        if status != 200 or body["status"] not in SENT:
            missing.append(message_id)
    return missing


def wait_all_sent(app: App, accepted: dict[str, str], timeout: float) -> float:
    """Wait until the app reports every accepted message sent; seconds it took."""
    started = time.monotonic()
    pending = list(accepted)

    def drained() -> bool:
        pending[:] = unsent(app, dict.fromkeys(pending, ""))
        return not pending

    wait_until(drained, timeout, f"{len(pending)} accepted messages to be sent", interval=0.5)
    return time.monotonic() - started


def flagged(app: App, accepted: dict[str, str]) -> int:
    """How many accepted messages the app marked possibleDuplicate."""
    count = 0
    for message_id in accepted:
        status, body = app.call("GET", f"/messages/{message_id}")
        count += status == 200 and bool(body.get("possibleDuplicate"))
    return count
