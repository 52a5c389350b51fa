"""Network loss: the simulated WhatsApp network goes down for 60 s under traffic, then comes back.

app.py runs with 5 linked numbers and its default reconnect and health-check settings; 2 messages a second are
posted to the REST API the whole time (auto-routed and pinned). The simulator's network goes down (every page
sees `conn.online` false; the pages themselves stay open, as WhatsApp Web's do). With `--kill-during`, one
browser is also SIGKILLed 10 s into the outage, so a reconnect has to happen while the network is still down.
Measured from the app's log and API: reconnect attempts (browser launches, `-> initializing`) during and after
the outage, the time from the network's return until every number is ready (at most 10 s), and until every
message accepted during the outage is sent.

    .venv/bin/python -m bench.chaos.network --outage 60
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.chaos.harness import (SIM_TIMINGS, App, duplicates, kill_browser, phone_for, prepare, reap_zombies,
                                 sent_texts, status_changes, wait_until)
from bench.chaos.traffic import Outgoing, flagged, wait_all_sent
from bench.procs import become_subreaper
from wasim import SimServer


def outage(app: App, sim: SimServer, numbers: int, seconds: float, kill_during: bool) -> dict:
    """Drop the network for `seconds`; what the app did meanwhile and after."""
    log_before = len(app.log())
    down_at = time.monotonic()
    sim.control.network(False)
    wait_until(lambda: "ready" not in app.statuses().values(), 30, "every number to notice", interval=0.05)
    noticed = time.monotonic() - down_at
    killed = False
    if kill_during:
        time.sleep(min(10, seconds / 2))
        kill_browser(app.data / "sessions" / "n0")
        killed = True
    time.sleep(max(0.0, down_at + seconds - time.monotonic()))  # the outage lasts what was asked
    statuses_down = app.statuses()
    up_at = time.monotonic()
    sim.control.network(True)
    wait_until(lambda: list(app.statuses().values()).count("ready") == numbers, 120, "all ready", interval=0.05)
    back = time.monotonic() - up_at
    changes = status_changes(app.log()[log_before:])
    return {"noticed": noticed, "back": back, "statuses_down": statuses_down, "killed": killed,
            "launches": sum(1 for _c, _old, new in changes if new == "initializing"),
            "changes": len(changes), "log_since": app.log()[log_before:]}


def run(seconds: float, numbers: int, kill_during: bool) -> bool:
    """The scenario; prints the report; True when every check passed."""
    become_subreaper()
    with SimServer(port=0, **SIM_TIMINGS) as sim, \
            tempfile.TemporaryDirectory(prefix="chaos-", ignore_cleanup_errors=True) as tmp:
        data = Path(tmp) / "dados"
        key = prepare(sim, data, numbers)
        phones = [phone_for(i) for i in range(numbers)]
        app = App(data, sim.url, key).start()
        traffic = None
        try:
            app.wait_ready(numbers)
            traffic = Outgoing(app, 2, [None, *(f"n{i}" for i in range(numbers))], "net").start()
            wait_until(lambda: traffic.count() >= 10, 30, "traffic")
            before = traffic.snapshot()
            result = outage(app, sim, numbers, seconds, kill_during)
            during = {k: v for k, v in traffic.snapshot().items() if k not in before}
            drain = wait_all_sent(app, during, 120)
            result["drain"] = drain  # seconds after all were ready
            traffic.stop()
            wait_all_sent(app, traffic.accepted, 120)
            texts = sent_texts(sim, phones)
            received = {t for ts in texts.values() for t in ts}
            lost = sum(t not in received for t in traffic.accepted.values())
            extra, _per_phone = duplicates(texts)
            marked = flagged(app, traffic.accepted)
            unhealthy = result["log_since"].count("não saudável")
            health_checks = result["log_since"].count("Health check concluído")
        finally:
            if traffic is not None:
                traffic.stop()
            app.ensure_stopped()
            reap_zombies()
    expected_launches = 1 if kill_during else 0
    ok = result["back"] <= 10 and not lost and result["launches"] <= expected_launches + 2 and extra == 0
    print(f"\n### Network loss: {seconds:g} s outage, {numbers} numbers, 2 msg/s posted"
          f"{', one browser killed during it' if kill_during else ''}\n")
    print(f"- every number noticed (left ready) within {result['noticed']:.2f} s; statuses at the end of the "
          f"outage: {sorted(set(result['statuses_down'].values()))}")
    print(f"- browser launches (reconnect attempts) from the drop to all ready: {result['launches']}; "
          f"'não saudável' (reconnect loop started): {unhealthy}; health checks meanwhile: {health_checks}")
    print(f"- network back -> all {numbers} ready: {result['back']:.2f} s (limit 10 s)")
    print(f"- accepted during the outage: {len(during)}, all sent {result['drain']:.1f} s after all were ready; "
          f"accepted in all {len(traffic.accepted)}, lost {lost}, received twice {extra}, flagged possibleDuplicate "
          f"{marked}")
    print(f"- result: {'PASS' if ok else 'FAIL'}")
    if not ok:
        print("\nThe app's log from the drop on:\n" + result["log_since"][-20000:])
    return ok


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outage", type=float, default=60)
    parser.add_argument("--numbers", type=int, default=5)
    parser.add_argument("--kill-during", action="store_true", help="also kill -9 one browser during the outage")
    args = parser.parse_args()
    raise SystemExit(0 if run(args.outage, args.numbers, args.kill_during) else 1)


if __name__ == "__main__":
    main()
