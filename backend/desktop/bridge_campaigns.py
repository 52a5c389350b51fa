"""The bridge's campaign operations (issue 17 §4): the Campaigns window (frontend/js/campaigns.js) previews and
creates a campaign, follows its progress, pauses, resumes and cancels it, and reads its report. One line each into
`service.campaigns`, checked as the /campaigns routes are; mixed into bridge.Bridge, which pywebview exposes."""

from __future__ import annotations

from typing import Any

from ..service import ZapPoolService
from .operations import arg as _arg
from .operations import limit as _limit
from .operations import operation as _operation


class CampaignOperations:
    """The Campaigns window's operations; needs the bridge's `_service` and `_windows`."""

    _service: ZapPoolService
    _windows: Any  # bridge.Windows (its open_campaigns_window)

    @_operation()
    def list_campaigns(self) -> list[dict[str, Any]]:
        """Every campaign, newest first (GET /campaigns)."""
        return self._service.campaigns.list()

    @_operation()
    def preview_campaign(self, body: Any) -> dict[str, Any]:
        """A campaign not made yet: first messages, reach, expected end (POST /campaigns/preview)."""
        return self._service.campaigns.preview(_arg(body, "body", dict))

    @_operation()
    def create_campaign(self, body: Any) -> dict[str, Any]:
        """A new campaign (POST /campaigns)."""
        return self._service.campaigns.create(_arg(body, "body", dict))

    @_operation()
    def get_campaign(self, campaign_id: Any) -> dict[str, Any]:
        """One campaign with its counts (GET /campaigns/{id})."""
        return self._service.campaigns.get(_arg(campaign_id, "campaignId", str))

    @_operation()
    def pause_campaign(self, campaign_id: Any) -> dict[str, Any]:
        """POST /campaigns/{id}/pause."""
        return self._service.campaigns.pause(_arg(campaign_id, "campaignId", str))

    @_operation()
    def resume_campaign(self, campaign_id: Any) -> dict[str, Any]:
        """POST /campaigns/{id}/resume."""
        return self._service.campaigns.resume(_arg(campaign_id, "campaignId", str))

    @_operation()
    def cancel_campaign(self, campaign_id: Any) -> dict[str, Any]:
        """POST /campaigns/{id}/cancel."""
        return self._service.campaigns.cancel(_arg(campaign_id, "campaignId", str))

    @_operation()
    def campaign_recipients(self, campaign_id: Any, cursor: Any = None, limit: Any = 50) -> dict[str, Any]:
        """A page of recipients (GET /campaigns/{id}/recipients)."""
        return self._service.campaigns.recipients(_arg(campaign_id, "campaignId", str),
                                                  _arg(cursor, "cursor", str, required=False), _limit(limit))

    @_operation()
    def campaign_report(self, campaign_id: Any) -> dict[str, Any]:
        """The funnel and per number (GET /campaigns/{id}/report)."""
        return self._service.campaigns.report(_arg(campaign_id, "campaignId", str))

    @_operation()
    def campaign_report_csv(self, campaign_id: Any) -> str:
        """The per-recipient CSV as text (GET /campaigns/{id}/report?format=csv); the window saves it."""
        return self._service.campaigns.report_csv(_arg(campaign_id, "campaignId", str))

    @_operation()
    def open_campaigns_window(self) -> None:
        """Open the Campaigns window (or bring it to the front)."""
        self._windows.open_campaigns_window()
