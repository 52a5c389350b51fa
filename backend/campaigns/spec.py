"""A campaign's settings as POST /campaigns and the Campaigns page send them, checked once, and their defaults.

The defaults are the field's advice for numbers driven through WhatsApp Web, where a ban is the risk:

- window: 08:00-20:00, Monday to Saturday, in Brazil's time zone (America/Sao_Paulo): no messages at night or on
  Sunday, when a business message is least expected and most often reported;
- delay: required: a random pause between two messages of one number (uniform in [min, max] seconds), never a
  fixed one (a constant gap is the giveaway of a bot, e.g. effess.in/docs/en/anti-blocking: "Random + jittered");
- dailyCap: 200 messages per number and day;
- warm-up (on by default): a number linked recently sends at most `start` messages on its first day, and `growth`
  times more each day after, until the ramp reaches the daily cap. Defaults 20 and 1.5 (20, 30, 45, 67, 101,
  151, 200...): whapi.cloud/blog/how-to-avoid-whatsapp-ban-2026 advises never to start a new number above 50 a
  day and to wait 3-5 days before scaling; effess.in's warm-up ramps 50/day on days 1-2 to 200/day from day 3-5;
  Meta's own Business Platform starts a new business at 250 unique users a day
  (developers.facebook.com/docs/whatsapp/messaging-limits). The ramp ends below all three in about a week;
- checkNumbers (on by default): each phone is looked up on WhatsApp before its message (through the number's
  look-up cache, which the send itself then reuses: no extra query), so a list with dead numbers does not become
  a stream of failures, the signal WhatsApp reads as a bought list.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidInput
from ..validation import check_client_id
from .errors import CampaignWindowInvalid

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TZ = "America/Sao_Paulo"
DEFAULT_DAILY_CAP = 200
MAX_DAILY_CAP = 100_000
MAX_DELAY_S = 3600.0
MAX_NAME_CHARS = 100
MAX_CLIENTS = 100
FIELDS = ("name", "templateId", "audience", "clientIds", "startAt", "window", "delay", "dailyCap", "warmup",
          "checkNumbers")
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)|24:00")


@dataclass(frozen=True)
class Window:
    """When messages may go: from `start` to `end` (minutes after local midnight; end may be 1440) on `days`
    (0 = Monday), in `timezone`."""

    start: int = 8 * 60
    end: int = 20 * 60
    days: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    timezone: str = DEFAULT_TZ

    def to_dict(self) -> dict[str, Any]:
        """The REST shape."""
        return {"from": _hhmm(self.start), "to": _hhmm(self.end), "days": [DAYS[d] for d in self.days],
                "timezone": self.timezone}


@dataclass(frozen=True)
class Warmup:
    """The warm-up ramp (see the module's doc)."""

    enabled: bool = True
    start: int = 20
    growth: float = 1.5

    def to_dict(self) -> dict[str, Any]:
        """The REST shape."""
        return {"enabled": self.enabled, "start": self.start, "growth": self.growth}


@dataclass(frozen=True)
class Spec:
    """Every setting of a campaign, checked."""

    name: str
    template_id: str
    tags: list[str] | None  # None: every customer
    client_ids: list[str] | None  # None: every ready number
    start_at: float  # epoch seconds
    window: Window
    delay_min: float
    delay_max: float
    daily_cap: int = DEFAULT_DAILY_CAP
    warmup: Warmup = field(default_factory=Warmup)
    check_numbers: bool = True

    def to_json(self) -> dict[str, Any]:
        """As stored (campaigns.spec)."""
        return asdict(self)

    @staticmethod
    def from_json(raw: dict[str, Any]) -> "Spec":
        """Back from campaigns.spec."""
        window = Window(**{**raw["window"], "days": tuple(raw["window"]["days"])})
        return Spec(**{**raw, "window": window, "warmup": Warmup(**raw["warmup"])})

    def to_dict(self) -> dict[str, Any]:
        """The REST shape of the settings."""
        return {"templateId": self.template_id, "audience": "all" if self.tags is None else {"tags": self.tags},
                "clientIds": self.client_ids, "window": self.window.to_dict(),
                "delay": {"min": self.delay_min, "max": self.delay_max}, "dailyCap": self.daily_cap,
                "warmup": self.warmup.to_dict(), "checkNumbers": self.check_numbers}


def read_spec(body: dict[str, Any], now: float, check_tags: Any) -> Spec:
    """POST /campaigns's body checked field by field (422 naming the field); `check_tags` is the audience's."""
    body = {k: v for k, v in body.items() if v is not None}  # a null optional field is a missing one
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"Unknown field '{unknown[0][:40]}'", details={"field": unknown[0][:40]})
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_CHARS:
        raise InvalidInput(f"'name' must be 1 to {MAX_NAME_CHARS} characters", details={"field": "name"})
    template_id = body.get("templateId")
    if not isinstance(template_id, str) or not template_id or len(template_id) > 64:
        raise InvalidInput("'templateId' must be a template's id", details={"field": "templateId"})
    delay_min, delay_max = _delay(body.get("delay"))
    return Spec(name.strip(), template_id, _audience(body.get("audience"), check_tags), _clients(body.get("clientIds")),
                _start(body.get("startAt"), now), _window(body.get("window")), delay_min, delay_max,
                _whole(body.get("dailyCap", DEFAULT_DAILY_CAP), "dailyCap", 1, MAX_DAILY_CAP),
                _warmup(body.get("warmup")), _flag(body.get("checkNumbers", True), "checkNumbers"))


def _audience(raw: Any, check_tags: Any) -> list[str] | None:
    """"all" or {"tags": [...]} with at least one tag."""
    if raw == "all":
        return None
    if not isinstance(raw, dict) or set(raw) != {"tags"}:
        raise InvalidInput("'audience' must be \"all\" or {\"tags\": [...]}", details={"field": "audience"})
    tags = check_tags(raw["tags"], "audience.tags")
    if not tags:
        raise InvalidInput("'audience.tags' must name at least one tag", details={"field": "audience.tags"})
    return tags


def _clients(raw: Any) -> list[str] | None:
    """None (every ready number) or a list of client ids, each once."""
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_CLIENTS:
        raise InvalidInput(f"'clientIds' must list 1 to {MAX_CLIENTS} numbers", details={"field": "clientIds"})
    return list(dict.fromkeys(check_client_id(c) for c in raw))


def _start(raw: Any, now: float) -> float:
    """ISO 8601 with an offset (or Z); none: now."""
    if raw is None:
        return now
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00")) if isinstance(raw, str) and len(raw) < 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput("'startAt' must be ISO 8601 with an offset, e.g. 2026-03-01T09:00:00-03:00",
                           details={"field": "startAt"})
    return moment.timestamp()


def _window(raw: Any) -> Window:
    """{"from": "HH:MM", "to": "HH:MM", "days": ["mon", ...], "timezone": "America/Sao_Paulo"}, each optional."""
    if raw is None:
        return Window()
    if not isinstance(raw, dict) or set(raw) - {"from", "to", "days", "timezone"}:
        raise CampaignWindowInvalid("'window' takes from, to, days and timezone", details={"field": "window"})
    default = Window()
    start = _minutes(raw.get("from"), "window.from", default.start)
    end = _minutes(raw.get("to"), "window.to", default.end)
    if end <= start:
        raise CampaignWindowInvalid("'window.to' must be after 'window.from'", details={"field": "window.to"})
    days = raw.get("days", [DAYS[d] for d in default.days])
    if not isinstance(days, list) or not days or not all(isinstance(d, str) and d.lower() in DAYS for d in days):
        raise CampaignWindowInvalid(f"'window.days' must list days among {', '.join(DAYS)}",
                                    details={"field": "window.days"})
    zone = raw.get("timezone", DEFAULT_TZ)
    if not _zone_ok(zone):
        raise CampaignWindowInvalid("'window.timezone' must be an IANA time zone, e.g. America/Sao_Paulo",
                                    details={"field": "window.timezone"})
    return Window(start, end, tuple(sorted({DAYS.index(d.lower()) for d in days})), zone)


def _zone_ok(zone: Any) -> bool:
    """An IANA time zone name the machine knows."""
    if not isinstance(zone, str) or not 0 < len(zone) < 64:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _minutes(raw: Any, name: str, default: int) -> int:
    """"HH:MM" (00:00 to 24:00) as minutes after midnight."""
    if raw is None:
        return default
    if not isinstance(raw, str) or not _HHMM.fullmatch(raw):
        raise CampaignWindowInvalid(f"'{name}' must be a time HH:MM from 00:00 to 24:00", details={"field": name})
    hours, minutes = raw.split(":")
    return int(hours) * 60 + int(minutes)


def _hhmm(minutes: int) -> str:
    """Minutes after midnight as HH:MM."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _delay(raw: Any) -> tuple[float, float]:
    """{"min", "max"} seconds, 0 <= min <= max <= an hour."""
    if not isinstance(raw, dict) or set(raw) != {"min", "max"}:
        raise InvalidInput("'delay' must be {\"min\": seconds, \"max\": seconds}", details={"field": "delay"})
    low, high = (_seconds(raw[k], f"delay.{k}") for k in ("min", "max"))
    if low > high:
        raise InvalidInput("'delay.min' must not be more than 'delay.max'", details={"field": "delay.min"})
    return low, high


def _seconds(raw: Any, name: str) -> float:
    """A finite number of seconds from 0 to an hour."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) \
            or not 0 <= raw <= MAX_DELAY_S:
        raise InvalidInput(f"'{name}' must be seconds from 0 to {MAX_DELAY_S:g}", details={"field": name})
    return float(raw)


def _whole(raw: Any, name: str, least: int, most: int) -> int:
    """A whole number in [least, most]."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not least <= raw <= most:
        raise InvalidInput(f"'{name}' must be a whole number from {least} to {most}", details={"field": name})
    return raw


def _flag(raw: Any, name: str) -> bool:
    """true or false."""
    if not isinstance(raw, bool):
        raise InvalidInput(f"'{name}' must be true or false", details={"field": name})
    return raw


def _warmup(raw: Any) -> Warmup:
    """true/false, or {"enabled"?, "start"?, "growth"?}."""
    if raw is None or isinstance(raw, bool):
        return Warmup(enabled=raw is not False)
    if not isinstance(raw, dict) or set(raw) - {"enabled", "start", "growth"}:
        raise InvalidInput("'warmup' must be true, false or {enabled, start, growth}", details={"field": "warmup"})
    growth = raw.get("growth", Warmup.growth)
    if isinstance(growth, bool) or not isinstance(growth, (int, float)) or not 1 <= growth <= 10:
        raise InvalidInput("'warmup.growth' must be a number from 1 to 10", details={"field": "warmup.growth"})
    return Warmup(_flag(raw.get("enabled", True), "warmup.enabled"),
                  _whole(raw.get("start", Warmup.start), "warmup.start", 1, MAX_DAILY_CAP), float(growth))
