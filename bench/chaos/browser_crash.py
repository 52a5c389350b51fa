"""Crash of a browser: kill -9 a number's Chromium (its browser process) again and again during traffic.

app.py runs with `numbers` linked numbers and the default reconnect settings (first retry after 5 s +/-20%);
messages are posted to the REST API all along (auto-routed and pinned to each number, pacing off). Each round
waits until every number is ready and traffic flows, then SIGKILLs the browser process of the next number in
turn (found by its `--user-data-dir`), and times: the kill -> the app notices, the kill -> ready again. At the
end every accepted message must be sent; the copies the simulated phones received twice are counted.

    .venv/bin/python -m bench.chaos.browser_crash --kills 20
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.chaos.harness import (SIM_TIMINGS, App, alive, duplicates, kill_browser, phone_for, prepare, reap_zombies,
                                 sent_texts, summary, wait_until)
from bench.chaos.traffic import Outgoing, flagged, wait_all_sent
from bench.procs import become_subreaper
from wasim import SimServer


def crash_round(app: App, sim: SimServer, victim: str, phones: list[str]) -> dict[str, float]:
    """One kill: wait for a calm, working pool, kill the victim's browser, time its return."""
    numbers = len(phones)
    app.wait_ready(numbers, timeout=120)
    before = sum(len(t) for t in sent_texts(sim, phones).values())
    wait_until(lambda: sum(len(t) for t in sent_texts(sim, phones).values()) >= before + 5, 60, "traffic")
    started = time.monotonic()
    old = kill_browser(app.data / "sessions" / victim)
    wait_until(lambda: app.statuses().get(victim) != "ready", 30, f"{victim} noticed", interval=0.02)
    noticed = time.monotonic() - started
    wait_until(lambda: app.statuses().get(victim) == "initializing", 60, f"{victim} relaunched", interval=0.05)
    relaunched = time.monotonic() - started
    wait_until(lambda: app.statuses().get(victim) == "ready", 120, f"{victim} ready again", interval=0.05)
    ready = time.monotonic() - started
    left = len(alive(old))  # processes of the killed browser still running once the new one is ready
    wait_until(lambda: not alive(old), 30, "the killed browser's processes gone")
    reap_zombies(keep=(app.pid,))
    return {"noticed": noticed, "relaunched": relaunched, "ready": ready, "left": left}


def run(kills: int, numbers: int, rate: float) -> bool:
    """The whole scenario; prints its report; True when every check passed."""
    become_subreaper()
    with SimServer(port=0, **SIM_TIMINGS) as sim, tempfile.TemporaryDirectory(prefix="chaos-", ignore_cleanup_errors=True) as tmp:
        data = Path(tmp) / "dados"
        key = prepare(sim, data, numbers)
        app = App(data, sim.url, key).start()
        phones = [phone_for(n) for n in range(numbers)]
        traffic = None
        try:
            app.wait_ready(numbers)
            traffic = Outgoing(app, rate, [None, *(f"n{n}" for n in range(numbers))], "crash").start()
            rounds = []
            for k in range(kills):
                rounds.append(crash_round(app, sim, f"n{k % numbers}", phones))
                print(f"kill {k + 1}: ready again after {rounds[-1]['ready']:.2f} s", flush=True)
            traffic.stop()
            drain = wait_all_sent(app, traffic.accepted, 180)
            texts = sent_texts(sim, phones)
            received = {t for ts in texts.values() for t in ts}
            lost = [t for t in traffic.accepted.values() if t not in received]
            extra, per_phone = duplicates(texts)
            marked = flagged(app, traffic.accepted)
            restarts = sum(1 for line in app.log().splitlines() if "-> initializing" in line)
        finally:
            if traffic is not None:
                traffic.stop()
            app.ensure_stopped()
    ok = not lost and len(rounds) == kills and extra <= kills and not any(r['left'] for r in rounds)
    print(f"\n### Crash of a browser: {kills} kills over {numbers} numbers, {rate:g} msg/s posted\n")
    print(f"- kill -> noticed (status leaves ready): {summary([r['noticed'] for r in rounds])}")
    print(f"- kill -> ready again: {summary([r['ready'] for r in rounds])}")
    print(f"- kill -> relaunch (status initializing; the first reconnect waits reconnect_delay, 5 s +/-20%): "
          f"{summary([r['relaunched'] for r in rounds])}")
    print(f"- relaunch -> ready: {summary([r['ready'] - r['relaunched'] for r in rounds])}")
    print(f"- processes of a killed browser still running once it was ready again: "
          f"{sum(r['left'] for r in rounds)} in all")
    print(f"- browser starts in the log (`-> initializing`): {restarts} ({numbers} at start + one per kill)")
    print(f"- messages accepted (202): {len(traffic.accepted)}, refused: {dict(traffic.refused)}; "
          f"all sent {drain:.1f} s after traffic stopped; lost: {len(lost)}")
    print(f"- received twice: {extra} (per number: {per_phone}); flagged possibleDuplicate: {marked}")
    print(f"- result: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--numbers", type=int, default=3)
    parser.add_argument("--rate", type=float, default=5.0, help="messages posted per second")
    args = parser.parse_args()
    raise SystemExit(0 if run(args.kills, args.numbers, args.rate) else 1)


if __name__ == "__main__":
    main()
