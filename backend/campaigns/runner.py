"""One step of one running campaign: settle what the outbox finished, then give each free number its next
recipient, within the window, the number's allowance for the day and the random delay.

Exactly once, across kill -9 (the order of the three writes):
  1. claim   campaigns.db: the recipient pending -> claimed by a number, with its message id
             (`<campaign>.<seq>`, the same whatever happens later; a power cut: see CampaignStore.claim);
  2. enqueue messages.db: the outbox accepts the message under that id (looked for first: an id accepted
             before is never accepted again, and the log's unique index would refuse it anyway);
  3. mark    campaigns.db: claimed -> done, once the log says the outbox finished it (sent or failed).
Every step (`settle`) asks the log about the claimed recipients: a message there and finished: mark it; there
and not finished: its number is busy; not there (killed between 1 and 2, or between claim and enqueue of this
very thread, which runs settle and the sends one after the other): nothing was sent, back to pending, any number
may take it. Once in the outbox, the outbox's own recovery owns the message (a message caught mid-send is looked
for on WhatsApp under its chosen id before any second attempt). So a recipient has one message id, one number,
one send.

Fairness: one campaign message in flight per number; a free number takes the next recipient, the number given
one longest ago first, so the numbers take turns; a number that is not ready is passed over, so its share goes
to the others, and the one message it held is taken back if the outbox never tried it (CampaignLog.hand_back:
queued, no attempt, so it never reached WhatsApp) and goes from another number under the recipient's next id;
one it was already sending stays with it (it may be out). The number's own pacing and hourly/daily caps
(backend/outbox/caps.py) still hold in its outbox lane on top of the campaign's delay and allowance.

In a cluster (issue 20, store/pg_campaigns.py) every node runs these steps over the same tables, each for the
numbers it drives (`mine`): a claim succeeds only while the recipient is pending, so of two nodes reaching one
recipient one gives it a number and the other goes to the next; each node settles its own numbers' claimed
recipients (another node's "not in the log yet" is that node between claim and enqueue, not a crash), and any
node marks done a recipient whose message finished (its number may be gone for good). A node
that dies leaves its claimed recipients to whoever takes its numbers (their lease), and the shared outbox sends
what it had queued.
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from ..errors import ClientNotReady, ZapPoolError
from ..drafts import Draft, media_draft, text_draft
from ..status import MessageStatus
from ..store.campaigns import (CLAIMED, DONE, HANDED_OVER, PENDING, SKIPPED_MISSING, SKIPPED_NOT_ON_WA, SKIPPED_OPTOUT,
                               CampaignLog, CampaignStore, Recipient, StoredCampaign, message_id_of)
from ..templates.errors import TemplateVariableMissing
from ..validation import PhoneNumber
from . import plan
from .spec import Spec

log = logging.getLogger(__name__)
FINISHED = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.FAILED}
IDLE_S = 1.0  # the longest a step sleeps: a message finishing kicks it sooner
PREFETCH = 64  # pending recipients read at once


class Runner:
    """The steps of running campaigns (the driver calls `advance` for each); state kept between steps: when
    each number may have its next message of a campaign, and when each was last given one."""

    def __init__(self, store: CampaignStore, log_: CampaignLog, outbox: Any, pool: Any, audience: Any,
                 templates: Any, draw: Callable[[float, float], float] | None = None,
                 mine: Callable[[], Collection[str]] | None = None):
        self.store, self.log, self.outbox, self.pool = store, log_, outbox, pool
        self.audience, self.templates = audience, templates
        self.draw = draw or random.Random().uniform  # the random delay: injectable, as the outbox's backoff
        # A cluster node (issue 20): the numbers it drives now. Other nodes claim and settle their own numbers'
        # recipients in the same tables, so the claimed ones are read afresh at each step.
        self.mine = mine
        self._next_at: dict[tuple[str, str], float] = {}
        self._last_given: dict[str, float] = {}
        self._given: dict[tuple[str, float], int] = {}  # (number, its day's start) -> campaign messages given
        self._pending: dict[str, deque[Recipient]] = {}  # per campaign, the next pending recipients read ahead
        # per campaign, its claimed recipients: seq -> (number, message id); read from campaigns.db the first time
        # (after a restart), then kept here (this thread is the only one that claims and settles)
        self._claimed: dict[str, dict[int, tuple[str | None, str | None]]] = {}

    def settle(self, campaign_id: str) -> set[str]:
        """Claimed recipients whose message the outbox finished -> done; one whose message is not in the log
        (killed between claim and enqueue) -> pending again (see the module's doc). Returns the numbers still
        holding one of this campaign's messages. In a cluster a finished message is marked by any node (its
        number may be gone for good: removed), the rest only by the node driving the number."""
        claimed = self._claimed_of(campaign_id)
        outcome = self.log.outcome([message_id for _, message_id in claimed.values() if message_id])
        mine = None if self.mine is None else set(self.mine())
        busy = set()
        for seq, (client_id, message_id) in list(claimed.items()):
            found = outcome.get(message_id or "")
            if found is not None and found[0] in FINISHED and found != ("failed", HANDED_OVER):
                self.store.move(campaign_id, seq, DONE, only_from=(CLAIMED,), durable=False)
            elif mine is not None and client_id not in mine:
                continue  # another node's number: that node settles it
            elif not self._settled_here(campaign_id, seq, client_id, message_id, found):
                busy.add(client_id or "")
                continue
            del claimed[seq]
        return busy

    def _settled_here(self, campaign_id: str, seq: int, client_id: str | None, message_id: str | None,
                      found: tuple[str, str | None] | None) -> bool:
        """A claimed recipient of one of this node's numbers, its message not finished: back to pending when its
        message never reached the log; to another number when its own went away before trying it; False while
        its number still holds it."""
        if found is None:
            self.store.unclaim(campaign_id, seq)
            return True
        if found == ("failed", HANDED_OVER) or (found[0] == "queued" and client_id not in self.pool.get_ready_clients()
                                                and self.log.hand_back(message_id or "")):
            self.store.hand_over(campaign_id, seq)  # its number went away before trying: another takes it
            log.info("[Pool] campanha %s: %s saiu; a mensagem %s passa a outro número", campaign_id, client_id,
                     message_id)
            return True
        return False

    def _claimed_of(self, campaign_id: str) -> dict[int, tuple[str | None, str | None]]:
        """The campaign's claimed recipients (read from the store once, then kept; in a cluster, every node's,
        read at every step)."""
        if self.mine is not None:
            return {seq: (c, m) for seq, c, m in self.store.claimed(campaign_id)}
        known = self._claimed.get(campaign_id)
        if known is None:
            known = self._claimed[campaign_id] = {seq: (c, m) for seq, c, m in self.store.claimed(campaign_id)}
        return known

    def advance(self, campaign: StoredCampaign, spec: Spec, now: float) -> float:
        """Give the free numbers their next recipients; the seconds until something may change."""
        busy = self.settle(campaign.id)
        if not plan.allowed(spec.window, now):
            return min(IDLE_S, plan.next_open(spec.window, now) - now)
        wait = IDLE_S
        for client_id in self._turns(spec, busy):
            due = self._next_at.get((campaign.id, client_id), 0.0)
            if due > now:
                wait = min(wait, due - now)
                continue
            if self.given_today(spec, client_id, now) >= plan.allowance(spec, self.linked_at(client_id), now):
                continue  # this number's day is full: tomorrow (the window's day) it may go on
            if not self._give_one(campaign, spec, client_id, now):
                break  # nobody left to give
        return max(0.01, wait)

    def _turns(self, spec: Spec, busy: set[str]) -> list[str]:
        """The campaign's ready numbers without a message in flight, the one given one longest ago first."""
        every_ready = self.pool.get_ready_clients()
        self._given = {k: v for k, v in self._given.items() if k[0] in every_ready}  # back later: counted again
        ready = [c for c in every_ready if spec.client_ids is None or c in spec.client_ids]
        return sorted((c for c in ready if c not in busy), key=lambda c: self._last_given.get(c, 0.0))

    def given_today(self, spec: Spec, client_id: str, now: float) -> int:
        """Campaign messages given to this number since the window's midnight (counted in campaigns.db once a
        day, then kept here: the driver is the only one giving)."""
        day = plan.day_start(spec.window, now)
        if (client_id, day) not in self._given:
            self._given = {k: v for k, v in self._given.items() if k[1] >= day}  # yesterday's go
            self._given[(client_id, day)] = self.store.given_since(client_id, int(day * 1000))
        return self._given[(client_id, day)]

    def linked_at(self, client_id: str) -> float | None:
        """When the number was added (linked), for the warm-up; None if it is gone."""
        try:
            return self.pool.get(client_id).metadata.created_at.timestamp()
        except ZapPoolError:
            return None

    def _give_one(self, campaign: StoredCampaign, spec: Spec, client_id: str, now: float) -> bool:
        """The next pending recipient to this number (skipping the opted-out, the unknown on WhatsApp and
        those a variable is missing for); False when none is pending."""
        while True:
            r = self._next_pending(campaign.id)
            if r is None:
                return False
            skip = self._skip_reason(spec, client_id, r)
            if skip == "":
                return True  # the number stopped being ready: the next step gives the recipient to another
            if skip is not None:
                self.store.move(campaign.id, r.seq, skip, only_from=(PENDING,))
                continue
            fields = self.render(spec, r)
            if fields is None:
                self.store.move(campaign.id, r.seq, SKIPPED_MISSING, only_from=(PENDING,))
                continue
            if not self._send(campaign.id, r, client_id, fields, now):
                continue  # another node's number took this recipient first: the next one
            self._next_at[(campaign.id, client_id)] = now + self.draw(spec.delay_min, spec.delay_max)
            self._last_given[client_id] = now
            return True

    def has_pending(self, campaign_id: str) -> bool:
        """True when recipients read ahead are still waiting (then the campaign is not finished: no query)."""
        return bool(self._pending.get(campaign_id))

    def _next_pending(self, campaign_id: str) -> Recipient | None:
        """The next pending recipient, read PREFETCH at a time (the claim checks it is still pending)."""
        batch = self._pending.get(campaign_id)
        if not batch:
            batch = self._pending[campaign_id] = deque(self.store.first(campaign_id, PREFETCH))
        return batch.popleft() if batch else None

    def _skip_reason(self, spec: Spec, client_id: str, r: Recipient) -> str | None:
        """Why this recipient gets nothing (a state), None to send, "" when the number is not ready now."""
        if self.audience.store.is_opted_out(r.phone):  # asked now: an opt-out after the campaign was made counts
            return SKIPPED_OPTOUT
        if not spec.check_numbers:
            return None
        try:
            found = self.pool.get(client_id).check_number_cached(r.phone)
        except ClientNotReady:
            return ""
        except ZapPoolError as exc:
            log.warning("[Pool] campanha: consulta de %s por %s falhou (%s); enviando mesmo assim", r.phone,
                        client_id, exc.code)
            return None
        return None if found.get("exists") else SKIPPED_NOT_ON_WA

    def render(self, spec: Spec, r: Recipient) -> dict[str, Any] | None:
        """The message's fields ({"text"} or {"media"}) rendered for this recipient; None if a variable is missing."""
        try:
            return self.templates.message_fields(spec.template_id, values_of(r.name, r.variables))
        except TemplateVariableMissing:
            return None

    def _send(self, campaign_id: str, r: Recipient, client_id: str, fields: dict[str, Any], now: float) -> bool:
        """claim -> enqueue -> mark (the module's doc says why in this order); False when the recipient was no
        longer pending (claimed by another node's number)."""
        existing, number = self.log.number_of(message_id_of(campaign_id, r.seq, r.attempt))
        if existing and number:  # accepted before a power cut lost its (not fsynced) claim: keep its number
            client_id = number
        message_id = self.store.claim(campaign_id, r.seq, client_id, int(now * 1000), r.attempt)
        if message_id is None:
            return False
        if self.mine is None:  # kept between steps; a cluster node reads its claimed ones afresh
            self._claimed_of(campaign_id)[r.seq] = (client_id, message_id)
        for key in [k for k in self._given if k[0] == client_id and k[1] <= now]:
            self._given[key] += 1
        if not existing:  # the outbox accepts an id once: a claim repeated after a crash sends nothing twice
            self.outbox.accept_once(message_id, lambda: campaign_draft(client_id, r.phone, fields, campaign_id))
        return True


def campaign_draft(client_id: str, phone: str, fields: dict[str, Any], campaign_id: str) -> Draft:
    """One recipient's rendered message as the outbox takes it: text, or media with the text as its caption;
    tagged with the campaign, so the reports' funnel can be read per campaign."""
    to = PhoneNumber(phone)  # normalised when imported (audience/importer.py): not parsed again
    if "media" not in fields:
        return replace(text_draft(client_id, to, fields["text"]), tag=campaign_id)
    media = dict(fields["media"])
    caption = media.pop("caption", None)
    return replace(media_draft(client_id, to, media, {"caption": caption} if caption else None), tag=campaign_id)


def values_of(name: str, variables: dict[str, str]) -> dict[str, str]:
    """A recipient's template values: its imported columns, and `nome` from its name unless a column gave one."""
    return {"nome": name, **variables} if name else dict(variables)
