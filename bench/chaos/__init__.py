"""The long chaos runs of docs/RELIABILITY.md: app.py as a child process on the simulator, one module a scenario.

    browser_crash  kill -9 a number's browser again and again under traffic
    app_crash      kill -9 the whole app mid-burst, restart, count what was sent
    clean_stop     SIGTERM / SIGINT with sends in flight
    network        the simulated network down for a minute (optionally a browser killed meanwhile)
    phone          unlinked from the phone, a QR code nobody scans, webhooks counted
    soak           10 numbers, traffic both ways, memory, threads and fds sampled

`bash scripts/chaos.sh` runs them all with the full numbers; each also runs alone with `python -m`.
"""
