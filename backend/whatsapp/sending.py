"""What sending does on the page: find the id WhatsApp knows for a number, then send text or a file.

Inputs arrive already checked (backend/validation.py); these functions only talk to WA-JS.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..engine import Patience, WppPage
from ..errors import EngineTimeout, NumberNotOnWhatsApp, WhatsAppError
from ..outbox.sender import Attempt
from ..drafts import MediaFile
from ..validation import is_group
from .lookups import LookUpCache

log = logging.getLogger(__name__)

# createChat: WA-JS 4.6.0 makes new chats by itself, but older releases refuse unknown chats without it.
SEND_OPTIONS = {"createChat": True, "waitForAck": True}


async def _send(page: WppPage, to: str, attempt: Attempt, patience: Patience | None,
                send: Callable[[dict[str, Any]], Awaitable[Any]], **extra: Any) -> dict[str, Any]:
    """Send under the attempt's id, unless WhatsApp has that message already (then its receipt, not a copy)."""
    key = attempt.message_key(to)
    if key and attempt.look_first:
        found = await page.find_message(key, patience)
        if found is not None:
            if (found.get("ack") or 0) < 1:  # still in WhatsApp Web's own queue: it sends it; wait, do not copy
                raise EngineTimeout(f"Message {key} is waiting in WhatsApp Web's queue", details={"id": key})
            return _receipt(to, {"id": key, "ack": found["ack"]}, found=True, **extra)
    options = {**SEND_OPTIONS, "messageId": key} if key else SEND_OPTIONS
    return _receipt(to, await send(options), **extra)


async def look_up(page: WppPage, number: str, patience: Patience | None = None) -> dict[str, Any]:
    """Is `number` (digits) on WhatsApp, and under which id."""
    found = await page.call("contact.queryExists", f"{number}@c.us", patience=patience)
    wid = found.get("wid") if isinstance(found, dict) else None
    return {"number": number, "exists": bool(wid), "id": wid}


async def chat_id(page: WppPage, number: str, patience: Patience | None = None,
                  cache: LookUpCache | None = None) -> str:
    """The id to send to: a Brazilian mobile may be known with or without its ninth digit. Asked of WhatsApp
    unless `cache` has a fresh answer; a new answer goes into it. A group's id is sent to as it is: no look-up."""
    if is_group(number):
        return number
    found = cache.get(number) if cache is not None else None
    if found is None:
        found = await look_up(page, number, patience)
        if cache is not None:
            cache.put(found)
    if not found["exists"]:
        raise NumberNotOnWhatsApp(f"{number} is not on WhatsApp", details={"to": number})
    return found["id"]


async def _to_number(page: WppPage, number: str, patience: Patience | None, cache: LookUpCache | None,
                     send_to: Callable[[str], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Send to the number's id; if a kept id gets chat_not_found (the number moved or left WhatsApp), forget it
    and send once more to the id WhatsApp gives now (chat_not_found comes before anything is sent)."""
    kept = cache is not None and cache.get(number) is not None
    to = await chat_id(page, number, patience, cache)
    try:
        return await send_to(to)
    except WhatsAppError as exc:
        if not kept or exc.details.get("wppCode") != "chat_not_found":
            raise
        assert cache is not None
        cache.drop(number)
        log.info("[Send] %s: id guardado %s não existe mais; consultando de novo", number, to)
        return await send_to(await chat_id(page, number, patience, cache))


def _receipt(to: str, sent: Any, **extra: Any) -> dict[str, Any]:
    """What the caller learns about a sent message."""
    sent = sent if isinstance(sent, dict) else {}
    return {"id": sent.get("id"), "to": to, "ack": sent.get("ack"), **extra}


async def send_text(page: WppPage, number: str, text: str, patience: Patience | None = None,
                    attempt: Attempt = Attempt(), cache: LookUpCache | None = None) -> dict[str, Any]:
    """Send checked text to a number; returns once WhatsApp has it. `patience`: see WppPage._evaluate."""
    async def send_to(to: str) -> dict[str, Any]:
        return await _send(page, to, attempt, patience,
                           lambda options: page.call("chat.sendTextMessage", to, text, options, patience=patience))
    return await _to_number(page, number, patience, cache, send_to)


@dataclass(frozen=True)
class PreparedMedia:
    """Decoded media and the WA-JS options to send it with."""

    data: bytes
    options: dict[str, Any]


def prepare_media(media: MediaFile, options: dict[str, Any]) -> PreparedMedia:
    """WA-JS's options for checked media; options as the seed's: caption, filename, sendAudioAsVoice,
    sendMediaAsDocument (already applied to media.kind)."""
    kind, data = media.kind, media.data
    wa_options = {"type": kind, "mimetype": media.mimetype, **SEND_OPTIONS,
                  "filename": options.get("filename") or media.filename, "caption": options.get("caption")}
    if kind == "audio" and options.get("sendAudioAsVoice"):
        wa_options["isPtt"] = True
    return PreparedMedia(data, {k: v for k, v in wa_options.items() if v})


async def send_media(page: WppPage, number: str, media: PreparedMedia, patience: Patience | None = None,
                     attempt: Attempt = Attempt(), cache: LookUpCache | None = None) -> dict[str, Any]:
    """Send prepared media to a number; returns once WhatsApp has it. `patience`: see WppPage._evaluate."""
    async def send_to(to: str) -> dict[str, Any]:
        return await _send(page, to, attempt, patience,
                           lambda options: page.send_file(to, media.data, {**media.options, **options}, patience),
                           size=len(media.data), type=media.options["type"])
    return await _to_number(page, number, patience, cache, send_to)
