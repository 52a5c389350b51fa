"""A campaign's numbers as the API shows them: live counts, the report's funnel and per-number breakdown, and a
recipient's status, from campaigns.db's recipient states and the message log's statuses (CampaignLog)."""

from __future__ import annotations

from typing import Any

from ..store.campaigns import (CANCELLED, CLAIMED, PENDING, SKIPPED_MISSING, SKIPPED_NOT_ON_WA, SKIPPED_OPTOUT,
                               Recipient)

SENT = ("sent", "delivered", "read")
DELIVERED = ("delivered", "read")
SKIPS = {SKIPPED_OPTOUT: "optedOut", SKIPPED_NOT_ON_WA: "notOnWhatsApp", SKIPPED_MISSING: "missingVariable"}

Statuses = list[tuple[str, str, str | None, int]]  # CampaignLog.statuses: (client id, status, error code, n)


def counts(states: dict[str, int], statuses: Statuses, replied: dict[str, int]) -> dict[str, Any]:
    """queued, sent, delivered, read, replied, failed (and by reason), skipped (by reason), pending, cancelled."""
    by_status: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for _client, status, code, n in statuses:
        by_status[status] = by_status.get(status, 0) + n
        if status == "failed":
            reasons[code or "unknown"] = reasons.get(code or "unknown", 0) + n
    return {"total": sum(states.values()), "pending": states.get(PENDING, 0),
            "queued": by_status.get("queued", 0) + by_status.get("sending", 0),
            "sent": sum(by_status.get(s, 0) for s in SENT),
            "delivered": sum(by_status.get(s, 0) for s in DELIVERED), "read": by_status.get("read", 0),
            "replied": sum(replied.values()), "failed": by_status.get("failed", 0), "failedByReason": reasons,
            "skipped": {name: states.get(state, 0) for state, name in SKIPS.items()},
            "cancelled": states.get(CANCELLED, 0)}


def funnel(states: dict[str, int], statuses: Statuses, replied: dict[str, int]) -> dict[str, Any]:
    """The report: the funnel (audience -> sent -> delivered -> read -> replied), failures and skips by
    reason, and the same per number."""
    total = counts(states, statuses, replied)
    numbers: dict[str, dict[str, Any]] = {}
    for client, status, code, n in statuses:
        one = numbers.setdefault(client, {"clientId": client, "queued": 0, "sent": 0, "delivered": 0, "read": 0,
                                          "replied": replied.get(client, 0), "failed": 0})
        one["sent"] += n if status in SENT else 0
        one["delivered"] += n if status in DELIVERED else 0
        one["read"] += n if status == "read" else 0
        one["failed"] += n if status == "failed" else 0
        one["queued"] += n if status in ("queued", "sending") else 0
    return {"funnel": {k: total[k] for k in ("total", "sent", "delivered", "read", "replied")},
            "counts": total, "perNumber": sorted(numbers.values(), key=lambda x: x["clientId"])}


def recipient(r: Recipient, outcome: tuple[str, str | None] | None) -> dict[str, Any]:
    """One recipient's REST shape: its status is the message's once it has one, else its own state."""
    if outcome is not None:
        status, error = outcome[0], outcome[1] if outcome[0] == "failed" else None
    else:
        status, error = ("queued" if r.state == CLAIMED else r.state), None
    return {"phone": r.phone, "name": r.name, "status": status, "clientId": r.client_id,
            "messageId": r.message_id if outcome is not None else None, "error": error}
