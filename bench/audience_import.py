"""Importing a 10,000-row customer CSV (issue 17 §2; the issue wants a 10,000-recipient import+campaign accepted in
<= 2 s: this is the import part). Real files and a real audience.db in a temporary folder, through the same
AudienceService.import_csv the REST route calls, and through a real waitress server (POST /contacts/import).

Cases, each on a fresh database except `again`: `new` (10,000 new customers, `;`-separated cp1252 Excel export),
`again` (the same file into the database it just filled: every row merged), `google` (Google Contacts' export of
10,000, ~90 columns of which a few are filled), `parse` (reading and checking only: no database), `http` (the
`new` file POSTed as text/csv to a real server, the whole answer read).

    .venv/bin/python -m bench.audience_import [--rounds 7]

Prints each case's median and spread, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from backend.audience import AudienceService
from backend.audience.importer import parse
from backend.store.audience import AudienceStore

ROWS = 10_000


def excel_file() -> bytes:
    """A Brazilian Excel export: `;`, cp1252, Nome;Celular;Cidade;Pedido."""
    lines = ["Nome;Celular;Cidade;Pedido"] + [f"Cliente Ação {i};(11) 9{i:04d}-{i:04d};São Paulo;{i}"
                                             for i in range(ROWS)]
    return "\r\n".join(lines).encode("cp1252")


def google_file() -> bytes:
    """Google Contacts' export: its many columns, a name, an e-mail and a mobile filled."""
    headers = ["Name", "Given Name", "Family Name"] + [f"Custom {n}" for n in range(80)] + [
        "E-mail 1 - Type", "E-mail 1 - Value", "Phone 1 - Type", "Phone 1 - Value"]
    rows = [",".join(headers)]
    for i in range(ROWS):
        rows.append(",".join([f"Pessoa {i}", "Pessoa", str(i)] + [""] * 80
                             + ["* Home", f"p{i}@example.com", "Mobile", f"+55 21 9{i:04d}-{i:04d}"]))
    return "\r\n".join(rows).encode()


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) * 1000


def fresh(folder: Path, name: str) -> AudienceService:
    return AudienceService(AudienceStore(folder / f"{name}.db"))


class HttpTarget:
    """The API's own import route (its blueprint, guard and error envelope) on a real waitress server, over a
    fresh audience.db each round; no pool or login (the real app adds the credential check and the key's rate)."""

    def __init__(self, folder: Path):
        from flask import Flask
        from waitress.server import create_server

        from backend.api import audience as audience_api
        from backend.api import guard
        from backend.api.errors import register_error_handlers

        self.folder = folder
        self.app = Flask(__name__)
        register_error_handlers(self.app)
        guard.install(self.app)
        self.app.register_blueprint(audience_api.bp)
        self.server = create_server(self.app, host="127.0.0.1", port=0, max_request_body_size=guard.IMPORT_BODY)
        threading.Thread(target=self.server.run, daemon=True).start()  # ends with the process
        self.url = f"http://127.0.0.1:{self.server.effective_port}/contacts/import"

    def round(self, data: bytes, n: int) -> float:
        """POST the file as text/csv to a fresh database; the time until the whole answer is read."""
        service = fresh(self.folder, f"http{n}")
        self.app.extensions["zapool.service"] = type("Service", (), {"audience": service})()

        def post() -> None:
            request = urllib.request.Request(self.url, data=data, method="POST", headers={"Content-Type": "text/csv"})
            with urllib.request.urlopen(request, timeout=60) as answer:
                assert answer.status == 200 and b'"imported":10000' in answer.read()

        try:
            return timed(post)
        finally:
            service.store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    excel, google = excel_file(), google_file()
    print(f"load average before: {os.getloadavg()}; files: excel {len(excel):,} B, google {len(google):,} B")
    results: dict[str, list[float]] = {k: [] for k in ("parse", "new", "again", "google", "http")}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        target = HttpTarget(folder)
        for n in range(rounds):  # the cases interleaved, round by round, so the machine's load hits them alike
            results["parse"].append(timed(lambda: parse(excel)))
            service = fresh(folder, f"new{n}")
            results["new"].append(timed(lambda: service.import_csv(excel)))
            results["again"].append(timed(lambda: service.import_csv(excel)))
            service.store.close()
            other = fresh(folder, f"google{n}")
            results["google"].append(timed(lambda: other.import_csv(google)))
            other.store.close()
            results["http"].append(target.round(excel, n))
    for case, values in results.items():
        print(f"{case:7s} median {statistics.median(values):7.1f} ms  (min {min(values):.1f}, max {max(values):.1f},"
              f" {len(values)} rounds)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
