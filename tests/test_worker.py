"""backend.worker.Worker, the one background-thread primitive: real threads, real clocks, real logging."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backend.store.webhooks import WebhookStore
from backend.worker import Worker
from tests.conftest import wait_until

LONG_S = 60.0  # a sleep no test waits out: only a kick or a stop can end it


class Counting(Worker):
    """Counts its steps; each step runs `body` (which may raise) and sleeps what it returns."""

    def __init__(self, body: Callable[[int], float | None], **options: float):
        super().__init__("teste", **options)
        self.body = body
        self.steps = 0
        self.stepped = threading.Event()

    def step(self) -> float | None:
        """Count, then do what the test asked."""
        self.steps += 1
        self.stepped.set()
        return self.body(self.steps)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Workers a test made; stopped and joined at the end whatever happened."""
    made: list[Worker] = []
    yield made
    for worker in made:
        worker.stop()
    for worker in made:
        assert worker.join(5), f"{worker.name} did not end"


def started(workers: list[Worker], worker: Worker) -> Worker:
    """Start a worker and keep it for the fixture to stop."""
    workers.append(worker)
    worker.start()
    return worker


def records(caplog: pytest.LogCaptureFixture, level: int, text: str) -> list[logging.LogRecord]:
    """The worker module's records at `level` whose message contains `text`."""
    return [r for r in caplog.records if r.name == "backend.worker" and r.levelno == level and text in r.getMessage()]


def test_kick_wakes_a_sleeping_worker_at_once(workers):
    worker = started(workers, Counting(lambda n: LONG_S))
    wait_until(lambda: worker.steps == 1, what="the first step")
    time.sleep(0.2)
    assert worker.steps == 1, "it sleeps what step() returned"
    kicked = time.monotonic()
    worker.kick()
    wait_until(lambda: worker.steps == 2, timeout=5, what="the step after the kick")
    assert time.monotonic() - kicked < 1.0


def test_stop_then_join_ends_a_sleeping_worker(workers):
    worker = started(workers, Counting(lambda n: LONG_S))
    wait_until(lambda: worker.steps == 1, what="the first step")
    asked = time.monotonic()
    worker.stop()
    assert worker.join(5) and time.monotonic() - asked < 1.0
    assert worker.stopping and worker.steps == 1


def test_stop_lets_the_current_step_finish(workers):
    inside, release = threading.Event(), threading.Event()

    def slow(n: int) -> float:
        inside.set()
        release.wait(5)
        return 0.0

    worker = started(workers, Counting(slow))
    assert inside.wait(5)
    worker.stop()
    assert not worker.join(0.2), "the step in progress is not cut short"
    release.set()
    assert worker.join(5) and worker.steps == 1


def test_join_before_start_and_stop_twice_are_harmless():
    worker = Worker("nunca-iniciado", lambda: LONG_S)
    assert worker.join(0.1)
    worker.stop()
    worker.stop()
    assert worker.join(0.1)


def test_a_failing_step_is_logged_once_then_once_on_recovery_and_the_worker_goes_on(workers, caplog):
    def flaky(n: int) -> float:
        if 2 <= n <= 6 or n == 9:
            raise OSError(f"disco indisponível ({n})")
        return 0.001

    with caplog.at_level(logging.DEBUG, logger="backend.worker"):
        worker = started(workers, Counting(flaky, error_pause_s=0.01))
        wait_until(lambda: worker.steps >= 12, what="steps after two failure episodes")
    failed = records(caplog, logging.ERROR, "[Worker teste] falhou")
    assert len(failed) == 2, "once per episode: steps 2-6, then step 9"
    assert failed[0].exc_info and "disco indisponível (2)" in str(failed[0].exc_info[1])
    assert "disco indisponível (9)" in str(failed[1].exc_info[1])
    assert len(records(caplog, logging.DEBUG, "[Worker teste] ainda falhando")) == 4  # steps 3 to 6
    assert len(records(caplog, logging.INFO, "[Worker teste] voltou a funcionar")) == 2  # steps 7 and 10


def test_a_failing_step_pauses_before_the_next_try(workers):
    times: list[float] = []

    def failing(n: int) -> float:
        times.append(time.monotonic())
        raise RuntimeError("sempre")

    worker = started(workers, Counting(failing, error_pause_s=0.2))
    wait_until(lambda: worker.steps >= 3, what="three tries")
    assert all(later - earlier >= 0.15 for earlier, later in itertools.pairwise(times))


def test_a_step_returning_none_ends_the_worker(workers):
    worker = started(workers, Counting(lambda n: None if n == 3 else 0.0))
    assert wait_until(lambda: worker.join(0.1), what="the worker to end on its own")
    assert worker.steps == 3 and not worker.stopping


def test_a_closed_store_ends_the_worker_without_an_error(tmp_path: Path, workers, caplog):
    store = WebhookStore(tmp_path / "webhooks.db")
    store.close()

    def read(n: int) -> float:
        store.webhooks()  # the real store, closed as its owner does when ZapPool stops
        return 0.0

    worker = started(workers, Counting(read))
    assert wait_until(lambda: worker.join(0.1), what="the worker to end on its own")
    assert worker.steps == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_step_can_be_passed_instead_of_subclassing(workers):
    seen = threading.Event()
    worker = Worker("passado", lambda: (seen.set(), LONG_S)[1])
    started(workers, worker)
    assert seen.wait(5)
    assert worker.name == "passado"
    assert any(t.name == "passado" and t.daemon for t in threading.enumerate())
