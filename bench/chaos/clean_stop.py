"""Clean stop: SIGTERM (to the process) and SIGINT (to the process group, as Ctrl+C) with sends in flight.

app.py runs with 5 linked numbers and pacing off while a client posts 50 messages a second to the REST API.
Once the simulated phones have received 50 more messages, the signal goes. Measured: the time to exit (at most
10 s), the exit code, Chromium processes of the data folder left at the exit, the sessions file (every number
still saved as ready). The next round's start is the check that the state was saved: every number restored
without a QR code. After the last round one more start must send every message accepted before a stop.

    .venv/bin/python -m bench.chaos.clean_stop --rounds 3
"""

from __future__ import annotations

import argparse
import json
import signal
import tempfile
from pathlib import Path

from bench.chaos.harness import (SIM_TIMINGS, App, check_files, chromium_of, duplicates, phone_for, prepare,
                                 reap_zombies, sent_texts, summary, wait_until)
from bench.chaos.traffic import Outgoing, wait_all_sent
from bench.procs import become_subreaper
from wasim import SimServer

SIGNALS = {"SIGTERM": (signal.SIGTERM, False), "SIGINT": (signal.SIGINT, True)}


def saved(data: Path) -> list[str]:
    """Statuses in the sessions file."""
    return [s["status"] for s in json.loads((data / "whatsapp-sessions.json").read_text())["sessions"]]


def restored_all(app: App, numbers: int) -> bool:
    """Did this start restore every number (its log line says so once the last one is ready)."""
    try:
        return bool(wait_until(lambda: f"{numbers}/{numbers} sessões restauradas" in app.output(), 30, "restore"))
    except RuntimeError:
        return False


def stop_round(app: App, sim: SimServer, phones: list[str], name: str, n: int, accepted: dict[str, str]) -> dict:
    """Start (restoring), load, signal; what the stop looked like."""
    sig, group = SIGNALS[name]
    app.start()
    restore_s = app.wait_ready(len(phones))
    restored = restored_all(app, len(phones))
    scanned = "Escaneie" in app.output()
    before = sum(len(t) for t in sent_texts(sim, phones).values())
    load = Outgoing(app, 50, [None, *(f"n{i}" for i in range(len(phones)))], f"stop{n}").start()
    wait_until(lambda: sum(len(t) for t in sent_texts(sim, phones).values()) >= before + 50, 60, "sends under way")
    code, took = app.stop(sig, group=group)
    left = len(chromium_of(app.data))
    load.stop()
    accepted.update(load.accepted)
    reap_zombies()
    return {"signal": name, "code": code, "took": took, "left": left, "saved": saved(app.data),
            "restored": restored and not scanned, "restore_s": restore_s, "accepted": len(load.accepted)}


def run(rounds: int, numbers: int) -> bool:
    """Alternate SIGTERM and SIGINT rounds, then a last start; prints the report; True when all passed."""
    become_subreaper()
    with SimServer(port=0, **SIM_TIMINGS) as sim, \
            tempfile.TemporaryDirectory(prefix="chaos-", ignore_cleanup_errors=True) as tmp:
        data = Path(tmp) / "dados"
        key = prepare(sim, data, numbers)
        phones = [phone_for(i) for i in range(numbers)]
        app = App(data, sim.url, key)
        accepted: dict[str, str] = {}
        results = []
        try:
            for n in range(rounds * 2):
                results.append(stop_round(app, sim, phones, ("SIGTERM", "SIGINT")[n % 2], n, accepted))
                print(f"round {n + 1}: {results[-1]}", flush=True)
            app.start()
            app.wait_ready(numbers)
            last_restored = restored_all(app, numbers) and "Escaneie" not in app.output()
            drain = wait_all_sent(app, accepted, 180)
            texts = sent_texts(sim, phones)
            received = {t for ts in texts.values() for t in ts}
            lost = sum(t not in received for t in accepted.values())
            extra, per_phone = duplicates(texts)
            app.stop()
            files = check_files(data)
        finally:
            app.ensure_stopped()
    ok = (all(r["code"] == 0 and r["took"] <= 10 and r["left"] == 0 and set(r["saved"]) == {"ready"} for r in results)
          and all(r["restored"] for r in results) and last_restored and not lost and not files)
    print(f"\n### Clean stop under load: {rounds} x SIGTERM, {rounds} x SIGINT, {numbers} numbers, 50 msg/s posted\n")
    print("| round | signal | exit code | time to exit | Chromium left | saved statuses | its start restored all "
          "(no scan) |")
    print("|---|---|---|---|---|---|---|")
    for n, r in enumerate(results, 1):
        print(f"| {n} | {r['signal']} | {r['code']} | {r['took']:.2f} s | {r['left']} | "
              f"{', '.join(sorted(set(r['saved'])))} x{len(r['saved'])} | "
              f"{'yes' if r['restored'] else 'NO'} |")
    for name in SIGNALS:
        print(f"- {name}: time to exit {summary([r['took'] for r in results if r['signal'] == name])}")
    print(f"- restart after the last stop restored every number: {'yes' if last_restored else 'NO'}; "
          f"{len(accepted)} messages accepted across the rounds, all sent {drain:.1f} s after it was ready; lost: {lost}; "
          f"sent twice: {extra} (per number {per_phone})")
    print(f"- data files: {'valid' if not files else files}")
    print(f"- result: {'PASS' if ok else 'FAIL'}")
    return ok


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each signal")
    parser.add_argument("--numbers", type=int, default=5)
    args = parser.parse_args()
    raise SystemExit(0 if run(args.rounds, args.numbers) else 1)


if __name__ == "__main__":
    main()
