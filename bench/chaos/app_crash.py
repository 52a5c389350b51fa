"""Crash of ZapPool: kill -9 the whole app in the middle of a burst posted to the REST API, then start it again.

app.py runs with 5 linked numbers and pacing off (`--send-interval 0`). Four client threads post the burst
(1,000 texts: pinned to each number in turn, every sixth auto-routed) as fast as the API takes them; once half
are accepted the app's process group gets SIGKILL. Then: how long its Chromium outlives it, whether the data
files are valid (JSON parses, SQLite quick_check), and after a restart on the same folder: every accepted (202)
message sent (the simulated phones' own records), copies received twice (none: each message that was in
flight is looked for on WhatsApp under the id ZapPool chose for it before it is sent again; the issue allows
one per number), and the requests that never got an answer (they may or may not have been accepted).

    .venv/bin/python -m bench.chaos.app_crash --rounds 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.chaos.harness import (SIM_TIMINGS, App, check_files, chromium_of, duplicates, phone_for, prepare,
                                 reap_zombies, sent_texts, summary, wait_until)
from bench.chaos.traffic import Outgoing, flagged, wait_all_sent
from bench.procs import become_subreaper
from wasim import SimServer


def crash_round(sim: SimServer, tmp: Path, numbers: int, messages: int, n: int) -> dict:
    """One burst, one kill -9, one restart; what each step showed."""
    data = tmp / f"dados{n}"
    sim.control.reset()  # the phones' sent lists start empty: each round counts only its own messages
    key = prepare(sim, data, numbers)
    phones = [phone_for(i) for i in range(numbers)]
    app = App(data, sim.url, key).start()
    try:
        app.wait_ready(numbers)
        routes = [*(f"n{i}" for i in range(numbers)), None]
        burst = Outgoing(app, 0, routes, f"burst{n}", limit=messages, workers=4).start()
        wait_until(lambda: burst.count() >= messages // 2, 120, "half the burst accepted", interval=0.005)
        out_at_kill = sum(len(t) for t in sent_texts(sim, phones).values())
        killed = time.monotonic()
        burst.halt()  # no new request after the kill: only those in flight go unanswered
        app.kill9()
        burst.stop()
        wait_until(lambda: not chromium_of(data), 60, "Chromium of the killed app gone")
        orphans_s = time.monotonic() - killed
        reap_zombies()
        problems_after_kill = check_files(data)
        started = time.monotonic()
        app.start()
        app.wait_ready(numbers)
        ready_s = time.monotonic() - started
        drain_s = wait_all_sent(app, burst.accepted, 300)
        texts = sent_texts(sim, phones)
        received = {t for ts in texts.values() for t in ts}
        extra, per_phone = duplicates(texts)
        result = {
            "accepted": len(burst.accepted), "unanswered": len(burst.unanswered),
            "unanswered_sent": sum(t in received for t in burst.unanswered), "out_at_kill": out_at_kill,
            "orphans_s": orphans_s, "files_after_kill": problems_after_kill, "ready_s": ready_s,
            "drain_s": drain_s, "lost": sum(t not in received for t in burst.accepted.values()),
            "extra": extra, "worst_number": max(per_phone.values()), "flagged": flagged(app, burst.accepted),
            "found": app.log().count("não foi enviada de novo"),
            "restored_line": "yes" if f"{numbers}/{numbers} sessões restauradas" in app.output() else "no",
        }
        code, _took = app.stop()
        result["files_after_restart"] = check_files(data)
        result["exit"] = code
    finally:
        app.ensure_stopped()
    return result


def run(rounds: int, numbers: int, messages: int) -> bool:
    """Every round; prints the report; True when every check passed."""
    become_subreaper()
    with SimServer(port=0, **SIM_TIMINGS) as sim, \
            tempfile.TemporaryDirectory(prefix="chaos-", ignore_cleanup_errors=True) as tmp:
        results = []
        for n in range(rounds):
            results.append(crash_round(sim, Path(tmp), numbers, messages, n))
            print(f"round {n + 1}: {results[-1]}", flush=True)
    ok = all(not r["lost"] and not r["extra"] and not r["files_after_kill"] and not r["files_after_restart"]
             and r["exit"] == 0 for r in results)
    print(f"\n### Crash of ZapPool: kill -9 mid-burst, {messages} messages over {numbers} numbers, {rounds} rounds\n")
    print("| round | accepted (202) | out at the kill | no answer (of them sent) | lost | sent twice (worst "
          "number) | flagged (of them found on WhatsApp) | files after kill | restart -> all ready | -> all sent |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, r in enumerate(results, 1):
        files = "valid" if not r["files_after_kill"] else "; ".join(r["files_after_kill"])
        print(f"| {n} | {r['accepted']} | {r['out_at_kill']} | {r['unanswered']} ({r['unanswered_sent']}) | "
              f"{r['lost']} | {r['extra']} ({r['worst_number']}) | {r['flagged']} ({r['found']}) | {files} | "
              f"{r['ready_s']:.1f} s | {r['drain_s']:.1f} s |")
    print(f"\n- Chromium of the killed app gone after: {summary([r['orphans_s'] for r in results])}")
    print(f"- data files after the restart and a clean stop: "
          f"{'valid' if not any(r['files_after_restart'] for r in results) else 'PROBLEMS'}")
    print(f"- result: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--numbers", type=int, default=5)
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    raise SystemExit(0 if run(args.rounds, args.numbers, args.messages) else 1)


if __name__ == "__main__":
    main()
