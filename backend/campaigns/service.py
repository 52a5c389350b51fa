"""CampaignsService (`service.campaigns`): make a campaign, follow it, pause, resume and cancel it, report on it.

A campaign is made in one go: its settings checked (spec.py), its template and numbers looked up, and its
audience read in one query of audience.db and written as recipients with the campaign in one transaction of
campaigns.db (the opted-out and those a required variable is missing for are written already skipped, so the
report counts them). From then on the driver (driver.py) runs it; everything shown (counts, the report, the
recipients' statuses) is read from campaigns.db and the message log when asked, never cached.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..clock import iso
from ..csv_cells import csv_cell
from ..errors import InvalidInput, ZapPoolError
from ..events.hub import ClientEvent
from ..store.campaigns import (CANCELLED, PENDING, SKIPPED_MISSING, SKIPPED_OPTOUT, CampaignLog, CampaignStore,
                               Recipient, StoredCampaign, message_id_of)
from ..templates.errors import TemplateNotFound
from ..validation import check_limit
from . import plan, report
from .errors import (CampaignAudienceEmpty, CampaignClientUnknown, CampaignNotFound, CampaignStateConflict,
                     CampaignTemplateUnknown)
from .runner import Runner
from .spec import Spec, read_spec

log = logging.getLogger(__name__)
EVENTS = ("campaign.started", "campaign.progress", "campaign.paused", "campaign.finished")
PREVIEW_COUNT = 3
PROGRESS_EVERY_S = 1.0  # campaign.progress at most once a second per campaign (and once at the end)
PROGRESS_EVERY_MS = int(PROGRESS_EVERY_S * 1000)


class CampaignsService:
    """Campaigns over CampaignStore, sent through the outbox by Runner; `tick()` is the driver's step."""

    driver: Any = None  # driver.CampaignDriver, set by build_campaigns

    def __init__(self, store: CampaignStore, log_: CampaignLog, pool: Any, audience: Any, templates: Any,
                 check_tags: Callable[..., list[str]], clock: Callable[[], float] = time.time,
                 draw: Callable[[float, float], float] | None = None, *, cluster: Cluster | None = None):
        self.store, self.log, self.pool, self.audience, self.templates = store, log_, pool, audience, templates
        self.check_tags = check_tags
        self.clock = clock
        self.cluster = cluster  # issue 20: the numbers this node drives and the cluster's number check
        self.runner = Runner(store, log_, pool.outbox, pool, audience, templates, draw,
                             mine=cluster.mine if cluster else None)
        self._progress: dict[str, tuple[float, dict[str, Any]]] = {}
        self._specs: dict[str, Spec] = {}
        self._active: list[StoredCampaign] | None = None  # the driver's work list (_active_campaigns)
        self._generation = 0  # changes so far
        self.on_change: Callable[[], None] = lambda: None  # the driver's kick (set by build_campaigns)

    # -- making one ----------------------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new campaign from POST /campaigns's body: 201's {id, status, ...}."""
        now = self.clock()
        spec, people = self._checked(body, now)
        campaign = StoredCampaign("cmp_" + secrets.token_hex(8), spec.name, spec.template_id, spec.to_json(),
                                  "scheduled", len(people), int(now * 1000), int(spec.start_at * 1000), None, None)
        self.store.create(campaign, people)
        self._changed()
        log.info("[Pool] campanha %s criada (%s): %d destinatários", campaign.id, spec.name, len(people))
        self.on_change()
        return self.get(campaign.id)

    def _checked(self, body: dict[str, Any], now: float) -> tuple[Spec, list[tuple[str, str, str, str]]]:
        """The settings checked, and the audience read (one query) with each person's first state; refused when
        nobody can receive it."""
        spec = read_spec(body, now, self.check_tags)
        required = self._required(spec.template_id)
        for client_id in spec.client_ids or []:
            try:
                self.cluster.has_number(client_id) if self.cluster else self.pool.get(client_id)
            except ZapPoolError:
                raise CampaignClientUnknown(f"No number {client_id!r} in this ZapPool",
                                            details={"field": "clientIds", "clientId": client_id}) from None
        people = [(phone, name, variables, SKIPPED_OPTOUT if opted else SKIPPED_MISSING if lacks else PENDING)
                  for phone, name, variables, opted, lacks in self.audience.store.members(spec.tags, required)]
        if not any(p[3] == PENDING for p in people):
            raise CampaignAudienceEmpty("Nobody in this audience can receive the campaign",
                                        details={"field": "audience", "audience": len(people),
                                                 "optedOut": sum(1 for p in people if p[3] == SKIPPED_OPTOUT)})
        return spec, people

    def preview(self, body: dict[str, Any]) -> dict[str, Any]:
        """A campaign not made yet: its first messages rendered, who it reaches and skips, the expected end."""
        now = self.clock()
        spec, people = self._checked(body, now)
        first = []
        for seq, (phone, name, variables, _state) in enumerate([p for p in people if p[3] == PENDING][:PREVIEW_COUNT]):
            fields = self.runner.render(spec, Recipient("", seq, phone, name, json.loads(variables), PENDING, None, None,
                                                        None))
            text = None if fields is None else fields.get("text", fields.get("media", {}).get("caption"))
            first.append({"phone": phone, "name": name, "text": text})
        states = [p[3] for p in people]
        start = max(now, spec.start_at)
        end = plan.expected_end(spec, start, states.count(PENDING), self._numbers(spec, start))
        return {"messages": first, "audience": len(people), "reachable": states.count(PENDING),
                "skipped": {"optedOut": states.count(SKIPPED_OPTOUT), "missingVariable": states.count(SKIPPED_MISSING)},
                "expectedEndAt": None if end is None else _iso(int(end * 1000)),
                "expectedDurationS": None if end is None else round(end - start)}

    def _required(self, template_id: str) -> list[str]:
        """The variables the template needs a value for; CampaignTemplateUnknown when there is no such template."""
        try:
            return list(self.templates.get(template_id)["required"])
        except TemplateNotFound:
            raise CampaignTemplateUnknown(f"No template with id {template_id!r}",
                                          details={"field": "templateId", "templateId": template_id[:64]}) from None

    # -- reading -------------------------------------------------------------------------------------------

    def list(self) -> list[dict[str, Any]]:
        """Every campaign, newest first, with its counts."""
        return [self._summary(c) for c in self.store.all()]

    def get(self, campaign_id: str) -> dict[str, Any]:
        """One campaign: settings, status, counts, expected end."""
        return self._summary(self._one(campaign_id))

    def _one(self, campaign_id: str) -> StoredCampaign:
        """The stored campaign or CampaignNotFound."""
        found = self.store.get(campaign_id) if isinstance(campaign_id, str) else None
        if found is None:
            raise CampaignNotFound(f"No campaign with id {str(campaign_id)[:64]!r}",
                                   details={"campaignId": str(campaign_id)[:64]})
        return found

    def _summary(self, c: StoredCampaign) -> dict[str, Any]:
        """The REST shape of a campaign."""
        spec = Spec.from_json(c.spec)
        counts = report.counts(self.store.states(c.id), self.log.statuses(c.id), self.log.replied(c.id))
        return {"id": c.id, "name": c.name, "status": c.status, **spec.to_dict(), "startAt": _iso(c.start_at),
                "createdAt": _iso(c.created_at), "startedAt": _iso(c.started_at), "finishedAt": _iso(c.finished_at),
                "counts": counts, "expectedEndAt": self._expected_end(c, spec, counts)}

    def _expected_end(self, c: StoredCampaign, spec: Spec, counts: dict[str, Any]) -> str | None:
        """When the last message should go, given the window, the numbers' allowances and the delay."""
        if c.status in ("finished", CANCELLED):
            return _iso(c.finished_at)
        now = max(self.clock(), c.start_at / 1000)
        end = plan.expected_end(spec, now, counts["pending"] + counts["queued"], self._numbers(spec, now))
        return None if end is None else _iso(int(end * 1000))

    def _numbers(self, spec: Spec, at: float) -> dict[str, tuple[float | None, int]]:
        """The ready numbers the campaign may use (in a cluster every node's): when each was linked (the
        warm-up) and how many campaign messages it was given on `at`'s day."""
        linked = self.cluster.ready() if self.cluster is not None else {
            cid: self.runner.linked_at(cid) for cid in self.pool.get_ready_clients()}
        return {cid: (when, self.runner.given_today(spec, cid, at)) for cid, when in linked.items()
                if spec.client_ids is None or cid in spec.client_ids}

    def recipients(self, campaign_id: str, cursor: str | None = None, limit: int = 50) -> dict[str, Any]:
        """A page of recipients: [{phone, name, status, clientId, messageId, error}], `nextCursor`."""
        self._one(campaign_id)
        limit = check_limit(limit)
        after = _cursor(cursor)
        rows = self.store.page(campaign_id, after, limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        outcome = self.log.outcome([r.message_id for r in rows if r.message_id])
        return {"items": [report.recipient(r, outcome.get(r.message_id or "")) for r in rows],
                "nextCursor": str(rows[-1].seq) if more else None}

    def report(self, campaign_id: str) -> dict[str, Any]:
        """The funnel, replies, opt-outs and the per-number breakdown."""
        c = self._one(campaign_id)
        statuses, replied = self.log.statuses(c.id), self.log.replied(c.id)
        return {"id": c.id, "name": c.name, "status": c.status,
                **report.funnel(self.store.states(c.id), statuses, replied)}

    def report_csv(self, campaign_id: str) -> str:
        """One line per recipient: phone, name, status, number, message id, error, replied."""
        self._one(campaign_id)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["phone", "name", "status", "clientId", "messageId", "error", "replied"])
        replied, after = self.log.replied_ids(campaign_id), 0
        while rows := self.store.page(campaign_id, after, 1000):
            outcome = self.log.outcome([r.message_id for r in rows if r.message_id])
            for r in rows:
                item = report.recipient(r, outcome.get(r.message_id or ""))
                writer.writerow([csv_cell(cell) for cell in (r.phone, r.name, item["status"], item["clientId"],
                                 item["messageId"], item["error"], "yes" if r.message_id in replied else "")])
            after = rows[-1].seq
        return out.getvalue()

    # -- control -------------------------------------------------------------------------------------------

    def pause(self, campaign_id: str) -> dict[str, Any]:
        """Stop giving numbers new messages (one already handed to a number's queue still goes)."""
        return self._move(campaign_id, "paused", ("scheduled", "running"), "campaign.paused")

    def resume(self, campaign_id: str) -> dict[str, Any]:
        """Go on from where it paused (before its start time it is scheduled again)."""
        c = self._one(campaign_id)
        target = "scheduled" if c.started_at is None else "running"
        return self._move(campaign_id, target, ("paused",), "campaign.started" if target == "running" else None)

    def cancel(self, campaign_id: str) -> dict[str, Any]:
        """Give up the rest for good: the pending recipients are cancelled."""
        return self._move(campaign_id, CANCELLED, ("scheduled", "running", "paused"), "campaign.finished")

    def _move(self, campaign_id: str, status: str, allowed: tuple[str, ...], event: str | None) -> dict[str, Any]:
        """A status change asked by the owner; CampaignStateConflict naming the current status otherwise."""
        c = self._one(campaign_id)
        if not self._set_status(c.id, status, only_from=allowed, now_ms=int(self.clock() * 1000)):
            current = self._one(campaign_id).status
            raise CampaignStateConflict(f"The campaign is {current}: it cannot become {status}",
                                        details={"campaignId": c.id, "status": current})
        log.info("[Pool] campanha %s: %s", c.id, status)
        summary = self.get(c.id)
        if event is not None:
            self._emit(event, summary)
        self.on_change()
        return summary

    # -- the driver's step ---------------------------------------------------------------------------------

    def tick(self) -> float:
        """Start what is due, advance what runs, finish what is done; the seconds until the next step."""
        now, wait = self.clock(), 1.0
        for c in self._active_campaigns():
            spec = self._spec_of(c)
            if c.status == "scheduled":
                if now * 1000 < c.start_at:
                    wait = min(wait, c.start_at / 1000 - now)
                    continue
                if self._set_status(c.id, "running", only_from=("scheduled",), now_ms=int(now * 1000)):
                    log.info("[Pool] campanha %s iniciada", c.id)
                    self._emit("campaign.started", self.get(c.id))
            try:
                wait = min(wait, self.runner.advance(c, spec, now))
            except TemplateNotFound:  # deleted while the campaign runs: hold it, say why, lose nobody
                self._held_for_template(c, now)
                continue
            self._after_step(c.id, now)
        return max(0.01, wait)

    def _active_campaigns(self) -> list[StoredCampaign]:
        """The scheduled and running campaigns (read again after any status change: every one goes through this
        service, and `_changed()` forgets the list; in a cluster read at every step, as another node may have
        made, paused or cancelled one)."""
        if self.cluster is not None:
            return self.store.with_status("scheduled", "running")
        active = self._active
        if active is None:
            seen = self._generation  # a change committed while reading must not leave a stale list kept
            active = self.store.with_status("scheduled", "running")
            if self._generation == seen:
                self._active = active
        return active

    def _set_status(self, campaign_id: str, status: str, *, only_from: tuple[str, ...], now_ms: int) -> bool:
        """CampaignStore.set_status, and the work list forgotten when it changed something."""
        changed = self.store.set_status(campaign_id, status, only_from=only_from, now_ms=now_ms)
        if changed:
            self._changed()
        return changed

    def _changed(self) -> None:
        """A campaign was made or changed status (committed): the driver's work list is read again."""
        self._generation += 1
        self._active = None

    def _held_for_template(self, c: StoredCampaign, now: float) -> None:
        """The campaign's template is gone: paused (campaign.paused), its pending recipients kept; resuming it
        without the template pauses it again."""
        if self._set_status(c.id, "paused", only_from=("running",), now_ms=int(now * 1000)):
            log.warning("[Pool] campanha %s pausada: o modelo %s foi excluído", c.id, c.template_id)
            self._emit("campaign.paused", self.get(c.id))

    def _spec_of(self, c: StoredCampaign) -> Spec:
        """A campaign's settings, read once (they never change)."""
        spec = self._specs.get(c.id)
        if spec is None:
            spec = self._specs[c.id] = Spec.from_json(self._one(c.id).spec)
        return spec

    def _after_step(self, campaign_id: str, now: float) -> None:
        """campaign.progress when the counts moved (at most once a second); finished when nobody is left."""
        if not self.runner.has_pending(campaign_id) and not self.store.unfinished(campaign_id):
            if self._set_status(campaign_id, "finished", only_from=("running",), now_ms=int(now * 1000)):
                log.info("[Pool] campanha %s concluída", campaign_id)
                summary = self.get(campaign_id)
                self._emit("campaign.progress", summary)
                self._emit("campaign.finished", summary)
                self._progress.pop(campaign_id, None)
            return
        last_at, last = self._progress.get(campaign_id, (0.0, {}))
        if time.monotonic() - last_at < PROGRESS_EVERY_S:
            return
        summary = self.get(campaign_id)
        counts = summary["counts"]
        # told once per change, at most once a second, whichever node (in a cluster) counted it first; counts not
        # told (too soon by the stored clock) are asked about again at the next step, never dropped
        told = counts != last and self.store.progress_turn(campaign_id, counts, int(time.time() * 1000),
                                                           PROGRESS_EVERY_MS)
        self._progress[campaign_id] = (time.monotonic(), counts if told else last)
        if told:
            self._emit("campaign.progress", summary)

    def _emit(self, name: str, summary: dict[str, Any]) -> None:
        """A campaign event to SSE and the webhooks (through the pool's hub, as contact.opted_out goes)."""
        data = {"campaign": {k: summary[k] for k in ("id", "name", "status", "counts", "expectedEndAt")}}
        self.pool.events.emit(ClientEvent("", name, data))


@dataclass(frozen=True)
class Cluster:
    """What a cluster node's campaigns need from the cluster (issue 20): the numbers this node drives now, a
    check that a number is driven by some node (NotFound otherwise), and every node's ready numbers with when
    each was linked (the expected end counts them all)."""

    mine: Callable[[], Collection[str]]
    has_number: Callable[[str], None]
    ready: Callable[[], dict[str, float | None]]


def _iso(ms: int | None) -> str | None:
    """Epoch ms as ISO 8601."""
    return None if ms is None else iso(datetime.fromtimestamp(ms / 1000, timezone.utc))


def _cursor(raw: str | None) -> int:
    """A recipients page cursor: the last seq of the page before."""
    if raw in (None, ""):
        return 0
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 9:
        raise InvalidInput("cursor must be the nextCursor of the page before", details={"field": "cursor"})
    return int(raw)


__all__ = ["EVENTS", "CampaignsService", "message_id_of"]
