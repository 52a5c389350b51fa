"""What the outbox needs from whoever sends: the Sender protocol, and how one attempt is made (Attempt)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..drafts import MediaFile
from ..errors import ClientNotReady
from ..validation import PhoneNumber


@dataclass(frozen=True)
class Attempt:
    """How the outbox sends one message: under the WhatsApp id it chose (`key_id`, 3EB0...), looking first
    whether WhatsApp already has it (`look_first`: an earlier attempt may have gone out before a crash or a
    timeout). Without a key_id WhatsApp Web chooses the id, as it does for a message typed by hand."""

    key_id: str | None = None
    look_first: bool = False

    def message_key(self, to: str) -> str | None:
        """The serialized MsgKey WA-JS takes as `messageId`: ours, to this chat."""
        return f"true_{to}_{self.key_id}" if self.key_id else None


class Sender(Protocol):
    """What the outbox needs from whoever reaches the numbers (the pool)."""

    def client_ready(self, client_id: str, wake: bool = True) -> bool: ...  # READY now (wake: a sleeping one)
    def any_ready_client(self) -> bool: ...  # is some number READY now (does not move the round-robin)
    def pick_ready_client(self, exclude: frozenset[str] = frozenset()) -> str | None: ...  # round-robin over ready ones
    def ready_client_besides(self, exclude: frozenset[str]) -> bool: ...  # a READY number not in exclude (no move)
    def deliver_text(self, client_id: str, to: PhoneNumber, text: str,
                     attempt: Attempt) -> dict: ...  # send_message receipt
    def deliver_media(self, client_id: str, to: PhoneNumber, media: MediaFile, options: dict,
                      attempt: Attempt) -> dict: ...  # send_media receipt


class _NoSender:
    """The sender of an outbox not started yet: no number is ready, so messages are accepted and wait."""

    def client_ready(self, client_id: str, wake: bool = True) -> bool:
        return False

    def any_ready_client(self) -> bool:
        return False

    def pick_ready_client(self, exclude: frozenset[str] = frozenset()) -> str | None:
        return None

    def ready_client_besides(self, exclude: frozenset[str]) -> bool:
        return False

    def deliver_text(self, client_id: str, to: PhoneNumber, text: str, attempt: Attempt) -> dict:
        raise ClientNotReady("The outbox is not started")

    def deliver_media(self, client_id: str, to: PhoneNumber, media: MediaFile, options: dict,
                      attempt: Attempt) -> dict:
        raise ClientNotReady("The outbox is not started")


NO_SENDER: Sender = _NoSender()
