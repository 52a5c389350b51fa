"""Campaigns (issue 17 §4): /campaigns and below, over service.campaigns."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.routing import BaseConverter

from ..errors import InvalidInput
from ..service import ZapPoolService
from .body import json_body, query_limit


class CampaignIdConverter(BaseConverter):
    """`<campaign:campaign_id>`: what CampaignsService.create makes ("cmp_" + 8 random bytes in hex); any other
    path is a plain 404."""

    regex = r"cmp_[0-9a-f]{16}"


bp = Blueprint("campaigns", __name__)
bp.record_once(lambda state: state.app.url_map.converters.setdefault("campaign", CampaignIdConverter))
_ONE = "/campaigns/<campaign:campaign_id>"


def campaigns() -> Any:
    """The campaigns capability of this app's service (backend/campaigns/)."""
    service: ZapPoolService = current_app.extensions["zapool.service"]
    return service.campaigns


@bp.get("/campaigns")
def list_campaigns() -> Response:
    """Every campaign, newest first, with its counts."""
    return jsonify(campaigns().list())


@bp.post("/campaigns")
def create_campaign() -> tuple[Response, int]:
    """A new campaign: 201 {id, status, counts, ...}; its recipients are fixed now."""
    return jsonify(campaigns().create(json_body())), 201


@bp.get(_ONE)
def get_campaign(campaign_id: str) -> Response:
    """One campaign: status, counts, expected end."""
    return jsonify(campaigns().get(campaign_id))


@bp.post(f"{_ONE}/pause")
def pause_campaign(campaign_id: str) -> Response:
    """Stop handing out new messages."""
    return jsonify(campaigns().pause(campaign_id))


@bp.post(f"{_ONE}/resume")
def resume_campaign(campaign_id: str) -> Response:
    """Go on after a pause."""
    return jsonify(campaigns().resume(campaign_id))


@bp.post(f"{_ONE}/cancel")
def cancel_campaign(campaign_id: str) -> Response:
    """Give up the rest for good."""
    return jsonify(campaigns().cancel(campaign_id))


@bp.get(f"{_ONE}/recipients")
def campaign_recipients(campaign_id: str) -> Response:
    """A page of recipients: [{phone, status, clientId, messageId, ...}] and nextCursor."""
    return jsonify(campaigns().recipients(campaign_id, request.args.get("cursor"), query_limit()))


@bp.post("/campaigns/preview")
def preview_campaign() -> Response:
    """A campaign not made yet (POST /campaigns's body): its first messages rendered, who it reaches, and the
    expected end (the Campaigns page shows them before Create)."""
    return jsonify(campaigns().preview(json_body()))


@bp.get(f"{_ONE}/report")
def campaign_report(campaign_id: str) -> Response:
    """The funnel, replies and per number as JSON; ?format=csv: one line per recipient, as a download."""
    kind = request.args.get("format", "json")
    if kind not in ("json", "csv"):
        raise InvalidInput("format must be json or csv", details={"field": "format"})
    if kind == "json":
        return jsonify(campaigns().report(campaign_id))
    return Response(campaigns().report_csv(campaign_id), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{campaign_id}.csv"'})
