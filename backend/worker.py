"""Worker: the one background-thread primitive (the outbox's lanes, router and event log, the webhook intake
and dispatcher, the desktop event pusher).

A worker is a daemon thread that repeats `step()`. Each step says how long to sleep before the next one, and
`kick()` cuts that sleep short, so a worker is both a poller (nothing lost if a kick is missed: it looks again
when the sleep ends) and prompt (whoever adds work kicks it). `stop()` lets the current step finish and ends
the thread; `join()` waits for that.

A step that raises is never the end of a worker: a worker that dies silently strands the queue it serves. The
failure is logged in full once, then only at debug level while it keeps failing (a disk that stays full
must not fill the log at one trace a second), and once more when a step succeeds again, so the log tells
when the trouble started and when it ended. Between failing steps the worker pauses `error_pause_s`, so it
never spins.

Two ways to end on its own, which every worker shares rather than each knowing its callers' errors:
`step()` returns None (nothing left to follow: a closed event bus), or raises StoreClosed (its store was
closed under it: the owner is shutting down, there is nothing to retry).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .errors import StoreClosed

log = logging.getLogger(__name__)
ERROR_PAUSE_S = 1.0

Step = Callable[[], float | None]


class Worker:
    """A daemon thread repeating `step()`: subclass and override step(), or pass `step`."""

    def __init__(self, name: str, step: Step | None = None, *, error_pause_s: float = ERROR_PAUSE_S):
        """`name` names the thread and the log lines; `error_pause_s`: the wait after a failing step (0 for a
        step that blocks on its own, which cannot spin)."""
        self.name = name
        self.error_pause_s = error_pause_s
        self._step = step
        self._kick = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def stopping(self) -> bool:
        """True once stop() was called: a step that blocks on something else should give up its wait."""
        return self._stopping

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()

    def kick(self) -> None:
        """Something changed: look again now."""
        self._kick.set()

    def stop(self) -> None:
        """Finish the current step, then end (safe to call twice, or before start)."""
        self._stopping = True
        self._kick.set()

    def join(self, timeout: float) -> bool:
        """Wait for the thread to end; True if it did (or never started)."""
        if self._thread.ident is not None:
            self._thread.join(max(0.0, timeout))
        return not self._thread.is_alive()

    def step(self) -> float | None:
        """One unit of work; returns the seconds to sleep before the next, or None when there is no more."""
        if self._step is None:
            raise NotImplementedError(f"{type(self).__name__} has no step")
        return self._step()

    def _run(self) -> None:
        """Body of the thread: step, sleep, repeat until stopped or done; failures are logged once."""
        failing = False
        while not self._stopping:
            try:
                delay = self.step()
            except StoreClosed:
                log.debug("[Worker %s] o banco foi fechado: encerrando", self.name)
                return
            except Exception as exc:  # noqa: BLE001 - a worker that dies silently would strand its queue
                failing, delay = self._failed(failing, exc), self.error_pause_s
            else:
                if failing:
                    failing = False
                    log.info("[Worker %s] voltou a funcionar", self.name)
            if delay is None:
                return
            if delay > 0 and not self._stopping:
                self._kick.wait(delay)
                self._kick.clear()

    def _failed(self, already: bool, exc: Exception) -> bool:
        """Log a step's exception: with its traceback at error level the first time, at debug level while it
        keeps failing. Returns True: the worker is now failing."""
        if already:
            log.debug("[Worker %s] ainda falhando", self.name, exc_info=exc)
        else:
            log.error("[Worker %s] falhou; nova tentativa a cada %g s", self.name, self.error_pause_s,
                      exc_info=exc)
        return True
