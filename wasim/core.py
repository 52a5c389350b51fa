"""The simulated WhatsApp side: sessions (tabs), QR and pairing codes, linked devices, network, numbers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from typing import Any

from .chats import Mailbox
from .groups import Groups
from .media import MediaVault
from .contacts import Phonebook
from .model import (Config, Device, Session, SimFail, b64, new_auth_code, new_device_id, new_pairing_code,
                    new_session_id, ninth_digit_twin, now_ms, valid_phone)
from .scheduler import Scheduler


class Sim:
    """All simulator state behind one lock; HTTP handlers and timers call in from many threads."""

    def __init__(self, config: Config):
        self.config = config
        self.lock = threading.RLock()
        self.scheduler = Scheduler()
        self.sessions: dict[str, Session] = {}
        self.devices: dict[str, Device] = {}
        self.network_up = True
        self.numbers: set[str] | None = None
        self.lookups = 0  # queryExists calls answered: what a look-up cache saves is counted here
        self.mail = Mailbox(self)
        self.groups = Groups(self)
        self.media = MediaVault()  # media bytes, as WhatsApp's media servers hold them (media.py)
        self.book = Phonebook(self)  # the phones' contacts
        # Called (under the lock) after a change a restart must keep; SimServer with a state folder saves then.
        self.on_change: Callable[[], None] | None = None

    def changed(self) -> None:
        """Kept state (devices, numbers, messages) changed: let the owner save it, if it keeps any."""
        if self.on_change is not None:
            self.on_change()

    # --- sessions -------------------------------------------------------------------------------------

    def open_session(self, user_agent: str) -> Session:
        """A page opened its event stream: register it and greet it."""
        with self.lock:
            session = Session(id=new_session_id(), user_agent=user_agent)
            self.sessions[session.id] = session
            session.push({"type": "hello", "sid": session.id, "network": self.network_up,
                          "loadMs": self.config.load_ms, "mainReadyOnQr": self.config.main_ready_on_qr})
            return session

    def close_session(self, sid: str) -> None:
        """The page's stream closed (tab closed or reloaded): drop it; its device stays linked."""
        with self.lock:
            session = self.sessions.pop(sid, None)
            if session is not None:
                session.stop_qr()

    def session(self, sid: Any) -> Session:
        """The live session with this id, else 404."""
        session = self.sessions.get(sid) if isinstance(sid, str) else None
        if session is None:
            raise SimFail(404, "unknown session", "session_not_found")
        return session

    def linked_session(self, sid: Any) -> Session:
        """A live session that is logged in, else the error WA-JS callers see when logged out."""
        session = self.session(sid)
        if session.phone is None:
            raise SimFail(401, "WhatsApp Web is not logged in", "not_authenticated")
        return session

    def sessions_of(self, phone: str) -> list[Session]:
        """Live sessions linked to a phone."""
        return [s for s in self.sessions.values() if s.phone == phone]

    def broadcast(self, event: dict[str, Any]) -> None:
        """Push one event to every live page."""
        for session in self.sessions.values():
            session.push(event)

    # --- QR codes -------------------------------------------------------------------------------------

    def start_qr(self, sid: Any) -> dict[str, str]:
        """Begin (or restart, for refreshQR) the QR rotation of a logged-out page."""
        with self.lock:
            session = self.session(sid)
            if session.phone is not None:
                raise SimFail(409, "already authenticated", "already_authenticated")
            session.stop_qr()
            session.pairing_code = session.pairing_phone = None
            session.qr_index = 0
            return self._issue_code(session)

    def _issue_code(self, session: Session) -> dict[str, str]:
        """Show the next code; the first lives first_qr_ms, the others qr_ms."""
        session.qr_index += 1
        lifetime = self.config.first_qr_ms if session.qr_index == 1 else self.config.qr_ms
        code = new_auth_code()
        session.qr = code
        session.status = "qr"
        session.qr_expires_at = now_ms() + lifetime
        session.push({"type": "qr", "code": code, "index": session.qr_index, "expiresAt": session.qr_expires_at})
        session.qr_timer = self.scheduler.call_later(lifetime / 1000, self._expire_code, session.id, code["fullCode"])
        return code

    def _expire_code(self, sid: str, full_code: str) -> None:
        """Timer: rotate to the next code, or go idle once max_qrs codes have expired."""
        with self.lock:
            session = self.sessions.get(sid)
            if session is None or session.qr is None or session.qr["fullCode"] != full_code:
                return
            if session.qr_index >= self.config.max_qrs:
                session.stop_qr()
                session.status = "idle"
                session.push({"type": "qr", "code": None, "idle": True})
            else:
                self._issue_code(session)

    # --- linking --------------------------------------------------------------------------------------

    def request_pairing(self, sid: Any, phone: Any) -> str:
        """genLinkDeviceCodeForPhoneNumber: the page now waits for this code instead of a QR scan."""
        with self.lock:
            session = self.session(sid)
            if session.phone is not None:
                raise SimFail(409, "Can't get code for already authenticated user",
                              "cannot_get_code_for_already_authenticated")
            digits = "".join(ch for ch in str(phone or "") if ch.isdigit())
            if not digits:
                raise SimFail(400, "Can't get code for without phone number param", "send_the_phone_number_to_connect")
            valid_phone(digits)
            session.stop_qr()
            session.status = "pairing"
            session.pairing_code = new_pairing_code()
            session.pairing_phone = digits
            return session.pairing_code

    def scan(self, full_code: Any, phone: Any) -> dict[str, Any]:
        """The phone scanned a QR code: only the code on screen right now links."""
        with self.lock:
            phone = valid_phone(phone)
            for session in self.sessions.values():
                if session.qr is not None and session.qr["fullCode"] == full_code:
                    return self._link(session, phone)
            raise SimFail(404, "no page shows this QR code (expired, rotated or unknown)")

    def pair(self, code: Any, phone: Any = None) -> dict[str, Any]:
        """The phone confirmed a pairing code; the phone, if given, must be the one the page asked for."""
        with self.lock:
            wanted = str(code or "").upper().replace("-", "").replace(" ", "")
            for session in self.sessions.values():
                if session.pairing_code and session.pairing_code == wanted:
                    if phone is not None and valid_phone(phone) != session.pairing_phone:
                        raise SimFail(400, "this code was requested for another phone number")
                    return self._link(session, session.pairing_phone or "")
            raise SimFail(404, "no page waits for this pairing code")

    def _link(self, session: Session, phone: str) -> dict[str, Any]:
        """Create the device and hand its secret to the page, which keeps it as a non-extractable key."""
        session.stop_qr()
        session.pairing_code = session.pairing_phone = None
        device = Device(device_id=new_device_id(), phone=phone, secret=secrets.token_bytes(32))
        self.devices[device.device_id] = device
        session.phone, session.device_id, session.status = phone, device.device_id, "syncing"
        session.push({"type": "linked", "deviceId": device.device_id, "phone": phone, "secret": b64(device.secret)})
        self.changed()
        return {"session": session.id, "deviceId": device.device_id, "phone": phone}

    def resume(self, sid: Any, device_id: Any, signature: Any) -> dict[str, Any]:
        """A page with a stored login proves it holds the device key by signing its session id."""
        with self.lock:
            session = self.session(sid)
            device = self.devices.get(device_id) if isinstance(device_id, str) else None
            if device is None or not isinstance(signature, str):
                return {"ok": False}
            expected = b64(hmac.new(device.secret, session.id.encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(expected, signature):
                return {"ok": False}
            session.stop_qr()
            session.phone, session.device_id, session.status = device.phone, device.device_id, "syncing"
            return {"ok": True, "phone": device.phone}

    def mark_ready(self, sid: Any) -> dict[str, Any]:
        """The page emitted conn.main_ready: deliver what waited for it."""
        with self.lock:
            session = self.linked_session(sid)
            session.status = "ready"
            self.mail.flush(session.phone or "")
            return {"ok": True}

    def logout(self, sid: Any) -> dict[str, Any]:
        """WPP.conn.logout(): forget this device; other tabs of the same device are logged out too."""
        with self.lock:
            session = self.linked_session(sid)
            device_id = session.device_id
            self.devices.pop(device_id or "", None)
            self._forget(session)
            for other in self.sessions.values():
                if other.device_id == device_id and other.device_id is not None:
                    other.push({"type": "unlinked", "reason": "user_initiated"})
                    self._forget(other)
            self.changed()
            return {"ok": True}

    def unlink(self, phone: Any, reason: Any = "user_initiated") -> dict[str, Any]:
        """The phone removed its linked devices: every tab of that phone logs out."""
        with self.lock:
            phone = valid_phone(phone)
            reason = reason if isinstance(reason, str) and reason else "user_initiated"
            gone = [d for d in self.devices.values() if d.phone == phone]
            if not gone:
                raise SimFail(404, f"no device is linked to {phone}")
            for device in gone:
                del self.devices[device.device_id]
            tabs = self.sessions_of(phone)
            for session in tabs:
                session.push({"type": "unlinked", "reason": reason})
                self._forget(session)
            self.changed()
            return {"devices": len(gone), "sessions": len(tabs)}

    @staticmethod
    def _forget(session: Session) -> None:
        """Back to the logged-out state (the page reloads to the QR screen)."""
        session.phone = session.device_id = None
        session.status = "loading"

    # --- network, numbers, config ---------------------------------------------------------------------

    def set_network(self, up: Any) -> dict[str, Any]:
        """Drop or restore the connection of every page; held messages go out when it returns."""
        if not isinstance(up, bool):
            raise SimFail(400, "up must be a boolean")
        with self.lock:
            if up != self.network_up:
                self.network_up = up
                self.broadcast({"type": "network", "up": up})
                if up:
                    self.mail.flush_all()
            return {"network": "up" if up else "down"}

    def set_numbers(self, numbers: Any) -> dict[str, Any]:
        """Only these numbers (and linked phones) exist on WhatsApp; None: every number does."""
        with self.lock:
            if numbers is None:
                self.numbers = None
            elif isinstance(numbers, list):
                self.numbers = {valid_phone(n, "number") for n in numbers}
            else:
                raise SimFail(400, "numbers must be a list of digit strings or null")
            self.changed()
            return {"numbers": sorted(self.numbers) if self.numbers is not None else None}

    def configure(self, values: Any) -> dict[str, Any]:
        """Change timings for codes and messages created from now on."""
        if not isinstance(values, dict):
            raise SimFail(400, "body must be a JSON object")
        with self.lock:
            self.config.update(values)
            return {"config": self.config.as_dict()}

    def exists(self, number: str) -> bool:
        """Is this exact number on WhatsApp?"""
        if any(d.phone == number for d in self.devices.values()):
            return True
        return self.numbers is None or number in self.numbers

    def query_exists(self, number: str) -> str | None:
        """queryExists: the registered form of the number (ninth digit either way), or None."""
        with self.lock:
            self.lookups += 1
            if not isinstance(number, str) or not number.isdigit() or not 8 <= len(number) <= 15:
                return None
            if self.exists(number):
                return number
            twin = ninth_digit_twin(number)
            return twin if twin is not None and self.exists(twin) else None

    def reset(self) -> dict[str, Any]:
        """Forget devices, messages and numbers; network back up; config kept. Linked tabs log out."""
        with self.lock:
            self.devices.clear()
            self.mail.clear()
            self.groups.clear()
            self.media.clear()
            self.book.clear()
            self.numbers = None
            self.lookups = 0
            self.set_network(True)
            for session in self.sessions.values():
                session.pairing_code = session.pairing_phone = None
                if session.phone is not None:
                    session.push({"type": "unlinked", "reason": "user_initiated"})
                    self._forget(session)
            self.changed()
            return {"ok": True}

    # --- state ----------------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """What a restart keeps, JSON-ready: the devices with their secrets (a stored login signs with it),
        the numbers on WhatsApp, the messages, contacts and groups. Not the tabs (they reconnect), the network or
        the config."""
        with self.lock:
            devices = [{"deviceId": d.device_id, "phone": d.phone, "secret": b64(d.secret)}
                       for d in self.devices.values()]
            numbers = sorted(self.numbers) if self.numbers is not None else None
            return {"devices": devices, "numbers": numbers, **self.mail.dump(), "contacts": self.book.dump(),
                    "groups": self.groups.dump()}

    def restore(self, data: dict[str, Any]) -> None:
        """Take back what dump() gave, before serving."""
        with self.lock:
            self.devices = {d["deviceId"]: Device(d["deviceId"], d["phone"], base64.b64decode(d["secret"]))
                            for d in data.get("devices", [])}
            numbers = data.get("numbers")
            self.numbers = set(numbers) if numbers is not None else None
            self.mail.restore(data)
            self.book.restore(data.get("contacts", {}))
            self.groups.restore(data.get("groups", []))

    def snapshot(self) -> dict[str, Any]:
        """Everything the control API's GET /_sim/state reports."""
        with self.lock:
            return {
                "network": "up" if self.network_up else "down",
                "numbers": sorted(self.numbers) if self.numbers is not None else None,
                "config": self.config.as_dict(),
                "sessions": [self._describe(s) for s in self.sessions.values()],
                "devices": [{"deviceId": d.device_id, "phone": d.phone} for d in self.devices.values()],
                "lookups": self.lookups,
                "pictures": self.book.counts(),  # profile picture URLs asked for, pictures downloaded
                "chatLists": list(self.mail.list_counts),
            }

    def _describe(self, s: Session) -> dict[str, Any]:
        """One session as the control API shows it."""
        status = s.status
        if not self.network_up and s.phone is not None:
            status = "offline"
        return {"id": s.id, "status": status, "qr": s.qr["fullCode"] if s.qr else None, "qrIndex": s.qr_index,
                "qrExpiresAt": s.qr_expires_at, "pairingCode": s.pairing_code, "pairingPhone": s.pairing_phone,
                "phone": s.phone, "deviceId": s.device_id, "online": self.network_up, "userAgent": s.user_agent}
