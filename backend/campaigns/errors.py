"""The refusals of campaigns, each a 4xx naming its reason (their sentences: frontend/js/i18n_errors.js)."""

from __future__ import annotations

from ..errors import Conflict, InvalidInput, NotFound


class CampaignNotFound(NotFound):
    """No campaign has this id."""

    code = "campaign_not_found"


class CampaignTemplateUnknown(InvalidInput):
    """The templateId of a new campaign names no template."""

    code = "campaign_template_unknown"


class CampaignAudienceEmpty(InvalidInput):
    """Nobody is left to send to: no customer carries the tags (or the list is empty), or all opted out."""

    code = "campaign_audience_empty"


class CampaignClientUnknown(InvalidInput):
    """A clientId of a new campaign names no number of this ZapPool."""

    code = "campaign_client_unknown"


class CampaignWindowInvalid(InvalidInput):
    """The allowed hours and days cannot be read (an hour, a day, a time zone, or an empty window)."""

    code = "campaign_window_invalid"


class CampaignStateConflict(Conflict):
    """Pause, resume or cancel asked of a campaign in a status that does not allow it (details: its status)."""

    code = "campaign_state_conflict"
