"""The refusals of schedules, each a 4xx naming its reason (their sentences: frontend/js/i18n_errors.js)."""

from __future__ import annotations

from ..errors import Conflict, InvalidInput, NotFound


class ScheduleNotFound(NotFound):
    """No schedule has this id."""

    code = "schedule_not_found"


class ScheduleNotActive(Conflict):
    """The schedule has finished or was cancelled: it can no longer be changed or cancelled (details.status)."""

    code = "schedule_not_active"


class ScheduleBadTime(InvalidInput):
    """`at` is not an ISO 8601 time with its offset, is past for a one-off, or is absurdly far (details.reason:
    unparsable, no_offset, past, too_far)."""

    code = "schedule_bad_time"


class ScheduleUnknownTimezone(InvalidInput):
    """`tz` is not an IANA zone name this machine knows (e.g. America/Sao_Paulo)."""

    code = "schedule_unknown_timezone"


class ScheduleBadRule(InvalidInput):
    """The repeat rule is not one ZapPool takes (details.reason: what is wrong with it)."""

    code = "schedule_bad_rule"


class ScheduleTooFrequent(InvalidInput):
    """The rule would fire more than once an hour (details.minGapS: the limit, in seconds)."""

    code = "schedule_too_frequent"
