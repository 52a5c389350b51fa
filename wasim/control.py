"""SimControl: a small urllib client for the simulator's control API (/_sim/...)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any


class SimError(Exception):
    """The control API answered 4xx/5xx."""

    def __init__(self, status: int, body: Any):
        super().__init__(f"simulator answered {status}: {body}")
        self.status = status
        self.body = body


class SimControl:
    """Plays the phone and the network: every method is one HTTP call returning the parsed JSON."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base = base_url.rstrip("/") + "/_sim/"
        self.timeout = timeout

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        """One request; errors become SimError(status, parsed body)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            raise SimError(err.code, parsed) from None

    def state(self) -> dict[str, Any]:
        """Network, numbers, config, live sessions and linked devices."""
        return self._call("GET", "state")

    def scan(self, full_code: str, phone: str) -> dict[str, Any]:
        """Scan a QR code with `phone`: {session, deviceId, phone}; 404 if the code is not on screen now."""
        return self._call("POST", "scan", {"fullCode": full_code, "phone": phone})

    def pair(self, code: str, phone: str | None = None) -> dict[str, Any]:
        """Confirm a pairing code on the phone: {session, deviceId, phone}; 404 if no page waits for it."""
        return self._call("POST", "pair", {"code": code, "phone": phone})

    def unlink(self, phone: str, reason: str = "user_initiated") -> dict[str, Any]:
        """Remove every device linked to `phone`: {devices, sessions}; 404 if none."""
        return self._call("POST", "unlink", {"phone": phone, "reason": reason})

    def incoming(self, to: str, from_: str, text: str | None = None, *, media: dict[str, Any] | None = None,
                 notify_name: str | None = None) -> dict[str, Any]:
        """A contact `from_` writes to the linked phone `to`: {id, delivered}."""
        body: dict[str, Any] = {"to": to, "from": from_, "text": text, "media": media}
        if notify_name is not None:
            body["notifyName"] = notify_name
        return self._call("POST", "incoming", body)

    def expire_media(self, phone: str, message_id: str) -> dict[str, Any]:
        """WhatsApp's media server drops the media of a message `phone` received: downloads get media_not_found."""
        return self._call("POST", "media/expire", {"phone": phone, "id": message_id})

    def history(self, phone: str, peer: str, messages: list[dict[str, Any]], *, unread: int = 0,
                notify_name: str | None = None, archived: bool | None = None, pinned: bool | None = None,
                muted_until: int | None = None) -> dict[str, Any]:
        """Before linking: `phone` already holds a chat with `peer`, `messages` = [{text, t (epoch s), fromMe?}];
        its last `unread` incoming ones unread; the chat archived, pinned, muted until (epoch s, -1 always) when
        given. A device linked later lists them; no new-message event fires. Returns {ids}; 409 if a device is
        linked to `phone`."""
        body: dict[str, Any] = {"phone": phone, "peer": peer, "messages": messages, "unread": unread}
        for key, value in (("notifyName", notify_name), ("archived", archived), ("pinned", pinned),
                           ("mutedUntil", muted_until)):
            if value is not None:
                body[key] = value
        return self._call("POST", "history", body)

    def group(self, as_: str, action: str, **body: Any) -> Any:
        """Phone `as_` does a group action, under WhatsApp's rules (wasim/groups.py): create {subject,
        participants}, add/remove/promote/demote {groupId, participants}, subject/description {groupId, value},
        invite/revoke {groupId}, join {code}, leave {groupId}, send {groupId, text, notifyName?}, list."""
        return self._call("POST", "group", {"as": as_, "action": action, **body})

    def group_info(self, group_id: str) -> dict[str, Any]:
        """A group as the simulator keeps it: subject, desc, participants, invite code, messages."""
        return self._call("POST", "group", {"action": "info", "groupId": group_id})

    def group_configure(self, group_id: str, **switches: Any) -> dict[str, Any]:
        """Test switches of a group: sizeLimit, restrict (only admins edit info), announce (only admins write)."""
        return self._call("POST", "group", {"action": "configure", "groupId": group_id, **switches})
    def contacts(self, phone: str, contacts: list[dict[str, Any]]) -> dict[str, Any]:
        """`phone` saves or updates contacts [{number, name?, pushname?, business?, picture? (URL, or true: one the
        simulator hosts; none: hidden or no picture)}], as WPP.contact.list/get/getProfilePictureUrl then report
        them. Returns {count}."""
        return self._call("POST", "contacts", {"phone": phone, "contacts": contacts})

    def set_picture(self, phone: str, number: str, picture: bool | str | None = True) -> dict[str, Any]:
        """`number`'s profile picture as `phone` sees it: True a new one hosted by the simulator, a URL string as
        it is, None none (or hidden). Returns {url} (a hosted one's path on the simulator)."""
        return self._call("POST", "picture", {"phone": phone, "number": number, "picture": picture})

    def sent(self, phone: str) -> list[dict[str, Any]]:
        """Every message `phone` sent, oldest first."""
        return self._call("GET", "sent?" + urllib.parse.urlencode({"phone": phone}))

    def network(self, up: bool) -> dict[str, Any]:
        """Drop (False) or restore (True) every page's connection."""
        return self._call("POST", "network", {"up": up})

    def set_numbers(self, numbers: list[str] | None) -> dict[str, Any]:
        """Only these numbers exist on WhatsApp (plus linked phones); None: every number exists."""
        return self._call("POST", "numbers", {"numbers": numbers})

    def configure(self, **timings: Any) -> dict[str, Any]:
        """Change timings (first_qr_ms, qr_ms, max_qrs, ack_delivered_ms, ack_read_ms, load_ms, ...)."""
        return self._call("POST", "config", timings)

    def reset(self) -> dict[str, Any]:
        """Forget devices, messages and numbers; network up; config kept."""
        return self._call("POST", "reset", {})

    def wait_for(self, predicate: Callable[[dict[str, Any]], Any], timeout: float = 10,
                 interval: float = 0.05) -> dict[str, Any]:
        """Poll state() until predicate(state) is truthy and return that state, else TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if predicate(state):
                return state
            if time.monotonic() >= deadline:
                raise TimeoutError(f"simulator state did not match within {timeout} s")
            time.sleep(interval)
