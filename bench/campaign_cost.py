"""Campaigns (issue 17 §4): accepting a 10,000-recipient campaign, and ZapPool's own bookkeeping per campaign
message, side by side in one run.

accept        a 10,000-row CSV imported (AudienceService.import_csv, as POST /contacts/import) then the campaign
              made over it (CampaignsService.create, as POST /campaigns: settings checked, the audience read in
              one query, 10,000 recipients written in one transaction); `create` alone beside it. Real files in a
              fresh temporary data folder each round; the pool is built as app.py builds it but not started.
outbox        the same number of texts sent by the outbox alone through the same stand-in: the send path every
              message costs, campaign or not; the campaign's own share is the difference, round by round.
bookkeeping   a campaign of 2,000 recipients over 3 numbers (delay 0, no quiet hours, no cap, numbers checked)
              run to the end through the real driver, runner, outbox (lanes, messages.db fsynced) and stores;
              only the browser's send is left out: the numbers are a stand-in whose send and look-up answer at
              once. CPU is this process's (every thread: the driver, the outbox's lanes and log writer, SQLite),
              divided by the messages; wall time likewise.

    .venv/bin/python -m bench.campaign_cost [--rounds 5]

Prints each case's median and spread, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from backend.assembly import build_pool
from backend.audience import build_audience
from backend.audience.service import check_tags
from backend.campaigns import build_campaigns
from backend.campaigns.driver import CampaignDriver, is_campaign_done
from backend.campaigns.service import CampaignsService
from backend.config import Settings
from backend.drafts import text_draft
from backend.engine import EngineRuntime
from backend.events.hub import POOL_EVENTS, EventHub
from backend.store.campaigns import CampaignLog, CampaignStore
from backend.store.templates import TemplateStore
from backend.templates import TemplatesService
from bench.audience_import import excel_file

ALL_DAY = {"from": "00:00", "to": "24:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
TEXT = "{Olá|Oi} {{nome}}, seu pedido {{Pedido}} chegou em {{Cidade}}."


def parts(folder: Path) -> tuple[Any, Any, Any]:
    """The pool (not started), the audience and the campaigns, built as the app builds them."""
    settings = Settings(data_dir=folder, send_interval_s=0, send_jitter_s=0)
    pool = build_pool(settings, EngineRuntime(settings))
    audience = build_audience(folder, pool)
    templates = TemplatesService(TemplateStore(folder / "templates.db"))
    return pool, audience, build_campaigns(pool, audience, templates)


def campaign(template_id: str, **extra: Any) -> dict[str, Any]:
    """POST /campaigns's body."""
    return {"name": "bench", "templateId": template_id, "audience": {"tags": ["bench"]}, "window": ALL_DAY,
            "delay": {"min": 0, "max": 0}, "warmup": False, **extra}


def accept_round(folder: Path, data: bytes) -> tuple[float, float, float]:
    """(import + create, create alone, the CPU of import + create) in ms, each on a fresh folder."""
    timings, cpu = [], 0.0
    for name, with_import in (("a", True), ("b", False)):
        pool, audience, campaigns = parts(folder / name)
        template_id = campaigns.templates.create({"name": "t", "text": TEXT})["id"]
        if not with_import:
            audience.import_csv(data, ["bench"])
        start, started_cpu = time.perf_counter(), time.process_time()
        if with_import:
            audience.import_csv(data, ["bench"])
        made = campaigns.create(campaign(template_id))
        timings.append((time.perf_counter() - start) * 1000)
        cpu = cpu or (time.process_time() - started_cpu) * 1000
        assert made["counts"]["pending"] == 10_000, made["counts"]
        campaigns.driver.close()
        audience.stop()
        campaigns.store.close()
        pool.outbox.store.close()
    return timings[0], timings[1], cpu


class InstantNumbers:
    """Stand-in for the browsers (the only part left out): `count` numbers always ready, whose send and look-up
    answer at once. The outbox's Sender protocol, and what the campaign runner asks of the pool."""

    def __init__(self, outbox: Any, count: int):
        self.outbox = outbox
        self.ids = [f"n{i}" for i in range(count)]
        self.events = EventHub(POOL_EVENTS)
        self.settings = SimpleNamespace()
        self._n = 0
        linked = datetime(2020, 1, 1, tzinfo=timezone.utc)
        self._client = SimpleNamespace(metadata=SimpleNamespace(created_at=linked),
                                       check_number_cached=lambda to: {"number": to, "exists": True, "id": to})

    def subscribe(self, callback: Any, events: Any = None) -> Any:
        return self.events.subscribe(callback, events)

    def get_ready_clients(self) -> list[str]:
        return list(self.ids)

    def get(self, client_id: str) -> Any:
        return self._client

    def client_ready(self, client_id: str, wake: bool = True) -> bool:
        return True

    def any_ready_client(self) -> bool:
        return True

    def ready_client_besides(self, exclude: frozenset[str]) -> bool:
        return any(c not in exclude for c in self.ids)

    def pick_ready_client(self, exclude: frozenset[str] = frozenset()) -> str | None:
        self._n += 1
        return self.ids[self._n % len(self.ids)]

    def deliver_text(self, client_id: str, to: str, text: str, attempt: Any = None) -> dict[str, Any]:
        return {"id": f"true_{to}@c.us_{attempt.key_id if attempt else self._n}", "to": f"{to}@c.us", "ack": 1}

    def deliver_media(self, *args: Any) -> dict[str, Any]:
        raise NotImplementedError


def bookkeeping_round(folder: Path, messages: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per message of a campaign run to its end without browsers."""
    pool, audience, built = parts(folder)
    built.driver.close()  # its pool is the real one, whose numbers are browsers: this round's are stand-ins
    numbers = InstantNumbers(pool.outbox, 3)
    rows = "".join(f"Cliente {i};(11) 9{i:04d}-{i:04d};Santos;{i}\r\n" for i in range(messages))
    audience.import_csv(("Nome;Celular;Cidade;Pedido\r\n" + rows).encode(), ["bench"])
    templates = TemplatesService(TemplateStore(folder / "templates2.db"))
    campaigns = CampaignsService(CampaignStore(folder / "campaigns2.db"), CampaignLog(pool.outbox.store.database),
                                 numbers, audience, templates, check_tags)
    campaigns.driver = CampaignDriver(campaigns)
    # the pool's message_status events, as the driver filters them (a campaign message sent or failed)
    pool.outbox.on_change = lambda r: campaigns.driver.kick() if is_campaign_done(
        {"status": r.status, "message": {"id": r.id}}) else None
    pool.outbox.start(numbers)
    template_id = templates.create({"name": "t", "text": TEXT})["id"]
    cpu, wall = time.process_time(), time.perf_counter()
    made = campaigns.create(campaign(template_id, checkNumbers=True, dailyCap=100_000))
    while campaigns.store.get(made["id"]).status != "finished":  # not get(): its counts would be measured too
        time.sleep(0.05)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert campaigns.get(made["id"])["counts"]["sent"] == messages
    campaigns.driver.close()
    pool.outbox.stop()
    audience.stop()
    return cpu * 1000 / messages, wall * 1000 / messages


def outbox_round(folder: Path, messages: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per message of the same messages sent by the outbox alone (enqueued one after another,
    one number after the other, through the same stand-in numbers): the send path any message costs, which the
    campaign's figure contains; the difference is the campaign's own share."""
    pool, audience, campaigns = parts(folder)
    campaigns.driver.close()
    pool.outbox.start(InstantNumbers(pool.outbox, 3))
    drafts = [text_draft(f"n{i % 3}", f"55119{i:08d}", f"Oi Cliente {i}, seu pedido {i} chegou em Santos.")
              for i in range(messages)]
    cpu, wall = time.process_time(), time.perf_counter()
    for draft in drafts:
        pool.outbox.enqueue(draft)
    while pool.outbox.store.totals().pending:
        time.sleep(0.05)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    pool.outbox.stop()
    audience.stop()
    return cpu * 1000 / messages, wall * 1000 / messages


def spread(values: list[float]) -> str:
    """median (min-max)."""
    return f"median {statistics.median(values):.2f} ms (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    data = excel_file()
    both, create, both_cpu, cpu, wall, base_cpu, base_wall = [], [], [], [], [], [], []
    for n in range(args.rounds):  # the cases alternate in each round, so the machine's load hits all alike
        with tempfile.TemporaryDirectory() as tmp:
            a, b, a_cpu = accept_round(Path(tmp), data)
            both.append(a)
            create.append(b)
            both_cpu.append(a_cpu)
        with tempfile.TemporaryDirectory() as tmp:
            c, w = bookkeeping_round(Path(tmp), args.messages)
            cpu.append(c)
            wall.append(w)
        with tempfile.TemporaryDirectory() as tmp:
            oc, ow = outbox_round(Path(tmp), args.messages)
            base_cpu.append(oc)
            base_wall.append(ow)
        print(f"round {n + 1}: import+create {a:.0f} ms, create {b:.0f} ms, per campaign message {c:.3f} ms CPU "
              f"{w:.3f} ms wall, per outbox-only message {oc:.3f} ms CPU {ow:.3f} ms wall")
    print(f"accept 10,000 (import + create): {spread(both)}")
    print(f"accept 10,000 (import + create), CPU: {spread(both_cpu)}")
    print(f"create alone over 10,000 imported: {spread(create)}")
    print(f"bookkeeping per campaign message, CPU: {spread(cpu)}")
    print(f"bookkeeping per campaign message, wall: {spread(wall)}")
    print(f"the outbox alone per message, CPU: {spread(base_cpu)}")
    print(f"the outbox alone per message, wall: {spread(base_wall)}")
    print(f"the campaign's own share per message, CPU: {spread([c - o for c, o in zip(cpu, base_cpu)])}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
